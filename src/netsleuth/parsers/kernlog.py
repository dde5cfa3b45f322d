"""Kernel log lines with their time: dmesg (`[seconds since boot]`), journalctl, syslog files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

# [64802472.971773] msg     (dmesg; also inside syslog lines "kernel: [598346.499873] msg")
_MONO = re.compile(r"\[\s*(\d+\.\d+)\]\s?(.*)$")
# 2017-09-15T06:52:37.820784+00:00 host kernel: ...   (rsyslog ISO)
_ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:?\d\d|Z)?)\s+\S+\s+(.*)$")
# Feb 27 22:01:36 mynode kernel: ...     (classic syslog, no year)
_BSD = re.compile(r"^([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d\d:\d\d:\d\d)\s+\S+\s+(.*)$")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


@dataclass(frozen=True)
class LogLine:
    text: str  # the message (without timestamp prefix)
    raw: str  # the line as it stands in the source
    mono: float | None = None  # seconds since boot
    wall: datetime | None = None  # wall-clock time, when the source has it


def parse_line(raw: str, year: int | None = None, month: int | None = None) -> LogLine:
    """One kernel-log line. A syslog date has no year: it is `year`'s (the year the evidence was
    taken), or the year before when its month is later than `month` (the month it was taken): a
    log is never dated in the future.

    >>> l = parse_line("[64802472.971773] nf_conntrack: table full, dropping packet")
    >>> l.mono, l.text
    (64802472.971773, 'nf_conntrack: table full, dropping packet')
    >>> l = parse_line("2017-09-15T06:52:37.820784+00:00 ascliveedas4.sgdc kernel: [598346.499873] "
    ...                "NETDEV WATCHDOG: ens2f0 (ixgbe): transmit queue 28 timed out")
    >>> l.mono, l.wall.isoformat(), l.text
    (598346.499873, '2017-09-15T06:52:37.820784+00:00', 'NETDEV WATCHDOG: ens2f0 (ixgbe): transmit queue 28 timed out')
    >>> [parse_line(f"{m} 30 23:59:01 node1 kernel: x", 2026, 1).wall.year for m in ("Jan", "Dec")]
    [2026, 2025]
    """
    wall: datetime | None = None
    rest = raw
    m = _ISO.match(raw)
    if m:
        try:
            wall = datetime.fromisoformat(m.group(1).replace("Z", "+00:00"))
        except ValueError:
            wall = None
        rest = m.group(2)
    else:
        b = _BSD.match(raw)
        if b and b.group(1) in _MONTHS and year is not None:
            mon = _MONTHS[b.group(1)]
            when = year - 1 if month is not None and mon > month else year
            try:
                wall = datetime.strptime(f"{when} {mon} {b.group(2)} {b.group(3)}", "%Y %m %d %H:%M:%S")
            except ValueError:
                wall = None
            rest = b.group(4)
        elif b:
            rest = b.group(4)
    if rest.startswith("kernel:"):
        rest = rest[len("kernel:") :].lstrip()
    mono: float | None = None
    mm = _MONO.match(rest)
    if mm:
        mono = float(mm.group(1))
        rest = mm.group(2)
    return LogLine(text=rest, raw=raw, mono=mono, wall=wall)
