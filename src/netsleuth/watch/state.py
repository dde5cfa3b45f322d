"""What watch remembers: the findings active now (to say what changed, never repeat), and, in its
state directory, where it stopped reading each log, so that a restarted watch goes on without
counting a line twice or raising again what it already raised."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netsleuth.results.report import FindingOut, Report
from netsleuth.watch.events import Key, key_of

ALERTING = ("warning", "critical")  # a finding at these severities is a fault: raised, then cleared
STATE_FILE = "state.json"
STATE_VERSION = 1


@dataclass
class Active:
    severity: str
    since: float  # epoch seconds when it was raised
    finding: FindingOut


@dataclass
class Change:
    kind: str  # raised | changed | cleared
    finding: FindingOut
    was: str = ""  # the severity before (changed)
    since: float = 0.0  # when it was raised (cleared)


@dataclass
class Tracker:
    """Findings at warning or above that are not suppressed, from cycle to cycle."""

    active: dict[Key, Active] = field(default_factory=dict)

    def update(self, report: Report, now: float | None = None) -> list[Change]:
        now = time.time() if now is None else now
        current = {key_of(f): f for f in report.counted() if f.severity in ALERTING}
        changes: list[Change] = []
        for k, f in current.items():
            was = self.active.get(k)
            if was is None:
                changes.append(Change("raised", f))
                self.active[k] = Active(f.severity, now, f)
            else:
                if was.severity != f.severity:
                    changes.append(Change("changed", f, was=was.severity, since=was.since))
                    was.severity = f.severity
                was.finding = f
        for k in [k for k in self.active if k not in current]:
            gone = self.active.pop(k)
            changes.append(Change("cleared", gone.finding, since=gone.since))
        return changes

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {"severity": a.severity, "since": a.since, "finding": a.finding.model_dump(by_alias=True)}
            for a in self.active.values()
        ]

    def restore(self, saved: list[dict[str, Any]]) -> None:
        for item in saved:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                f = FindingOut.model_validate(item["finding"])
                self.active[key_of(f)] = Active(str(item["severity"]), float(item["since"]), f)


class StateDir:
    """The state file in the state directory, written whole and atomically each cycle. A write
    that fails (read-only, full) raises OSError for the caller to report; the next cycle tries
    again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def path(self) -> Path:
        return self.folder / STATE_FILE

    def load(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return doc if isinstance(doc, dict) and doc.get("version") == STATE_VERSION else {}

    def save(self, doc: dict[str, Any]) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = json.dumps({"version": STATE_VERSION, **doc}).encode()
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
