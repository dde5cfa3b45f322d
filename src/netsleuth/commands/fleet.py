"""`netsleuth fleet`: many hosts at once — collect and probe through Ansible, diagnose the bundles:
every host's own diagnosis and the faults only visible between hosts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from netsleuth import completion
from netsleuth.commands.fleet_remote import collect, probe
from netsleuth.errors import NetsleuthError
from netsleuth.messages import LANGS, default_lang


@click.group("fleet")
def command() -> None:
    """Many hosts at once: each host's faults, and the faults between hosts."""


command.add_command(collect)
command.add_command(probe)


@command.command("diagnose")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write the report to FILE."
)
@click.option("--lang", type=click.Choice(LANGS), default=None, help="Language (default from the locale).")
@completion.only_option()
@click.option(
    "--all-netns", is_flag=True, help="Analyse every network namespace the bundles/sosreports hold."
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 256),
    default=None,
    help="Hosts analysed at once (default: one per CPU core).",
)
@click.option(
    "--with",
    "extra",
    multiple=True,
    metavar="FILE",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The controller's `openstack network agent list -f json` output (repeatable).",
)
@click.option(
    "--mesh",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The mesh matrix of `netsleuth fleet probe` (netsleuth.mesh/v1).",
)
@click.option("-v", "--verbose", is_flag=True, help="List each host's findings and the skipped checks.")
def diagnose(
    inputs: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    lang: str | None,
    only: tuple[str, ...],
    all_netns: bool,
    jobs: int | None,
    extra: tuple[Path, ...],
    mesh: Path | None,
    verbose: bool,
) -> None:
    """Diagnose a fleet from a DIR (or FILES) of netsleuth bundles, sosreports (directories or
    archives) and `sos collect` archives; `fleet-collect.json` in DIR names the hosts and lists those
    that could not be collected.

    Exit status: the worst finding over the fleet (0, 1 warning, 2 critical); 3 only when no host
    could be analysed.
    """
    from netsleuth.fleet_analysis import FleetOptions, analyse_fleet
    from netsleuth.report.fleet_render import render_fleet
    from netsleuth.rules.base import all_rules

    known = {r.id for r in all_rules()}
    unknown = [r for r in only if r not in known]
    if unknown:
        raise click.UsageError(f"unknown rule id(s): {', '.join(unknown)} (see `netsleuth rules list`)")
    _check_given(extra, mesh)
    opts = FleetOptions(
        lang=lang or default_lang(),
        only=frozenset(only) or None,
        all_netns=all_netns,
        jobs=jobs or 0,
        extra=extra,
        mesh=mesh,
    )
    report = analyse_fleet(list(inputs), opts)
    color = output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    text = render_fleet(report, fmt, color=color, verbose=verbose)
    if output is None:
        click.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise NetsleuthError(f"cannot write {output}: {exc.strerror}") from None
    if not report.analysed():
        bad = "; ".join(
            h.message if h.input and h.message.startswith(h.input) else f"{h.input or h.name}: {h.message}"
            for h in report.hosts[:3]
        )
        bad = bad or "no bundle, sosreport or archive among the inputs"
        click.echo(f"netsleuth: no host could be analysed ({bad})", err=True)
    sys.exit(report.exit_code())


def _check_given(extra: tuple[Path, ...], mesh: Path | None) -> None:
    """A file the user names that cannot serve is a usage error in one line, not a check skipped
    with "no agent list given" (the fleet rules would otherwise run as if it were not there)."""
    from netsleuth.errors import ParseError
    from netsleuth.parsers.mesh import parse_mesh
    from netsleuth.parsers.neutron import detect_kind, parse_agent_list

    def text(f: Path, opt: str) -> str:
        try:
            return f.read_text(errors="replace")
        except OSError as exc:
            raise click.UsageError(f"{opt} {f}: cannot read it ({exc.strerror})") from None

    for f in extra:
        body = text(f, "--with")
        try:
            if detect_kind(body) != "agents":
                raise ParseError("no agent rows with Alive and Agent Type", body.strip()[:80])
            parse_agent_list(body)
        except ParseError as exc:
            raise click.UsageError(
                f"--with {f}: not the output of `openstack network agent list -f json` ({exc})"
            ) from None
    if mesh is not None:
        try:
            parse_mesh(text(mesh, "--mesh"))
        except ParseError as exc:
            raise click.UsageError(
                f"--mesh {mesh}: not the matrix of `netsleuth fleet probe` ({exc})"
            ) from None
