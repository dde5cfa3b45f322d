"""The netsleuth command line. Exit status: 0 ok, 1 warning, 2 critical, 3 could not run, 64 usage."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from netsleuth import __version__, completion
from netsleuth.errors import NetsleuthError, clip
from netsleuth.evidence.model import HOST, Bundle, Evidence
from netsleuth.exitcode import ExitCode
from netsleuth.messages import LANGS, default_lang, ui


def _fail(msg: str, code: int = ExitCode.COULD_NOT_RUN) -> None:
    click.echo("netsleuth: " + " ".join(msg.split()), err=True)  # always one line
    sys.exit(code)


PLUGIN_FORMATS = ("nagios", "npd")


def _plugin_mode(argv: list[str]) -> str | None:
    """`nagios` or `npd` when the command line asks for a monitoring plugin's output: then every
    failure, usage errors included, is that plugin's UNKNOWN (Nagios 3, node-problem-detector 2)
    with its one line on stdout, where the monitor reads it."""
    for i, arg in enumerate(argv):
        value = argv[i + 1] if arg == "--format" and i + 1 < len(argv) else arg.partition("=")[2]
        if (arg == "--format" or arg.startswith("--format=")) and value in PLUGIN_FORMATS:
            return value
    return None


def _plugin_fail(mode: str, msg: str) -> None:
    from netsleuth.report.monitor import NAGIOS_UNKNOWN, NPD_UNKNOWN, nagios_unknown

    if mode == "nagios":
        click.echo(nagios_unknown(msg), nl=False)
        sys.exit(NAGIOS_UNKNOWN)
    click.echo(" ".join(msg.split()))
    sys.exit(NPD_UNKNOWN)


@contextmanager
def _progress(enabled: bool, lang: str) -> Iterator[Callable[[Evidence], None] | None]:
    """A progress line on stderr while collecting (only on a terminal)."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console

    con = Console(stderr=True)
    done = 0
    with con.status(ui(lang, "collecting") + " …") as status:

        def tick(ev: Evidence) -> None:
            nonlocal done
            done += 1
            status.update(
                f"{ui(lang, 'collecting')}: {done} — {ev.ident()} {ev.status.value} ({ev.duration_s:.2f} s)"
            )

        yield tick


def _scopes(netns: tuple[str, ...], all_netns: bool, timeout: float) -> tuple[str, ...]:
    from netsleuth.evidence.live import list_netns

    if netns and all_netns:
        raise click.UsageError("--netns and --all-netns exclude each other")
    if all_netns:
        return (HOST, *list_netns(timeout))
    if netns:
        known = set(list_netns(timeout))
        unknown = [n for n in netns if n not in known]
        if unknown:  # the host does not have it: nothing to diagnose, never a clean bill of health
            raise NetsleuthError(
                f"no network namespace named {', '.join(unknown)} on this host (see `ip netns list`)"
            )
        return tuple(netns)
    return (HOST,)


def _collect_live(
    netns: tuple[str, ...],
    all_netns: bool,
    timeout: float,
    interval: float,
    lang: str,
    quiet: bool,
    redact: bool = True,
) -> Bundle:
    from netsleuth.evidence.live import CollectOptions, collect

    opts = CollectOptions(
        timeout=timeout, interval=interval, scopes=_scopes(netns, all_netns, timeout), redact=redact
    )
    with _progress(not quiet, lang) as tick:
        return collect(opts, tick)


def _add_user_inputs(bundle: Bundle, files: tuple[Path, ...]) -> None:
    """Files the user passes become evidence `user.input`, keyed by file name (parsers detect the
    kind). Each is checked at the door: at most MAX_TEXT bytes (a device like /dev/zero is read
    no further), and a JSON document must parse (not nested too deep, no number of thousands of
    digits)."""
    from netsleuth.errors import BadInput, BadSource
    from netsleuth.evidence.bundle import load_json
    from netsleuth.evidence.model import MAX_TEXT, Status

    for f in files:
        try:
            with f.open("rb") as fh:
                data = fh.read(MAX_TEXT + 1)
        except OSError as exc:
            raise click.UsageError(f"cannot read {f}: {exc.strerror}") from None
        if len(data) > MAX_TEXT:
            raise BadInput(f"--with {f}: larger than {MAX_TEXT >> 20} MiB (not a platform document)")
        text = data.decode(errors="replace")
        if text.lstrip()[:1] in ("[", "{"):
            try:
                load_json(text, f"--with {f}")
            except BadSource as exc:
                raise BadInput(str(exc)) from None
        bundle.add(Evidence("user.input", Status.OK, text=text, source=str(f), key=f.name))


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror}")


common_scope = [
    click.option(
        "--netns",
        "netns",
        multiple=True,
        metavar="NAME",
        shell_complete=completion.namespaces,
        help="Look inside this network namespace (repeatable; live: needs root).",
    ),
    click.option(
        "--all-netns",
        is_flag=True,
        help="Look inside every named network namespace too (qrouter-, qdhcp-; live: needs root).",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(0.1, 60),
        default=2.0,
        show_default=True,
        help="Seconds each command may take before it is killed (a hang is evidence).",
    ),
    click.option(
        "--interval",
        type=click.FloatRange(0.0, 30),
        default=1.0,
        show_default=True,
        help="Seconds between the two samples of counters.",
    ),
]


def _apply(opts: list[Any]) -> Callable[[Any], Any]:
    def deco(fn: Any) -> Any:
        for opt in reversed(opts):
            fn = opt(fn)
        return fn

    return deco


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="netsleuth")
def app() -> None:
    """Diagnose network faults on Linux cloud hosts: live, from a bundle or from a sosreport."""


@app.command()
@click.argument("source", required=False, type=click.Path(path_type=Path))
@_apply(common_scope)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "html", "nagios", "npd"]),
    default="text",
    show_default=True,
    help="nagios: one status line with perfdata, exit 0/1/2/3 (UNKNOWN, usage errors too); "
    "npd: a node-problem-detector custom plugin (exit 0 OK, 1 problem, 2 unknown).",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write the report to FILE."
)
@click.option("--lang", type=click.Choice(LANGS), default=None, help="Language (default from the locale).")
@click.option("--no-probes", is_flag=True, help="Passive only: send nothing on the network.")
@click.option(
    "--peer",
    "peers",
    multiple=True,
    metavar="IP",
    help="Also probe this peer: ICMP, path MTU, underlay vs overlay through a tunnel (repeatable).",
)
@completion.only_option()
@click.option(
    "--save-bundle",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Live: also keep the collected evidence as a bundle.",
)
@click.option(
    "--with",
    "extra",
    multiple=True,
    metavar="FILE",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Facts only the platform has: `openstack network agent list -f json` output, an SQL dump "
    "or API JSON of floating IPs (repeatable).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Suppressions and thresholds (default /etc/netsleuth/config.toml when it exists).",
)
@click.option(
    "--graph",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE.svg|FILE.dot",
    help="Also write the topology picture, findings marked, to FILE: SVG, or graphviz DOT source.",
)
@click.option("-v", "--verbose", is_flag=True, help="List every piece of evidence that is not ok.")
@click.option("-q", "--quiet", is_flag=True, help="No progress line.")
def diagnose(
    source: Path | None,
    netns: tuple[str, ...],
    all_netns: bool,
    timeout: float,
    interval: float,
    fmt: str,
    output: Path | None,
    lang: str | None,
    no_probes: bool,
    peers: tuple[str, ...],
    only: tuple[str, ...],
    save_bundle: Path | None,
    extra: tuple[Path, ...],
    config_path: Path | None,
    graph: Path | None,
    verbose: bool,
    quiet: bool,
) -> None:
    """Diagnose this host (no SOURCE), a netsleuth bundle (.tar.gz) or a sosreport (directory or archive).

    Live, cheap probes run too (each resolver of resolv.conf, duplicate-address detection of this
    host's addresses, its VXLAN remotes; --peer adds ICMP and path MTU toward a peer), bounded in
    time; with --netns/--all-netns they run inside each analysed namespace; --no-probes sends
    nothing.
    """
    from netsleuth.analysis import analyse_facts
    from netsleuth.config import load as load_config
    from netsleuth.evidence.bundle import write_bundle
    from netsleuth.evidence.source import open_source
    from netsleuth.facts.settings import add_settings
    from netsleuth.probes.default import add_netns_probes, add_probes
    from netsleuth.report.picture import Picture, report_picture
    from netsleuth.report.render import render
    from netsleuth.results.report import Report
    from netsleuth.rules.base import all_rules

    lang = lang or default_lang()
    known = {r.id for r in all_rules()}
    unknown = [r for r in only if r not in known]
    if unknown:
        raise click.UsageError(f"unknown rule id(s): {', '.join(unknown)} (see `netsleuth rules list`)")
    cfg = load_config(config_path, known.__contains__)
    if graph is not None and graph.suffix.lower() not in (".svg", ".dot"):
        raise click.UsageError(f"--graph {graph}: the file name must end in .svg or .dot")

    def judge(bundle: Bundle) -> tuple[Report, Picture | None]:
        report, facts = analyse_facts(bundle, lang, set(only) or None)
        cfg.apply(report)  # a suppressed finding is drawn as such
        drawn = fmt == "html" or graph is not None
        return report, report_picture(facts, report) if drawn else None

    if source is None:
        if save_bundle:
            from netsleuth.evidence.bundle import check_writable

            check_writable(save_bundle)
        bundle = _collect_live(netns, all_netns, timeout, interval, lang, quiet or fmt != "text")
        _add_user_inputs(bundle, extra)
        add_settings(bundle, cfg)
        if not no_probes:
            if bundle.scopes() == [HOST]:
                add_probes(bundle, peers)
            else:  # each analysed namespace probes from inside itself, into its own scope
                add_netns_probes(bundle, bundle.scopes(), peers)
        if save_bundle:
            write_bundle(bundle, save_bundle)
        report, picture = judge(bundle)
    else:
        if save_bundle:
            raise click.UsageError("--save-bundle is for live diagnosis; `netsleuth collect` keeps a bundle")
        if peers:
            raise click.UsageError("--peer probes a live path; it cannot be used with a SOURCE")
        if all_netns and netns:
            raise click.UsageError("--netns and --all-netns exclude each other")
        with open_source(source, list(netns) or None, all_netns) as bundle:
            _add_user_inputs(bundle, extra)
            add_settings(bundle, cfg)
            report, picture = judge(bundle)
    if graph is not None and picture is not None:
        from netsleuth.report.picture import standalone_svg

        _emit(standalone_svg(picture) if graph.suffix.lower() == ".svg" else picture.dot, graph)
    if fmt in PLUGIN_FORMATS:
        from netsleuth.report.monitor import nagios, npd

        text, code = (nagios(report), report.exit_code()) if fmt == "nagios" else npd(report)
        _emit(text, output)
        sys.exit(code)
    color = output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    _emit(render(report, fmt, color=color, verbose=verbose, picture=picture), output)
    sys.exit(report.exit_code())


@app.command()
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Bundle file to write (.tar.gz).",
)
@_apply(common_scope)
@click.option("-q", "--quiet", is_flag=True)
@click.option(
    "--no-redact",
    is_flag=True,
    help="Keep credentials found in process command lines (`--password=...`, `OS_PASSWORD=...`); "
    "by default their values are masked and the bundle says so.",
)
def collect(
    output: Path,
    netns: tuple[str, ...],
    all_netns: bool,
    timeout: float,
    interval: float,
    quiet: bool,
    no_redact: bool,
) -> None:
    """Collect this host's evidence into a bundle, to diagnose later or elsewhere."""
    from netsleuth.evidence.bundle import check_writable, write_bundle

    check_writable(output)  # before collecting: a missing folder is said at once
    bundle = _collect_live(netns, all_netns, timeout, interval, default_lang(), quiet, redact=not no_redact)
    write_bundle(bundle, output)
    bad = sum(1 for ev in bundle.items if not ev.ok)
    click.echo(f"netsleuth: wrote {output} ({len(bundle.items)} pieces of evidence, {bad} not ok)", err=True)


def _register_commands() -> None:
    """Every module of netsleuth.commands exposes `command` (a click command or group)."""
    import importlib
    import pkgutil

    from netsleuth import commands

    for mod in pkgutil.iter_modules(commands.__path__):
        cmd = getattr(importlib.import_module(f"netsleuth.commands.{mod.name}"), "command", None)
        if isinstance(cmd, click.Command):
            app.add_command(cmd)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Entry point: map every way of failing to its exit status and one clear line."""
    mode = _plugin_mode(list(sys.argv[1:] if argv is None else argv))

    def fail(msg: str, code: int = ExitCode.COULD_NOT_RUN) -> None:
        if mode is not None:
            _plugin_fail(mode, msg)
        _fail(msg, code)

    try:
        app.main(args=argv, prog_name="netsleuth", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        hint = f" (try `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        fail(f"{exc.format_message()}{hint}", ExitCode.USAGE)
    except click.Abort:
        fail("aborted", ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        fail(exc.format_message(), ExitCode.USAGE)
    except NetsleuthError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", ExitCode.INTERRUPTED)
    except BrokenPipeError:
        sys.exit(ExitCode.OK)
    except MemoryError:
        _out_of_memory()
    except BaseException as exc:  # a bug of ours, or a panic in a library (pyo3: BaseException)
        if isinstance(exc, SystemExit | GeneratorExit):
            raise
        if os.environ.get("NETSLEUTH_DEBUG"):
            raise
        try:
            fail(
                f"internal error: {type(exc).__name__}: {clip(str(exc), 300)} "
                "(NETSLEUTH_DEBUG=1 shows where; please report it)"
            )
        except MemoryError:
            _out_of_memory()
    sys.exit(ExitCode.OK)


def _out_of_memory() -> None:
    """Exit 3 with one line even when no memory is left to format one (never 1: a monitor reads 1
    as a warning)."""
    try:
        os.write(2, b"netsleuth: out of memory (an input too large for this machine)\n")
    finally:
        os._exit(ExitCode.COULD_NOT_RUN)


if __name__ == "__main__":
    main()
