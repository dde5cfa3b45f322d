"""Symptom-driven triage: the causes a symptom can have (report/symptoms.toml), the checks that
separate them, and a verdict with the fix. Ranking is pure (a report in, a ranking out)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from netsleuth.messages import message
from netsleuth.results.report import Report

SEV = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Symptom:
    id: str
    seed: str
    causes: tuple[str, ...]
    inputs: tuple[str, ...]
    probes: tuple[str, ...]


@cache
def symptoms() -> tuple[Symptom, ...]:
    text = resources.files("netsleuth.report").joinpath("symptoms.toml").read_text(encoding="utf-8")
    return tuple(
        Symptom(s["id"], s["seed"], tuple(s["causes"]), tuple(s["inputs"]), tuple(s["probes"]))
        for s in tomllib.loads(text)["symptom"]
    )


def symptom(sid: str) -> Symptom | None:
    return next((s for s in symptoms() if s.id == sid), None)


@dataclass
class Cause:
    id: str
    status: str  # found | ruled_out | not_checked | unknown (no rule for it in this version)
    severity: str = ""
    title: str = ""
    reason: str = ""
    subject: str = ""
    fix: list[str] = field(default_factory=list)


@dataclass
class Triage:
    symptom: str
    title: str
    causes: list[Cause]
    asks: list[str]
    verdict: Cause | None


def rank(sym: Symptom, report: Report, asks: list[str], lang: str) -> Triage:
    """Found causes first (by severity, then the symptom's order), then those that could not be
    checked (with why), then those ruled out."""
    order = {cid: i for i, cid in enumerate(sym.causes)}
    causes: list[Cause] = []
    for cid in sym.causes:
        found = [f for f in report.findings if f.id == cid]
        checks = [c for c in report.checks if c.id == cid]
        title = re.sub(r"\s*\{\w+\}\s*", " … ", message(lang, cid, "title", {})).strip() or cid
        if found:
            f = min(found, key=lambda x: SEV.get(x.severity, 3))
            causes.append(
                Cause(
                    cid,
                    "found",
                    f.severity,
                    f.title,
                    f.summary,
                    f.subject,
                    list(f.remedy.now or f.remedy.persist),
                )
            )
        elif not checks:
            causes.append(Cause(cid, "unknown", title=title, reason="no rule for this cause in this version"))
        elif any(c.status in ("skipped", "error") for c in checks) and not any(
            c.status == "pass" for c in checks
        ):
            reason = "; ".join(sorted({c.reason for c in checks if c.reason}))
            causes.append(Cause(cid, "not_checked", title=title, reason=reason))
        else:
            causes.append(Cause(cid, "ruled_out", title=title))
    weight = {"found": 0, "not_checked": 1, "unknown": 2, "ruled_out": 3}
    causes.sort(key=lambda c: (weight[c.status], SEV.get(c.severity, 3), order[c.id]))
    verdict = causes[0] if causes and causes[0].status == "found" else None
    return Triage(sym.id, message(lang, f"triage.{sym.id}", "title", {}), causes, asks, verdict)
