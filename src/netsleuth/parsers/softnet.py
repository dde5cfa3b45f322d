"""`/proc/net/softnet_stat`: per-CPU packet backlog counters (hexadecimal columns)."""

from __future__ import annotations

from dataclasses import dataclass

from netsleuth.errors import ParseError


@dataclass(frozen=True)
class SoftnetCpu:
    cpu: int
    processed: int
    dropped: int  # backlog queue full (net.core.netdev_max_backlog)
    time_squeeze: int  # NAPI budget or time ran out with work left (net.core.netdev_budget)


def parse_softnet(text: str) -> list[SoftnetCpu]:
    """One row per online CPU. The CPU number is the 13th column on kernels >= 5.10, else the row index.

    >>> rows = parse_softnet(SAMPLE_SOFTNET)   # captured on a 2-CPU test machine
    >>> [(r.cpu, r.processed, r.dropped, r.time_squeeze) for r in rows]
    [(0, 15, 0, 0), (1, 1952, 0, 0)]
    >>> parse_softnet("0000000f 0000zz00 00000000")
    Traceback (most recent call last):
    ...
    netsleuth.errors.ParseError: softnet_stat: not hexadecimal: '0000000f 0000zz00 00000000'
    """
    rows: list[SoftnetCpu] = []
    for i, line in enumerate(ln for ln in text.splitlines() if ln.strip()):
        cols = line.split()
        try:
            vals = [int(c, 16) for c in cols]
        except ValueError:
            raise ParseError("softnet_stat: not hexadecimal", line) from None
        if len(vals) < 3:
            raise ParseError("softnet_stat: fewer than 3 columns", line)
        cpu = vals[12] if len(vals) >= 13 else i
        rows.append(SoftnetCpu(cpu, vals[0], vals[1], vals[2]))
    if not rows:
        raise ParseError("softnet_stat: empty")
    return rows


SAMPLE_SOFTNET = """\
0000000f 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000
000007a0 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000
"""
