"""Log events: log lines matching the patterns of rules/log_patterns/*.toml, with their ages.

Logs are streamed once through one combined regex per log kind; only the matches are kept
(count, first, last and a few samples per pattern), so a log of many GB costs no memory.
"""

from __future__ import annotations

import re
import re._constants as re_constants  # type: ignore[import-not-found]  # the stdlib regex parser
import re._parser as re_parser  # type: ignore[import-not-found]
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources

from netsleuth.evidence.model import Evidence
from netsleuth.facts.host import HostInfo
from netsleuth.facts.store import FactStore, Unavailable, provides
from netsleuth.messages import Msg
from netsleuth.parsers.kernlog import LogLine, parse_line
from netsleuth.parsers.ovs import parse_ovs_log

SAMPLES = 5
MAX_GROUPS = 256  # distinct namespaces/devices tracked per pattern


@dataclass(frozen=True)
class Pattern:
    id: str
    regex: re.Pattern[str]
    logs: tuple[str, ...]
    group: str = ""


@cache
def patterns() -> tuple[Pattern, ...]:
    found: list[Pattern] = []
    folder = resources.files("netsleuth.rules").joinpath("log_patterns")
    for f in sorted(folder.iterdir(), key=lambda e: e.name):
        if f.name.endswith(".toml"):
            for p in tomllib.loads(f.read_text())["pattern"]:
                found.append(Pattern(p["id"], re.compile(p["regex"]), tuple(p["logs"]), p.get("group", "")))
    ids = [p.id for p in found]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"log pattern ids defined twice: {sorted(dupes)}")
    return tuple(found)


def age_words(seconds: float | None) -> Msg:
    """How long ago, for people, in the report's language: `42 s ago`, `17 min ago`, `5.0 h ago`,
    `30 days ago` (wording in the messages' `common` entry).

    >>> [(m.key, m.params) for m in (age_words(42), age_words(1020), age_words(18000), age_words(2592000))]
    [('age_s', {'n': '42'}), ('age_min', {'n': '17'}), ('age_h', {'n': '5.0'}), ('age_days', {'n': '30'})]
    """
    if seconds is None:
        return Msg("age_unknown")
    if seconds < 120:
        return Msg("age_s", {"n": f"{seconds:.0f}"})
    if seconds < 7200:
        return Msg("age_min", {"n": f"{seconds / 60:.0f}"})
    if seconds < 172800:
        return Msg("age_h", {"n": f"{seconds / 3600:.1f}"})
    return Msg("age_days", {"n": f"{seconds / 86400:.0f}"})


@dataclass
class LogEvent:
    line: LogLine
    source: str
    age_s: float | None  # seconds before the evidence was taken; None when the line has no usable time
    match: dict[str, str]


def _older(a: LogEvent, b: LogEvent) -> bool:
    """Whether `a` happened before `b` (larger age = older; unknown ages sort first)."""
    return (a.age_s if a.age_s is not None else float("inf")) > (
        b.age_s if b.age_s is not None else float("inf")
    )


@dataclass
class EventSet:
    """All occurrences of one pattern: count, first/last and a few samples; and the same per
    value of the pattern's group (the namespace, the device), so a rule can keep only its own."""

    id: str
    count: int = 0
    first: LogEvent | None = None
    last: LogEvent | None = None
    samples: list[LogEvent] = field(default_factory=list)
    by_group: dict[str, EventSet] = field(default_factory=dict)

    def add(self, ev: LogEvent, group: str | None = None) -> None:
        self.count += 1
        if self.first is None:
            self.first = ev
        self.last = ev
        if len(self.samples) < SAMPLES:
            self.samples.append(ev)
        if group is not None and (group in self.by_group or len(self.by_group) < MAX_GROUPS):
            self.by_group.setdefault(group, EventSet(self.id)).add(ev)

    def select(self, keep: Callable[[str, EventSet], bool]) -> EventSet:
        """The events whose group value (\"\" when the line names none) passes `keep`."""
        out = EventSet(self.id)
        for value, part in self.by_group.items():
            if not keep(value, part):
                continue
            out.count += part.count
            for ev in part.samples:
                if len(out.samples) < SAMPLES:
                    out.samples.append(ev)
            if part.first is not None and (out.first is None or _older(part.first, out.first)):
                out.first = part.first
            if part.last is not None and (out.last is None or _older(out.last, part.last)):
                out.last = part.last
        return out

    @property
    def newest_age_s(self) -> float | None:
        return self.last.age_s if self.last else None

    def recent(self, window_s: float) -> bool:
        age = self.newest_age_s
        return age is not None and age <= window_s

    def excerpt(self) -> list[str]:
        shown = list(self.samples)
        if self.last is not None and self.last not in shown:
            shown.append(self.last)
        return [e.line.raw for e in shown]


@dataclass
class LogEvents:
    """Matches of every log pattern in the logs of this host."""

    events: dict[str, EventSet]
    sources: list[str]

    def get(self, pattern_id: str) -> EventSet:
        return self.events.get(pattern_id, EventSet(pattern_id))


def _age(line: LogLine, host: HostInfo, boot_relative: bool) -> float | None:
    if line.wall is not None and host.collected_at is not None:
        wall = line.wall if line.wall.tzinfo else line.wall.replace(tzinfo=host.collected_at.tzinfo)
        return max(0.0, (host.collected_at - wall).total_seconds())
    if boot_relative and line.mono is not None and host.uptime_s is not None:
        return max(0.0, host.uptime_s - line.mono)
    return None


def scan(
    blocks: Iterable[str],
    kind: str,
    source: str,
    host: HostInfo,
    out: dict[str, EventSet],
    boot_relative: bool = True,
) -> None:
    """Feed one log through the patterns for its kind. `blocks` are whole lines, one or many at a
    time (Evidence.chunks()): one C-level regex search finds the candidate lines in a block, so a
    log of gigabytes is not walked line by line in Python."""
    pats = [p for p in patterns() if kind in p.logs]
    if not pats:
        return
    year = host.collected_at.year if host.collected_at else None
    for raw in _candidate_lines(blocks, pats):
        line = parse_line(raw, year) if kind == "kernel" else _ovs_line(raw)
        for p in pats:
            m = p.regex.search(line.text)
            if m:
                ev = LogEvent(
                    line,
                    source,
                    _age(line, host, boot_relative),
                    {k: v for k, v in m.groupdict().items() if v},
                )
                group = ev.match.get(p.group, "") if p.group else None
                out.setdefault(p.id, EventSet(p.id)).add(ev, group)


def required_literal(regex: re.Pattern[str]) -> str:
    r"""The longest run of plain characters every match must contain ("" when there is none).

    >>> required_literal(re.compile(r"NETDEV WATCHDOG: (?P<dev>\S+) \((?P<driver>[^)]*)\): transmit queue 2"))
    '): transmit queue 2'
    >>> required_literal(re.compile(r"(?:send error: Broken pipe|connection dropped)"))
    ''
    """
    if regex.flags & re.IGNORECASE:
        return ""
    best, run = "", []
    for op, arg in re_parser.parse(regex.pattern):
        if op is re_constants.LITERAL:
            run.append(chr(arg))
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
    return "".join(run) if len(run) > len(best) else best


def _candidate_lines(blocks: Iterable[str], pats: list[Pattern]) -> Iterator[str]:
    r"""Each line of the blocks that one of the patterns may match, once, in order.

    Patterns with a required literal are found by `str.find` (a C scan, gigabytes a second);
    the others by their regex over the whole block.

    >>> pats = [Pattern("x", re.compile(r"table full"), ("kernel",)), Pattern("y", re.compile(r"a|b"), ("kernel",))]
    >>> list(_candidate_lines(["1 table full\n2 zzz\n3 a\n", "4 table full b"], pats))
    ['1 table full', '3 a', '4 table full b']
    """
    literals = [lit for lit in (required_literal(p.regex) for p in pats) if len(lit) >= 4]
    slow = [p.regex for p in pats if len(required_literal(p.regex)) < 4]
    for block in blocks:
        starts: set[int] = set()
        for lit in literals:
            pos = block.find(lit)
            while pos >= 0:
                starts.add(block.rfind("\n", 0, pos) + 1)
                nxt = block.find("\n", pos)
                pos = block.find(lit, nxt) if nxt >= 0 else -1
        for rx in slow:
            for m in rx.finditer(block):
                starts.add(block.rfind("\n", 0, m.start()) + 1)
        for start in sorted(starts):
            end = block.find("\n", start)
            yield block[start : len(block) if end < 0 else end].rstrip("\r")


def _ovs_line(raw: str) -> LogLine:
    parsed = parse_ovs_log([raw])[0]
    return LogLine(text=parsed.message or raw, raw=raw, wall=parsed.when)


def _kernel_sources(fs: FactStore) -> list[Evidence]:
    found: list[Evidence] = []
    dmesg = fs.evidence("kernel.dmesg", host=True)
    if dmesg is not None and dmesg.ok:
        found.append(dmesg)
    found += [ev for ev in fs.keyed("log.kernel", host=True) if ev.ok]
    return found


@provides(
    LogEvents, reads=("kernel.dmesg", "log.kernel", "ovs.log_vswitchd", "ovs.log_ovsdb"), uses=(HostInfo,)
)
def _log_events(fs: FactStore) -> LogEvents:
    host = fs.get(HostInfo)
    out: dict[str, EventSet] = {}
    sources: list[str] = []
    kernel = _kernel_sources(fs)
    for ev in kernel:
        # dmesg seconds are since this boot; lines in syslog files from earlier boots carry wall time
        scan(ev.chunks(), "kernel", ev.source, host, out, boot_relative=ev.name == "kernel.dmesg")
        sources.append(ev.source)
        if ev.name == "kernel.dmesg":
            break  # the ring buffer covers this boot; syslog files would repeat the same lines
    for name, kind in (("ovs.log_vswitchd", "ovs_vswitchd"), ("ovs.log_ovsdb", "ovs_ovsdb")):
        log = fs.evidence(name, host=True)
        if log is not None and log.ok:
            scan(log.chunks(), kind, log.source, host, out, boot_relative=False)
            sources.append(log.source)
    if not sources:
        reasons = [
            f"{n}: {e.status.value}"
            for n in ("kernel.dmesg", "log.kernel")
            if (e := fs.evidence(n, host=True)) is not None
        ]
        raise Unavailable("no kernel log readable (" + ", ".join(reasons or ["not collected"]) + ")")
    return LogEvents(out, sources)


__all__ = [
    "EventSet",
    "LogEvent",
    "LogEvents",
    "age_words",
    "datetime",
    "patterns",
    "scan",
]
