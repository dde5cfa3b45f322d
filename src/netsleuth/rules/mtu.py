"""MTU along real paths (seeds 003/004): a container's veth at 1500 bridged onto a host NIC set to
1350 — ping passes, TCP retransmits and times out; a VXLAN device without room for its 50 bytes of
headers. The frame that does not fit is dropped silently at the smaller hop."""

from __future__ import annotations

from collections.abc import Iterator

from netsleuth.evidence.model import HOST
from netsleuth.facts.host import HostInfo
from netsleuth.facts.network import AllLinks, Links, link_line
from netsleuth.facts.ovs import OvsState
from netsleuth.parsers.iproute import Link
from netsleuth.rules.base import Finding, Seen, Severity, rule
from netsleuth.rules.persist import mtu_persist

VXLAN_OVERHEAD_V4 = 50  # outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8
VXLAN_OVERHEAD_V6 = 70
GENEVE_OVERHEAD_V4 = 54
PORT_IGNORED = {"openvswitch", "bridge"}


def _where(netns: str) -> str:
    return f" (netns {netns})" if netns else ""


def _finding(
    small: Link,
    small_ns: str,
    big: Link,
    big_ns: str,
    path: str,
    links_src: str,
    host: HostInfo | None,
    fails: int | None = None,
    fix_mtu: int | None = None,
) -> Finding:
    fix_mtu = fix_mtu or big.mtu
    ns_cmd = f"ip netns exec {small_ns} " if small_ns else ""
    return Finding(
        "mtu.mismatch",
        Severity.CRITICAL,
        subject=small.name,
        params={
            "small": small.name + _where(small_ns),
            "small_mtu": small.mtu,
            "big": big.name + _where(big_ns),
            "big_mtu": big.mtu,
            "path": path,
            "fails": fails if fails is not None else small.mtu + 1,
        },
        seen=[
            Seen(links_src + _where(big_ns), link_line(big)),
            Seen(links_src + _where(small_ns), link_line(small)),
        ],
        now=[f"{ns_cmd}ip link set dev {small.name} mtu {fix_mtu}   # or lower {big.name} to {small.mtu}"],
        persist=mtu_persist(small.name, fix_mtu, host.os_family if host else ""),
        seed="003",
    )


def _bridge_ports(links: Links) -> Iterator[tuple[str, list[Link]]]:
    bridges = {lnk.name for lnk in links.links if lnk.kind == "bridge"}
    for br in sorted(bridges):
        ports = [p for p in links.members(br) if p.kind not in PORT_IGNORED]
        if len(ports) > 1:
            yield br, ports


@rule(
    "mtu.mismatch",
    needs=(Links,),
    optional=(AllLinks, OvsState, HostInfo),
    seed="003/004",
    severity=Severity.CRITICAL,
)
def mismatch(
    links: Links, every: AllLinks | None, ovs: OvsState | None, host: HostInfo | None
) -> Iterator[Finding]:
    """MTUs along a path disagree, so full-size frames are dropped at the smaller hop."""
    ns, src = links.netns, links.source()
    # 1. ports of one Linux bridge: a frame from the larger port does not fit out of the smaller one
    for br, ports in _bridge_ports(links):
        small = min(ports, key=lambda p: p.mtu)
        big = max(ports, key=lambda p: p.mtu)
        if small.mtu < big.mtu:
            yield _finding(small, ns, big, ns, f"bridge {br}: {big.name} -> {small.name}", src, host)
    # 2. the two ends of a veth pair (container eth0 <-> host vethXXX), across namespaces too
    for link in links.links:
        if link.kind != "veth" or every is None:
            continue
        found = every.peer(ns, link)
        if found is None:
            continue
        peer_ns, peer = found
        if (peer_ns, peer.name) < (ns, link.name) and peer_ns in every.scopes and peer.mtu != link.mtu:
            continue  # reported once, from the other end's namespace
        if link.mtu > peer.mtu:
            yield _finding(peer, peer_ns, link, ns, f"veth {link.name} -> {peer.name}", src, host)
        elif link.mtu < peer.mtu:
            yield _finding(link, ns, peer, peer_ns, f"veth {peer.name} -> {link.name}", src, host)
    # 3. tunnels and VLANs over their underlay
    for link in links.links:
        if link.kind == "vxlan" and link.vxlan is not None:
            under = links.get(link.vxlan.dev) if link.vxlan.dev else None
            if under is None and link.vxlan.local:
                under = next(
                    (u for u in links.links if any(a.split("/")[0] == link.vxlan.local for a in u.addresses)),
                    None,
                )
            if under is None:
                continue
            overhead = VXLAN_OVERHEAD_V6 if link.vxlan.ipv6 else VXLAN_OVERHEAD_V4
            room = under.mtu - overhead
            if link.mtu > room:
                f = _finding(
                    under,
                    ns,
                    link,
                    ns,
                    f"vxlan {link.name} over {under.name} (+{overhead} bytes)",
                    src,
                    host,
                    fails=room + 1,
                    fix_mtu=room,
                )
                f.subject = link.name
                f.now = [
                    f"{'ip netns exec ' + ns + ' ' if ns else ''}ip link set dev {link.name} mtu {room}"
                    f"   # or raise {under.name} to {link.mtu + overhead}"
                ]
                f.params["overhead"] = overhead
                yield f
        if link.kind in ("vlan", "macvlan") and link.peer:
            parent = links.get(link.peer)
            if parent is not None and link.mtu > parent.mtu:
                yield _finding(parent, ns, link, ns, f"{link.kind} {link.name} on {parent.name}", src, host)
    # 4. ports of one Open vSwitch bridge (host namespace only)
    if ovs is not None and ns == HOST:
        for br, rows in ovs.bridge_interfaces().items():
            sized = [
                (str(r["name"]), int(r["mtu"]))
                for r in rows
                if isinstance(r.get("mtu"), int) and r.get("type") in ("", "system", "dpdk")
            ]
            if len(sized) < 2:
                continue
            (sname, smtu), (bname, bmtu) = min(sized, key=lambda x: x[1]), max(sized, key=lambda x: x[1])
            if smtu < bmtu:
                small = links.get(sname) or Link(0, sname, frozenset(), smtu)
                big = links.get(bname) or Link(0, bname, frozenset(), bmtu)
                f = _finding(small, ns, big, ns, f"OVS bridge {br}: {bname} -> {sname}", src, host)
                f.seen = [
                    Seen("ovs-vsctl list Interface", f"name={bname} mtu={bmtu}\nname={sname} mtu={smtu}")
                ]
                yield f
