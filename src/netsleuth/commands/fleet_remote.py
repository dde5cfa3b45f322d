"""`netsleuth fleet collect` and `fleet probe`: reach the hosts of an inventory through Ansible."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from netsleuth.exitcode import ExitCode

inventory_option = click.option(
    "-i",
    "--inventory",
    required=True,
    type=click.Path(path_type=Path, exists=True),
    help="An Ansible inventory (INI, YAML, a directory, a script).",
)
limit_option = click.option("--limit", metavar="PATTERN", help="Only these hosts (Ansible's --limit).")
forks_option = click.option(
    "--forks", type=click.IntRange(1, 500), default=10, show_default=True, help="Hosts worked on at once."
)


@click.command("collect")
@inventory_option
@limit_option
@forks_option
@click.option(
    "-o",
    "--output",
    "outdir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory for the bundles (<host>.tar.gz) and fleet-collect.json.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(5, 3600),
    default=300,
    show_default=True,
    help="Seconds the collector may run on a host before it is killed.",
)
@click.option("--all-netns", is_flag=True, help="Collect inside every network namespace of each host too.")
@click.option(
    "--collector",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A collector zipapp to use (default: built now from this netsleuth).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def collect(
    inventory: Path,
    limit: str | None,
    forks: int,
    outdir: Path,
    timeout: float,
    all_netns: bool,
    collector: Path | None,
    fmt: str,
) -> None:
    """Collect a bundle from every host of INVENTORY through Ansible, into DIR.

    Copies the collector (a stdlib-only zipapp: python3 >= 3.6 on the hosts, nothing else), runs it
    under a timeout, fetches each bundle as DIR/<host>.tar.gz, removes what it copied, and writes
    DIR/fleet-collect.json: per host ok / unreachable / auth_failed / timed_out / collector_error
    with Ansible's message. Then `netsleuth fleet diagnose DIR`.

    Exit status: 0 every host collected, 1 some could not be, 3 none (or the inventory does not parse).
    """
    from netsleuth.remote.collect import MANIFEST, HostResult, fleet_collect

    def shown(h: HostResult) -> None:
        if fmt == "text":
            click.echo(
                f"  {h.name:20} {h.status:16} {h.duration_s:6.1f} s  {h.bundle or h.message}", err=True
            )

    run = fleet_collect(
        inventory,
        outdir,
        limit=limit,
        forks=forks,
        timeout=timeout,
        collector=collector,
        collect_args=["--all-netns"] if all_netns else [],
        progress=shown,
    )
    ok = run.collected()
    if fmt == "json":
        click.echo(json.dumps(run.to_dict(), indent=1))
    else:
        counts: dict[str, int] = {}
        for h in run.hosts:
            counts[h.status] = counts.get(h.status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: kv[0] != "ok"))
        click.echo(f"{len(run.hosts)} hosts in {run.duration_s:.1f} s: {summary} — {outdir / MANIFEST}")
        for h in run.hosts:
            if h.status != "ok":
                click.echo(f"  {h.name} ({h.address}): {h.status}: {h.message}")
    if not ok:
        click.echo("netsleuth: no host could be collected", err=True)
        sys.exit(ExitCode.COULD_NOT_RUN)
    sys.exit(ExitCode.OK if len(ok) == len(run.hosts) else ExitCode.WARNING)
