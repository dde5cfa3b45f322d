"""Connection-tracking table: state histogram (streamed) and `conntrack -S` statistics."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain

# counting a table as it streams is the collector's (it runs on the hosts); parsing reads it back
from netsleuth.collector.conntrack import count_states as count_states
from netsleuth.collector.conntrack import count_states_blocks as count_states_blocks
from netsleuth.errors import ParseError

_HIST_LINE = re.compile(r"^([A-Za-z_0-9-]+)\s+(\d+)$")


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


def parse_histogram_blocks(blocks: Iterable[bytes]) -> StateHistogram:
    """`parse_histogram` over raw bytes in blocks (a sosreport's table on disk): a histogram is read
    as one; a raw table is counted by `count_states_blocks`.

    >>> parse_histogram_blocks([b"# conntrack\\n\\nESTABLISHED 5\\nTIME_W", b"AIT 2\\n"]).counts
    {'ESTABLISHED': 5, 'TIME_WAIT': 2}
    >>> parse_histogram_blocks([b"\\ntcp      6 117 TIME_WAIT src=10.0.0.1 dst=10.0.0.3\\n"]).counts
    {'TIME_WAIT': 1}
    """
    it = iter(blocks)
    head, pos, more = b"", 0, True
    while True:
        nl = head.find(b"\n", pos)
        if nl < 0:
            block = next(it, None) if more else None
            if block is not None:
                head += block
                continue
            more = False
            if pos >= len(head):
                return StateHistogram({})
            nl = len(head)
        line = head[pos:nl].strip()
        if line and not line.startswith(b"#"):
            break
        pos = nl + 1
    if _HIST_LINE.match(line.decode(errors="replace")):  # a histogram: small
        return parse_histogram((head[pos:] + b"".join(it)).decode(errors="replace").splitlines())
    return StateHistogram(dict(count_states_blocks(chain([head[pos:]], it))))


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
