"""Kernel (seed 003): a kernel bug in the per-CPU migration thread froze one core. `top` showed a
high load average and idle CPUs at once; anything scheduled on that core — ping included — stood
still for about 20 s until the watchdog recovered it, and the kernel log kept the stuck stacks."""

from __future__ import annotations

from collections.abc import Iterator

from netsleuth.facts.host_state import CpuLoad
from netsleuth.facts.logs import EventSet, LogEvents, age_words
from netsleuth.messages import Msg
from netsleuth.rules.base import Cmd, Finding, Seen, Severity, Skip, rule

RECENT_S = 3600.0
STALL_EVENTS = ("soft_lockup", "hard_lockup", "rcu_stall", "migration_stuck", "hung_task")
LOAD_PER_CPU = 1.0  # at least one task waiting per CPU ...
IDLE = 0.6  # ... while the CPUs are mostly idle


def _paradox(cpu: CpuLoad | None) -> bool:
    """Load high while the CPUs idle: tasks wait for a CPU that does not run them."""
    return (
        cpu is not None
        and cpu.idle is not None
        and cpu.load.load1 >= max(1.0, LOAD_PER_CPU * cpu.ncpu)
        and cpu.idle >= IDLE
    )


@rule(
    "kernel.cpu_stall",
    needs=(),
    optional=(CpuLoad, LogEvents),
    seed="003",
    severity=Severity.CRITICAL,
    scope="host",
)
def cpu_stall(cpu: CpuLoad | None, logs: LogEvents | None) -> Iterator[Finding]:
    """Load average high while CPUs idle, with soft lockup / hung task / stuck migration/N stacks in the kernel log."""
    if logs is not None and not logs.read("kernel"):
        logs = None  # only other logs were read: the kernel's silence is not known
    if cpu is None and logs is None:
        raise Skip(Msg("needs_load"))
    events: list[EventSet] = [logs.get(e) for e in STALL_EVENTS] if logs is not None else []
    events = [e for e in events if e.count]
    paradox = _paradox(cpu)
    if not events and not paradox:
        return
    recent = [e for e in events if e.recent(RECENT_S)]
    if recent:
        severity = Severity.CRITICAL  # a CPU got stuck within the hour
    elif paradox and events:
        severity = Severity.WARNING  # stacks from long ago, and the paradox is back now
    else:
        # the paradox alone is also I/O wait (D-state tasks count in the load) or a 1-minute
        # average still high after a burst: worth knowing, not a fault by itself
        severity = Severity.INFO
    seen: list[Seen] = []
    if cpu is not None:
        seen.append(Seen(cpu.load_source, cpu.load.line))
        if cpu.stat_lines:
            seen.append(Seen(cpu.stat_source, "\n".join(cpu.stat_lines)))
    cpus: set[str] = set()
    for e in events:
        seen.append(Seen(e.last.source if e.last else "kernel log", "\n".join(e.excerpt())))
        cpus |= {s.match["cpu"] for s in e.samples if "cpu" in s.match}
    newest = min((e.newest_age_s for e in events if e.newest_age_s is not None), default=None)
    cpu_list = ", ".join(sorted(cpus, key=int)) if cpus else "?"
    yield Finding(
        severity,
        subject=f"CPU {cpu_list}" if cpus else "CPUs",
        params={
            "load1": cpu.load.load1 if cpu else "?",
            "ncpu": cpu.ncpu if cpu else "?",
            "idle_pct": f"{cpu.idle * 100:.0f}" if cpu and cpu.idle is not None else "?",
            "events": ", ".join(f"{e.id} x{e.count}" for e in events) or Msg("none"),
            "count": sum(e.count for e in events),
            "age": age_words(newest),
            "cpus": cpu_list,
            "state": Msg("state_now" if paradox else "state_not_now"),
        },
        seen=seen,
        now=[
            Cmd("top -H -b -n 1 | head -40", Msg("c_load_vs_idle")),
            Cmd("ps -eo pid,stat,psr,wchan:32,comm | awk '$2 ~ /D|R/'", Msg("c_which_cpu")),
            "dmesg -T | grep -E 'soft lockup|hard LOCKUP|blocked for more than|rcu_.*stall|Comm: migration/' | tail",
            Cmd("uname -r; rpm -q kernel || dpkg -l 'linux-image*'", Msg("c_compare_kernel")),
        ],
        persist=[
            Msg("do_fixed_kernel"),
            Msg("do_keep_watchdog"),
        ],
    )
