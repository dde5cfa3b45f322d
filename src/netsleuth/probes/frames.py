"""ARP and DHCP frames, built and read here and exchanged on an AF_PACKET socket (needs root or
CAP_NET_RAW: raw frames on an interface)."""

from __future__ import annotations

import ipaddress
import os
import random
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import TypeVar

from netsleuth.probes.icmp import checksum
from netsleuth.results.probes import ArpProbe, DhcpOffer, DhcpProbe

T = TypeVar("T")

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
VLAN_TPIDS = (0x8100, 0x88A8)
PACKET_OUTGOING = 4  # what the kernel reports for frames we send (they come back to our socket)
BROADCAST = b"\xff" * 6
DHCP_COOKIE = b"\x63\x82\x53\x63"
_ARP = struct.Struct("!HHBBH6s4s6s4s")  # htype ptype hlen plen op sha spa tha tpa
_BOOTP = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")  # op .. chaddr sname file (236 bytes)


class NeedsRoot(Exception):
    """The probe needs raw sockets (root or CAP_NET_RAW)."""


def _require_root() -> None:
    if os.geteuid() != 0:
        raise NeedsRoot("raw frames need root (or CAP_NET_RAW)")


def iface_for(target: str) -> tuple[str, str]:
    """(interface, our source address) that the routing table uses toward `target`."""
    from netsleuth.probes.route import route_to

    r = route_to(target)
    return (r.dev, r.src) if r else ("", "")


def mac_text(raw: bytes) -> str:
    """A MAC address as text.

    >>> mac_text(bytes.fromhex("02005e1000fe"))
    '02:00:5e:10:00:fe'
    """
    return ":".join(f"{b:02x}" for b in raw)


def ether(dst: bytes, src: bytes, ethertype: int, payload: bytes, vlan: int | None = None) -> bytes:
    """An Ethernet frame, 802.1Q-tagged when `vlan` is given, padded to the 60-byte minimum."""
    tag = struct.pack("!HH", 0x8100, vlan & 0x0FFF) if vlan is not None else b""
    frame = dst + src + tag + struct.pack("!H", ethertype) + payload
    return frame.ljust(60, b"\0")


def payload_of(frame: bytes) -> tuple[int, bytes]:
    """(ethertype, payload) of a frame, past any VLAN tags (the kernel usually strips the tag
    before a packet socket sees it; not always).

    >>> payload_of(bytes(12) + bytes.fromhex("81000064") + bytes.fromhex("0806") + b"arp")
    (2054, b'arp')
    """
    i = 12
    etype = int.from_bytes(frame[i : i + 2], "big")
    while etype in VLAN_TPIDS and len(frame) >= i + 6:
        i += 4
        etype = int.from_bytes(frame[i : i + 2], "big")
    return etype, frame[i + 2 :]


def arp_request(mac: bytes, psrc: str, pdst: str, vlan: int | None = None) -> bytes:
    """A broadcast ARP request (who-has `pdst`, tell `psrc`; 0.0.0.0 makes an RFC 5227 probe)."""
    body = _ARP.pack(
        1,
        ETH_P_IP,
        6,
        4,
        1,
        mac,
        ipaddress.IPv4Address(psrc).packed,
        bytes(6),
        ipaddress.IPv4Address(pdst).packed,
    )
    return ether(BROADCAST, mac, ETH_P_ARP, body, vlan)


def arp_reply_from(frame: bytes, target: str) -> str | None:
    """The sender MAC of an ARP reply that says who holds `target`, else None."""
    etype, body = payload_of(frame)
    if etype != ETH_P_ARP or len(body) < _ARP.size:
        return None
    _htype, ptype, hlen, plen, op, sha, spa, _tha, _tpa = _ARP.unpack_from(body)
    if op != 2 or ptype != ETH_P_IP or hlen != 6 or plen != 4 or spa != ipaddress.IPv4Address(target).packed:
        return None
    return mac_text(sha)


def dhcp_discover(mac: bytes, xid: int) -> bytes:
    """DHCPDISCOVER from 0.0.0.0:68 to 255.255.255.255:67, broadcast flag set (the OFFER comes
    back to the broadcast address: we hold no address to receive it on), asking for mask, router
    and DNS."""
    bootp = _BOOTP.pack(1, 1, 6, 0, xid, 0, 0x8000, bytes(4), bytes(4), bytes(4), bytes(4), mac, b"", b"")
    options = DHCP_COOKIE + bytes([53, 1, 1, 55, 3, 1, 3, 6, 255])
    udp_len = 8 + len(bootp) + len(options)
    udp = struct.pack("!HHHH", 68, 67, udp_len, 0) + bootp + options
    src, dst = bytes(4), b"\xff" * 4
    csum = checksum(src + dst + struct.pack("!BBH", 0, 17, udp_len) + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ether(BROADCAST, mac, ETH_P_IP, ip + udp)


def dhcp_offer_from(frame: bytes, xid: int) -> DhcpOffer | None:
    """The OFFER a frame carries for our DISCOVER `xid` (server identifier, offered address,
    server MAC), else None."""
    etype, ip = payload_of(frame)
    if etype != ETH_P_IP or len(ip) < 20 or ip[9] != 17 or ip[0] >> 4 != 4:
        return None
    ihl = (ip[0] & 0x0F) * 4
    udp = ip[ihl:]
    if len(udp) < 8 + _BOOTP.size + 4 or struct.unpack_from("!H", udp, 2)[0] != 68:
        return None
    fields = _BOOTP.unpack_from(udp, 8)
    op, rxid, yiaddr = fields[0], fields[4], fields[8]
    opts = _dhcp_options(udp[8 + _BOOTP.size :])
    if op != 2 or rxid != xid or opts.get(53) != b"\x02":  # BOOTREPLY, ours, an OFFER
        return None
    server = opts.get(54, b"")
    src = ipaddress.IPv4Address(server if len(server) == 4 else ip[12:16])
    return DhcpOffer(str(src), str(ipaddress.IPv4Address(yiaddr)), mac_text(frame[6:12]))


def _dhcp_options(data: bytes) -> dict[int, bytes]:
    if not data.startswith(DHCP_COOKIE):
        return {}
    opts: dict[int, bytes] = {}
    i = len(DHCP_COOKIE)
    while i < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        if i + 1 >= len(data):
            break
        opts[data[i]] = data[i + 2 : i + 2 + data[i + 1]]
        i += 2 + data[i + 1]
    return opts


def _open(iface: str) -> tuple[socket.socket, bytes]:
    _require_root()
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        sock.bind((iface, ETH_P_ALL))
    except OSError as exc:
        sock.close()
        raise ValueError(f"{iface}: {exc.strerror}") from None
    return sock, sock.getsockname()[4]  # (ifname, proto, pkttype, hatype, MAC)


def _exchange(
    sock: socket.socket,
    frame: bytes,
    keep: Callable[[bytes], T | None],
    count: int,
    interval_s: float,
    wait_s: float,
) -> list[T]:
    """Send `frame` `count` times, `interval_s` apart, and return what `keep` makes of the frames
    received until `wait_s` after the last one (the socket listens before the first is sent)."""
    got: list[T] = []
    sent, next_send = 0, time.monotonic()
    deadline = next_send + interval_s * (count - 1) + wait_s
    while True:
        now = time.monotonic()
        if sent < count and now >= next_send:
            sock.send(frame)
            sent, next_send = sent + 1, now + interval_s
            continue
        if now >= deadline:
            return got
        until = min(next_send, deadline) if sent < count else deadline
        if select.select([sock], [], [], max(0.0, until - now))[0]:
            data, addr = sock.recvfrom(65535)
            if addr[2] != PACKET_OUTGOING:
                found = keep(data)
                if found is not None:
                    got.append(found)


def probe_arp(
    target: str,
    iface: str | None = None,
    count: int = 3,
    wait_s: float = 1.5,
    interval_s: float = 0.2,
    vlan: int | None = None,
    own: bool = False,
) -> ArpProbe:
    """Broadcast `count` ARP requests for `target` and collect every MAC that answers.

    For one of our own addresses (`own`), the request is an RFC 5227 probe (sender 0.0.0.0) so
    that any other holder of the address answers; our own kernel does not see our own frame."""
    _require_root()
    dev, src = iface_for(target)
    iface = iface or dev
    if not iface:
        raise ValueError(f"no route to {target}: name the interface with --iface")
    sock, mac = _open(iface)
    with sock:
        frame = arp_request(mac, "0.0.0.0" if own else (src or "0.0.0.0"), target, vlan)
        replies = _exchange(sock, frame, lambda f: arp_reply_from(f, target), count, interval_s, wait_s)
    seen: list[str] = []
    for hw in replies:
        if hw != mac_text(mac) and hw not in seen:
            seen.append(hw)
    return ArpProbe(target, iface, count, seen, own, vlan)


def probe_dhcp(iface: str, wait_s: float = 4.0, count: int = 2, interval_s: float = 1.0) -> DhcpProbe:
    """Send DHCPDISCOVER on `iface` and collect the OFFERs for `wait_s` seconds. Never sends a
    REQUEST, so no lease is taken."""
    sock, mac = _open(iface)
    xid = random.getrandbits(32)
    with sock:
        got = _exchange(
            sock,
            dhcp_discover(mac, xid),
            lambda f: dhcp_offer_from(f, xid),
            count,
            interval_s,
            max(0.0, wait_s - interval_s * (count - 1)),
        )
    offers: list[DhcpOffer] = []
    for offer in got:
        if offer not in offers:
            offers.append(offer)
    return DhcpProbe(iface, mac_text(mac), count, wait_s, offers)
