"""What watch says: state transitions of findings (`raised`, `changed`, `cleared`) and of watch
itself (`started`, `reloaded`, `error`, `skipped`, `stopped`), as JSON Lines (`netsleuth.event/v1`)
or as one line of text each for people."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from netsleuth.errors import NetsleuthError
from netsleuth.messages import message
from netsleuth.results.report import FindingOut

SCHEMA = "netsleuth.event/v1"
FINDING_EVENTS = ("raised", "changed", "cleared")
Key = tuple[str, str, str]  # finding id, namespace, subject


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def key_of(f: FindingOut) -> Key:
    return (f.id, f.netns, f.subject)


@dataclass
class Event:
    event: str
    time: str = field(default_factory=now_iso)
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "event": self.event, "time": self.time, **self.fields}


def finding_event(kind: str, f: FindingOut, host: str, *, bundle: str | None = None, **extra: Any) -> Event:
    """A finding's transition, with what was seen (the evidence excerpt) and the bundle kept."""
    fields: dict[str, Any] = {
        "host": host,
        "id": f.id,
        "subject": f.subject,
        "netns": f.netns,
        "severity": f.severity,
        "title": f.title,
        "summary": f.summary,
        "evidence": [e.model_dump() for e in f.evidence],
        "seed": f.seed,
    }
    if bundle is not None:
        fields["bundle"] = bundle
    fields.update(extra)
    return Event(kind, fields=fields)


def _w(lang: str, key: str, **params: Any) -> str:
    return message(lang, "watch", key, params) or key


def text_line(ev: Event, lang: str) -> str:
    """One line for people: `time RAISED CRITICAL id subject [netns] — title (bundle …)`."""
    f = ev.fields
    if ev.event in FINDING_EVENTS:
        ns = f" [netns {f['netns']}]" if f.get("netns") else ""
        parts = [
            ev.time,
            f"{_w(lang, ev.event):8}",
            f"{f['severity'].upper():8}",
            f"{f['id']} {f['subject']}{ns}",
        ]
        line = " ".join(parts) + f" — {f['title']}"
        if ev.event == "cleared" and "duration_s" in f:
            line += f" ({_w(lang, 'lasted', duration=_span(float(f['duration_s'])))})"
        if ev.event == "changed":
            line += f" ({_w(lang, 'was', severity=f['was'])})"
        if f.get("bundle"):
            line += f" — {_w(lang, 'bundle', path=f['bundle'])}"
        return line
    if ev.event == "started":
        scopes = ", ".join(s or _w(lang, "host") for s in f.get("scopes", []))
        interval = f"{float(f.get('interval', 0)):g}"
        return f"{ev.time} {_w(lang, 'started', scopes=scopes, interval=interval)}"
    if ev.event == "stopped":
        return f"{ev.time} {_w(lang, 'stopped', why=f.get('why', ''), cycles=f.get('cycles', 0))}"
    if ev.event == "reloaded":
        return f"{ev.time} {_w(lang, 'reloaded', path=f.get('config', ''))}"
    label = _w(lang, ev.event).upper()
    return f"{ev.time} {label:8} {f.get('message', '')}"


def _span(seconds: float) -> str:
    """
    >>> _span(42), _span(125), _span(7300)
    ('42 s', '2 min 5 s', '2 h 1 min')
    """
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


class EventWriter:
    """Writes events to stdout or to a file (appended, one line each, flushed at once). A write
    that fails (disk full) is said once on stderr; watching goes on."""

    def __init__(self, path: Path | None, fmt: str, lang: str) -> None:
        self.path, self.fmt, self.lang = path, fmt, lang
        self._fh: TextIO | None = None
        self._failed = False

    def _out(self) -> TextIO:
        if self.path is None:
            return sys.stdout
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open, closed by close()
        return self._fh

    def open(self) -> None:
        """Open the events file before watching: one that cannot be opened at all is bad input
        (exit 3), not a watch that runs for months telling no one."""
        try:
            self._out()
        except OSError as exc:
            raise NetsleuthError(f"cannot write events to {self.path}: {exc.strerror or exc}") from None

    def write(self, ev: Event) -> None:
        line = (
            json.dumps(ev.to_dict(), ensure_ascii=False) if self.fmt == "json" else text_line(ev, self.lang)
        )
        try:
            out = self._out()
            out.write(line + "\n")
            out.flush()
            self._failed = False
        except OSError as exc:
            if not self._failed:
                print(
                    f"netsleuth: cannot write events to {self.path or 'stdout'}: {exc.strerror}",
                    file=sys.stderr,
                )
            self._failed = True
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
