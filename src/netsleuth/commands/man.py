"""`netsleuth man`: the manual page, in roff, generated from the click commands themselves (their
usage, help and options), so that it cannot drift from the program. Hidden from --help.

    netsleuth man > netsleuth.1 && man ./netsleuth.1
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import click

SEE_ALSO = "ip(8), ethtool(8), ovs-vsctl(8), conntrack(8), sos(1), tcpdump(8)"


def roff(text: str) -> str:
    """Text made safe for roff: backslashes, hyphens of options, and lines starting with a dot.

    >>> roff("--netns NAME\\n.hidden")
    '\\\\-\\\\-netns NAME\\n\\\\&.hidden'
    """
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"(?m)^([.'])", r"\\&\1", text)


def _paragraphs(help_text: str) -> list[str]:
    """Click's help text as paragraphs (blank-line separated, lines joined; \\b blocks kept)."""
    import inspect

    out = []
    for block in re.split(r"\n\s*\n", inspect.cleandoc(help_text or "")):
        if block.startswith("\b"):
            out.append(block[1:].strip("\n"))
        else:
            out.append(" ".join(line.strip() for line in block.splitlines()))
    return [p for p in out if p]


def walk(
    cmd: click.Command, path: str, ctx: click.Context
) -> Iterator[tuple[str, click.Command, click.Context]]:
    """Every visible command under `cmd`, depth first, with its full path."""
    yield path, cmd, ctx
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.list_commands(ctx)):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from walk(
                    sub, f"{path} {name}", sub.make_context(name, [], parent=ctx, resilient_parsing=True)
                )


def _options(cmd: click.Command, ctx: click.Context) -> list[str]:
    out: list[str] = []
    for param in cmd.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        out += [".TP", f"\\fB{roff(names)}\\fR", roff(help_text or "")]
    return out


def page_date() -> str:
    """The page's date: $SOURCE_DATE_EPOCH's when set, so that a package build is reproducible
    (reproducible-builds.org), else today's."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC).date().isoformat()
    return date.today().isoformat()


def manpage(app: click.Group, prog: str = "netsleuth", version: str = "") -> str:
    """The whole manual page of `app` in roff (man(7) macros)."""
    root = app.make_context(prog, [], resilient_parsing=True)  # with its context settings (-h)
    head, *rest = _paragraphs(app.help or "")
    out = [
        f'.TH {prog.upper()} 1 "{page_date()}" "{prog} {version}" "User Commands"',
        ".SH NAME",
        f"{prog} \\- {roff(head)}",
        ".SH SYNOPSIS",
        f"\\fB{prog}\\fR [\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...",
        ".SH DESCRIPTION",
        *(f".PP\n{roff(p)}" for p in rest),
        ".PP",
        f"Every command has \\fB\\-h\\fR, \\fB\\-\\-help\\fR. Shell completion: "
        f'\\fBeval "$(_{prog.upper()}_COMPLETE=bash_source {prog})"\\fR (zsh_source, fish_source).',
        ".SH OPTIONS",
        *_options(app, root),
        ".SH COMMANDS",
    ]
    for path, cmd, ctx in walk(app, prog, root):
        if cmd is app:
            continue
        usage = " ".join(cmd.collect_usage_pieces(ctx))
        out += [".SS " + roff(path.removeprefix(f"{prog} ")), f"\\fB{roff(path)}\\fR {roff(usage)}"]
        out += [f".PP\n{roff(p)}" for p in _paragraphs(cmd.help or "")]
        if isinstance(cmd, click.Group):
            continue
        opts = _options(cmd, ctx)
        if opts:
            out += [".PP", "Options:", ".RS", *opts, ".RE"]
    out += [
        ".SH EXIT STATUS",
        "0 nothing at warning or above; 1 warning; 2 critical; 3 netsleuth could not run; "
        "64 usage error (the monitoring-plugin convention).",
        ".SH SEE ALSO",
        roff(SEE_ALSO),
    ]
    return "\n".join(out) + "\n"


@click.command("man", hidden=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write to FILE.")
@click.pass_context
def command(ctx: click.Context, output: Path | None) -> None:
    """The manual page (roff), generated from the commands: `netsleuth man > netsleuth.1`."""
    from netsleuth import __version__

    root = ctx.find_root().command
    assert isinstance(root, click.Group)
    page = manpage(root, "netsleuth", __version__)
    if output is None:
        click.echo(page, nl=False)
    else:
        output.write_text(page, encoding="utf-8")
