"""`netsleuth trace`: capture at every point of the path at once, inject one marked probe, and record
where it was seen, each way (seed 002's tcpdump at three points, done in one go).

The path is derived on this host from `ip -j -d link` and `ip -j route get` per namespace: the
sender's interface, its veth peer, the bridge it hangs on, the next namespace's egress interface...
up to the namespace that owns the destination or an uplink (physical NIC, VLAN, VXLAN)."""

from __future__ import annotations

import json
import os
import random
import select
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from netsleuth.capture.bpf import attach, probe_filter
from netsleuth.capture.netns import in_netns
from netsleuth.errors import NetsleuthError
from netsleuth.facts.capture import Drop, Sighting, TracePoint, TraceResult

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

    @property
    def label(self) -> str:
        return f"{self.netns}:{self.iface}" if self.netns else self.iface


def _ip_json(netns: str, *args: str) -> Any:
    cmd = ["ip", *(["-n", netns] if netns else []), "-j", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=5, check=False)
    if out.returncode != 0:
        raise NetsleuthError(f"`{' '.join(cmd)}` failed: {out.stderr.strip()}")
    return json.loads(out.stdout or "[]")


def namespaces() -> list[str]:
    try:
        return sorted(os.listdir("/run/netns"))
    except OSError:
        return []


@dataclass
class _Ns:
    name: str
    links: list[dict[str, Any]] = field(default_factory=list)
    addrs: set[str] = field(default_factory=set)

    def by_name(self, name: str) -> dict[str, Any] | None:
        return next((lk for lk in self.links if lk.get("ifname") == name), None)


def _load(name: str) -> _Ns:
    ns = _Ns(name, _ip_json(name, "-d", "link", "show"))
    for entry in _ip_json(name, "addr", "show"):
        for a in entry.get("addr_info", []):
            ns.addrs.add(a.get("local", ""))
    return ns


def _kind(link: dict[str, Any]) -> str:
    return str((link.get("linkinfo") or {}).get("info_kind", ""))


def _veth_peer(spaces: dict[str, _Ns], here: _Ns, link: dict[str, Any]) -> tuple[_Ns, dict[str, Any]] | None:
    idx = link.get("link_index") or None
    if _kind(link) != "veth" or idx is None:
        if _kind(link) == "veth" and link.get("link"):
            other = here.by_name(str(link["link"]))
            return (here, other) if other else None
        return None
    cands = [here] if "link_netnsid" not in link else [s for s in spaces.values() if s is not here]
    for ns in cands:
        for lk in ns.links:
            if (
                lk.get("ifindex") == idx
                and _kind(lk) == "veth"
                and lk.get("link_index") in (None, link["ifindex"])
            ):
                return ns, lk
    return None


def derive_path(dest: str, from_netns: str) -> list[Point]:
    """The capture points from the sender's interface toward `dest`, across namespaces."""
    spaces: dict[str, _Ns] = {}
    for n in ["", *namespaces()]:
        try:
            spaces[n] = _load(n)
        except (NetsleuthError, subprocess.TimeoutExpired, ValueError):
            continue  # a namespace that vanished meanwhile, or unreadable
    points: list[Point] = []
    ns = spaces.get(from_netns)
    if ns is None:
        raise NetsleuthError(f"no network namespace {from_netns!r}")
    role = "sender"
    for _ in range(MAX_HOPS):
        route = _ip_json(ns.name, "route", "get", dest)
        if not route:
            break
        dev = str(route[0].get("dev", ""))
        link = ns.by_name(dev)
        if link is None or dev == "lo":
            break
        kind = _kind(link)
        if kind == "bridge":
            points.append(Point(ns.name, dev, "bridge"))
        else:
            points.append(Point(ns.name, dev, role if role == "sender" else "router-out"))
        if kind in ("vxlan", "vlan", "geneve", "gre", "ipip") or (
            not kind and link.get("link_type") == "ether"
        ):
            points[-1].role = "uplink"
            break
        if kind == "bridge":
            break  # the egress port is chosen by the bridge's FDB: capturing on the bridge covers it
        peer = _veth_peer(spaces, ns, link)
        if peer is None:
            break
        pns, plink = peer
        master = plink.get("master")
        points.append(Point(pns.name, str(plink["ifname"]), "bridge-port" if master else "router-in"))
        if master:
            mlink = pns.by_name(str(master))
            if mlink is not None and _kind(mlink) == "bridge":
                points.append(Point(pns.name, str(master), "bridge"))
        if dest in pns.addrs:
            points[-1].role = "destination" if not master else points[-1].role
            break
        ns = pns
        role = "router-out"
    return points


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
        drops_note=note,
    )
    return result, caps
