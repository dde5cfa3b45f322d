"""Open vSwitch: is ovsdb-server answering, is ovs-vswitchd answering, and the Interface table."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netsleuth.evidence.model import Evidence, Status
from netsleuth.facts.host import ContainerList, Processes
from netsleuth.facts.store import FactStore, Unavailable, provides, why_not
from netsleuth.messages import Msg, Reason
from netsleuth.parsers.docker import Container, ovs_container
from netsleuth.parsers.ovs import Row, parse_vsctl_list
from netsleuth.parsers.ps import Process

if TYPE_CHECKING:
    from netsleuth.evidence.sosnames import Wrapper


def _uuids(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value else []


@dataclass(frozen=True)
class OvsHome:
    """Where Open vSwitch runs, so that a remedy's commands reach it: on the host (its tools on
    the PATH, a systemd unit), in containers (kolla-ansible: `docker exec openvswitch_vswitchd
    ovs-vsctl ...`, `docker restart openvswitch_vswitchd`; TripleO's podman alike) or in a snap
    (Sunbeam: `openstack-hypervisor.ovs-vsctl ...`)."""

    kind: str = ""  # "" on the host | "docker" | "podman" | "snap"
    name: str = ""  # the container the OVS tools run in, or the snap
    vswitchd: str = ""  # the container of ovs-vswitchd (kolla: openvswitch_vswitchd)
    ovsdb: str = ""  # the container of ovsdb-server (kolla: openvswitch_db)

    @property
    def in_container(self) -> bool:
        return self.kind in ("docker", "podman")


@dataclass
class OvsState:
    vsctl: Evidence  # `ovs-vsctl show`: answered by ovsdb-server
    vswitchd_calls: list[Evidence]  # calls answered by ovs-vswitchd: ofctl dump-flows, appctl
    vswitchd: list[Process] = field(default_factory=list)
    ovsdb: list[Process] = field(default_factory=list)
    interfaces: list[Row] = field(default_factory=list)
    ports: list[Row] = field(default_factory=list)
    bridges: list[Row] = field(default_factory=list)
    processes_known: bool = False
    unread: dict[str, Reason] = field(default_factory=dict)  # table -> why its listing is not known

    @property
    def db_answers(self) -> bool:
        return self.vsctl.ok

    @property
    def hung_calls(self) -> list[Evidence]:
        return [ev for ev in self.vswitchd_calls if ev.status is Status.TIMEOUT]

    @property
    def answered_calls(self) -> list[Evidence]:
        return [ev for ev in self.vswitchd_calls if ev.ok]

    def bridge_interfaces(self) -> dict[str, list[Row]]:
        """Interface rows per bridge, joined through the Bridge and Port tables."""
        ifs = {str(r.get("_uuid")): r for r in self.interfaces}
        ports = {str(r.get("_uuid")): r for r in self.ports}
        out: dict[str, list[Row]] = {}
        for br in self.bridges:
            rows: list[Row] = []
            for pu in _uuids(br.get("ports")):
                port = ports.get(pu)
                if port is not None:
                    rows += [ifs[iu] for iu in _uuids(port.get("interfaces")) if iu in ifs]
            out[str(br.get("name"))] = rows
        return out

    @property
    def running(self) -> bool:
        """OVS is in use on this host: a daemon runs, or the database answered."""
        return bool(self.vswitchd or self.ovsdb) or self.db_answers


DEFAULT_SOCKET = "/run/openvswitch/db.sock"
_ERR_SOCK = re.compile(r"unix:(/\S+?):")
_PROC_SOCK = re.compile(r"(?:--remote=)?p?unix:(/\S+)")


def _norm(path: str) -> str:
    return path[len("/var") :] if path.startswith("/var/run/") else path


def _error_socket(error: str) -> str | None:
    """The database socket named in an ovs-vsctl error ("unix:/var/run/openvswitch/db.sock: ...").

    >>> _error_socket("ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or directory)")
    '/run/openvswitch/db.sock'
    """
    m = _ERR_SOCK.search(error)
    return _norm(m.group(1)) if m else None


def _daemon_socket(proc: Process) -> str:
    """The database socket a daemon serves (ovsdb-server) or uses (ovs-vswitchd).

    >>> _daemon_socket(Process(1, "root", "S", "ovsdb-server /etc/openvswitch/conf.db --remote=punix:/run/lab/db.sock"))
    '/run/lab/db.sock'
    >>> _daemon_socket(Process(2, "root", "S", "ovs-vswitchd --pidfile --detach"))
    '/run/openvswitch/db.sock'
    """
    m = _PROC_SOCK.search(proc.command)
    return _norm(m.group(1)) if m else DEFAULT_SOCKET


_SNAP_PATH = re.compile(r"/(?:var/)?snap/([a-z0-9][a-z0-9-]*)/")


def _wrapper(source: str) -> Wrapper:
    """How the OVS command of an evidence was run: as is, in a container, through a snap (live:
    the command line; a sosreport: the file sos named after it).

    >>> _wrapper("docker exec openvswitch_db ovs-vsctl --timeout=2 show")
    Wrapper(kind='docker', name='openvswitch_db')
    >>> _wrapper("sos_commands/openvswitch/openstack-hypervisor.ovs-vsctl_-t_5_show")
    Wrapper(kind='snap', name='openstack-hypervisor')
    >>> _wrapper("sos_commands/openvswitch/ovs-vsctl_-t_5_show").kind
    ''
    """
    # the names of sos's files come with the collector's command table: not at start-up
    from netsleuth.evidence.sosnames import PLAIN, unwrap_exec, unwrap_file

    w, inner = unwrap_exec(source)
    if w.kind and inner.startswith("ovs-"):
        return w
    for w, inner in unwrap_file(source.rsplit("/", 1)[-1]):
        if inner.startswith("ovs-"):
            return w
    return PLAIN


def _role(containers: list[Container], *words: str) -> str:
    """The container of one OVS daemon (a running one first): kolla's openvswitch_vswitchd for
    ovs-vswitchd, openvswitch_db for ovsdb-server; never an OVN or Neutron container."""
    for running in (True, False):
        for c in containers:
            label = f"{c.name} {c.image}".lower()
            mine = any(w in label for w in words)
            if c.running is running and mine and not any(w in label for w in ("agent", "neutron", "ovn")):
                return c.name
    return ""


def ovs_home(source: str, containers: list[Container], daemons: list[Process]) -> OvsHome:
    """Where Open vSwitch runs: the wrapper its command went through, else the container that
    runs it (`docker ps`), else a snap whose paths its daemons use, else the host.

    >>> from netsleuth.parsers.docker import SAMPLE_PS, parse_container_ps
    >>> ovs_home("ovs-vsctl show", parse_container_ps(SAMPLE_PS, "docker"), [])
    OvsHome(kind='docker', name='openvswitch_vswitchd', vswitchd='openvswitch_vswitchd', ovsdb='openvswitch_db')
    >>> ovs_home("ovs.vsctl_show", [], [Process(2056, "root", "Sl", "ovs-vswitchd "
    ...     "unix:/var/snap/openstack-hypervisor/common/run/openvswitch/db.sock --detach")])
    OvsHome(kind='snap', name='openstack-hypervisor', vswitchd='', ovsdb='')
    >>> ovs_home("ovs-vsctl show", [], []).kind
    ''
    """
    w = _wrapper(source)
    if w.kind == "snap":
        return OvsHome("snap", w.name)
    vswitchd = _role(containers, "vswitchd")
    ovsdb = _role(containers, "ovsdb", "openvswitch_db", "openvswitch-db", "db-server")
    if w.kind:
        return OvsHome(w.kind, w.name, vswitchd or w.name, ovsdb or w.name)
    ctr = ovs_container(containers)
    if ctr is not None:
        return OvsHome(ctr.runtime or "docker", ctr.name, vswitchd or ctr.name, ovsdb or ctr.name)
    for p in daemons:
        m = _SNAP_PATH.search(p.command)
        if m:
            return OvsHome("snap", m.group(1))
    return OvsHome()


UNKNOWN = (Status.MISSING, Status.DENIED)  # not collected or not readable: says nothing of the daemons


def _unknown(fs: FactStore, vsctl: Evidence | None, procs: Processes | None) -> Reason:
    """Why whether ovsdb-server answers cannot be told: `ovs-vsctl show` was not collected (not
    in the report, a tool that is not here, no permission). Never "it did not answer"."""
    why: Reason = (
        (vsctl.why or vsctl.error or vsctl.status.value) if vsctl is not None else Msg("not_collected_bare")
    )
    containers = fs.maybe(ContainerList)
    ctr = containers.ovs() if containers is not None else None
    if ctr is not None:
        return Msg("ovs_in_container", {"name": ctr.name, "runtime": ctr.runtime, "why": why})
    daemons = [
        p
        for name in ("ovs-vswitchd", "ovsdb-server")
        for p in (procs.named(name) if procs is not None else [])
        if not p.stat.startswith("Z")
    ]
    if daemons:
        return Msg("ovs_runs_unknown", {"program": daemons[0].program, "pid": daemons[0].pid, "why": why})
    if vsctl is not None and vsctl.status is Status.MISSING and vsctl.error.endswith("not installed"):
        return Msg("ovs_not_installed")
    return why_not(vsctl, "ovs.vsctl_show")


@provides(
    OvsState,
    reads=(
        "ovs.vsctl_show",
        "ovs.dump_flows",
        "ovs.vswitchd_version",
        "ovs.dpctl_show",
        "ovs.interface",
        "ovs.port",
        "ovs.bridge",
    ),
    uses=(Processes, ContainerList),
    host=True,
)
def _ovs(fs: FactStore) -> OvsState:
    vsctl = fs.evidence("ovs.vsctl_show", host=True)
    procs = fs.maybe(Processes)
    if vsctl is None or vsctl.status in UNKNOWN:
        raise Unavailable(_unknown(fs, vsctl, procs))
    calls = [ev for ev in fs.keyed("ovs.dump_flows", host=True) if ev.status not in UNKNOWN]
    for name in ("ovs.vswitchd_version", "ovs.dpctl_show"):
        ev = fs.evidence(name, host=True)
        if ev is not None and ev.status not in UNKNOWN:
            calls.append(ev)
    state = OvsState(vsctl, calls, processes_known=procs is not None and procs.complete)
    if procs is not None:
        # daemons of another instance (own run directory) are not the ones ovs-vsctl talked to
        # and a zombie (`[ovsdb-server] <defunct>`, killed, not yet reaped) runs nothing
        sock = _error_socket(vsctl.error)
        state.vswitchd, state.ovsdb = (
            [
                p
                for p in procs.named(name)
                if not p.stat.startswith("Z") and (sock is None or _daemon_socket(p) == sock)
            ]
            for name in ("ovs-vswitchd", "ovsdb-server")
        )
    for name, attr in (("ovs.interface", "interfaces"), ("ovs.port", "ports"), ("ovs.bridge", "bridges")):
        ev = fs.evidence(name, host=True)
        if ev is not None and ev.ok:
            setattr(state, attr, parse_vsctl_list(ev.content()))
        else:
            state.unread[attr] = why_not(ev, name)
    if not state.running:
        raise Unavailable(Msg("ovs_not_running"))
    return state


@provides(OvsHome, reads=("ovs.vsctl_show",), uses=(Processes, ContainerList), host=True)
def _ovs_home(fs: FactStore) -> OvsHome:
    """Known even when Open vSwitch's own answers are not (a report without `ovs-vsctl show`):
    the container list and the daemons' command lines say where it runs; nothing known: the host."""
    vsctl = fs.evidence("ovs.vsctl_show", host=True)
    procs = fs.maybe(Processes)
    containers = fs.maybe(ContainerList)
    daemons = [p for name in ("ovs-vswitchd", "ovsdb-server") for p in (procs.named(name) if procs else [])]
    return ovs_home(
        vsctl.source if vsctl is not None and vsctl.status not in UNKNOWN else "",
        containers.items if containers is not None else [],
        daemons,
    )
