"""One analysis for a fleet: every host's own diagnosis (in parallel, one process per core, host by
host), a small summary of each kept in the fleet model, then the cross-host rules over that model.

Hosts are streamed: a worker opens one host's bundle or sosreport, runs the same `analyse()` as
`netsleuth diagnose`, summarises the host from the facts already built, and returns its report and
summary; the raw evidence never leaves the worker. A host that cannot be read is listed with the
reason and the others are still analysed."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from netsleuth import __version__, analysis
from netsleuth.analysis import analyse, run_rule
from netsleuth.errors import NetsleuthError
from netsleuth.evidence.fleet_inputs import CollectManifest, HostInput, expand, find_inputs, stem
from netsleuth.evidence.model import Evidence, Status
from netsleuth.evidence.source import open_source
from netsleuth.facts import load_all as load_facts
from netsleuth.facts.fleet import FleetBundle, FleetModel, HostStatus, HostSummary, summarise
from netsleuth.facts.store import FactStore
from netsleuth.messages import ui
from netsleuth.results.fleet import (
    FLEET_SCHEMA,
    FleetFinding,
    FleetReport,
    HostEntry,
    HostLink,
    MeshEdge,
    MeshNode,
    MeshPicture,
)
from netsleuth.results.report import Check, Report, Tool
from netsleuth.rules.base import all_rules


@dataclass(frozen=True)
class FleetOptions:
    lang: str = "en"
    only: frozenset[str] | None = None
    all_netns: bool = False  # analyse every namespace a sosreport/bundle holds, not only the host's
    jobs: int = 0  # worker processes (0: one per core)
    extra: tuple[Path, ...] = ()  # facts only the platform has: the controller's agent list
    mesh: Path | None = None  # the `fleet probe` matrix


@dataclass(frozen=True)
class _Job:
    label: str
    path: Path
    lang: str
    only: frozenset[str] | None
    all_netns: bool
    error: str = ""


@dataclass
class HostOutcome:
    label: str
    path: Path
    status: str  # ok | unreadable | error
    message: str = ""
    report: Report | None = None
    summary: HostSummary | None = None


def analyse_host(job: _Job) -> HostOutcome:
    """One host, start to end (runs in a worker process): its report and its summary, or why not."""
    if job.error:
        return HostOutcome(job.label, job.path, "unreadable", job.error)
    try:
        with open_source(job.path, None, job.all_netns) as bundle:
            kept: list[HostSummary] = []
            only = set(job.only) if job.only else None
            report = analyse(
                bundle, job.lang, only, then=lambda fs: kept.append(summarise(fs, label=job.label))
            )
            return HostOutcome(job.label, job.path, "ok", report=report, summary=kept[0])
    except NetsleuthError as exc:
        return HostOutcome(job.label, job.path, "unreadable", " ".join(str(exc).split()))
    except Exception as exc:  # a bug of ours on one host must not lose the others
        return HostOutcome(job.label, job.path, "error", f"{type(exc).__name__}: {exc}")


def _inputs(paths: list[Path], workdir: Path) -> Iterator[HostInput | tuple[Path, str]]:
    for p in paths:
        try:
            yield from expand(p, workdir)
        except NetsleuthError as exc:
            yield p, " ".join(str(exc).split())


def _context() -> multiprocessing.context.BaseContext:
    """fork where it exists (the rules and catalogues are loaded once, in the parent)."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def run_hosts(paths: list[Path], opts: FleetOptions, workdir: Path) -> list[HostOutcome]:
    """Analyse every host, at most `jobs` at a time and a few more read ahead (bounded disk and memory)."""
    workers = opts.jobs or os.cpu_count() or 1
    jobs = (
        _Job(str(x[0]), x[0], opts.lang, opts.only, opts.all_netns, error=x[1])
        if isinstance(x, tuple)
        else _Job(x.label, x.path, opts.lang, opts.only, opts.all_netns)
        for x in _inputs(paths, workdir)
    )
    outcomes: dict[int, HostOutcome] = {}

    def done(n: int, job: _Job, outcome: HostOutcome) -> None:
        outcomes[n] = outcome
        if job.path.is_relative_to(workdir):
            job.path.unlink(missing_ok=True)  # a node copied out of a sos collect archive

    def died(job: _Job, exc: BaseException) -> HostOutcome:
        return HostOutcome(job.label, job.path, "error", f"analysis process died ({exc})")

    if workers == 1 or (len(paths) == 1 and not paths[0].is_file()):
        for n, job in enumerate(jobs):
            done(n, job, analyse_host(job))
        return [outcomes[n] for n in sorted(outcomes)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
        pending: dict[Future[HostOutcome], tuple[int, _Job]] = {}

        def reap(futures: set[Future[HostOutcome]]) -> None:
            for fut in futures:
                n, job = pending.pop(fut)
                try:
                    done(n, job, fut.result())
                except BrokenProcessPool as exc:
                    done(n, job, died(job, exc))

        for n, job in enumerate(jobs):
            while len(pending) >= 2 * workers:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                reap(finished)
            try:
                pending[pool.submit(analyse_host, job)] = (n, job)
            except BrokenProcessPool as exc:
                done(n, job, died(job, exc))
        reap(set(pending))
    return [outcomes[n] for n in sorted(outcomes)]


def name_hosts(
    outcomes: list[HostOutcome], manifest: CollectManifest | None, lang: str
) -> tuple[list[str], list[str]]:
    """The fleet's name for each host: its inventory name, else its hostname, else (two inputs claiming
    one hostname: both kept) the file it came from. Returns the names and notes saying why."""
    names = [(manifest.name_of(o.path) if manifest else None) or "" for o in outcomes]
    notes: list[str] = []
    claims: dict[str, list[int]] = {}
    for i, o in enumerate(outcomes):
        if not names[i] and o.summary is not None and o.summary.hostname:
            claims.setdefault(o.summary.hostname, []).append(i)
    for hostname, idx in sorted(claims.items()):
        if len(idx) == 1:
            names[idx[0]] = hostname
        else:
            files = ", ".join(outcomes[i].label for i in idx)
            notes.append(ui(lang, "fleet_same_hostname", files=files, hostname=hostname))
    for i, o in enumerate(outcomes):
        names[i] = names[i] or stem(o.label.split("!")[-1])
    seen: Counter[str] = Counter()
    for i, n in enumerate(names):
        seen[n] += 1
        if seen[n] > 1:
            names[i] = f"{n}#{seen[n]}"
    return names, notes


@dataclass
class _Fleet:
    entries: list[HostEntry] = field(default_factory=list)
    model: FleetModel = field(default_factory=lambda: FleetModel({}))
    notes: list[str] = field(default_factory=list)


def build_model(outcomes: list[HostOutcome], manifest: CollectManifest | None, lang: str) -> _Fleet:
    names, notes = name_hosts(outcomes, manifest, lang)
    fleet = _Fleet(notes=notes)
    # the whole inventory: a tunnel to an address none of its hosts has goes nowhere; with --limit
    # the peer may be a host outside the limit
    fleet.model.inventory = manifest is not None and not manifest.limit
    listed = manifest.hosts if manifest else {}
    for name, o in zip(names, outcomes, strict=True):
        m = listed.get(name)
        fleet.entries.append(
            HostEntry(
                name=name,
                status=o.status,
                message=o.message,
                input=o.label,
                hostname=o.summary.hostname if o.summary else "",
                address=m.address if m else "",
                report=o.report,
            )
        )
        fleet.model.statuses[name] = HostStatus(
            name,
            o.status,
            o.message,
            o.label,
            m.address if m else "",
            m.started_at if m else "",
            m.duration_s if m else None,
        )
        if o.summary is not None:
            fleet.model.hosts[name] = replace(o.summary, name=name)
    for name, m in sorted(listed.items()):
        if name in fleet.model.statuses:
            continue
        status, message = m.status, m.message
        if status == "ok":  # collected, yet its bundle is not among the inputs
            status, message = "unreadable", ui(lang, "fleet_not_given", bundle=m.bundle or "?")
        fleet.entries.append(HostEntry(name=name, status=status, message=message, address=m.address))
        fleet.model.statuses[name] = HostStatus(
            name, status, message, "", m.address, m.started_at, m.duration_s
        )
    return fleet


def _fleet_bundle(model: FleetModel, opts: FleetOptions) -> FleetBundle:
    fb = FleetBundle(model)
    for f in opts.extra:
        text = f.read_text(errors="replace")
        fb.add(Evidence("user.input", Status.OK, text=text, source=str(f), key=f.name))
    for name, h in sorted(model.hosts.items()):  # an agent list a host's bundle carries (diagnose --with)
        for n, (source, text) in enumerate(h.agent_lists):
            fb.add(
                Evidence("user.input", Status.OK, text=text, source=f"{name}: {source}", key=f"{name}#{n}")
            )
    if opts.mesh is not None:
        fb.add(
            Evidence(
                "fleet.mesh", Status.OK, text=opts.mesh.read_text(errors="replace"), source=str(opts.mesh)
            )
        )
    return fb


def run_fleet_rules(model: FleetModel, opts: FleetOptions) -> tuple[list[FleetFinding], list[Check]]:
    """The cross-host rules, on the model (and the agent list / mesh matrix given)."""
    load_facts()
    fs = FactStore(_fleet_bundle(model, opts))
    findings: list[FleetFinding] = []
    checks: list[Check] = []
    for rule in all_rules():
        if rule.scope != "fleet" or (opts.only and rule.id not in opts.only):
            continue
        found, check = run_rule(rule, fs, opts.lang)
        checks.append(check)
        for f in found:
            out = analysis.render_finding(f, opts.lang)
            findings.append(
                FleetFinding(
                    **out.model_dump(),
                    hosts=f.hosts,
                    links=[HostLink(src=a, dst=b) for a, b in f.links],
                )
            )
    rank = {"critical": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: (rank.get(f.severity, 3), f.id, f.subject))
    return findings, checks


def mesh_picture(model: FleetModel, entries: list[HostEntry], findings: list[FleetFinding]) -> MeshPicture:
    """Hosts as nodes, tunnels as edges (with the ways they go), findings on the edges they concern."""
    nodes = {e.name: MeshNode(name=e.name, status=e.status, worst=e.worst()) for e in entries}
    for name, h in model.hosts.items():
        nodes[name].addresses = sorted({ip for ip, _ in h.addresses()})[:4]
    edges: dict[tuple[str, str], MeshEdge] = {}

    def edge(src: str, dst: str) -> MeshEdge:
        if dst not in nodes:
            nodes[dst] = MeshNode(name=dst, status="address")
        a, b = sorted((src, dst))
        return edges.setdefault((a, b), MeshEdge(a=a, b=b))

    for name, h in sorted(model.hosts.items()):
        for v in h.vteps:
            for r in v.remotes:
                dst = model.owner(r.address) or r.address
                if dst == name:
                    continue
                e = edge(name, dst)
                if e.a == name:
                    e.a_to_b = True
                else:
                    e.b_to_a = True
    rank = {"": -1, "info": 0, "warning": 1, "critical": 2}
    for f in findings:
        if f.severity == "info":
            continue
        for link in f.links:
            e = edge(link.src, link.dst)
            if f.id not in e.findings:
                e.findings.append(f.id)
        for name in f.hosts:  # a host named by a cross-host finding is drawn as bad as its own worst
            if name in nodes and rank[f.severity] > rank.get(nodes[name].worst, -1):
                nodes[name].worst = f.severity
    return MeshPicture(nodes=sorted(nodes.values(), key=lambda n: n.name), edges=list(edges.values()))


def analyse_fleet(paths: list[Path], opts: FleetOptions) -> FleetReport:
    """Every host's diagnosis, the fleet model, the cross-host findings: one report."""
    t0 = time.monotonic()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    given = find_inputs(paths)
    load_facts()
    all_rules()  # loaded once in the parent: forked workers inherit them
    workdir = Path(tempfile.mkdtemp(prefix="netsleuth-fleet-"))
    try:
        outcomes = run_hosts(given.inputs, opts, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    fleet = build_model(outcomes, given.manifest, opts.lang)
    findings, checks = run_fleet_rules(fleet.model, opts)
    notes = fleet.notes + [f"{p}: {ui(opts.lang, 'fleet_ignored')}" for p in given.ignored]
    if given.bad_manifest:
        notes.append(ui(opts.lang, "fleet_bad_manifest", reason=given.bad_manifest))
    fleet.entries.sort(key=lambda h: h.name)
    return FleetReport(
        schema=FLEET_SCHEMA,
        tool=Tool(version=__version__),
        started_at=started,
        duration_s=round(time.monotonic() - t0, 3),
        lang=opts.lang,
        hosts=fleet.entries,
        findings=findings,
        checks=checks,
        mesh=mesh_picture(fleet.model, fleet.entries, findings),
        notes=notes,
    )
