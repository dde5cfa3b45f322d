"""The fleet report, `netsleuth.fleet/v1`: every host's own `netsleuth.report/v1` report, the
cross-host findings, each host's status, and the tunnel mesh the HTML report draws. Fields may be
added, never removed."""

from __future__ import annotations

from pydantic import BaseModel, Field

from netsleuth.exitcode import ExitCode
from netsleuth.results.report import Check, FindingOut, Report, Tool

FLEET_SCHEMA = "netsleuth.fleet/v1"
SEVERITY_RANK = {"critical": 2, "warning": 1, "info": 0}


class HostEntry(BaseModel):
    name: str  # the fleet's name for the host
    status: str  # ok | unreadable | error | unreachable | auth_failed | timed_out | collector_error
    message: str = ""  # why it could not be analysed
    input: str = ""  # the file or directory it was read from
    hostname: str = ""  # what the host calls itself
    address: str = ""  # the inventory's address, when known
    report: Report | None = None

    def worst(self) -> str:
        """The highest severity among the host's own findings ("" when none)."""
        sev = [f.severity for f in self.report.findings] if self.report else []
        return max(sev, key=lambda s: SEVERITY_RANK.get(s, -1), default="")


class HostLink(BaseModel):
    src: str
    dst: str


class FleetFinding(FindingOut):
    hosts: list[str] = Field(default_factory=list)  # the hosts it names
    links: list[HostLink] = Field(default_factory=list)  # the pairs (from -> to) it concerns


class MeshNode(BaseModel):
    name: str
    status: str = "ok"  # a host's status, or "address" for a tunnel end no analysed host has
    worst: str = ""  # the highest severity of the host's own findings
    addresses: list[str] = Field(default_factory=list)


class MeshEdge(BaseModel):
    """A tunnel between two hosts: which ways it goes, and the findings that concern it."""

    a: str
    b: str
    a_to_b: bool = False
    b_to_a: bool = False
    findings: list[str] = Field(default_factory=list)


class MeshPicture(BaseModel):
    nodes: list[MeshNode] = Field(default_factory=list)
    edges: list[MeshEdge] = Field(default_factory=list)


class FleetReport(BaseModel):
    schema_: str = Field(FLEET_SCHEMA, alias="schema")
    tool: Tool
    started_at: str
    duration_s: float
    lang: str = "en"
    hosts: list[HostEntry] = Field(default_factory=list)
    findings: list[FleetFinding] = Field(default_factory=list)  # cross-host
    checks: list[Check] = Field(default_factory=list)  # of the cross-host rules
    mesh: MeshPicture = Field(default_factory=MeshPicture)
    notes: list[str] = Field(default_factory=list)

    model_config = {"populate_by_name": True}

    def analysed(self) -> list[HostEntry]:
        return [h for h in self.hosts if h.report is not None]

    def exit_code(self) -> ExitCode:
        """The worst finding over the fleet (0 / 1 warning / 2 critical); 3 when no host could be analysed."""
        if not self.analysed():
            return ExitCode.COULD_NOT_RUN
        own = [f.severity for h in self.analysed() if h.report is not None for f in h.report.findings]
        return ExitCode.of([*own, *(f.severity for f in self.findings)])

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)
