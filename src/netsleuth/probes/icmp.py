"""ICMP echo with the Don't-Fragment bit, and what came back: a reply, a local EMSGSIZE, an ICMP
"fragmentation needed" (read from the socket's error queue, IP_RECVERR), or nothing."""

from __future__ import annotations

import errno
import os
import select
import socket
import struct
import time
from dataclasses import dataclass
from enum import StrEnum

IP_MTU_DISCOVER = getattr(socket, "IP_MTU_DISCOVER", 10)
IP_PMTUDISC_DO = getattr(socket, "IP_PMTUDISC_DO", 2)
IP_PMTUDISC_PROBE = getattr(socket, "IP_PMTUDISC_PROBE", 3)
IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
MSG_ERRQUEUE = 0x2000
SO_EE_ORIGIN_LOCAL = 1
SO_EE_ORIGIN_ICMP = 2
IP_ICMP_HEADERS = 28  # IPv4 header 20 + ICMP header 8


class Kind(StrEnum):
    REPLY = "reply"
    LOST = "lost"
    EMSGSIZE = "emsgsize"  # refused locally: larger than the outgoing interface allows
    FRAG_NEEDED = "frag_needed"  # a router said the next hop is smaller
    UNREACHABLE = "unreachable"  # ICMP destination/host unreachable, or no route


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    rtt_ms: float | None = None
    mtu: int | None = None  # next-hop MTU from ICMP frag needed, or the local limit
    sender: str = ""  # the router that answered with an ICMP error


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum.

    >>> hex(checksum(bytes.fromhex("0800000012340001")))
    '0xe5ca'
    """
    if len(data) % 2:
        data += b"\0"
    total = sum(int(x) for x in struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def parse_extended_err(data: bytes) -> tuple[int, int, int, int, int, str]:
    """struct sock_extended_err + offender sockaddr_in from an IP_RECVERR control message:
    (errno, origin, icmp type, icmp code, info (the MTU for frag needed), offender address).

    >>> raw = struct.pack("=IBBBBII", 90, 2, 3, 4, 0, 1400, 0) + struct.pack("=H", 2) + struct.pack("!H4s", 0, bytes([10, 0, 0, 1]))
    >>> parse_extended_err(raw)
    (90, 2, 3, 4, 1400, '10.0.0.1')
    """
    ee_errno, origin, typ, code, _pad, info, _data = struct.unpack_from("=IBBBBII", data)
    offender = ""
    if len(data) >= 16 + 8:
        family = struct.unpack_from("=H", data, 16)[0]
        if family == socket.AF_INET:
            offender = socket.inet_ntoa(data[20:24])
    return ee_errno, origin, typ, code, info, offender


class Pinger:
    """One ICMP socket toward one IPv4 target: an unprivileged ping socket where the system allows
    it, else a raw socket (root). `df=True` sets DF and ignores the cached path MTU (PROBE mode)."""

    def __init__(self, target: str, df: bool = True) -> None:
        self.target = target
        self.raw = False
        try:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
        except OSError:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            self.raw = True
        self.sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        if df:
            self.sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE)
        self.ident = os.getpid() & 0xFFFF
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Pinger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _packet(self, size: int) -> bytes:
        """An echo request whose IP packet is `size` bytes long."""
        payload = bytes(i & 0xFF for i in range(max(0, size - IP_ICMP_HEADERS)))
        self.seq = (self.seq + 1) & 0xFFFF
        head = struct.pack("!BBHHH", 8, 0, 0, self.ident, self.seq)
        csum = checksum(head + payload)
        return struct.pack("!BBHHH", 8, 0, csum, self.ident, self.seq) + payload

    def _drain_errors(self) -> Outcome | None:
        try:
            _data, anc, _flags, _addr = self.sock.recvmsg(2048, 512, MSG_ERRQUEUE)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            return None
        for level, typ, data in anc:
            if level == socket.IPPROTO_IP and typ == IP_RECVERR:
                ee_errno, origin, itype, _code, info, offender = parse_extended_err(data)
                if ee_errno == errno.EMSGSIZE:
                    kind = Kind.FRAG_NEEDED if origin == SO_EE_ORIGIN_ICMP else Kind.EMSGSIZE
                    return Outcome(kind, mtu=info or None, sender=offender)
                if origin == SO_EE_ORIGIN_ICMP and itype == 3:
                    return Outcome(Kind.UNREACHABLE, sender=offender)
        return None

    def _is_our_reply(self, data: bytes) -> bool:
        if self.raw:
            ihl = (data[0] & 0x0F) * 4 if data else 0
            data = data[ihl:]
            if len(data) < 8:
                return False
            typ, _code, _c, ident, seq = struct.unpack_from("!BBHHH", data)
            return bool(typ == 0 and ident == self.ident and seq == self.seq)
        if len(data) < 8:
            return False
        typ, _code, _c, _ident, seq = struct.unpack_from("!BBHHH", data)
        return bool(typ == 0 and seq == self.seq)  # the kernel rewrites the id of ping sockets

    def send(self, size: int, wait_s: float = 1.0) -> Outcome:
        """Send one echo of `size` bytes (IP packet) and wait for what comes back."""
        self._drain_errors()  # forget errors of earlier packets
        pkt = self._packet(size)
        start = time.monotonic()
        try:
            self.sock.sendto(pkt, (self.target, 0))
        except OSError as exc:
            if exc.errno == errno.EMSGSIZE:
                err = self._drain_errors()
                return Outcome(Kind.EMSGSIZE, mtu=err.mtu if err else None)
            if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
                return Outcome(Kind.UNREACHABLE)
            raise
        poller = select.poll()
        poller.register(self.sock, select.POLLIN | select.POLLERR)
        deadline = start + wait_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return Outcome(Kind.LOST)
            events = poller.poll(left * 1000)
            for _fd, ev in events:
                if ev & select.POLLERR:
                    err = self._drain_errors()
                    if err is not None:
                        return err
                if ev & select.POLLIN:
                    try:
                        data = self.sock.recv(65535, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        continue
                    if self._is_our_reply(data):
                        return Outcome(Kind.REPLY, rtt_ms=(time.monotonic() - start) * 1000)


def ping(target: str, count: int = 3, wait_s: float = 1.0, interval_s: float = 0.2) -> list[Outcome]:
    """Plain echo requests (no DF), `count` of them, rate-limited by `interval_s`."""
    out: list[Outcome] = []
    with Pinger(target, df=False) as p:
        for i in range(count):
            if i:
                time.sleep(interval_s)
            out.append(p.send(84, wait_s))
            if out[-1].kind is Kind.REPLY:
                break  # one reply proves reachability
    return out
