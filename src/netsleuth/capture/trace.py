"""`netsleuth trace`: capture at every point of the path at once, inject one marked probe, and record
where it was seen, each way (seed 002's tcpdump at three points, done in one go).

The path is derived on this host from `ip -j -d link`, `ip -j route get` and `ip -j netns list-id` of
only the namespaces it crosses, and from one bounded `ovs-vsctl` call when a hop is an Open vSwitch
port: the sender's interface, its veth peer, the Linux or OVS bridge it hangs on and that bridge's
port toward the destination (patch ports followed), the next namespace's egress interface... up to
the namespace that owns the destination or an uplink (physical NIC, VLAN, bond).

Where a kernel routes the probe out, the point records the neighbour it must resolve first (the
gateway, or the destination on-link): when that does not resolve the probe never leaves, and its
ARP request (IPv6: neighbour solicitation) is what the points capture instead, with the VLAN tag it
carries at each. A VXLAN device or an Open vSwitch VXLAN port is followed onto its underlay: the
points there capture the probe inside its outer header (VNI, UDP port), up to a VTEP on this host
that takes it out again, or to the uplink it leaves the host by."""

from __future__ import annotations

import ipaddress
import os
import random
import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from netsleuth.capture.bpf import Match, attach, probe_filter
from netsleuth.capture.frames import AUX_SPACE, PACKET_AUXDATA, SOL_PACKET, Seen, classify, with_tag
from netsleuth.capture.hostview import Host, Ns, OvsIface
from netsleuth.capture.netns import in_netns
from netsleuth.errors import NetsleuthError
from netsleuth.messages import message
from netsleuth.results.capture import (
    Drop,
    NeighbourSighting,
    Outer,
    Sighting,
    TracePoint,
    TraceResult,
)

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
MAX_HOPS = 8
MAX_FRAMES_PER_POINT = 200
MARK = b"netsleuth-trace:"


@dataclass
class Point:
    netns: str
    iface: str
    role: str
    error: str = ""  # set: no capture here (the path could not be derived past it)
    next_hop: str = ""  # a kernel routes the probe out here, toward this neighbour
    reply_next_hop: str = ""  # ... and the reply out here, toward this neighbour
    tunnel: Outer | None = None  # the probe is inside this tunnel header here

    @property
    def label(self) -> str:
        return f"{self.netns}:{self.iface}" if self.netns else self.iface


def _kind(link: dict[str, Any]) -> str:
    return str((link.get("linkinfo") or {}).get("info_kind", ""))


UPLINK_KINDS = ("vxlan", "vlan", "geneve", "gre", "gretap", "ipip", "bond", "macvlan")
OVS_TUNNELS = ("vxlan", "geneve", "gre", "stt", "erspan", "ip6gre", "ip6erspan", "lisp", "gtpu", "bareudp")
VXLAN_PORT = 4789  # IANA; Open vSwitch's default dst_port


def canonical(addr: str) -> str:
    """An address as `ip -j` prints it (IPv6 compressed).

    >>> canonical("fd00:0:0::0002"), canonical("10.0.0.1")
    ('fd00::2', '10.0.0.1')
    """
    return str(ipaddress.ip_address(addr))


def _uplink(link: dict[str, Any]) -> bool:
    """A device the frame leaves the host by: VLAN/VXLAN/bond..., or a physical NIC."""
    kind = _kind(link)
    return kind in UPLINK_KINDS or (not kind and link.get("link_type") == "ether")


def _maybe_ovs(link: dict[str, Any]) -> bool:
    """Could be an Open vSwitch port: enslaved to the kernel datapath, or (userspace datapath, which
    opens its ports in promiscuous mode) a promiscuous veth/tap with no master."""
    if link.get("master") == "ovs-system" or _kind(link) == "openvswitch":
        return True
    return (
        not link.get("master") and "PROMISC" in link.get("flags", []) and _kind(link) in ("veth", "tun", "")
    )


@dataclass
class _Cand:
    """A bridge port the frame may leave by: its kernel device (if any) and its OVS record."""

    ns: Ns
    link: dict[str, Any] | None
    ovs: OvsIface | None = None

    @property
    def name(self) -> str:
        return str(self.link["ifname"]) if self.link else self.ovs.name if self.ovs else "?"


class _Walker:
    """Follows the probe from the sender: routed out of a namespace, along a veth to its peer, through
    a Linux or OVS bridge to the port toward the destination, ... until the destination or an uplink."""

    def __init__(self, host: Host, dest: str) -> None:
        self.host, self.dest = host, dest
        self.points: list[Point] = []
        self.steps = 0
        self.src = ""  # the probe's source address (the sender's route's prefsrc)
        self.tunnel: Outer | None = None  # set while the walk follows a tunnel's underlay
        self.inner_dest = ""  # the probe's destination while `dest` is the tunnel's remote end
        self.ovs_encap = False  # the underlay leaves by an OVS userspace bridge, not a kernel device

    def add(self, ns: Ns, iface: str, role: str, error: str = "") -> None:
        if not any(p.netns == ns.name and p.iface == iface for p in self.points) or error:
            self.points.append(Point(ns.name, iface, role, error, tunnel=self.tunnel))

    def stop(self, ns: Ns, iface: str, role: str, why: str) -> None:
        """The path cannot be followed further: say so in the result, as a point that captures nothing."""
        self.host.notes.append(why)
        self.points.append(
            Point(
                ns.name, iface, role, f"path not derived past here: {why}; pass --points", tunnel=self.tunnel
            )
        )

    def budget(self) -> bool:
        self.steps += 1
        return self.steps <= MAX_HOPS * 4

    def route_out(self, ns: Ns, role: str) -> None:
        """The frame is routed by `ns`'s kernel."""
        if not self.budget():
            return
        route = self.host.route(ns.name, self.dest)
        if route is None:
            if role != "sender":
                self.stop(
                    ns, "(route)", "route", f"no route to {self.dest} in {ns.name or 'the host namespace'}"
                )
            return
        dev = str(route.get("dev", ""))
        link = ns.by_name(dev)
        if link is None or dev == "lo":
            return
        if role == "sender" and not self.src:
            self.src = str(route.get("prefsrc", ""))
        if self.tunnel is not None and not self.tunnel.src and route.get("prefsrc"):
            self.tunnel = replace(self.tunnel, src=str(route["prefsrc"]))  # the outer source
        first, hop = len(self.points), str(route.get("gateway") or self.dest)
        self.leave(ns, link, role)
        if len(self.points) > first and not self.points[first].error:
            self.points[first].next_hop = hop

    def leave(self, ns: Ns, link: dict[str, Any], role: str) -> None:
        """The frame is sent out of `link` (routed onto it)."""
        name = str(link["ifname"])
        kind = _kind(link)
        if kind == "vxlan" and self.tunnel is None:
            self.add(ns, name, role if role == "sender" else "tunnel")
            if not self.vxlan_out(ns, link):
                self.points[-1].role = "uplink" if role != "sender" else role
            return
        if self.ovs_encap:  # OVS (userspace) sends the encapsulated frame into the bridge itself
            oi = self.ovs_iface(ns, link)
            if oi is not None and oi.type == "internal":
                self.ovs_bridge(ns, oi)
                return
        if kind == "bridge":  # a Linux bridge with the gateway address: its port toward dest carries it
            self.add(ns, name, role if role == "sender" else "bridge")
            self.linux_bridge(ns, link, None)
            return
        if _maybe_ovs(link) and not _uplink(link):
            oi = self.ovs_iface(ns, link)
            if oi is not None:  # an OVS internal port: the bridge forwards it
                self.add(ns, name, role)
                self.ovs_bridge(ns, oi)
                return
        self.add(ns, name, role)
        if _uplink(link):
            self.points[-1].role = "uplink"
            return
        peer = self.peer(ns, link)
        if peer is not None:
            self.arrive(*peer)

    def arrive(self, ns: Ns, link: dict[str, Any]) -> None:
        """The frame arrives on `link` (the far end of a wire)."""
        if not self.budget():
            return
        name, master = str(link["ifname"]), link.get("master")
        if _maybe_ovs(link):
            oi = self.ovs_iface(ns, link)
            if oi is not None:
                self.add(ns, name, "ovs-port")
                self.ovs_bridge(ns, oi)
                return
            if master == "ovs-system" or self.host.ovs_problem:
                self.add(ns, name, "ovs-port")
                self.stop(
                    ns,
                    name,
                    "ovs-port",
                    self.host.ovs_problem or f"{name} is on no OVS bridge ovs-vsctl knows",
                )
                return
        if master:
            mlink = ns.by_name(str(master))
            if mlink is not None and _kind(mlink) == "bridge":
                self.add(ns, name, "bridge-port")
                self.linux_bridge(ns, mlink, link)
                return
        self.add(ns, name, "router-in")
        if self.dest in ns.addrs:
            self.points[-1].role = "destination"
            if self.tunnel is not None:
                self.points[-1].role = "vtep"
                self.decap(ns)
            return
        self.route_out(ns, "router-out")

    # ---- tunnels ------------------------------------------------------------------------------
    def underlay(self, ns: Ns, tunnel: Outer, ovs_encap: bool = False) -> None:
        """Follow the encapsulated probe from `ns` toward the tunnel's remote end."""
        self.tunnel, self.inner_dest, self.dest = tunnel, self.dest, tunnel.dst
        self.ovs_encap = ovs_encap
        self.route_out(ns, "router-out")
        self.ovs_encap = False
        if self.tunnel is not None:  # not taken out on this host: the path ends on the underlay
            self.tunnel, self.dest = None, self.inner_dest

    def vxlan_out(self, ns: Ns, link: dict[str, Any]) -> bool:
        """A Linux VXLAN device: its remote end, reached by routing in its underlay namespace (the
        one it was created in: `link_netnsid`, else its own)."""
        data = (link.get("linkinfo") or {}).get("info_data") or {}
        remote = str(data.get("remote") or data.get("remote6") or "")
        if not remote:
            self.host.notes.append(
                f"{link['ifname']} has no single remote (multicast group or FDB entries): "
                "its underlay is not followed"
            )
            return False
        uns: Ns | None = ns
        if "link_netnsid" in link:
            name = self.host.nsid_name(ns.name, int(link["link_netnsid"]))
            uns = self.host.ns(name if name is not None else "")
        if uns is None:
            return False
        vni = data.get("id")
        tunnel = Outer(
            "vxlan",
            int(vni) if vni is not None else None,
            int(data.get("port") or VXLAN_PORT),
            str(data.get("local") or data.get("local6") or ""),
            remote,
        )
        self.underlay(uns, tunnel)
        return True

    def decap(self, ns: Ns) -> None:
        """The underlay reached the remote end in `ns`: its VXLAN device of the same VNI and port
        takes the probe out of the tunnel, and the walk goes on toward the probe's destination."""
        t = self.tunnel
        assert t is not None
        for lk in ns.links:
            data = (lk.get("linkinfo") or {}).get("info_data") or {}
            if _kind(lk) != "vxlan" or data.get("id") != t.vni:
                continue
            if int(data.get("port") or VXLAN_PORT) != t.port:
                continue
            self.tunnel, self.dest = None, self.inner_dest
            self.arrive(ns, lk)
            return
        self.tunnel, self.dest = None, self.inner_dest  # the remote end is not a device we can see

    # ---- wires ------------------------------------------------------------------------------
    def peer(self, ns: Ns, link: dict[str, Any]) -> tuple[Ns, dict[str, Any]] | None:
        """The other end of a veth: in the same namespace, or in the one `link_netnsid` names
        (asked of this namespace only; the host namespace when that id has no name)."""
        if _kind(link) != "veth":
            return None
        idx = link.get("link_index")
        if idx is None:
            other = ns.by_name(str(link.get("link", "")))
            return (ns, other) if other else None
        if "link_netnsid" in link:
            name = self.host.nsid_name(ns.name, int(link["link_netnsid"]))
            cands = [name] if name is not None else ([""] if ns.name else [])
        else:
            cands = [ns.name]
        for cand in cands:
            pns = self.host.ns(cand)
            plink = pns.by_index(int(idx)) if pns else None
            if (
                pns is not None
                and plink is not None
                and _kind(plink) == "veth"
                and plink.get("link_index") in (None, link["ifindex"])
            ):
                return pns, plink
        return None

    def ovs_iface(self, ns: Ns, link: dict[str, Any]) -> OvsIface | None:
        oi = self.host.ovs().get(str(link["ifname"]))
        if oi is None or (oi.mac and link.get("address") and oi.mac != link["address"]):
            return None  # not OVS's, or a namesake in another namespace
        return oi

    # ---- bridges -------------------------------------------------------------------------------
    def linux_bridge(self, ns: Ns, bridge: dict[str, Any], ingress: dict[str, Any] | None) -> None:
        br = str(bridge["ifname"])
        cands = [
            _Cand(ns, lk)
            for lk in ns.links
            if lk.get("master") == br and (ingress is None or lk is not ingress)
        ]
        if ingress is not None:
            cands.append(_Cand(ns, bridge))  # up into this namespace (the bridge holds the gateway)
        self.choose(ns, f"bridge {br}", bridge, cands)

    def ovs_bridge(self, ns: Ns, ingress: OvsIface) -> None:
        """The other ports of `ingress`'s bridge, patch ports followed to the bridges they join."""
        snap = self.host.ovs()
        cands: list[_Cand] = []
        seen_br: set[str] = set()
        todo = [(ingress.bridge, ingress.name)]
        while todo:
            br, skip = todo.pop()
            seen_br.add(br)
            for oi in snap.values():
                if oi.bridge != br or oi.name == skip:
                    continue
                peer = snap.get(oi.options.get("peer", "")) if oi.type == "patch" else None
                if peer is not None:
                    if peer.bridge not in seen_br:
                        todo.append((peer.bridge, peer.name))
                    continue
                cands.append(_Cand(ns, ns.by_name(oi.name), oi))
        self.choose(ns, f"OVS bridge {ingress.bridge}", None, cands)

    def choose(self, ns: Ns, what: str, bridge: dict[str, Any] | None, cands: list[_Cand]) -> None:
        """Leave by the one port that leads toward the destination: the wire to the namespace that
        owns it; else an uplink (NIC, VLAN/VXLAN, OVS tunnel); else a wire to a router; else up
        into this namespace when it routes the destination elsewhere."""
        if not self.budget():
            return
        dest = self.dest
        owner, uplinks, routers, local, transit = [], [], [], [], []
        for c in cands:
            typ = c.ovs.type if c.ovs else ""
            if c.link is None:
                if typ in OVS_TUNNELS:
                    uplinks.append(c)
                continue
            name = c.name
            internal = typ == "internal" or c.link is bridge
            if internal:
                if dest in ns.addr_of(name):
                    owner.append(c)
                elif ns.addr_of(name):
                    route = self.host.route(ns.name, dest)
                    if route and route.get("dev") not in (None, name, "lo"):
                        local.append(c)
                continue
            if typ in OVS_TUNNELS or _uplink(c.link):
                uplinks.append(c)
                continue
            peer = self.peer(ns, c.link)
            if peer is None:
                continue
            pns, plink = peer
            if dest in pns.addrs:
                owner.append(c)
            elif not plink.get("master") and pns.addr_of(str(plink["ifname"])):
                route = self.host.route(pns.name, dest)
                if route and route.get("dev") not in (None, plink["ifname"], "lo"):
                    routers.append(c)
            elif not pns.addr_of(str(plink["ifname"])) and (
                plink.get("master") or (_maybe_ovs(plink) and self.ovs_iface(pns, plink) is not None)
            ):
                transit.append(c)  # a wire to another (Linux or OVS) bridge: a switch in between
        for group in (owner, uplinks, routers, local, transit):
            if len(group) > 1:
                names = ", ".join(sorted(c.name for c in group))
                self.stop(
                    ns, group[0].name, "bridge", f"cannot tell which of {names} on {what} leads to {dest}"
                )
                return
            if group:
                self.take(group[0], bridge)
                return
        why = f"no port of {what} was found to lead to {dest}"
        if self.host.ovs_problem and what.startswith("OVS"):
            why += f" ({self.host.ovs_problem})"
        self.stop(ns, "(" + what.split()[-1] + ")", "bridge", why)

    def take(self, c: _Cand, bridge: dict[str, Any] | None) -> None:
        ns, typ = c.ns, c.ovs.type if c.ovs else ""
        role = "ovs-port" if c.ovs else "bridge-port"
        if c.link is None:  # an OVS tunnel port: the kernel datapath's shared device, if any
            prefix = {"vxlan": "vxlan_sys", "geneve": "genev_sys", "gre": "gre_sys"}.get(typ)
            dev = next(
                (lk for lk in ns.links if prefix and str(lk.get("ifname", "")).startswith(prefix)), None
            )
            tunnel = _ovs_vxlan(c.ovs) if c.ovs and self.tunnel is None else None
            if tunnel is not None:
                if dev is not None:  # the kernel datapath: its device sees the inner frame
                    self.add(ns, str(dev["ifname"]), "tunnel")
                self.underlay(ns, tunnel, ovs_encap=dev is None)
                return
            if dev is not None:
                self.add(ns, str(dev["ifname"]), "uplink")
                return
            remote = c.ovs.options.get("remote_ip", "?") if c.ovs else "?"
            self.stop(
                ns,
                c.name,
                "uplink",
                f"{typ} tunnel port {c.name} (to {remote}) has no kernel device to capture on",
            )
            return
        if _kind(c.link) == "vxlan" and self.tunnel is None:
            self.add(ns, c.name, "tunnel")
            if not self.vxlan_out(ns, c.link):
                self.points[-1].role = "uplink"
            return
        if typ in OVS_TUNNELS or _uplink(c.link):
            self.add(ns, c.name, "uplink")
            return
        if typ == "internal" or c.link is bridge:
            self.add(ns, c.name, "destination" if self.dest in ns.addrs else "router-in")
            if self.dest not in ns.addrs:
                self.route_out(ns, "router-out")
            return
        self.add(ns, c.name, role)
        peer = self.peer(ns, c.link)
        if peer is not None:
            self.arrive(*peer)


def _ovs_vxlan(oi: OvsIface) -> Outer | None:
    """The outer header of an OVS VXLAN port with a fixed remote (`remote_ip=flow`: not known)."""
    remote, key = oi.options.get("remote_ip", ""), oi.options.get("key", "0")
    if oi.type != "vxlan" or not remote or remote == "flow":
        return None
    port = oi.options.get("dst_port", str(VXLAN_PORT))
    return Outer(
        "vxlan",
        int(key) if key.isdigit() else None,
        int(port) if port.isdigit() else VXLAN_PORT,
        oi.options.get("local_ip", ""),
        remote,
    )


def derive_path(dest: str, from_netns: str, host: Host | None = None) -> list[Point]:
    """The capture points from the sender's interface toward `dest`, across namespaces, Linux and
    OVS bridges and VXLAN underlays. Points whose `error` is set mark where the path could not be
    followed (and why). The reply's next hop is asked of each namespace that routes it back."""
    host = host or Host()
    ns = host.ns(from_netns)
    if ns is None:
        raise NetsleuthError(f"no network namespace {from_netns!r}")
    walker = _Walker(host, canonical(dest))
    walker.route_out(ns, "sender")
    if walker.src:
        for p in walker.points:
            if p.role in ("router-in", "destination") and not p.error and p.tunnel is None:
                back = host.route(p.netns, walker.src)
                if back and back.get("dev") == p.iface:
                    p.reply_next_hop = str(back.get("gateway") or walker.src)
    return walker.points


@dataclass
class _Cap:
    point: Point
    sock: socket.socket | None
    match: Match
    keep: Any = None
    error: str = ""
    frames: list[tuple[float, bytes, int]] = field(default_factory=list)  # ts, frame (tags in), pkttype

    def seen(self) -> list[tuple[float, Seen]]:
        out = []
        for ts, frame, _ in self.frames:
            got = classify(frame, self.match)
            if got is not None:
                out.append((ts, got))
        return out


def open_points(points: list[Point], match: Match) -> list[_Cap]:
    """A filtered AF_PACKET socket on every point (in its namespace), with the VLAN tags the
    kernel takes out of frames handed over as PACKET_AUXDATA."""
    caps: list[_Cap] = []
    for p in points:
        m = Match(
            match.family, match.proto, match.marker, match.neighbours, (p.tunnel.port,) if p.tunnel else ()
        )
        if p.error:
            caps.append(_Cap(p, None, m, error=p.error))
            continue
        try:
            with in_netns(p.netns):
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
                s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
                keep = attach(s, probe_filter(m))
                s.bind((p.iface, ETH_P_ALL))
                s.setblocking(False)
            caps.append(_Cap(p, s, m, keep))
        except (OSError, ValueError, NetsleuthError) as exc:  # ValueError: a name that is not text
            caps.append(_Cap(p, None, m, error=f"cannot capture: {exc}"))
    return caps


def _drain(c: _Cap) -> None:
    assert c.sock is not None
    try:
        while len(c.frames) < MAX_FRAMES_PER_POINT:
            data, anc, _, addr = c.sock.recvmsg(65535, AUX_SPACE)
            c.frames.append((time.time(), with_tag(data, anc), addr[2]))
    except BlockingIOError:
        pass


class _Prober:
    """Sends one marked probe from the sender namespace and watches for the answer."""

    def __init__(self, dest: str, netns: str, proto: str, port: int, marker: int) -> None:
        self.dest, self.proto, self.port, self.marker = dest, proto, port, marker
        self.v6 = ipaddress.ip_address(dest).version == 6
        fam = socket.AF_INET6 if self.v6 else socket.AF_INET
        anyaddr = "::" if self.v6 else "0.0.0.0"
        with in_netns(netns):
            if proto == "icmp":
                icmp = socket.IPPROTO_ICMPV6 if self.v6 else socket.IPPROTO_ICMP
                self.sock = socket.socket(fam, socket.SOCK_RAW, icmp)
            elif proto == "tcp":
                self.sock = socket.socket(fam, socket.SOCK_STREAM)
                self.sock.bind((anyaddr, marker))
            else:
                self.sock = socket.socket(fam, socket.SOCK_DGRAM)
                self.sock.bind((anyaddr, marker))
        self.sock.setblocking(False)
        self.answered = False

    def send(self) -> None:
        if self.proto == "icmp":
            payload = MARK + os.urandom(8)
            if self.v6:  # the kernel computes the ICMPv6 checksum of a raw socket
                self.sock.sendto(struct.pack("!BBHHH", 128, 0, 0, self.marker, 1) + payload, (self.dest, 0))
                return
            hdr = struct.pack("!BBHHH", 8, 0, 0, self.marker, 1)
            csum = _checksum(hdr + payload)
            self.sock.sendto(struct.pack("!BBHHH", 8, 0, csum, self.marker, 1) + payload, (self.dest, 0))
        elif self.proto == "tcp":
            err = self.sock.connect_ex((self.dest, self.port))
            if err not in (0, 115):  # EINPROGRESS
                raise NetsleuthError(f"cannot send the TCP probe: {os.strerror(err)}")
        else:
            self.sock.sendto(MARK + os.urandom(8), (self.dest, self.port))

    def poll(self) -> None:
        if self.answered:
            return
        if self.proto == "tcp":
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            _, w, _ = select.select([], [self.sock], [], 0)
            if w or err in (111,):  # connected, or refused: an answer came back either way
                self.answered = err in (0, 111)
            return
        try:
            while True:
                data = self.sock.recv(65535)
                if self.proto == "icmp":
                    l4 = 0 if self.v6 else (data[0] & 0x0F) << 2  # raw IPv6 sockets give no IP header
                    typ, _, _, ident = struct.unpack_from("!BBHH", data, l4)
                    if typ == (129 if self.v6 else 0) and ident == self.marker:
                        self.answered = True
                else:
                    self.answered = True
        except (BlockingIOError, OSError, struct.error):
            return

    def close(self) -> None:
        self.sock.close()


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return int(~s & 0xFFFF)


def parse_proto(spec: str) -> tuple[str, int, int]:
    """ "icmp" | "tcp:PORT" | "udp:PORT" -> (name, IP protocol number, port) for IPv4.

    >>> parse_proto("tcp:22"), parse_proto("icmp")
    (('tcp', 6, 22), ('icmp', 1, 0))
    """
    name, _, port = spec.partition(":")
    if name == "icmp" and not port:
        return "icmp", 1, 0
    if name in ("tcp", "udp") and port.isdigit() and 0 < int(port) < 65536:
        return name, 6 if name == "tcp" else 17, int(port)
    raise ValueError(f"--proto must be icmp, tcp:PORT or udp:PORT, not {spec!r}")


def _sighting(seen: list[tuple[float, Seen]], want: Callable[[Seen], bool]) -> Sighting:
    hits = [(ts, s) for ts, s in seen if want(s)]
    if not hits:
        return Sighting(False)
    ts, first = min(hits, key=lambda h: h[0])
    return Sighting(True, ts, len(hits), list(first.vlan), first.outer)


def _is(kind: str, target: str = "") -> Callable[[Seen], bool]:
    return lambda s: s.kind == kind and s.target == target


def _result_point(c: _Cap, targets: list[str]) -> TracePoint:
    seen = c.seen()
    p = c.point
    neighbours = []
    for t in targets:
        req, rep = _sighting(seen, _is("neigh-request", t)), _sighting(seen, _is("neigh-reply", t))
        if req.seen or rep.seen or t in (p.next_hop, p.reply_next_hop):
            neighbours.append(NeighbourSighting(t, req, rep))
    return TracePoint(
        p.netns,
        p.iface,
        p.role,
        _sighting(seen, _is("request")),
        _sighting(seen, _is("reply")),
        c.error,
        next_hop=p.next_hop,
        reply_next_hop=p.reply_next_hop,
        tunnel=p.tunnel,
        neighbours=neighbours,
    )


def run_trace(
    dest: str,
    from_netns: str,
    points: list[Point],
    proto_spec: str = "icmp",
    timeout: float = 2.0,
) -> tuple[TraceResult, list[_Cap]]:
    """Capture on every point, send the probe, wait (bounded) for it everywhere, report."""
    name, proto, port = parse_proto(proto_spec)
    dest = canonical(dest)
    family = ipaddress.ip_address(dest).version
    if family == 6 and proto == 1:
        proto = 58
    marker = random.randint(20000, 60000)
    targets = list(dict.fromkeys(canonical(h) for p in points for h in (p.next_hop, p.reply_next_hop) if h))
    t0 = time.monotonic()
    caps = open_points(points, Match(family, proto, marker, tuple(targets)))
    prober = _Prober(dest, from_netns, name, port, marker)
    from netsleuth.capture.kfree import DropWatch

    watch = DropWatch.start(dest)
    try:
        prober.send()
        deadline = time.monotonic() + timeout
        live = [c for c in caps if c.sock is not None]
        while time.monotonic() < deadline:
            socks = [c.sock for c in live if c.sock is not None and len(c.frames) < MAX_FRAMES_PER_POINT]
            ready, _, _ = select.select(socks, [], [], 0.05) if socks else ([], [], [])
            for c in live:
                if c.sock in ready:
                    _drain(c)
            prober.poll()
            if prober.answered and all({s.kind for _, s in c.seen()} >= {"request", "reply"} for c in live):
                time.sleep(0.05)  # late copies on bridges
                for c in live:
                    _drain(c)
                break
        drops, note = watch.stop()
    finally:
        prober.close()
        for c in caps:
            if c.sock is not None:
                c.sock.close()
    result = TraceResult(
        dest=dest,
        from_netns=from_netns,
        proto=proto_spec,
        marker=str(marker),
        points=[_result_point(c, targets) for c in caps],
        reply_received=prober.answered,
        duration_s=round(time.monotonic() - t0, 3),
        drops=[Drop(**d) for d in drops],
        drops_note=message("en", "path.loss_localized", note.key, note.params) if note else "",
        drops_why=note,
    )
    return result, caps
