"""The fleet model: one small summary per host (addresses, MACs, MTUs, VTEPs, Neutron agents, clock),
built from that host's facts, and the fleet-wide facts the cross-host rules read.

A summary holds values and the few evidence lines a finding quotes, never raw evidence: a fleet of
thousands of hosts is analysed host by host and only the summaries stay in memory."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from netsleuth.evidence.model import HOST, Bundle, Evidence, Status
from netsleuth.facts.host import ContainerList, Processes
from netsleuth.facts.network import Links, Routes, link_line
from netsleuth.facts.overlay import Fdb
from netsleuth.facts.ovs import OvsHome, OvsState
from netsleuth.facts.store import FactStore, Unavailable, provides
from netsleuth.messages import Msg
from netsleuth.parsers.docker import Container
from netsleuth.parsers.iproute import Link
from netsleuth.parsers.mesh import Mesh, parse_mesh
from netsleuth.parsers.neutron import detect_kind

# evidence `fleet diagnose` makes itself: the fleet model (its summaries, handed to the fleet rules)
# and the mesh matrix of `fleet probe` (`--mesh FILE`)
FLEET_MODEL = "fleet.model"
FLEET_MESH = "fleet.mesh"
NEUTRON_AGENTS = (
    "neutron-openvswitch-agent",
    "neutron-linuxbridge-agent",
    "neutron-l3-agent",
    "neutron-dhcp-agent",
    "neutron-metadata-agent",
    "neutron-ovn-metadata-agent",
    "neutron-sriov-nic-agent",
)
TUNNEL_PORTS = {"vxlan": 4789, "geneve": 6081, "stt": 7471, "gre": 0}
SHARED_MACS = frozenset({"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "ee:ee:ee:ee:ee:ee", "fe:ff:ff:ff:ff:ff"})
HOST_INTERNAL_MEMBERS = frozenset({"veth", "tun", "tap"})  # ports of local containers and VMs


def plain_ip(cidr: str) -> str | None:
    """The address of "10.0.0.1/24" in canonical form; None for addresses that every host has or
    that never leave the link (loopback, link-local, unspecified, multicast).

    >>> plain_ip("10.0.0.1/24"), plain_ip("fe80::1/64"), plain_ip("127.0.0.1/8"), plain_ip("2001:DB8::1/64")
    ('10.0.0.1', None, None, '2001:db8::1')
    """
    try:
        ip = ipaddress.ip_address(cidr.split("/")[0].split("%")[0])
    except ValueError:
        return None
    if ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast:
        return None
    return str(ip)


@dataclass(frozen=True)
class Iface:
    """One interface of a host's own namespace, as the fleet rules need it."""

    name: str
    kind: str
    mtu: int
    mac: str
    addresses: tuple[str, ...]  # "10.0.0.1/24"
    faces_out: bool  # its addresses and MAC can meet another host's (not loopback, dummy, a host-only bridge)
    line: str  # the interface as `ip link` prints its first line


@dataclass(frozen=True)
class Remote:
    """Where a VTEP sends: an address, with the per-remote port/VNI a Linux FDB entry may set."""

    address: str
    source: str  # the evidence naming it: `ip -d link`, `bridge fdb`, `ovs-vsctl list Interface`
    line: str  # the line there (the device, an FDB entry, an OVS interface row)
    port: int | None = None
    vni: int | None = None


@dataclass(frozen=True)
class Vtep:
    """A tunnel endpoint: a Linux VXLAN/Geneve device or an Open vSwitch tunnel port."""

    name: str
    impl: str  # "linux" | "ovs"
    type: str  # vxlan | geneve | gre | stt
    vni: int | None  # None: chosen per flow (OVS key=flow)
    port: int  # UDP port it sends to and listens on
    local: str
    group: str  # multicast group (Linux): reaches every VTEP that joined it
    remotes: tuple[Remote, ...]
    mtu: int | None  # the overlay device's MTU (Linux); None for OVS ports
    underlay: str  # the device the encapsulated packets leave by
    underlay_mtu: int | None
    master: str  # the bridge it is attached to (Linux master, OVS bridge)
    source: str  # the evidence it comes from
    line: str  # the endpoint as that evidence shows it
    flow_remote: bool = False  # OVS remote_ip=flow: peers chosen per flow, unknown here


@dataclass(frozen=True)
class HostSummary:
    """One host of the fleet, summarised from its facts."""

    name: str  # the fleet's name for it (inventory name, hostname, or the file when hostnames clash)
    hostname: str  # what the host calls itself
    label: str  # the input it was read from, as given
    source: str  # bundle:..., sosreport:...
    collected_at: str  # the host's own clock when its evidence was taken
    interfaces: tuple[Iface, ...] = ()
    vteps: tuple[Vtep, ...] = ()
    agents: tuple[str, ...] = ()  # Neutron agent programs running
    process_count: int | None = None  # None: no process list
    links_source: str = ""
    agent_lists: tuple[tuple[str, str], ...] = ()  # (source, text): a controller's agent list it carries
    unknown: tuple[tuple[str, str], ...] = ()  # (what, why) the summary could not learn
    ovs_home: OvsHome = field(default_factory=OvsHome)  # where its Open vSwitch runs (host, container, snap)
    containers: tuple[Container, ...] = ()  # `docker ps -a` / `podman ps -a`: where its agents run

    def addresses(self) -> Iterator[tuple[str, Iface]]:
        """(address, interface) of every address that faces out, in canonical form."""
        for iface in self.interfaces:
            if not iface.faces_out:
                continue
            for cidr in iface.addresses:
                ip = plain_ip(cidr)
                if ip is not None:
                    yield ip, iface

    def owns(self, address: str) -> bool:
        return any(ip == address for ip, _ in self.addresses()) or any(v.local == address for v in self.vteps)

    def why_unknown(self, what: str) -> str | None:
        return next((why for w, why in self.unknown if w == what), None)

    def names(self) -> set[str]:
        """Every name the host may be listed under elsewhere (an agent list's `host`)."""
        out = {self.name, self.hostname}
        return out | {n.split(".")[0] for n in out if n}


@dataclass(frozen=True)
class HostStatus:
    """Whether a host of the fleet could be analysed, and why not."""

    name: str
    status: str  # ok | unreadable | error | unreachable | auth_failed | timed_out | collector_error
    message: str = ""
    label: str = ""  # the input (file) it came from
    address: str = ""  # the inventory's address for it
    requested_at: str = ""  # the controller's clock when its collection started (fleet collect)
    duration_s: float | None = None


@dataclass
class FleetModel:
    """Every analysed host's summary and every host's status: what the fleet rules read."""

    hosts: dict[str, HostSummary]
    statuses: dict[str, HostStatus] = field(default_factory=dict)
    inventory: bool = False  # the fleet's members come from an inventory: a remote outside it is a fault
    _owners: dict[str, list[str]] | None = field(default=None, init=False, repr=False)

    def owners(self, address: str) -> list[str]:
        """The hosts that have `address` on an interface (or as a VTEP's local address)."""
        if self._owners is None:
            idx: dict[str, list[str]] = {}
            for name, h in self.hosts.items():
                mine = {ip for ip, _ in h.addresses()} | {v.local for v in h.vteps if v.local}
                for ip in mine:
                    idx.setdefault(ip, []).append(name)
            self._owners = idx
        return self._owners.get(address, [])

    def owner(self, address: str) -> str | None:
        found = self.owners(address)
        return found[0] if found else None

    def not_analysed(self, address: str) -> HostStatus | None:
        """A host of the inventory with this address that could not be analysed."""
        return next((s for s in self.statuses.values() if s.address == address and s.status != "ok"), None)


class FleetBundle(Bundle):
    """The fleet's own evidence: its model (one summary per host), and the agent list and mesh
    matrix given to `fleet diagnose`."""

    def __init__(self, model: FleetModel) -> None:
        super().__init__(source="fleet", hostname="fleet")
        self.model = model
        names = ", ".join(sorted(model.hosts))
        self.add(
            Evidence(
                FLEET_MODEL, Status.OK, text=f"{len(model.hosts)} hosts: {names}", source="fleet diagnose"
            )
        )


@provides(FleetModel, reads=(FLEET_MODEL,))
def _model(fs: FactStore) -> FleetModel:
    fs.require(FLEET_MODEL, host=True)
    if not isinstance(fs.bundle, FleetBundle):
        raise Unavailable(Msg("fleet_only"))
    return fs.bundle.model


@dataclass(frozen=True)
class MeshMatrix:
    """The result of `netsleuth fleet probe`, given to `fleet diagnose --mesh FILE`."""

    mesh: Mesh
    source: str


@provides(MeshMatrix, reads=(FLEET_MESH,))
def _mesh(fs: FactStore) -> MeshMatrix:
    ev = fs.require(FLEET_MESH, host=True)
    return MeshMatrix(parse_mesh(ev.content()), ev.source)


# ---- building a host's summary -------------------------------------------------------------------


def _faces_out(link: Link, links: Links) -> bool:
    """Addresses on loopback, dummy devices (kube-ipvs0), down links, and bridges whose only members
    are veth/tap ports of local containers and VMs (docker0, virbr0: the same address on every host
    by design) never meet another host's."""
    if link.is_loopback or link.kind == "dummy" or not link.admin_up:
        return False
    if link.kind == "bridge":
        return any(m.kind not in HOST_INTERNAL_MEMBERS for m in links.members(link.name))
    return True


def _iface_with(links: Links, address: str) -> Link | None:
    for lnk in links.links:
        if any(a.split("/")[0] == address for a in lnk.addresses):
            return lnk
    return None


def _underlay(links: Links, routes: Routes | None, dev: str, local: str, remote: str) -> Link | None:
    if dev:
        return links.get(dev)
    if local:
        found = _iface_with(links, local)
        if found is not None:
            return found
    if remote and routes is not None:
        name = routes.dev_for(remote)
        return links.get(name) if name else None
    return None


def _linux_vteps(links: Links, routes: Routes | None, fdb: Fdb | None) -> list[Vtep]:
    out = []
    for lnk in links.links:
        vx = lnk.vxlan
        if vx is None or vx.external:
            continue
        remotes: list[Remote] = []
        desc = f"{lnk.kind} id {vx.vni}" + "".join(
            f" {k} {v}"
            for k, v in (("remote", vx.remote), ("local", vx.local), ("group", vx.group), ("dev", vx.dev))
            if v
        )
        line = f"{link_line(lnk)}\n    {desc} dstport {vx.port}"
        if vx.remote and plain_ip(vx.remote):
            remotes.append(Remote(vx.remote, links.source(), line))
        fdb_source = fdb.evidence.source if fdb is not None else ""
        for e in fdb.remotes(lnk.name) if fdb is not None else []:
            if plain_ip(e.dst) and all(r.address != e.dst for r in remotes):
                remotes.append(Remote(e.dst, fdb_source, e.line, e.port, e.vni))
        under = _underlay(links, routes, vx.dev, vx.local, remotes[0].address if remotes else "")
        out.append(
            Vtep(
                name=lnk.name,
                impl="linux",
                type=lnk.kind or "vxlan",
                vni=vx.vni,
                port=vx.port,
                local=vx.local,
                group=vx.group,
                remotes=tuple(remotes),
                mtu=lnk.mtu,
                underlay=under.name if under else "",
                underlay_mtu=under.mtu if under else None,
                master=lnk.master,
                source=links.source(),
                line=line,
            )
        )
    return out


def _opt_int(value: Any) -> int | None:
    s = str(value).strip('"')
    return int(s) if s.isdigit() else None


def _ovs_vteps(ovs: OvsState, links: Links | None, routes: Routes | None, source: str) -> list[Vtep]:
    bridge_of = {str(row.get("name")): br for br, rows in ovs.bridge_interfaces().items() for row in rows}
    out = []
    for row in ovs.interfaces:
        kind = str(row.get("type", "")).strip('"')
        if kind not in TUNNEL_PORTS:
            continue
        raw = row.get("options")
        opts: dict[str, Any] = raw if isinstance(raw, dict) else {}
        name = str(row.get("name", "")).strip('"')
        remote = str(opts.get("remote_ip", "")).strip('"')
        local = str(opts.get("local_ip", "")).strip('"')
        key = opts.get("key", opts.get("out_key", ""))
        shown = ", ".join(f"{k}={v}" for k, v in sorted(opts.items()))
        line = f"{name}: type {kind}, options {{{shown}}}"
        under = _underlay(links, routes, "", local, remote) if links is not None else None
        out.append(
            Vtep(
                name=name,
                impl="ovs",
                type=kind,
                vni=_opt_int(key) if str(key).strip('"') != "flow" else None,
                port=_opt_int(opts.get("dst_port", "")) or TUNNEL_PORTS[kind],
                local=local if plain_ip(local) else "",
                group="",
                remotes=(Remote(remote, source, line),) if plain_ip(remote) else (),
                mtu=None,
                underlay=under.name if under else "",
                underlay_mtu=under.mtu if under else None,
                master=bridge_of.get(name, ""),
                source=source,
                line=line,
                flow_remote=remote == "flow",
            )
        )
    return out


def _get(fs: FactStore, fact: type[Any], what: str, unknown: list[tuple[str, str]]) -> Any:
    try:
        return fs.get(fact)
    except Unavailable as exc:
        unknown.append((what, str(exc)))
        return None


@provides(
    HostSummary,
    reads=("ovs.interface", "user.input"),
    uses=(Links, Routes, Fdb, OvsState, Processes, OvsHome, ContainerList),
)
def _summary(fs: FactStore) -> HostSummary:
    """A host's summary from the facts of its own namespace (built once, shared with its diagnosis)."""
    host = fs if fs.netns == HOST else fs.scope(HOST)
    b = host.bundle
    unknown: list[tuple[str, str]] = []
    links: Links | None = _get(host, Links, "interfaces", unknown)
    routes: Routes | None = host.maybe(Routes)
    fdb: Fdb | None = host.maybe(Fdb)
    ovs: OvsState | None = host.maybe(OvsState)
    procs: Processes | None = _get(host, Processes, "processes", unknown)
    ifaces: list[Iface] = []
    vteps: list[Vtep] = []
    if links is not None:
        ifaces = [
            Iface(
                lnk.name,
                lnk.kind,
                lnk.mtu,
                lnk.address.lower(),
                tuple(lnk.addresses),
                _faces_out(lnk, links),
                link_line(lnk),
            )
            for lnk in links.links
        ]
        vteps += _linux_vteps(links, routes, fdb)
    if ovs is not None:
        ev = host.evidence("ovs.interface", host=True)
        vteps += _ovs_vteps(ovs, links, routes, ev.source if ev is not None else "ovs-vsctl list Interface")
    agents: tuple[str, ...] = ()
    if procs is not None:
        agents = tuple(
            a
            for a in NEUTRON_AGENTS
            if any(p.program not in ("grep", "rg", "pgrep") for p in procs.matching(a))
        )
    lists = tuple(
        (ev.source, ev.content())
        for ev in host.keyed("user.input", host=True)
        if ev.ok and detect_kind(ev.content()) == "agents"
    )
    return HostSummary(
        name=b.hostname,
        hostname=b.hostname,
        label=b.source,
        source=b.source,
        collected_at=b.collected_at,
        interfaces=tuple(ifaces),
        vteps=tuple(vteps),
        agents=agents,
        process_count=len(procs.items) if procs is not None else None,
        links_source=links.source() if links is not None else "",
        agent_lists=lists,
        unknown=tuple(unknown),
        ovs_home=host.maybe(OvsHome) or OvsHome(),
        containers=tuple(ctrs.items) if (ctrs := host.maybe(ContainerList)) is not None else (),
    )


def summarise(fs: FactStore, name: str = "", label: str = "") -> HostSummary:
    """The host's summary under the fleet's name for it (a summary that cannot be built says why)."""
    b = fs.bundle
    try:
        s = fs.scope(HOST).get(HostSummary)
    except Unavailable as exc:
        s = HostSummary(
            b.hostname, b.hostname, b.source, b.source, b.collected_at, unknown=(("summary", str(exc)),)
        )
    return replace(s, name=name or s.name, label=label or s.label)
