"""CPU time counters (`/proc/stat`, via jc) and the load average (`/proc/loadavg`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netsleuth.errors import ParseError

FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


@dataclass(frozen=True)
class CpuTimes:
    """Jiffies spent per state by one CPU (or by all: name "cpu")."""

    name: str
    user: int
    nice: int
    system: int
    idle: int
    iowait: int
    irq: int
    softirq: int
    steal: int

    @property
    def total(self) -> int:
        return sum(getattr(self, f) for f in FIELDS)


def parse_proc_stat(text: str) -> dict[str, CpuTimes]:
    """Parse `/proc/stat` into CPU times per CPU ("cpu" = all CPUs together).

    >>> cpus = parse_proc_stat(SAMPLE_STAT)
    >>> sorted(cpus), cpus["cpu"].idle, cpus["cpu1"].user
    (['cpu', 'cpu0', 'cpu1'], 210101, 3301)
    """
    import jc

    if not text.lstrip().startswith("cpu"):
        raise ParseError("/proc/stat: does not start with a cpu line", (text.strip().splitlines() or [""])[0])
    data: Any = jc.parse("proc_stat", text, quiet=True)
    out: dict[str, CpuTimes] = {}
    for name, row in data.items():
        if name.startswith("cpu") and isinstance(row, dict):
            out[name] = CpuTimes(name, *(int(row.get(f) or 0) for f in FIELDS))
    if "cpu" not in out:
        raise ParseError("/proc/stat: no aggregate cpu line", text[:60])
    return out


def idle_fraction(before: CpuTimes, after: CpuTimes) -> float | None:
    """Share of time idle (not counting I/O wait) between two samples; None when no time passed."""
    dt = after.total - before.total
    return (after.idle - before.idle) / dt if dt > 0 else None


@dataclass(frozen=True)
class LoadAvg:
    load1: float
    load5: float
    load15: float
    running: int
    threads: int
    line: str


def parse_loadavg(text: str) -> LoadAvg:
    """Parse `/proc/loadavg`.

    >>> parse_loadavg("0.11 0.03 0.01 3/98 9336\\n").load1
    0.11
    >>> parse_loadavg("garbage")
    Traceback (most recent call last):
    ...
    netsleuth.errors.ParseError: /proc/loadavg: expected `l1 l5 l15 run/total lastpid`: 'garbage'
    """
    line = text.strip().splitlines()[0] if text.strip() else ""
    parts = line.split()
    try:
        run, _, total = parts[3].partition("/")
        return LoadAvg(float(parts[0]), float(parts[1]), float(parts[2]), int(run), int(total), line)
    except (IndexError, ValueError):
        raise ParseError("/proc/loadavg: expected `l1 l5 l15 run/total lastpid`", line) from None


# captured on the test machine (first lines of /proc/stat)
SAMPLE_STAT = """\
cpu  4171 0 2821 210101 337 0 59 10 0 0
cpu0 870 0 1097 106679 43 0 11 3 0 0
cpu1 3301 0 1724 103421 294 0 47 6 0 0
intr 184351 0 0 0
ctxt 373393
btime 1795670220
processes 9337
procs_running 1
procs_blocked 0
"""
