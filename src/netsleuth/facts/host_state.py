"""Host state beyond the network: CPU load and idle time, disks, the deploying environment,
and the containers' CPU settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from netsleuth.facts.store import FactStore, Unavailable, provides, why_not
from netsleuth.messages import Msg, Reason
from netsleuth.parsers.df import DiskUsage, parse_df
from netsleuth.parsers.docker import ContainerCpu, parse_docker_inspect
from netsleuth.parsers.procstat import LoadAvg, idle_fraction, parse_loadavg, parse_proc_stat


@dataclass(frozen=True)
class CpuLoad:
    load: LoadAvg
    ncpu: int
    idle: float | None  # share of CPU time idle between the two samples (None: one sample only)
    busiest_cpu_idle: float | None  # the least idle CPU over the interval
    interval_s: float | None
    load_source: str
    stat_source: str
    stat_lines: list[str]  # the aggregate cpu line of each sample


@provides(CpuLoad, reads=("proc.loadavg", "proc.stat"), host=True)
def _cpu_load(fs: FactStore) -> CpuLoad:
    lev = fs.require("proc.loadavg", host=True)
    sev = fs.require("proc.stat", host=True)
    first = parse_proc_stat(sev.content())
    ncpu = len([n for n in first if n != "cpu"]) or 1
    idle: float | None = None
    busiest: float | None = None
    lines = [ln for ln in sev.content().splitlines() if ln.startswith("cpu ")]
    if sev.later:
        second = parse_proc_stat(sev.later)
        idle = idle_fraction(first["cpu"], second["cpu"])
        per = [idle_fraction(first[n], second[n]) for n in first if n != "cpu" and n in second]
        known = [p for p in per if p is not None]
        busiest = min(known) if known else None
        lines += [ln for ln in sev.later.splitlines() if ln.startswith("cpu ")]
    return CpuLoad(
        parse_loadavg(lev.content()), ncpu, idle, busiest, sev.interval_s, lev.source, sev.source, lines
    )


@dataclass(frozen=True)
class CpuCount:
    n: int
    source: str


@provides(CpuCount, reads=("proc.stat",), host=True)
def _cpu_count(fs: FactStore) -> CpuCount:
    ev = fs.require("proc.stat", host=True)
    return CpuCount(len([n for n in parse_proc_stat(ev.content()) if n != "cpu"]) or 1, ev.source)


@dataclass(frozen=True)
class Disks:
    usage: list[DiskUsage]
    later: dict[str, DiskUsage]  # second sample by mount, when sampled
    interval_s: float | None
    source: str
    largest: list[tuple[int, str]] = field(default_factory=list)  # (bytes, path) of the biggest logs
    largest_source: str = ""

    def growth_kb_s(self, mount: str) -> float | None:
        before = next((d for d in self.usage if d.mount == mount), None)
        after = self.later.get(mount)
        if before is None or after is None or not self.interval_s:
            return None
        return (after.used_kb - before.used_kb) / self.interval_s


@provides(Disks, reads=("df", "log.largest"), host=True)
def _disks(fs: FactStore) -> Disks:
    ev = fs.require("df", host=True)
    usage = parse_df(ev.content())
    if not usage:
        raise Unavailable(Msg("df_empty"))
    later = {d.mount: d for d in parse_df(ev.later)} if ev.later else {}
    largest: list[tuple[int, str]] = []
    lsrc = ""
    big = fs.evidence("log.largest", host=True)
    if big is not None and big.ok:
        for line in big.lines():
            size, _, path = line.strip().partition(" ")
            if size.isdigit() and path:
                largest.append((int(size), path))
        lsrc = big.source
    return Disks(usage, later, ev.interval_s, ev.source, largest, lsrc)


@dataclass(frozen=True)
class Environment:
    """umask and PATH of the user who runs netsleuth (and deploys), and the login default umask."""

    umask: str | None  # "0027"
    path: list[str] | None
    source: str
    umask_line: str
    path_line: str
    login_umask: str | None = None
    login_source: str = ""
    login_line: str = ""


@provides(Environment, reads=("environment", "etc.login_defs"), host=True)
def _environment(fs: FactStore) -> Environment:
    ev = fs.require("environment", host=True)
    umask: str | None = None
    path: list[str] | None = None
    uline = pline = ""
    for line in ev.lines():
        key, _, val = line.strip().partition("=")
        if key == "UMASK" and re.fullmatch(r"0?[0-7]{3}", val.strip()):
            umask, uline = val.strip().zfill(4), line.strip()
        elif key == "PATH":
            path, pline = [p for p in val.strip().split(":") if p], line.strip()
    env = Environment(umask, path, ev.source, uline, pline)
    login = fs.evidence("etc.login_defs", host=True)
    if login is not None and login.ok:
        for line in login.lines():
            m = re.match(r"^\s*UMASK\s+(0?[0-7]{3})\b", line)
            if m:
                return Environment(
                    umask, path, ev.source, uline, pline, m.group(1).zfill(4), login.source, line.strip()
                )
    return env


@dataclass(frozen=True)
class Containers:
    items: list[ContainerCpu]
    source: str


@provides(Containers, reads=("docker.containers",), host=True)
def _containers(fs: FactStore) -> Containers:
    items: list[ContainerCpu] = []
    sources: list[str] = []
    ev = fs.evidence("docker.containers", host=True)
    found = [ev] if ev is not None and not ev.key else []
    found += fs.keyed("docker.containers", host=True)
    reasons: list[Reason] = []
    for e in found:
        if e.ok:
            items += parse_docker_inspect(e.content())
            sources.append(e.source)
        else:
            reasons.append(why_not(e, "docker.containers"))
    if not sources:
        raise Unavailable(reasons or Msg("not_collected", {"name": "docker.containers"}))
    return Containers(items, sources[0] if len(sources) == 1 else f"{len(sources)} `docker inspect` files")
