"""netsleuth's configuration file (`/etc/netsleuth/config.toml`, or `--config FILE`): findings
silenced on purpose, thresholds, and how `watch` runs.

```toml
[watch]
interval = 30                  # seconds between two cycles
keep_count = 20                # flight-recorder bundles kept ...
keep_mb = 200                  # ... and their total size

[thresholds]
conntrack_full = 0.95          # conntrack.table_full from this fill of nf_conntrack_max
conntrack_near = 0.75          # conntrack.near_limit from this fill

[[suppress]]
finding = "conntrack.timeouts_long"            # a rule id, or "id:subject"
reason = "timeouts tuned by the platform team (OPS-1234)"
expires = 2027-03-31                           # optional: silenced up to and including that day
```

A suppressed finding stays in the report, marked with its reason, and never counts for the exit
status or the alerting metrics. A bad file is one line that names the key (`NetsleuthError`,
exit 3); `watch` keeps its last good configuration when a reload fails.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsleuth.errors import NetsleuthError

if TYPE_CHECKING:  # the report model (pydantic) is imported where a report is at hand
    from netsleuth.results.report import FindingOut, Report

DEFAULT_PATH = Path("/etc/netsleuth/config.toml")
THRESHOLDS_EVIDENCE = "netsleuth.thresholds"  # how the thresholds travel in a bundle

# name -> (default, lowest, highest): the thresholds rules read (facts/settings.py)
THRESHOLDS: dict[str, tuple[float, float, float]] = {
    "conntrack_full": (0.95, 0.05, 1.0),
    "conntrack_near": (0.75, 0.05, 1.0),
}


class ConfigError(NetsleuthError):
    """The configuration file cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Suppression:
    rule: str
    subject: str | None  # None: every subject of the rule
    reason: str
    expires: date | None = None

    @property
    def match(self) -> str:
        return self.rule if self.subject is None else f"{self.rule}:{self.subject}"

    def active(self, today: date) -> bool:
        return self.expires is None or today <= self.expires

    def covers(self, f: FindingOut) -> bool:
        return f.id == self.rule and (self.subject is None or f.subject == self.subject)


@dataclass(frozen=True)
class WatchSettings:
    interval: float | None = None
    keep_count: int = 20
    keep_mb: float = 200.0


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    suppressions: tuple[Suppression, ...] = ()
    thresholds: Mapping[str, float] = field(default_factory=dict)
    watch: WatchSettings = WatchSettings()

    def apply(self, report: Report, today: date | None = None) -> Report:
        """Mark the findings a suppression covers (the first that does); a suppression past its
        date no longer applies and the report says so."""
        from netsleuth.messages import Msg, render_note
        from netsleuth.results.report import Suppressed

        today = today or date.today()
        for f in report.findings:
            for s in self.suppressions:
                if s.covers(f):
                    if s.active(today):
                        f.suppressed = Suppressed(
                            match=s.match,
                            reason=s.reason,
                            expires=s.expires.isoformat() if s.expires else None,
                        )
                        break
                    note = render_note(
                        report.lang,
                        Msg("suppression_expired", {"match": s.match, "expires": str(s.expires), "id": f.id}),
                    )
                    if note not in report.notes:
                        report.notes.append(note)
        return report

    def thresholds_text(self) -> str:
        """The thresholds as a bundle carries them (evidence `netsleuth.thresholds`)."""
        return "".join(f"{k} = {v!r}\n" for k, v in sorted(self.thresholds.items()))


def _fail(where: str, key: str, why: str) -> ConfigError:
    return ConfigError(f"config {where}: {key}: {why}")


def _number(where: str, key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, key, f"a number expected, not {type(value).__name__}")
    if not low <= float(value) <= high:
        raise _fail(where, key, f"{value} is outside {low:g}..{high:g}")
    return float(value)


def _table(where: str, key: str, value: Any, allowed: Iterable[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, key, f"a table expected, not {type(value).__name__}")
    for k in value:
        if k not in allowed:
            raise _fail(where, f"{key}.{k}", f"unknown key (known: {', '.join(sorted(allowed))})")
    return value


def _suppression(where: str, n: int, entry: Any, known: Callable[[str], bool] | None) -> Suppression:
    key = f"suppress[{n}]"
    entry = _table(where, key, entry, ("finding", "reason", "expires"))
    finding = entry.get("finding")
    if not isinstance(finding, str) or not finding.strip():
        raise _fail(where, f"{key}.finding", 'a rule id or "id:subject" expected')
    rule, _, subject = finding.strip().partition(":")
    if known is not None and not known(rule):
        raise _fail(where, f"{key}.finding", f"no rule {rule!r} (see `netsleuth rules list`)")
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise _fail(where, f"{key}.reason", "say why it is silenced (a non-empty string)")
    expires = entry.get("expires")
    if expires is not None and (not isinstance(expires, date) or hasattr(expires, "hour")):
        raise _fail(where, f"{key}.expires", "a date expected (expires = 2027-03-31, unquoted)")
    return Suppression(rule, subject or None, reason.strip(), expires)


def parse(text: str, where: str = "<text>", known: Callable[[str], bool] | None = None) -> Config:
    """A configuration from its TOML text; ConfigError (one line, naming the key) when it is bad.

    >>> c = parse('[[suppress]]\\nfinding = "nic.no_carrier:eth3"\\nreason = "spare port"\\n')
    >>> c.suppressions[0].rule, c.suppressions[0].subject
    ('nic.no_carrier', 'eth3')
    >>> parse("[watch]\\nintervall = 5\\n", "x.toml")
    Traceback (most recent call last):
    ...
    netsleuth.config.ConfigError: config x.toml: watch.intervall: unknown key (known: interval, keep_count, keep_mb)
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {where}: not valid TOML: {exc}") from None
    _table(where, "(top level)", doc, ("watch", "thresholds", "suppress"))
    w = _table(where, "watch", doc.get("watch", {}), ("interval", "keep_count", "keep_mb"))
    watch = WatchSettings(
        interval=_number(where, "watch.interval", w["interval"], 1, 86400) if "interval" in w else None,
        keep_count=int(_number(where, "watch.keep_count", w.get("keep_count", 20), 1, 100000)),
        keep_mb=_number(where, "watch.keep_mb", w.get("keep_mb", 200.0), 1, 1_000_000),
    )
    t = _table(where, "thresholds", doc.get("thresholds", {}), THRESHOLDS)
    thresholds = {k: _number(where, f"thresholds.{k}", v, *THRESHOLDS[k][1:]) for k, v in t.items()}
    if thresholds.get("conntrack_near", 0.0) > thresholds.get("conntrack_full", 1.0):
        raise _fail(where, "thresholds.conntrack_near", "must not be above conntrack_full")
    entries = doc.get("suppress", [])
    if not isinstance(entries, list):
        raise _fail(where, "suppress", "a list of [[suppress]] tables expected")
    sup = tuple(_suppression(where, n, e, known) for n, e in enumerate(entries, 1))
    return Config(None, sup, thresholds, watch)


def load(path: Path | None, known: Callable[[str], bool] | None = None) -> Config:
    """The configuration at `path`; with None, /etc/netsleuth/config.toml when it exists (no file:
    nothing silenced, default thresholds)."""
    explicit = path is not None
    path = path or DEFAULT_PATH
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config {path}: no such file") from None
        return Config()
    except OSError as exc:
        raise ConfigError(f"config {path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"config {path}: not UTF-8 text") from None
    cfg = parse(text, str(path), known)
    return Config(path, cfg.suppressions, cfg.thresholds, cfg.watch)
