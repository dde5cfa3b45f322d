"""Host-wide facts: kernel, uptime, when the evidence was taken, processes."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from netsleuth.errors import ParseError
from netsleuth.evidence.model import MAX_TEXT, Evidence
from netsleuth.facts.store import FactStore, Unavailable, provides, why_not
from netsleuth.messages import Msg, Reason
from netsleuth.parsers.docker import Container, ovs_container, parse_container_ps
from netsleuth.parsers.osrelease import parse_os_family
from netsleuth.parsers.ps import Process, parse_ps
from netsleuth.parsers.uptime import parse_uptime


@dataclass(frozen=True)
class HostInfo:
    kernel: str  # "3.10.0-327.22.2.el7.x86_64"
    uptime_s: float | None
    collected_at: datetime | None  # when the evidence was taken (live: now)
    os_family: str  # "rhel", "debian", "suse", "" unknown
    hostname: str = ""  # what the host calls itself ("" unknown)

    def is_named(self, name: str) -> bool:
        """`name` (an agent list's host: a short name or an FQDN) is this host."""
        short = self.hostname.split(".")[0].lower()
        return bool(short) and name.split(".")[0].lower() == short

    @property
    def kernel_version(self) -> tuple[int, int]:
        m = re.match(r"(\d+)\.(\d+)", self.kernel)
        return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


@provides(HostInfo, reads=("proc.uptime", "etc.os_release"), host=True)
def _host(fs: FactStore) -> HostInfo:
    b = fs.bundle
    uptime: float | None = None
    ev = fs.evidence("proc.uptime", host=True)
    if ev is not None and ev.ok:
        # one unreadable `uptime` leaves the uptime unknown; it must not take the clock, the
        # kernel and every log rule (LogScan needs HostInfo) down with it
        with contextlib.suppress(ParseError):
            uptime = parse_uptime(ev.content())
    when = None
    if b.collected_at:
        when = datetime.fromisoformat(b.collected_at)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    osr = fs.evidence("etc.os_release", host=True)
    family = parse_os_family(osr.content()) if osr is not None and osr.ok else ""
    return HostInfo(
        kernel=b.kernel, uptime_s=uptime, collected_at=when, os_family=family, hostname=b.hostname
    )


@dataclass(frozen=True)
class Processes:
    items: list[Process]
    complete: bool = True  # False: the list was cut at MAX_TEXT; a process not in it may still run

    def named(self, program: str) -> list[Process]:
        return [p for p in self.items if p.program == program]

    def matching(self, needle: str) -> list[Process]:
        return [p for p in self.items if needle in p.command]


@provides(Processes, reads=("ps",), host=True)
def _processes(fs: FactStore) -> Processes:
    ev = fs.require("ps", host=True)
    text = ev.content()
    procs = parse_ps(text)
    if not procs:
        raise Unavailable(Msg("empty_ps"))
    return Processes(procs, complete=not _cut(ev, text))


_CUT_WORDS = ("output cut at", "only the first")  # how the runner and the reader say a piece was cut


def _cut(ev: Evidence, text: str) -> bool:
    """Whether a piece holds only the first MAX_TEXT of its output (a huge `ps auxwwwm`)."""
    return len(text) >= MAX_TEXT or any(w in ev.error for w in _CUT_WORDS)


@dataclass(frozen=True)
class Memory:
    total_bytes: int


@provides(Memory, reads=("proc.meminfo",), host=True)
def _memory(fs: FactStore) -> Memory:
    ev = fs.require("proc.meminfo", host=True)
    for line in ev.content().splitlines():
        if line.startswith("MemTotal:"):
            return Memory(int(line.split()[1]) * 1024)
    raise Unavailable(Msg("no_memtotal"))


@dataclass(frozen=True)
class ContainerList:
    """The containers of the host (`docker ps`, `podman ps`): kolla-ansible and TripleO run Open
    vSwitch and the Neutron agents in them."""

    items: list[Container]
    source: str

    def ovs(self) -> Container | None:
        return ovs_container(self.items)


@provides(ContainerList, reads=("containers.docker", "containers.podman"), host=True)
def _container_list(fs: FactStore) -> ContainerList:
    items: list[Container] = []
    sources: list[str] = []
    reasons: list[Reason] = []
    for runtime in ("docker", "podman"):
        ev = fs.evidence(f"containers.{runtime}", host=True)
        if ev is not None and ev.ok:
            items += parse_container_ps(ev.content(), runtime)
            sources.append(ev.source)
        else:
            reasons.append(why_not(ev, f"containers.{runtime}"))
    if not sources:
        raise Unavailable(reasons)
    return ContainerList(items, ", ".join(sources))
