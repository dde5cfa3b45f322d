"""Log events: log lines matching the patterns of rules/log_patterns/*.toml, with their ages.

One scan per bundle serves every log consumer (the kernel-log rules, the OVS rules, the DHCP log
fact): each log file is read once, its lines prefiltered by the literals every pattern requires
(evidence/linescan.py: hyperscan, ripgrep or Python, the same lines from each), and only the
candidate lines are parsed and matched in Python. Only the matches are kept (count, first, last
and a few samples per pattern), so a log of many GB costs no memory.

The kernel log comes from several places that overlap: dmesg (this boot since its ring buffer
last wrapped), kern.log, messages and syslog (earlier boots too; kern.log and syslog both hold the
kernel's lines on Debian). Each is read; a line is counted once, from the first source that covers
its time (dmesg, then kern.log, messages, syslog).
"""

from __future__ import annotations

import re
import re._constants as re_constants  # type: ignore[import-not-found]  # the stdlib regex parser
import re._parser as re_parser  # type: ignore[import-not-found]
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from netsleuth.evidence.linescan import candidate_lines
from netsleuth.evidence.model import Bundle, Evidence
from netsleuth.facts.host import HostInfo
from netsleuth.facts.store import FactStore, Unavailable, provides
from netsleuth.messages import Msg
from netsleuth.parsers.kernlog import LogLine, parse_line
from netsleuth.parsers.ovs import parse_ovs_log

SAMPLES = 5
MAX_GROUPS = 4096  # distinct namespaces/devices/MACs tracked per pattern
LOG_LINE = 8192  # bytes of a log line matched (printk's limit is 1 KiB, rsyslog's 8 KiB)
HEAD_LINES = 200  # lines read at the start of a log to find the time it begins
BOOT_SLACK_S = 120.0  # a line this close before the boot time may still be of this boot


@dataclass(frozen=True)
class Pattern:
    id: str
    regex: re.Pattern[str]
    logs: tuple[str, ...]
    group: str = ""

    @property
    def literals(self) -> tuple[str, ...]:
        """Plain strings one of which every match contains (the prefilter's needles), without the
        spaces and punctuation at their ends: a needle that starts with ": " or " " is a poor
        fingerprint in a log full of them (ripgrep's scan was 5x slower with them)."""
        return tuple(_core(lit) for lit in required_literals(self.regex))


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
    vague = [p.id for p in found if not p.literals]
    if vague:
        raise ValueError(f"log patterns without a literal of {MIN_LITERAL}+ characters to look for: {vague}")
    loose = [p.id for p in found if _starts_unbounded(p.regex)]
    if loose:  # tried at every position of a long line, that costs its length squared
        raise ValueError(f"log patterns that start with an unbounded repetition: {loose}")
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
    kinds: set[str] = field(default_factory=set)  # the kinds of log read ("kernel", "ovs_vswitchd")

    def get(self, pattern_id: str) -> EventSet:
        return self.events.get(pattern_id, EventSet(pattern_id))

    def read(self, kind: str) -> bool:
        """Whether a log of this kind was read: no event in a log not read is no news."""
        return kind in self.kinds


def _age(line: LogLine, host: HostInfo, boot_relative: bool) -> float | None:
    if line.wall is not None and host.collected_at is not None:
        wall = line.wall if line.wall.tzinfo else line.wall.replace(tzinfo=host.collected_at.tzinfo)
        return max(0.0, (host.collected_at - wall).total_seconds())
    if boot_relative and line.mono is not None and host.uptime_s is not None:
        return max(0.0, host.uptime_s - line.mono)
    return None


MIN_LITERAL = 4
_EDGES = " :;,.()[]{}<>#/-=\t"


def _core(literal: str) -> str:
    """
    >>> _core(": dropped over-mtu packet: "), _core("dnsmasq-dhcp["), _core(" (: ")
    ('dropped over-mtu packet', 'dnsmasq-dhcp', ' (: ')
    """
    core = literal.strip(_EDGES)
    return core if len(core) >= MIN_LITERAL else literal


def _starts_unbounded(regex: re.Pattern[str]) -> bool:
    r"""Whether the regex may begin with an unbounded repetition (`\S+: x`, `(?P<d>.*) y`).

    >>> _starts_unbounded(re.compile(r"(?P<dev>\S+): dropped")), _starts_unbounded(re.compile(r"(?P<dev>[^\s:]{1,32}): x"))
    (True, False)
    """
    return _unbounded_head(list(re_parser.parse(regex.pattern)))


def _unbounded_head(items: list[tuple[Any, Any]]) -> bool:
    if not items:
        return False
    op, arg = items[0]
    if op is re_constants.SUBPATTERN:
        return _unbounded_head(list(arg[3]))
    if op is re_constants.BRANCH:
        return any(_unbounded_head(list(b)) for b in arg[1])
    return op in (re_constants.MAX_REPEAT, re_constants.MIN_REPEAT) and arg[1] == re_constants.MAXREPEAT


def _literal_runs(items: list[tuple[Any, Any]]) -> tuple[str, ...]:
    """The best needles of a parsed regex sequence: its longest literal run, or the needles of
    one alternation in it whose every branch has some."""
    best: tuple[str, ...] = ()
    run: list[str] = []

    def better(cand: tuple[str, ...]) -> bool:
        return bool(cand) and (not best or min(map(len, cand)) > min(map(len, best)))

    for op, arg in [*items, (None, None)]:
        if op is re_constants.LITERAL:
            run.append(chr(arg))
            continue
        if len(run) >= MIN_LITERAL and better(("".join(run),)):
            best = ("".join(run),)
        run = []
        branches: list[list[tuple[Any, Any]]] = []
        if op is re_constants.BRANCH:
            branches = [list(b) for b in arg[1]]
        elif op is re_constants.SUBPATTERN and len(arg[3]) == 1 and arg[3][0][0] is re_constants.BRANCH:
            branches = [list(b) for b in arg[3][0][1][1]]
        elif op is re_constants.SUBPATTERN:
            inner = _literal_runs(list(arg[3]))
            if better(inner):
                best = inner
        if branches:
            each = [_literal_runs(b) for b in branches]
            if all(each) and better(tuple(sorted({lit for e in each for lit in e}))):
                best = tuple(sorted({lit for e in each for lit in e}))
    return best


def required_literals(regex: re.Pattern[str]) -> tuple[str, ...]:
    r"""Plain strings of at least 4 characters one of which every match must contain (() when
    there are none: the pattern would need a full regex scan).

    >>> required_literals(re.compile(r"NETDEV WATCHDOG: (?P<dev>\S+) \((?P<driver>[^)]*)\): transmit queue 2"))
    ('): transmit queue 2',)
    >>> required_literals(re.compile(r"(?:send error: Broken pipe|connection dropped \(Broken pipe\))"))
    ('connection dropped (Broken pipe)', 'send error: Broken pipe')
    >>> required_literals(re.compile(r"a(?:bc|d)"))
    ()
    """
    if regex.flags & re.IGNORECASE:
        return ()
    return _literal_runs(list(re_parser.parse(regex.pattern)))


@dataclass
class _Source:
    ev: Evidence
    kinds: tuple[str, ...]  # log kinds whose patterns are looked for in it
    kernel_rank: int | None = None  # order among the kernel-log sources (0 = dmesg when present)


@dataclass
class _Cover:
    """The time from which a kernel-log source holds every kernel line (until the evidence was
    taken): dmesg from its first line's seconds since boot, a log file from its first line's date."""

    mono: float | None = None
    wall: datetime | None = None


def _sources(get: Callable[[str], Evidence | None], keyed: Callable[[str], list[Evidence]]) -> list[_Source]:
    """The logs of the host scope, in the order they are read: dmesg first, then the system logs
    (kernel and dnsmasq lines), dnsmasq's own, Open vSwitch's."""

    def every(name: str) -> list[Evidence]:  # the unkeyed piece and those keyed by file name
        one = get(name)
        return [ev for ev in [*([one] if one is not None else []), *keyed(name)] if ev.ok]

    found: list[_Source] = []
    dmesg = get("kernel.dmesg")
    if dmesg is not None and dmesg.ok:
        found.append(_Source(dmesg, ("kernel",), 0))
    for ev in every("log.kernel"):
        found.append(_Source(ev, ("kernel", "dnsmasq"), len([s for s in found if s.kernel_rank is not None])))
    found += [_Source(ev, ("dnsmasq",)) for ev in every("log.dnsmasq")]
    for name, kind in (("ovs.log_vswitchd", "ovs_vswitchd"), ("ovs.log_ovsdb", "ovs_ovsdb")):
        found += [_Source(ev, (kind,)) for ev in every(name)]
    return found


def _parse(raw: str, kinds: tuple[str, ...], year: int | None, month: int | None) -> LogLine:
    if kinds[0].startswith("ovs_"):
        return _ovs_line(raw)
    return parse_line(raw, year, month)


def _cover(src: _Source, year: int | None, month: int | None) -> _Cover:
    """Where a kernel-log source starts (the first time stamp among its first lines)."""
    for n, raw in enumerate(src.ev.lines()):
        if n >= HEAD_LINES:
            break
        line = parse_line(raw, year, month)
        if src.ev.name == "kernel.dmesg" and line.mono is not None:
            return _Cover(mono=line.mono)
        if src.ev.name != "kernel.dmesg" and line.wall is not None:
            return _Cover(wall=line.wall)
    return _Cover()


def _naive(t: datetime) -> datetime:
    return t.replace(tzinfo=None) if t.tzinfo is None else t.astimezone(UTC).replace(tzinfo=None)


def _covered(line: LogLine, cover: _Cover, boot: datetime | None) -> bool:
    """Whether a line of a later kernel-log source is already counted from a source with `cover`."""
    if cover.wall is not None:
        return line.wall is not None and _naive(line.wall) >= _naive(cover.wall)
    if cover.mono is None:
        return False
    this_boot = (
        boot is None
        or line.wall is None
        or _naive(line.wall) >= _naive(boot) - timedelta(seconds=BOOT_SLACK_S)
    )
    if line.mono is not None:
        return this_boot and line.mono >= cover.mono
    if boot is not None and line.wall is not None:  # no seconds since boot on the line: by its date
        return _naive(line.wall) >= _naive(boot) + timedelta(seconds=cover.mono - 1)
    return False


@dataclass
class LogScan:
    """What the one scan of a bundle's logs found: the events of every pattern, and which logs
    were read for which kind."""

    events: dict[str, EventSet] = field(default_factory=dict)
    read: dict[str, list[str]] = field(default_factory=dict)  # log kind -> sources read


def scan_logs(bundle: Bundle, host: HostInfo, engine: str | None = None) -> LogScan:
    """Read every log of the bundle once and match every pattern of its kinds (see the module)."""
    return _scan(_sources(lambda n: bundle.get(n), lambda n: bundle.keyed(n)), host, engine)


def _scan(sources: list[_Source], host: HostInfo, engine: str | None = None) -> LogScan:
    out = LogScan()
    year = host.collected_at.year if host.collected_at else None
    month = host.collected_at.month if host.collected_at else None
    boot = (
        host.collected_at - timedelta(seconds=host.uptime_s)
        if host.collected_at is not None and host.uptime_s is not None
        else None
    )
    covers: list[_Cover] = []
    for src in sources:
        pats = [p for p in patterns() if any(k in p.logs for k in src.kinds)]
        for kind in src.kinds:
            out.read.setdefault(kind, []).append(src.ev.source)
        earlier = list(covers)
        if src.kernel_rank is not None:
            covers.append(_cover(src, year, month))
        if not pats:
            continue
        boot_relative = src.ev.name == "kernel.dmesg"
        needles = [lit for p in pats for lit in p.literals]
        for raw in candidate_lines(src.ev, needles, engine, LOG_LINE):
            line = _parse(raw, src.kinds, year, month)
            dup: bool | None = None
            for p in pats:
                kernel = "kernel" in p.logs and "kernel" in src.kinds
                subject = line.raw if "dnsmasq" in p.logs else line.text
                if not any(lit in subject for lit in p.literals):
                    continue
                m = p.regex.search(subject)
                if m is None:
                    continue
                if kernel and earlier:
                    if dup is None:
                        dup = any(_covered(line, c, boot) for c in earlier)
                    if dup:
                        continue
                ev = LogEvent(
                    line,
                    src.ev.source,
                    _age(line, host, boot_relative),
                    {k: v for k, v in m.groupdict().items() if v},
                )
                group = ev.match.get(p.group, "") if p.group else None
                out.events.setdefault(p.id, EventSet(p.id)).add(ev, group)
    return out


def _ovs_line(raw: str) -> LogLine:
    parsed = parse_ovs_log([raw])[0]
    return LogLine(text=parsed.message or raw, raw=raw, wall=parsed.when)


LOG_EVIDENCE = ("kernel.dmesg", "log.kernel", "log.dnsmasq", "ovs.log_vswitchd", "ovs.log_ovsdb")


@provides(LogScan, reads=LOG_EVIDENCE, uses=(HostInfo,), host=True)
def _log_scan(fs: FactStore) -> LogScan:
    """The scan of this bundle's logs, made once (a host fact) for every scope and every consumer."""
    found = _sources(lambda n: fs.evidence(n, host=True), lambda n: fs.keyed(n, host=True))
    return _scan(found, fs.get(HostInfo))


@provides(LogEvents, reads=("kernel.dmesg", "log.kernel"), uses=(LogScan,), host=True)
def _log_events(fs: FactStore) -> LogEvents:
    scanned = fs.get(LogScan)
    sources = [src for kind in ("kernel", "ovs_vswitchd", "ovs_ovsdb") for src in scanned.read.get(kind, [])]
    if not sources:
        reasons = [
            Msg(e.status.value, {"name": n})
            for n in ("kernel.dmesg", "log.kernel")
            if (e := fs.evidence(n, host=True)) is not None
        ]
        raise Unavailable(Msg("no_kernel_log", {"why": reasons or Msg("not_collected_bare")}))
    kinds = {kind for kind in ("kernel", "ovs_vswitchd", "ovs_ovsdb") if scanned.read.get(kind)}
    return LogEvents(scanned.events, list(dict.fromkeys(sources)), kinds)


__all__ = [
    "EventSet",
    "LogEvent",
    "LogEvents",
    "LogScan",
    "age_words",
    "datetime",
    "patterns",
    "scan_logs",
]
