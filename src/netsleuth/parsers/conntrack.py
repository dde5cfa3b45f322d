"""Connection-tracking table: state histogram (streamed) and `conntrack -S` statistics."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from netsleuth.errors import ParseError

TCP_STATES = frozenset(
    [
        "NONE",
        "SYN_SENT",
        "SYN_RECV",
        "ESTABLISHED",
        "FIN_WAIT",
        "CLOSE_WAIT",
        "LAST_ACK",
        "TIME_WAIT",
        "CLOSE",
        "SYN_SENT2",
    ]
)
_HIST_LINE = re.compile(r"^([A-Za-z_0-9-]+)\s+(\d+)$")


def count_states(lines: Iterable[str]) -> Counter[str]:
    """Count conntrack entries by TCP state (other protocols by name), one line at a time.

    Reads `/proc/net/nf_conntrack` or `conntrack -L` lines; memory stays bounded whatever
    the table size.

    >>> count_states([
    ...   "ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=22",
    ...   "ipv4     2 udp      17 29 src=10.0.0.1 dst=10.0.0.9 sport=5 dport=53 [UNREPLIED]",
    ...   "tcp      6 117 TIME_WAIT src=10.0.0.1 dst=10.0.0.3 sport=2 dport=80",
    ...   "conntrack v1.4.5 (conntrack-tools): 3 flow entries have been shown.",
    ... ])
    Counter({'ESTABLISHED': 1, 'udp': 1, 'TIME_WAIT': 1})
    """
    counts: Counter[str] = Counter()
    for line in lines:
        parts = line.split(None, 6)
        if len(parts) < 4 or parts[0] == "conntrack":
            continue  # `conntrack v1.4.6 (conntrack-tools): 12 flow entries have been shown.`
        # /proc/net/nf_conntrack prefixes the L3 family: "ipv4 2 tcp 6 ..."
        if parts[0] in ("ipv4", "ipv6"):
            parts = parts[2:]
        proto = parts[0]
        if proto == "tcp" and len(parts) > 3 and parts[3] in TCP_STATES:
            counts[parts[3]] += 1
        else:
            counts[proto] += 1
    return counts


def format_histogram(counts: Counter[str]) -> str:
    """The histogram as the seed prints it: `STATE COUNT` per line, largest first."""
    return "".join(f"{state} {n}\n" for state, n in counts.most_common())


@dataclass
class StateHistogram:
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def dominant(self) -> tuple[str, int] | None:
        if not self.counts:
            return None
        state = max(self.counts, key=lambda s: self.counts[s])
        return state, self.counts[state]


def parse_histogram(lines: Iterable[str]) -> StateHistogram:
    """Read a state histogram (`STATE COUNT` lines, seed 001) or count raw table lines.

    >>> h = parse_histogram(["LAST_ACK 36", "SYN_RECV 52", "CLOSE_WAIT 350", "CLOSE 844",
    ...     "ESTABLISHED 246265", "FIN_WAIT 4", "SYN_SENT 993", "TIME_WAIT 9996"])
    >>> h.dominant(), h.total
    (('ESTABLISHED', 246265), 258540)
    """
    counts: Counter[str] = Counter()
    raw: list[str] = []
    it = iter(lines)
    for line in it:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _HIST_LINE.match(line)
        if m:
            counts[m.group(1)] += int(m.group(2))
            continue
        raw.append(line)
        counts.update(count_states(raw))
        counts.update(count_states(it))  # a raw table: stream the rest
        break
    return StateHistogram(dict(counts))


@dataclass
class ConntrackStats:
    """Sums over CPUs of `conntrack -S`."""

    values: dict[str, int]

    def get(self, key: str) -> int:
        return self.values.get(key, 0)


def parse_stats(text: str) -> ConntrackStats:
    """Parse `conntrack -S`.

    >>> s = parse_stats("cpu=0 found=0 invalid=3 insert=0 insert_failed=2 drop=2 early_drop=0 "
    ...                 "error=0 search_restart=0\\ncpu=1 found=1 invalid=0 insert=0 insert_failed=0 "
    ...                 "drop=5 early_drop=0 error=0 search_restart=0")
    >>> s.get("drop"), s.get("insert_failed")
    (7, 2)
    """
    values: Counter[str] = Counter()
    for line in text.splitlines():
        if not line.strip():
            continue
        for tok in line.split():
            k, sep, v = tok.partition("=")
            if not sep:
                raise ParseError("conntrack -S: expected key=value", line)
            if k != "cpu" and v.isdigit():
                values[k] += int(v)
    return ConntrackStats(dict(values))
