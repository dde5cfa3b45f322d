"""VLANs a namespace sends into, seen passively: Open vSwitch access ports (`ovs-vsctl list Port`
tag/trunks), VLAN sub-interfaces, the kernel neighbour table (`ip -j -s neigh`) and the two samples
of the interface counters (`ip -j -s -s link`). Read by vlan.no_reply."""

from __future__ import annotations

from dataclasses import dataclass, field

from netsleuth.evidence.model import Evidence
from netsleuth.facts.network import Links
from netsleuth.facts.store import FactStore, Unavailable, provides
from netsleuth.messages import Msg
from netsleuth.parsers.iproute import Link
from netsleuth.parsers.neigh import Neighbour, parse_neigh
from netsleuth.parsers.ovs import Row, parse_vsctl_list


@dataclass
class Neighbours:
    """The kernel neighbour (ARP/NDP) table of one namespace."""

    entries: list[Neighbour]
    evidence: Evidence

    def on(self, dev: str) -> list[Neighbour]:
        return [n for n in self.entries if n.dev == dev]


@provides(Neighbours, reads=("ip.neigh",))
def _neighbours(fs: FactStore) -> Neighbours:
    ev = fs.require("ip.neigh")
    return Neighbours(parse_neigh(ev.content()), ev)


@dataclass(frozen=True)
class Counters:
    """Packets of one interface in the two samples of `ip -s link` (None: one sample only)."""

    rx: int
    tx: int
    rx_later: int | None
    tx_later: int | None

    @property
    def rx_delta(self) -> int | None:
        return None if self.rx_later is None else self.rx_later - self.rx

    @property
    def tx_delta(self) -> int | None:
        return None if self.tx_later is None else self.tx_later - self.tx

    def describe(self, interval_s: float | None) -> str:
        if self.rx_later is None or self.tx_later is None:
            return f"rx {self.rx} packets, tx {self.tx} packets (one sample)"
        secs = f" in {interval_s:g} s" if interval_s else ""
        return (
            f"rx {self.rx} -> {self.rx_later} packets (+{self.rx_later - self.rx}), "
            f"tx {self.tx} -> {self.tx_later} packets (+{self.tx_later - self.tx}){secs}"
        )


def _counters(links: Links, name: str) -> Counters | None:
    first = links.get(name)
    if first is None:
        return None
    later = links.later.get(name)
    return Counters(
        first.rx.get("packets", 0),
        first.tx.get("packets", 0),
        None if later is None else later.rx.get("packets", 0),
        None if later is None else later.tx.get("packets", 0),
    )


@dataclass(frozen=True)
class TaggedPort:
    """A device of this namespace that sends into VLAN `vlan`.

    `own`: the host's own interface in the VLAN (an OVS internal port, a VLAN sub-interface): it
    transmits requests and receives replies, and its neighbour entries say whether anyone answered.
    Otherwise an OVS access port toward a VM/container: the VM's requests are *received* on it
    and replies are *transmitted* to the VM."""

    vlan: int
    name: str
    own: bool
    bridge: str  # the OVS bridge, or the parent device of a VLAN sub-interface
    counters: Counters | None
    uplinks: list[tuple[str, Counters | None]] = field(default_factory=list)  # trunks carrying it
    source: str = ""  # where the tag comes from

    @property
    def sent(self) -> int | None:
        """Packets sent into the VLAN between the two samples."""
        c = self.counters
        return None if c is None else (c.tx_delta if self.own else c.rx_delta)

    @property
    def came_back(self) -> int | None:
        """Packets that came back out of the VLAN between the two samples."""
        c = self.counters
        return None if c is None else (c.rx_delta if self.own else c.tx_delta)


@dataclass
class VlanPorts:
    ports: list[TaggedPort]
    links: Links
    neighbours: Neighbours | None


def _uuids(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value else []


def _tag(row: Row) -> int | None:
    tag = row.get("tag")
    return tag if isinstance(tag, int) and not isinstance(tag, bool) else None


def _trunks(row: Row) -> list[int]:
    t = row.get("trunks")
    if isinstance(t, int):
        return [t]
    return [int(x) for x in t] if isinstance(t, list) else []


def _ovs_rows(fs: FactStore, name: str) -> list[Row]:
    ev = fs.evidence(name, host=True)
    if ev is None or not ev.ok:
        return []
    return parse_vsctl_list(ev.content())


def _ovs_ports(fs: FactStore, links: Links) -> list[TaggedPort]:
    ports = _ovs_rows(fs, "ovs.port")
    if not ports:
        return []
    ifaces = {str(r.get("_uuid")): r for r in _ovs_rows(fs, "ovs.interface")}
    bridge_of: dict[str, str] = {}
    for br in _ovs_rows(fs, "ovs.bridge"):
        for pu in _uuids(br.get("ports")):
            bridge_of[pu] = str(br.get("name", ""))
    src = fs.evidence("ovs.port", host=True)
    source = src.source if src is not None else "ovs-vsctl --format=json list Port"
    out: list[TaggedPort] = []
    for row in ports:
        vlan = _tag(row)
        name = str(row.get("name", ""))
        if vlan is None or links.get(name) is None:
            continue  # a trunk, or a port whose device lives in another namespace
        bridge = bridge_of.get(str(row.get("_uuid")), "")
        types = {str(ifaces[u].get("type", "")) for u in _uuids(row.get("interfaces")) if u in ifaces}
        uplinks = [
            (str(r.get("name")), _counters(links, str(r.get("name"))))
            for r in ports
            if _tag(r) is None
            and bridge_of.get(str(r.get("_uuid"))) == bridge
            and str(r.get("name")) != bridge
            and (not _trunks(r) or vlan in _trunks(r))
            and links.get(str(r.get("name"))) is not None
        ]
        out.append(
            TaggedPort(vlan, name, "internal" in types, bridge, _counters(links, name), uplinks, source)
        )
    return out


@provides(VlanPorts, reads=("ovs.port", "ovs.interface", "ovs.bridge"), uses=(Links, Neighbours))
def _vlan_ports(fs: FactStore) -> VlanPorts:
    links = fs.get(Links)
    ports = _ovs_ports(fs, links)
    for lnk in links.links:
        if lnk.kind == "vlan" and lnk.vlan_id is not None:
            parent: Link | None = links.get(lnk.peer) if lnk.peer else None
            ports.append(
                TaggedPort(
                    lnk.vlan_id,
                    lnk.name,
                    True,
                    lnk.peer,
                    _counters(links, lnk.name),
                    [(parent.name, _counters(links, parent.name))] if parent else [],
                    links.source(),
                )
            )
    if not ports:
        raise Unavailable(Msg("no_vlan_port"))
    return VlanPorts(ports, links, fs.maybe(Neighbours))
