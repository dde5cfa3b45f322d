"""Connection-tracking table: state histogram (streamed) and `conntrack -S` statistics."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain, islice
from operator import itemgetter

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


# The fast path over raw bytes (millions of entries, seed 001's `awk '{count[$6]++}'`). Digits are
# zeroed (one `translate`), so the head of a line -- family, protocol, timeout, state -- takes one of
# a few shapes whatever the numbers; the lines are counted by head in C (`Counter` over slices) and
# each distinct head is read once, the way `count_states` reads a line.
_ZERO = bytes.maketrans(b"123456789", b"000000000")
_HEAD = 48  # bytes: "ipv6     10 tcp      6 " (23) + a timeout of up to 12 digits + a state (11)
_head = itemgetter(slice(0, _HEAD))
_FOLD = 50_000  # distinct heads held before they are folded into the histogram (memory stays bounded)
_PROTOS = ("tcp", "udp", "udplite", "icmp", "icmpv6", "sctp", "dccp", "gre", "unknown")
# names as they read once zeroed; a digit in a name is taken as the kernel prints it (ipv4/ipv6,
# icmpv6, SYN_SENT2); any other zeroed name goes the exact way, line by line
_ZNAMES = {n.encode().translate(_ZERO): n for n in (*_PROTOS, *TCP_STATES)}
_ZSTATES = {n.encode().translate(_ZERO): n for n in TCP_STATES}
_UNSURE = "\0unsure"  # a head that does not say what its line counts as: count the block line by line
# bytes that str.split() may take for whitespace where bytes.split() does not
_ODD = frozenset(range(0x80, 0x100)) | frozenset(range(0x1C, 0x20))


def _read_head(head: bytes) -> str | None:
    """What a line whose zeroed head is `head` counts as in `count_states` (None: nothing, too short),
    or _UNSURE when the head alone cannot say (cut short, odd bytes, an unknown name with a digit)."""
    cut = len(head) == _HEAD
    if _ODD.intersection(head) or b"\r" in head.rstrip(b"\r"):
        return _UNSURE
    toks = head.split()
    if cut and toks and not head[-1:].isspace():
        toks.pop()  # the last token may go on past the head
    if len(toks) < 4:
        return _UNSURE if cut else None
    if toks[0] == b"ipv0":  # "ipv4     2" / "ipv6     10"
        toks = toks[2:]
    proto = toks[0]
    if proto == b"tcp":
        if len(toks) > 3:
            return _ZSTATES.get(toks[3], "tcp")
        return _UNSURE if cut else "tcp"
    if b"0" in proto:
        return _ZNAMES.get(proto, _UNSURE)
    return proto.decode()


def count_states_blocks(blocks: Iterable[bytes]) -> Counter[str]:
    """`count_states` over the raw bytes of a table (`/proc/net/nf_conntrack`, `conntrack -L`), in
    blocks of any size: the same counts, as fast as awk, memory bounded by one block.

    >>> table = (b"ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=22\\n"
    ...          b"ipv6     10 udp      17 29 src=fd00::1 dst=fd00::2 sport=5 dport=53 [UNREPLIED]\\n"
    ...          b"tcp      6 117 TIME_WAIT src=10.0.0.1 dst=10.0.0.3 sport=2 dport=80\\n"
    ...          b"ipv4     2 tcp      6 60 SYN_SENT2 src=10.0.0.1 dst=10.0.0.4 sport=3 dport=80")
    >>> count_states_blocks([table[:50], table[50:]])   # a block boundary mid-line changes nothing
    Counter({'ESTABLISHED': 1, 'udp': 1, 'TIME_WAIT': 1, 'SYN_SENT2': 1})
    """
    counts: Counter[str] = Counter()
    heads: Counter[bytes] = Counter()  # zeroed head -> lines, since the last fold
    read: dict[bytes, str | None] = {}  # zeroed head -> what its lines count as

    def fold() -> None:
        for head, n in heads.items():
            what = read[head]
            if what is not None:
                counts[what] += n
        heads.clear()

    rest, zrest = b"", b""  # the unfinished last line, as read and zeroed
    for block in blocks:
        zlines = block.translate(_ZERO).split(b"\n")
        zlines[0] = zrest + zlines[0]
        zrest = zlines.pop()
        before = len(heads)
        heads.update(map(_head, zlines))
        new = [h for h in islice(heads, before, None) if h not in read]
        for h in new:
            read[h] = _read_head(h)
        if any(read[h] == _UNSURE for h in new):  # this block goes line by line, exactly
            for h in map(_head, zlines):
                heads[h] -= 1
                if not heads[h]:
                    del heads[h]
            lines = (rest + block).split(b"\n")[:-1]
            counts.update(count_states(line.decode(errors="replace") for line in lines))
            for h in new:
                del read[h]
        nl = block.rfind(b"\n")
        rest = block[nl + 1 :] if nl >= 0 else rest + block
        if len(heads) > _FOLD or len(read) > _FOLD:
            fold()
            read.clear()
    fold()
    if rest.strip():
        counts.update(count_states([rest.decode(errors="replace")]))
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
