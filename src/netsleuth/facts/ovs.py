"""Open vSwitch: is ovsdb-server answering, is ovs-vswitchd answering, and the Interface table."""

from __future__ import annotations

from dataclasses import dataclass, field

from netsleuth.evidence.model import Evidence, Status
from netsleuth.facts.host import Processes
from netsleuth.facts.store import FactStore, Unavailable, provides
from netsleuth.parsers.ovs import Row, parse_vsctl_list
from netsleuth.parsers.ps import Process


def _uuids(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value else []


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


@provides(OvsState)
def _ovs(fs: FactStore) -> OvsState:
    vsctl = fs.evidence("ovs.vsctl_show", host=True)
    if vsctl is None:
        raise Unavailable("ovs.vsctl_show: not collected")
    procs = fs.maybe(Processes)
    if vsctl.status is Status.MISSING and not (procs and procs.named("ovs-vswitchd")):
        raise Unavailable("Open vSwitch is not installed (no ovs-vsctl)")
    calls = [ev for ev in fs.bundle.keyed("ovs.dump_flows")]
    for name in ("ovs.vswitchd_version", "ovs.dpctl_show"):
        ev = fs.evidence(name, host=True)
        if ev is not None and ev.status is not Status.MISSING:
            calls.append(ev)
    state = OvsState(vsctl, calls, processes_known=procs is not None)
    if procs is not None:
        state.vswitchd = procs.named("ovs-vswitchd")
        state.ovsdb = procs.named("ovsdb-server")
    for name, attr in (("ovs.interface", "interfaces"), ("ovs.port", "ports"), ("ovs.bridge", "bridges")):
        ev = fs.evidence(name, host=True)
        if ev is not None and ev.ok:
            setattr(state, attr, parse_vsctl_list(ev.content()))
    if not state.running:
        raise Unavailable("Open vSwitch is not running on this host (no ovsdb-server, no ovs-vswitchd)")
    return state
