"""Uptime: `/proc/uptime` or the text of `uptime` (sosreports)."""

from __future__ import annotations

import re

from netsleuth.errors import ParseError

_UP = re.compile(r"\bup\s+(?:(\d+)\s+days?,\s*)?(?:(\d+):(\d+)|(\d+)\s+min)")


def parse_uptime(text: str) -> float:
    """Seconds since boot.

    >>> parse_uptime("350735.47 234388.90")
    350735.47
    >>> parse_uptime(" 05:19:07 up 2 min,  0 user,  load average: 0.39, 0.15, 0.05")
    120.0
    >>> parse_uptime(" 10:01:02 up 750 days,  3:04,  2 users,  load average: 9.00, 8.00, 7.00")
    64811040.0
    """
    s = text.strip()
    first = s.split()[0] if s else ""
    try:
        return float(first)
    except ValueError:
        pass
    m = _UP.search(s)
    if not m:
        raise ParseError("uptime: no 'up' time found", s[:120])
    days = int(m.group(1) or 0)
    secs = int(m.group(4)) * 60 if m.group(4) else int(m.group(2)) * 3600 + int(m.group(3)) * 60
    return float(days * 86400 + secs)
