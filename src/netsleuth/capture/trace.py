"""`netsleuth trace`: capture at every point of the path at once, inject one marked probe, and record
where it was seen, each way (seed 002's tcpdump at three points, done in one go).

The path is derived on this host from `ip -j -d link`, `ip -j route get` and `ip -j netns list-id` of
only the namespaces it crosses, and from one bounded `ovs-vsctl` call when a hop is an Open vSwitch
port: the sender's interface, its veth peer, the Linux or OVS bridge it hangs on and that bridge's
port toward the destination (patch ports followed), the next namespace's egress interface... up to
the namespace that owns the destination or an uplink (physical NIC, VLAN, VXLAN, tunnel)."""

from __future__ import annotations

import os
import random
import select
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from netsleuth.capture.bpf import attach, probe_filter
from netsleuth.capture.hostview import Host, Ns, OvsIface
from netsleuth.capture.netns import in_netns
from netsleuth.errors import NetsleuthError
from netsleuth.messages import message
from netsleuth.results.capture import Drop, Sighting, TracePoint, TraceResult

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

    @property
    def label(self) -> str:
        return f"{self.netns}:{self.iface}" if self.netns else self.iface


def _kind(link: dict[str, Any]) -> str:
    return str((link.get("linkinfo") or {}).get("info_kind", ""))


UPLINK_KINDS = ("vxlan", "vlan", "geneve", "gre", "gretap", "ipip", "bond", "macvlan")
OVS_TUNNELS = ("vxlan", "geneve", "gre", "stt", "erspan", "ip6gre", "ip6erspan", "lisp", "gtpu", "bareudp")


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

    def add(self, ns: Ns, iface: str, role: str, error: str = "") -> None:
        if not any(p.netns == ns.name and p.iface == iface for p in self.points) or error:
            self.points.append(Point(ns.name, iface, role, error))

    def stop(self, ns: Ns, iface: str, role: str, why: str) -> None:
        """The path cannot be followed further: say so in the result, as a point that captures nothing."""
        self.host.notes.append(why)
        self.points.append(Point(ns.name, iface, role, f"path not derived past here: {why}; pass --points"))

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
        self.leave(ns, link, role)

    def leave(self, ns: Ns, link: dict[str, Any], role: str) -> None:
        """The frame is sent out of `link` (routed onto it)."""
        name = str(link["ifname"])
        kind = _kind(link)
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
            return
        self.route_out(ns, "router-out")

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
        owner, uplinks, routers, local = [], [], [], []
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
        for group in (owner, uplinks, routers, local):
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


def derive_path(dest: str, from_netns: str, host: Host | None = None) -> list[Point]:
    """The capture points from the sender's interface toward `dest`, across namespaces, Linux and
    OVS bridges. Points whose `error` is set mark where the path could not be followed (and why)."""
    host = host or Host()
    ns = host.ns(from_netns)
    if ns is None:
        raise NetsleuthError(f"no network namespace {from_netns!r}")
    walker = _Walker(host, dest)
    walker.route_out(ns, "sender")
    return walker.points


@dataclass
class _Cap:
    point: Point
    sock: socket.socket | None
    keep: Any = None
    error: str = ""
    frames: list[tuple[float, bytes, int]] = field(default_factory=list)  # ts, frame, pkttype


def open_points(points: list[Point], proto: int, marker: int) -> list[_Cap]:
    caps: list[_Cap] = []
    for p in points:
        if p.error:
            caps.append(_Cap(p, None, error=p.error))
            continue
        try:
            with in_netns(p.netns):
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
                keep = attach(s, probe_filter(proto, marker))
                s.bind((p.iface, ETH_P_ALL))
                s.setblocking(False)
            caps.append(_Cap(p, s, keep))
        except (OSError, NetsleuthError) as exc:
            caps.append(_Cap(p, None, error=f"cannot capture: {exc}"))
    return caps


def _classify(frame: bytes, proto: int, marker: int) -> str:
    """request | reply | "" for a captured Ethernet/IPv4 frame of the probe."""
    if len(frame) < 34:
        return ""
    l4 = 14 + ((frame[14] & 0x0F) << 2)
    if proto == 1 and len(frame) >= l4 + 8:
        return {8: "request", 0: "reply"}.get(frame[l4], "")
    if len(frame) >= l4 + 4:
        sport, dport = struct.unpack_from("!HH", frame, l4)
        return "request" if sport == marker else "reply" if dport == marker else ""
    return ""


class _Prober:
    """Sends one marked probe from the sender namespace and watches for the answer."""

    def __init__(self, dest: str, netns: str, proto: str, port: int, marker: int) -> None:
        self.dest, self.proto, self.port, self.marker = dest, proto, port, marker
        with in_netns(netns):
            if proto == "icmp":
                self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            elif proto == "tcp":
                self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                self.sock.bind(("0.0.0.0", marker))
            else:
                self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self.sock.bind(("0.0.0.0", marker))
        self.sock.setblocking(False)
        self.answered = False

    def send(self) -> None:
        if self.proto == "icmp":
            payload = MARK + os.urandom(8)
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
                    l4 = (data[0] & 0x0F) << 2
                    typ, _, _, ident = struct.unpack_from("!BBHH", data, l4)
                    if typ == 0 and ident == self.marker:
                        self.answered = True
                else:
                    self.answered = True
        except (BlockingIOError, OSError):
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
    """ "icmp" | "tcp:PORT" | "udp:PORT" -> (name, IP protocol number, port).

    >>> parse_proto("tcp:22"), parse_proto("icmp")
    (('tcp', 6, 22), ('icmp', 1, 0))
    """
    name, _, port = spec.partition(":")
    if name == "icmp" and not port:
        return "icmp", 1, 0
    if name in ("tcp", "udp") and port.isdigit() and 0 < int(port) < 65536:
        return name, 6 if name == "tcp" else 17, int(port)
    raise ValueError(f"--proto must be icmp, tcp:PORT or udp:PORT, not {spec!r}")


def run_trace(
    dest: str,
    from_netns: str,
    points: list[Point],
    proto_spec: str = "icmp",
    timeout: float = 2.0,
) -> tuple[TraceResult, list[_Cap]]:
    """Capture on every point, send the probe, wait (bounded) for it everywhere, report."""
    name, proto, port = parse_proto(proto_spec)
    marker = random.randint(20000, 60000)
    t0 = time.monotonic()
    caps = open_points(points, proto, marker)
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
                    try:
                        while len(c.frames) < MAX_FRAMES_PER_POINT:
                            frame, addr = c.sock.recvfrom(65535)
                            c.frames.append((time.time(), frame, addr[2]))
                    except BlockingIOError:
                        pass
            prober.poll()
            if prober.answered and all(
                {_classify(f, proto, marker) for _, f, _ in c.frames} >= {"request", "reply"} for c in live
            ):
                time.sleep(0.05)  # late copies on bridges
                break
        drops, note = watch.stop()
    finally:
        prober.close()
        for c in caps:
            if c.sock is not None:
                c.sock.close()
    result_points = []
    for c in caps:
        sight: dict[str, Sighting] = {}
        for d in ("request", "reply"):
            ts = [t for t, f, _ in c.frames if _classify(f, proto, marker) == d]
            sight[d] = Sighting(bool(ts), min(ts) if ts else None, len(ts))
        result_points.append(
            TracePoint(c.point.netns, c.point.iface, c.point.role, sight["request"], sight["reply"], c.error)
        )
    result = TraceResult(
        dest=dest,
        from_netns=from_netns,
        proto=proto_spec,
        marker=str(marker),
        points=result_points,
        reply_received=prober.answered,
        duration_s=round(time.monotonic() - t0, 3),
        drops=[Drop(**d) for d in drops],
        drops_note=message("en", "path.loss_localized", note.key, note.params) if note else "",
        drops_why=note,
    )
    return result, caps
