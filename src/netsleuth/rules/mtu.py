"""MTU along real paths (seeds 003/004): a container's veth at 1500 bridged onto a host NIC set to
1350 — ping passes, TCP retransmits and times out; a VXLAN device without room for its 50 bytes of
headers. The frame that does not fit is dropped silently at the smaller hop."""

from __future__ import annotations

import re
from collections.abc import Iterator

from netsleuth.evidence.model import HOST
from netsleuth.facts.host import HostInfo
from netsleuth.facts.logs import LogEvents, age_words
from netsleuth.facts.network import AllLinks, Links, Routes, link_line
from netsleuth.facts.ovs import OvsState
from netsleuth.messages import Msg
from netsleuth.parsers.iproute import Link
from netsleuth.parsers.ovs import Row
from netsleuth.rules.base import Cmd, Finding, Seen, Severity, rule
from netsleuth.rules.persist import mtu_persist

# outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN/Geneve 8 (Geneve options come on top); IPv6: +20
TUNNEL_OVERHEAD = {"vxlan": 50, "geneve": 50, "gre": 38, "gretap": 38, "stt": 72}
TUNNEL_KINDS = ("vxlan", "geneve")
PORT_IGNORED = {"openvswitch", "bridge"}


def _where(netns: str) -> str:
    return f" (netns {netns})" if netns else ""


def _named(name: str, netns: str) -> Msg | str:
    """An interface name, with its namespace when not the host's."""
    return Msg("iface_netns", {"name": name, "ns": netns}) if netns else name


def _finding(
    small: Link,
    small_ns: str,
    big: Link,
    big_ns: str,
    path: Msg,
    links_src: str,
    host: HostInfo | None,
    fails: int | None = None,
    fix_mtu: int | None = None,
) -> Finding:
    fix_mtu = fix_mtu or big.mtu
    ns_cmd = f"ip netns exec {small_ns} " if small_ns else ""
    return Finding(
        Severity.CRITICAL,
        subject=small.name,
        params={
            "small": _named(small.name, small_ns),
            "small_mtu": small.mtu,
            "big": _named(big.name, big_ns),
            "big_mtu": big.mtu,
            "path": path,
            "fails": fails if fails is not None else small.mtu + 1,
        },
        seen=[
            Seen(links_src + _where(big_ns), link_line(big)),
            Seen(links_src + _where(small_ns), link_line(small)),
        ],
        now=[
            Cmd(
                f"{ns_cmd}ip link set dev {small.name} mtu {fix_mtu}",
                Msg("c_or_lower", {"big": big.name, "mtu": small.mtu}),
            )
        ],
        persist=mtu_persist(small.name, fix_mtu, host.os_family if host else ""),
        seed="003",
    )


def _room_left(f: Finding, overhead: int, room: int) -> Finding:
    """A tunnel's packets must fit in what the underlay leaves after the headers: say so."""
    f.params["overhead"] = overhead
    f.params["small"] = Msg("under_room", {"dev": f.params["small"], "overhead": overhead})
    f.params["small_mtu"] = room
    return f


def _bridge_ports(links: Links) -> Iterator[tuple[str, list[Link]]]:
    bridges = {lnk.name for lnk in links.links if lnk.kind == "bridge"}
    for br in sorted(bridges):
        ports = [p for p in links.members(br) if p.kind not in PORT_IGNORED]
        if len(ports) > 1:
            yield br, ports


def _underlay(link: Link, links: Links, routes: Routes | None) -> Link | None:
    """The device a tunnel's packets leave by: its `dev`, the owner of its `local` address, or
    the route to its remote."""
    assert link.vxlan is not None
    if link.vxlan.dev:
        return links.get(link.vxlan.dev)
    if link.vxlan.local:
        owner = next(
            (u for u in links.links if any(a.split("/")[0] == link.vxlan.local for a in u.addresses)), None
        )
        if owner is not None:
            return owner
    remote = link.vxlan.remote or link.vxlan.group
    dev = routes.dev_for(remote) if routes is not None and remote else None
    return links.get(dev) if dev else None


def _patched(rows: dict[str, list[Row]]) -> dict[str, set[str]]:
    """Bridges joined by OVS patch ports (br-tun <-> br-int in Neutron)."""
    owner = {str(r.get("name")): br for br, rs in rows.items() for r in rs}
    out: dict[str, set[str]] = {}
    for br, rs in rows.items():
        for r in rs:
            raw = r.get("options")
            opts = raw if isinstance(raw, dict) else {}
            peer = owner.get(str(opts.get("peer", ""))) if r.get("type") == "patch" else None
            if peer:
                out.setdefault(br, set()).add(peer)
    return out


def _ovs_tunnels(ovs: OvsState, links: Links, routes: Routes, host: HostInfo | None) -> Iterator[Finding]:
    """Neutron's tunnels are OVS ports on br-tun: the VM ports on the bridges patched to it (br-int)
    must leave room for the tunnel headers on the underlay that the route to the remote leaves by."""
    rows = ovs.bridge_interfaces()
    patched = _patched(rows)
    for br, rs in rows.items():
        for tun in rs:
            kind = str(tun.get("type", ""))
            raw = tun.get("options")
            opts = raw if isinstance(raw, dict) else {}
            remote = str(opts.get("remote_ip", ""))
            dev = routes.dev_for(remote) if kind in TUNNEL_OVERHEAD and remote else None
            under = links.get(dev) if dev else None
            if under is None:
                continue
            overhead = TUNNEL_OVERHEAD[kind] + (20 if ":" in remote else 0)
            room = under.mtu - overhead
            ports = [
                (str(r["name"]), int(r["mtu"]))
                for b in {br, *patched.get(br, set())}
                for r in rows.get(b, [])
                if r.get("type") in ("", "system")
                and isinstance(r.get("mtu"), int)
                and str(r["name"]) != under.name
            ]
            if not ports:
                continue
            name, mtu = max(ports, key=lambda p: p[1])
            if mtu <= room:
                continue
            port = links.get(name) or Link(0, name, frozenset(), mtu)
            f = _finding(
                under,
                links.netns,
                port,
                links.netns,
                Msg(
                    "path_ovs_tunnel",
                    {
                        "kind": kind,
                        "port": tun.get("name"),
                        "br": br,
                        "remote": remote,
                        "under": under.name,
                        "overhead": overhead,
                    },
                ),
                links.source(),
                host,
                fails=room + 1,
                fix_mtu=room,
            )
            f.subject = name
            _room_left(f, overhead, room)
            f.seen = [
                Seen(
                    "ovs-vsctl list Interface",
                    f"name={tun.get('name')} type={kind} options:remote_ip={remote}\nname={name} mtu={mtu}",
                ),
                Seen(routes.evidence.source, f"{remote} via {under.name}; " + link_line(under)),
            ]
            f.now = [
                Cmd(
                    f"ip link set dev {name} mtu {room}",
                    Msg("c_neutron_mtu", {"room": room, "under": under.name, "mtu": mtu + overhead}),
                )
            ]
            yield f


def _bridge_differs(links: Links, host: HostInfo | None) -> Iterator[Finding]:
    """Ports of one Linux bridge: a frame from the larger port does not fit out of the smaller one."""
    for br, ports in _bridge_ports(links):
        small = min(ports, key=lambda p: p.mtu)
        big = max(ports, key=lambda p: p.mtu)
        if small.mtu < big.mtu:
            path = Msg("path_bridge", {"br": br, "a": big.name, "b": small.name})
            yield _finding(small, links.netns, big, links.netns, path, links.source(), host)


def _veth_ends_differ(links: Links, every: AllLinks | None, host: HostInfo | None) -> Iterator[Finding]:
    """The two ends of a veth pair (container eth0 <-> host vethXXX), across namespaces too."""
    ns, src = links.netns, links.source()
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
            yield _finding(
                peer, peer_ns, link, ns, Msg("path_veth", {"a": link.name, "b": peer.name}), src, host
            )
        elif link.mtu < peer.mtu:
            yield _finding(
                link, ns, peer, peer_ns, Msg("path_veth", {"a": peer.name, "b": link.name}), src, host
            )


def _over_underlay(links: Links, routes: Routes | None, host: HostInfo | None) -> Iterator[Finding]:
    """Tunnels without room for their headers on the underlay; VLANs larger than their parent."""
    ns, src = links.netns, links.source()
    for link in links.links:
        if link.kind in TUNNEL_KINDS and link.vxlan is not None:
            under = _underlay(link, links, routes)
            if under is None:
                continue
            overhead = TUNNEL_OVERHEAD[link.kind] + (20 if link.vxlan.ipv6 else 0)
            room = under.mtu - overhead
            if link.mtu > room:
                path = Msg(
                    "path_tunnel",
                    {"kind": link.kind, "name": link.name, "under": under.name, "overhead": overhead},
                )
                f = _finding(under, ns, link, ns, path, src, host, fails=room + 1, fix_mtu=room)
                f.subject = link.name
                f.now = [
                    Cmd(
                        f"{'ip netns exec ' + ns + ' ' if ns else ''}ip link set dev {link.name} mtu {room}",
                        Msg("c_or_raise", {"under": under.name, "mtu": link.mtu + overhead}),
                    )
                ]
                yield _room_left(f, overhead, room)
        if link.kind in ("vlan", "macvlan") and link.peer:
            parent = links.get(link.peer)
            if parent is not None and link.mtu > parent.mtu:
                path = Msg("path_vlan", {"kind": link.kind, "name": link.name, "parent": parent.name})
                yield _finding(parent, ns, link, ns, path, src, host)


def _ovs_bridge_differs(ovs: OvsState, links: Links, host: HostInfo | None) -> Iterator[Finding]:
    """Ports of one Open vSwitch bridge."""
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
            path = Msg("path_ovs_bridge", {"br": br, "a": bname, "b": sname})
            f = _finding(small, links.netns, big, links.netns, path, links.source(), host)
            f.seen = [Seen("ovs-vsctl list Interface", f"name={bname} mtu={bmtu}\nname={sname} mtu={smtu}")]
            yield f


RECENT_S = 86400.0  # over-MTU drops logged longer ago than this are a past event (info)


def _ovs_bridges(ovs: OvsState | None) -> set[str]:
    if ovs is None:
        return set()
    names = {str(r.get("name")) for r in ovs.bridges}
    return names | set(_BRIDGE_LINE.findall(ovs.vsctl.text if ovs.vsctl.ok else ""))


_BRIDGE_LINE = re.compile(r'^\s*Bridge\s+"?([^"\s]+)', re.MULTILINE)


def _logged_drops(
    logs: LogEvents,
    links: Links,
    every: AllLinks | None,
    ovs: OvsState | None,
    host: HostInfo | None,
    named: set[str],
) -> Iterator[Finding]:
    """The kernel said it: `DEV: dropped over-mtu packet: LEN > MTU` (the Open vSwitch datapath
    could not send a packet on DEV). Each device is reported in the namespace that holds it; one
    that no namespace read holds (deleted since, like a VM's tap) from the host's, as info. An OVS
    bridge's own port is left out: packets going up to the host's stack, not along a path."""
    events = logs.get("over_mtu_dropped")
    ns = links.netns
    bridges = _ovs_bridges(ovs)
    for dev, part in sorted(events.by_group.items()):
        last = part.last
        if last is None or dev in named or dev in bridges:
            continue
        here = links.get(dev) is not None
        elsewhere = every is not None and any(other.get(dev) is not None for other in every.scopes.values())
        if not here and (elsewhere or ns != HOST):
            continue
        shown = [e for e in part.samples if e is not last] + [last]
        size = max(int(e.match.get("len", 0)) for e in shown)
        mtu = int(last.match.get("mtu", 0))
        age = last.age_s
        if not here or (age is not None and age > RECENT_S):
            severity = Severity.INFO  # a past event, or a device that is gone
        else:
            severity = Severity.CRITICAL if age is not None else Severity.WARNING
        ns_cmd = f"ip netns exec {ns} " if here and ns else ""
        yield Finding(
            severity,
            subject=dev,
            params={
                "small": _named(dev, ns if here else ""),
                "small_mtu": mtu,
                "big": Msg("log_sender"),
                "big_mtu": size,
                "path": Msg("path_kernel_log", {"dev": dev, "count": part.count, "age": age_words(age)}),
                "fails": mtu + 1,
            },
            seen=[Seen(last.source, "\n".join(e.line.raw for e in shown))],
            now=[
                Cmd(
                    f"{ns_cmd}ip link show dev {dev}",
                    Msg("c_sender_side", {"mtu": mtu, "dev": dev, "size": size}),
                )
            ],
            persist=mtu_persist(dev, size, host.os_family if host else ""),
            seed="003",
        )


@rule(
    "mtu.mismatch",
    needs=(Links,),
    optional=(AllLinks, OvsState, HostInfo, Routes, LogEvents),
    seed="003/004",
    severity=Severity.CRITICAL,
)
def mismatch(
    links: Links,
    every: AllLinks | None,
    ovs: OvsState | None,
    host: HostInfo | None,
    routes: Routes | None,
    logs: LogEvents | None,
) -> Iterator[Finding]:
    """MTUs along a path disagree, so full-size frames are dropped at the smaller hop."""
    named: set[str] = set()
    for f in _structural(links, every, ovs, host, routes):
        named.add(f.subject)
        yield f
    if logs is not None:  # the kernel logged the drops themselves
        yield from _logged_drops(logs, links, every, ovs, host, named)


def _structural(
    links: Links, every: AllLinks | None, ovs: OvsState | None, host: HostInfo | None, routes: Routes | None
) -> Iterator[Finding]:
    """What the configuration shows: the five places two MTUs meet on a path."""
    yield from _bridge_differs(links, host)
    yield from _veth_ends_differ(links, every, host)
    yield from _over_underlay(links, routes, host)
    if ovs is not None and links.netns == HOST:  # Open vSwitch runs in the host namespace
        yield from _ovs_bridge_differs(ovs, links, host)
        if routes is not None:  # Neutron's br-tun tunnels over their underlay
            yield from _ovs_tunnels(ovs, links, routes, host)
