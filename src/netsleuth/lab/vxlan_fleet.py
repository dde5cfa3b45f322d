"""A fleet of namespace hosts joined by a VXLAN mesh, for the faults only visible between hosts.

Each host is a network namespace with `eth0` on a lab underlay bridge (in its own namespace) and a
VXLAN device `vx0` that sends to every peer through a flooding FDB entry
(`bridge fdb append 00:00:00:00:00:00 dev vx0 dst PEER`), the way flannel and hand-made meshes do.
Knobs inject one fault each: a reverse entry left out, one VTEP on another UDP port, one VTEP's MTU,
one address configured on two hosts."""

from __future__ import annotations

from dataclasses import dataclass, field

from netsleuth.lab import Lab
from netsleuth.lab.blocks import Netns

VNI = 42
UNDERLAY = "10.99.200"
OVERLAY = "10.98.200"


@dataclass
class FleetHost:
    name: str  # hv1, hv2 ...
    ns: Netns
    underlay: str  # eth0's address
    overlay: str  # vx0's address


@dataclass
class VxlanFleetSpec:
    hosts: int = 4
    ports: dict[str, int] = field(default_factory=dict)  # host -> VXLAN dstport (default 4789)
    vnis: dict[str, int] = field(default_factory=dict)  # host -> VNI (default 42)
    mtus: dict[str, int] = field(default_factory=dict)  # host -> vx0 MTU (default: the kernel's 1450)
    missing: set[tuple[str, str]] = field(default_factory=set)  # (host, peer): no FDB entry host -> peer
    extra: dict[str, list[str]] = field(default_factory=dict)  # host -> more addresses on eth0
    underlay_mtus: dict[str, int] = field(default_factory=dict)  # host -> eth0 MTU (default 1500)
    macs: dict[str, str] = field(default_factory=dict)  # host -> eth0 MAC address


def build_vxlan_fleet(lab: Lab, spec: VxlanFleetSpec) -> list[FleetHost]:
    """Build the fleet; every piece lives in the lab's namespaces (removed with them)."""
    ul = lab.netns("ul")
    br = ul.bridge("br0", mtu=max([1500, *spec.underlay_mtus.values()]))
    hosts: list[FleetHost] = []
    for i in range(1, spec.hosts + 1):
        name = f"hv{i}"
        ns = lab.netns(name)
        mtu = spec.underlay_mtus.get(name)
        lab.veth(ul, f"p{i}", ns, "eth0", mtu=mtu, master=br, peer_addr=f"{UNDERLAY}.{i}/24")
        if name in spec.macs:
            ns.ip("link", "set", "dev", "eth0", "address", spec.macs[name])
        for cidr in spec.extra.get(name, []):
            ns.addr("eth0", cidr)
        hosts.append(FleetHost(name, ns, f"{UNDERLAY}.{i}", f"{OVERLAY}.{i}"))
    for h in hosts:
        mtu = spec.mtus.get(h.name)
        # the kernel refuses an MTU above eth0's less 50 when `dev` is given: leave it out then
        h.ns.vxlan(
            "vx0",
            spec.vnis.get(h.name, VNI),
            local=h.underlay,
            dstport=spec.ports.get(h.name, 4789),
            dev=None if mtu and mtu > 1450 else "eth0",
            mtu=mtu,
            addr=f"{h.overlay}/24",
        )
        for peer in hosts:
            if peer is h or (h.name, peer.name) in spec.missing:
                continue
            h.ns.run(["bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", peer.underlay])
    return hosts
