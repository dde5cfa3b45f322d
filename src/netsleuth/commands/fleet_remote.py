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


def render_matrix(doc: dict[str, object]) -> str:
    """The matrix as text: one row per source host, one column per destination."""
    hosts = list(doc["hosts"])  # type: ignore[call-overload]
    cells = {(r["src"], r["dst"]): r for r in doc["results"]}  # type: ignore[attr-defined]
    width = max(8, *(len(h) for h in hosts)) + 2

    def cell(src: str, dst: str) -> str:
        if src == dst:
            return "-"
        r = cells.get((src, dst))
        if r is None:
            return "?"
        if r["icmp"] == "ok" and r["udp"] == "ok":
            return f"ok {r['pmtu'] or ''}".strip()
        return f"icmp {r['icmp']}/udp {r['udp']}"

    lines = [f"mesh probe, UDP port {doc['port']}: rows probe columns (ok PMTU, or what was lost)"]
    lines.append(" " * width + "".join(f"{h:>{width + 14}}" for h in hosts))
    for s in hosts:
        lines.append(f"{s:<{width}}" + "".join(f"{cell(s, d):>{width + 14}}" for d in hosts))
    for r in doc["results"]:  # type: ignore[attr-defined]
        if r["icmp"] != "ok" or r["udp"] != "ok":
            seen = ", ".join(f"{k}={v}" for k, v in r["udp_seen"].items() if v is not None)
            lines.append(
                f"  {r['src']} -> {r['dst']}: icmp {r['icmp']}, udp {r['udp']} ({seen}) {r['detail']}".rstrip()
            )
    return "\n".join(lines) + "\n"


@click.command("probe")
@inventory_option
@limit_option
@forks_option
@click.option(
    "--port", type=click.IntRange(1, 65535), default=4789, show_default=True, help="The tunnel's UDP port."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the matrix (JSON) to FILE.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--collector",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A collector zipapp to use (default: built now from this netsleuth).",
)
def probe(
    inventory: Path,
    limit: str | None,
    forks: int,
    port: int,
    output: Path | None,
    fmt: str,
    collector: Path | None,
) -> None:
    """Probe the mesh between the hosts of INVENTORY: every host listens, then probes every other
    host's inventory address (ICMP, path MTU with DF, UDP to PORT with a token), and the N x N
    matrix says which pairs pass, one way or both, and where a lost UDP probe was last seen (left
    the sender, reached the receiver's NIC, passed its firewall). Nothing is stopped on the hosts
    (the tunnel port may stay held by the kernel's vxlan socket); every listener is gone at the end,
    also after Ctrl-C. Needs root on the hosts (raw sockets).

    `netsleuth fleet diagnose DIR --mesh FILE` judges the matrix with the fleet's rules
    (fleet.udp_one_way names the host whose receive path drops the tunnel's UDP).
    Exit status: 3 when no pair of hosts could be probed (or the inventory does not parse).
    """
    from netsleuth.errors import NetsleuthError
    from netsleuth.remote.mesh import fleet_probe

    doc = fleet_probe(inventory, limit=limit, forks=forks, port=port, collector=collector)
    text = json.dumps(doc, indent=1) + "\n"
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise NetsleuthError(f"cannot write {output}: {exc.strerror}") from None
    click.echo(text if fmt == "json" else render_matrix(doc), nl=False)
    if all(r["icmp"] == "skipped" and r["udp"] == "skipped" for r in doc["results"]):
        click.echo("netsleuth: no pair of hosts could be probed (see the details above)", err=True)
        sys.exit(ExitCode.COULD_NOT_RUN)
