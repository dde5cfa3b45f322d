"""`netsleuth watch`: a quiet, cheap service that notices a fault when it happens (see watch/loop.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from netsleuth.evidence.model import HOST
from netsleuth.messages import LANGS, default_lang


@click.command("watch")
@click.option(
    "--interval",
    type=click.FloatRange(1, 86400),
    default=None,
    help="Seconds between cycles (default: the configuration's, else 30).",
)
@click.option(
    "--netns",
    "netns",
    multiple=True,
    metavar="NAME",
    help="Watch inside this network namespace (repeatable).",
)
@click.option("--all-netns", is_flag=True, help="Watch every named network namespace too (asked each cycle).")
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 60),
    default=2.0,
    show_default=True,
    help="Seconds each command may take before it is killed (a hang is evidence).",
)
@click.option(
    "--probes", is_flag=True, help="Also run diagnose's cheap probes each cycle (default: passive)."
)
@click.option("--peer", "peers", multiple=True, metavar="IP", help="With --probes: also probe this peer.")
@click.option(
    "--events",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Append events to FILE (default: stdout).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="json: JSON Lines (netsleuth.event/v1); text: one line per event for people.",
)
@click.option("--lang", type=click.Choice(LANGS), default=None, help="Language (default from the locale).")
@click.option(
    "--keep",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep a bundle of the moment here when a fault is raised (default: STATE_DIR/bundles).",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where watch remembers log positions and active faults across restarts (e.g. /var/lib/netsleuth).",
)
@click.option("--listen", metavar="ADDR:PORT", help="Serve Prometheus metrics on http://ADDR:PORT/metrics.")
@click.option(
    "--textfile",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write metrics to DIR/netsleuth.prom for node_exporter's textfile collector.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Suppressions, thresholds, interval (default /etc/netsleuth/config.toml when it exists); "
    "SIGHUP reloads it.",
)
@click.option(
    "--lookback",
    type=click.FloatRange(0, 86400),
    default=0.0,
    show_default=True,
    help="The first cycle also reads log lines this many seconds old (later cycles: what is new).",
)
@click.option("--cycles", type=click.IntRange(1), default=None, help="Stop after N cycles.")
def command(
    interval: float | None,
    netns: tuple[str, ...],
    all_netns: bool,
    timeout: float,
    probes: bool,
    peers: tuple[str, ...],
    events: Path | None,
    fmt: str,
    lang: str | None,
    keep: Path | None,
    state_dir: Path | None,
    listen: str | None,
    textfile: Path | None,
    config_path: Path | None,
    lookback: float,
    cycles: int | None,
) -> None:
    """Watch this host: a bounded passive diagnosis every --interval seconds, incremental where it
    is cheap (kernel messages and logs since the last cycle, counter rates over the whole cycle).

    Emits state transitions, not repeats: `raised` / `changed` / `cleared` events with the finding,
    its evidence and the bundle kept of that moment. SIGTERM ends it cleanly; SIGHUP reloads the
    configuration.
    """
    from netsleuth.cli import _scopes
    from netsleuth.config import load as load_config
    from netsleuth.evidence.live import list_netns
    from netsleuth.rules.base import all_rules
    from netsleuth.watch.loop import Watcher, WatchOptions
    from netsleuth.watch.metrics import parse_listen

    if peers and not probes:
        raise click.UsageError("--peer needs --probes")
    try:
        where = parse_listen(listen) if listen else None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    fixed = _scopes(netns, all_netns, timeout)  # unknown namespaces: a usage error now

    def scopes() -> tuple[str, ...]:
        return (HOST, *list_netns(timeout)) if all_netns else fixed

    known = {r.id for r in all_rules()}
    config = load_config(config_path, known.__contains__)
    opts = WatchOptions(
        scopes=scopes,
        interval=interval,
        timeout=timeout,
        probes=probes,
        peers=peers,
        events=events,
        fmt=fmt,
        lang=lang or default_lang(),
        keep=keep,
        state_dir=state_dir,
        listen=where,
        textfile=textfile,
        config_path=config_path,
        known_rule=known.__contains__,
        lookback_s=lookback,
        cycles=cycles,
    )
    sys.exit(Watcher(opts, config).run())
