"""The report, exactly as `netsleuth.report/v1` (design.md). Fields may be added, never removed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from netsleuth.exitcode import ExitCode

SCHEMA = "netsleuth.report/v1"


class Tool(BaseModel):
    name: str = "netsleuth"
    version: str


class HostRef(BaseModel):
    hostname: str
    kernel: str
    source: str


class EvidenceExcerpt(BaseModel):
    source: str
    excerpt: str


class Remedy(BaseModel):
    now: list[str] = Field(default_factory=list)
    persist: list[str] = Field(default_factory=list)
    notes: str = ""


class FindingOut(BaseModel):
    id: str
    severity: str
    title: str
    summary: str
    evidence: list[EvidenceExcerpt]
    remedy: Remedy
    references: list[str] = Field(default_factory=list)
    seed: str
    subject: str = ""
    netns: str = ""
    why: str = ""


class Check(BaseModel):
    id: str
    status: str  # pass | fail | skipped | error
    reason: str = ""
    netns: str = ""


class EvidenceStatus(BaseModel):
    name: str
    status: str  # ok | timeout | missing | denied | error
    duration_s: float
    netns: str = ""
    key: str = ""
    source: str = ""
    error: str = ""


class Report(BaseModel):
    schema_: str = Field(SCHEMA, alias="schema")
    tool: Tool
    host: HostRef
    started_at: str
    duration_s: float
    namespaces: list[str] = Field(default_factory=list)
    findings: list[FindingOut] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    evidence: list[EvidenceStatus] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    lang: str = "en"
    # What a capture measured (`netsleuth pcap`): the `pcap.summary` evidence, as JSON, whether or
    # not a rule fired. None when the source holds no capture.
    capture: dict[str, Any] | None = None
    # A multi-point trace (`netsleuth trace`): the `trace.result` evidence with its `loss` (the
    # points in path order, VLAN tags and tunnel headers seen at each, where it goes missing).
    trace: dict[str, Any] | None = None

    model_config = {"populate_by_name": True}

    def exit_code(self) -> ExitCode:
        """0 nothing at warning or above, 1 warning, 2 critical (monitoring-plugin convention)."""
        return ExitCode.of(f.severity for f in self.findings)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)
