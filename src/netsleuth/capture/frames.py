"""What one frame captured by `trace` is: the probe's request or reply, or the ARP / neighbour
discovery of a next hop; with the VLAN tags it carries and, on an underlay, the tunnel header.

AF_PACKET hands a VLAN tag over in two ways, depending on the device and its offloads: in the
frame (an outgoing frame tagged by Open vSwitch in userspace), or taken out of it by the kernel and
given in the socket's PACKET_AUXDATA (an incoming frame, a NIC's rx-vlan offload). `with_tag` puts
an aux-data tag back where it was on the wire, so that everything after it (the classifier, the
saved pcapng) sees one form."""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass

from netsleuth.capture.bpf import ICMP_ECHO, ND_TYPES, VLAN_TPIDS, Match
from netsleuth.results.capture import Outer

SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
_AUX = struct.Struct("IIIHHHH")  # tpacket_auxdata: status, len, snaplen, mac, net, vlan_tci, vlan_tpid
AUX_SPACE = socket.CMSG_SPACE(_AUX.size)


@dataclass(frozen=True)
class Seen:
    """One captured frame of interest."""

    kind: str  # request | reply (the probe) | neigh-request | neigh-reply (a next hop's resolution)
    target: str = ""  # neigh-*: the next hop asked for / answering
    vlan: tuple[int, ...] = ()  # VLAN ids on the wire here, outermost first
    outer: Outer | None = None  # the tunnel header around it (underlay)


def with_tag(frame: bytes, ancillary: list[tuple[int, int, bytes]]) -> bytes:
    """The frame as it was on the wire: a VLAN tag the kernel moved into PACKET_AUXDATA is put
    back after the MAC addresses.

    >>> aux = _AUX.pack(0x51, 42, 42, 0, 14, 1011, 0x8100)
    >>> with_tag(bytes(12) + b"\\x08\\x06", [(SOL_PACKET, PACKET_AUXDATA, aux)]).hex()
    '000000000000000000000000810003f30806'
    >>> with_tag(bytes(14), []) == bytes(14)
    True
    """
    for level, typ, data in ancillary:
        if level != SOL_PACKET or typ != PACKET_AUXDATA or len(data) < _AUX.size:
            continue
        status, _, _, _, _, tci, tpid = _AUX.unpack_from(data)
        if status & TP_STATUS_VLAN_VALID and len(frame) >= 12:
            tpid = tpid if status & TP_STATUS_VLAN_TPID_VALID and tpid else 0x8100
            return frame[:12] + struct.pack("!HH", tpid, tci) + frame[12:]
    return frame


def _u16(b: bytes, off: int) -> int:
    return (b[off] << 8) | b[off + 1]


def classify(frame: bytes, m: Match, inner: bool = False) -> Seen | None:
    """What a captured frame is for the trace described by `m` (None: not ours).

    >>> from scapy.all import ARP, Dot1Q, Ether, ICMP, IP, UDP, VXLAN
    >>> m = Match(4, 1, 77, neighbours=("10.0.0.1",), tunnel_ports=(4789,))
    >>> classify(bytes(Ether() / Dot1Q(vlan=1011) / ARP(op=1, pdst="10.0.0.1")), m)
    Seen(kind='neigh-request', target='10.0.0.1', vlan=(1011,), outer=None)
    >>> classify(bytes(Ether() / IP(src="10.70.0.1", dst="10.70.0.2") / UDP(dport=4789) / VXLAN(vni=42)
    ...                / Ether() / IP() / ICMP(type=0, id=77)), m)   # doctest: +NORMALIZE_WHITESPACE
    Seen(kind='reply', target='', vlan=(),
         outer=Outer(kind='vxlan', vni=42, port=4789, src='10.70.0.1', dst='10.70.0.2'))
    """
    if len(frame) < 14:
        return None
    off, tags = 12, list[int]()
    while _u16(frame, off) in VLAN_TPIDS and len(tags) < 2 and len(frame) >= off + 6:
        tags.append(_u16(frame, off + 2) & 0x0FFF)
        off += 4
    et, l3 = _u16(frame, off), off + 2
    vlan = tuple(tags)
    if et == 0x0806:
        return _arp(frame, l3, m, vlan)
    if et == 0x0800 and len(frame) >= l3 + 20:
        if _u16(frame, l3 + 6) & 0x1FFF:
            return None
        proto, l4 = frame[l3 + 9], l3 + ((frame[l3] & 0x0F) << 2)
        src, dst = frame[l3 + 12 : l3 + 16], frame[l3 + 16 : l3 + 20]
        family = 4
    elif et == 0x86DD and len(frame) >= l3 + 40:
        proto, l4 = frame[l3 + 6], l3 + 40
        src, dst = frame[l3 + 8 : l3 + 24], frame[l3 + 24 : l3 + 40]
        family = 6
    else:
        return None
    if len(frame) < l4 + 8:
        return None
    if family == m.family and proto == m.proto:
        kind = _probe(frame, l4, m)
        if kind:
            return Seen(kind, vlan=vlan)
    if proto == 58 and frame[l4] in ND_TYPES and len(frame) >= l4 + 24:
        target = socket.inet_ntop(socket.AF_INET6, frame[l4 + 8 : l4 + 24])
        if target in m.neighbours:
            return Seen("neigh-request" if frame[l4] == ND_TYPES[0] else "neigh-reply", target, vlan)
    if proto == 17 and not inner and _u16(frame, l4 + 2) in m.tunnel_ports:
        got = classify(frame[l4 + 16 :], m, inner=True)
        if got is not None:
            vni = int.from_bytes(frame[l4 + 12 : l4 + 15], "big") if frame[l4 + 8] & 0x08 else None
            a, b = (str(ipaddress.ip_address(x)) for x in (src, dst))
            return Seen(got.kind, got.target, vlan, Outer("vxlan", vni, _u16(frame, l4 + 2), a, b))
    return None


def _probe(frame: bytes, l4: int, m: Match) -> str:
    if m.proto in ICMP_ECHO:
        if _u16(frame, l4 + 4) != m.marker:
            return ""
        req, rep = ICMP_ECHO[m.proto]
        return "request" if frame[l4] == req else "reply" if frame[l4] == rep else ""
    sport, dport = _u16(frame, l4), _u16(frame, l4 + 2)
    return "request" if sport == m.marker else "reply" if dport == m.marker else ""


def _arp(frame: bytes, l3: int, m: Match, vlan: tuple[int, ...]) -> Seen | None:
    if len(frame) < l3 + 28 or frame[l3 + 4] != 6 or frame[l3 + 5] != 4:
        return None
    op = _u16(frame, l3 + 6)
    spa = socket.inet_ntoa(frame[l3 + 14 : l3 + 18])
    tpa = socket.inet_ntoa(frame[l3 + 24 : l3 + 28])
    if op == 1 and tpa in m.neighbours and spa != tpa:
        return Seen("neigh-request", tpa, vlan)
    if op == 2 and spa in m.neighbours:
        return Seen("neigh-reply", spa, vlan)
    return None
