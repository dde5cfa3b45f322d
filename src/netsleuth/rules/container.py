"""Containers (seed 003): DRDS servers were started with --cpu-shares=128 by a scheduler (swarm)
that took 1024 shares to be the whole host, so 128 meant "4 of 32 cores" to it — and the
cluster reported no CPU left. cpu-shares is a relative weight per container, 1024 by default."""

from __future__ import annotations

from collections.abc import Iterator

from netsleuth.facts.host_state import Containers, CpuCount
from netsleuth.messages import Msg
from netsleuth.rules.base import Cmd, Finding, Seen, Severity, rule

DEFAULT_SHARES = 1024
SHOWN = 5


@rule(
    "container.cpu_shares_misfit",
    needs=(Containers,),
    optional=(CpuCount,),
    seed="003",
    severity=Severity.INFO,
    scope="host",
)
def cpu_shares_misfit(ctrs: Containers, cpu: CpuCount | None) -> Iterator[Finding]:
    """Containers carry cpu-shares below 1024, as if 1024 were the whole host rather than one default container."""
    low = [c for c in ctrs.items if 0 < c.cpu_shares < DEFAULT_SHARES and not c.nano_cpus and not c.cpuset]
    if not low:
        return
    ncpu = cpu.n if cpu is not None else None
    example = low[0]
    assumed = f"{example.cpu_shares * ncpu / DEFAULT_SHARES:g}" if ncpu else "?"
    yield Finding(
        Severity.INFO,
        subject=", ".join(c.name for c in low[:SHOWN])
        + (f" (+{len(low) - SHOWN})" if len(low) > SHOWN else ""),
        params={
            "count": len(low),
            "shares": example.cpu_shares,
            "name": example.name,
            "ncpu": ncpu if ncpu else "?",
            "assumed_cores": assumed,
        },
        seen=[Seen(ctrs.source, "\n".join(c.line for c in low[:SHOWN]))],
        now=[
            Cmd(f"docker update --cpu-shares {DEFAULT_SHARES} {example.name}", Msg("c_or_cpus")),
            "docker inspect --format '{{.Name}} {{.HostConfig.CpuShares}} {{.HostConfig.NanoCpus}}' $(docker ps -q)",
        ],
        persist=[
            Msg("do_fix_template"),
        ],
    )
