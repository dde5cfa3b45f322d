"""A tiny classic-BPF builder: the kernel keeps only the probe's packets on each capture socket.

What a trace socket keeps (`Match`): the marked probe (IPv4 or IPv6; ICMP echo, TCP or UDP), the
ARP requests and replies or IPv6 neighbour solicitations and advertisements for the next hops of
the path, each possibly behind one or two VLAN tags written in the frame (a tag the kernel already
took out of the frame is not in the packet the filter sees: those frames match as untagged), and
on an underlay the same inside a VXLAN packet (UDP to one of the tunnel ports, then an Ethernet
frame).

The program is assembled from labels (`_Asm`). `run` interprets it, so doctests and unit tests
check what the kernel will keep, frame by frame, without a socket:

>>> from scapy.all import ARP, Dot1Q, Ether, ICMP, IP, IPv6, ICMPv6EchoRequest, UDP, VXLAN
>>> m = Match(4, 1, 0x1234, neighbours=("10.0.0.1",), tunnel_ports=(4789,))
>>> prog = probe_filter(m)
>>> echo = IP(src="10.0.0.2", dst="10.9.0.1") / ICMP(id=0x1234)
>>> [run(prog, bytes(f)) > 0 for f in (
...     Ether() / echo,                                              # the probe
...     Ether() / Dot1Q(vlan=1011) / echo,                           # tagged in the frame
...     Ether() / IP() / ICMP(id=0x9999),                            # someone else's ping
...     Ether() / Dot1Q(vlan=1011) / ARP(psrc="10.0.0.2", pdst="10.0.0.1"),   # who-has the next hop
...     Ether() / ARP(psrc="10.0.0.2", pdst="10.0.0.7"),             # who-has another address
...     Ether() / IP() / UDP(dport=4789) / VXLAN(vni=42) / Ether() / echo,    # on the underlay
... )]
[True, True, False, True, False, True]
>>> six = probe_filter(Match(6, 58, 7, neighbours=("fd00::1",)))
>>> run(six, bytes(Ether() / IPv6(dst="fd00:9::1") / ICMPv6EchoRequest(id=7))) > 0
True
"""

from __future__ import annotations

import ctypes
import ipaddress
import socket
import struct
from dataclasses import dataclass

SO_ATTACH_FILTER = 26

# opcodes (linux/filter.h)
LD_W_IND, LD_H_IND, LD_B_IND = 0x40, 0x48, 0x50
LD_MEM, ST = 0x60, 0x02
LDX_IMM, LDX_B_MSH = 0x01, 0xB1
ALU_ADD_K, ALU_ADD_X, ALU_AND_K, ALU_LSH_K = 0x04, 0x0C, 0x54, 0x64
TAX, TXA = 0x07, 0x87
JA, JEQ_K, JSET_K = 0x05, 0x15, 0x45
RET_K = 0x06

KEEP = 0x40000  # bytes kept of a matching frame
VLAN_TPIDS = (0x8100, 0x88A8)
ICMP_ECHO = {1: (8, 0), 58: (128, 129)}  # protocol -> (request type, reply type)
ND_TYPES = (135, 136)  # neighbour solicitation, advertisement

Insn = tuple[int, int, int, int]  # code, jt, jf, k


@dataclass(frozen=True)
class Match:
    """What one capture socket keeps."""

    family: int  # 4 or 6: the probe's IP version
    proto: int  # IP protocol of the probe: 1 (ICMP), 58 (ICMPv6), 6 (TCP), 17 (UDP)
    marker: int  # ICMP echo identifier, or the TCP/UDP port the probe is sent from
    neighbours: tuple[str, ...] = ()  # next hops whose ARP / neighbour discovery is kept
    tunnel_ports: tuple[int, ...] = ()  # UDP ports that carry Ethernet frames (VXLAN: 4789, 8472)

    @property
    def v4_neighbours(self) -> list[str]:
        return [n for n in self.neighbours if ipaddress.ip_address(n).version == 4]

    @property
    def v6_neighbours(self) -> list[str]:
        return [n for n in self.neighbours if ipaddress.ip_address(n).version == 6]


class _Asm:
    """Instructions with symbolic forward jump targets; `build` resolves them to offsets."""

    def __init__(self) -> None:
        self.code: list[tuple[int, str | None, str | None, int]] = []
        self.labels: dict[str, int] = {}

    def op(self, code: int, k: int = 0, jt: str | None = None, jf: str | None = None) -> None:
        self.code.append((code, jt, jf, k))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def build(self) -> list[Insn]:
        out: list[Insn] = []
        for i, (code, jt, jf, k) in enumerate(self.code):
            t, f = (self.labels[x] - i - 1 if x else 0 for x in (jt, jf))
            if t < 0 or f < 0 or (code != JA and (t > 255 or f > 255)):
                raise ValueError(f"BPF: jump from {i} out of range (too many next hops?)")
            out.append((code, 0, 0, t) if code == JA else (code, t, f, k))
        return out


def _frame(a: _Asm, m: Match, p: str, inner: bool) -> None:
    """Match one Ethernet frame starting at offset X (0, or the payload of a tunnel packet)."""
    acc, rej = f"{p}accept", f"{p}reject"
    for i in range(2):  # up to two tags in the frame: X moves past each
        a.op(LD_H_IND, 12)
        a.op(JEQ_K, VLAN_TPIDS[0], jt=f"{p}tag{i}")
        a.op(JEQ_K, VLAN_TPIDS[1], jt=f"{p}tag{i}", jf=f"{p}l3")
        a.label(f"{p}tag{i}")
        a.op(TXA)
        a.op(ALU_ADD_K, 4)
        a.op(TAX)
    a.label(f"{p}l3")
    a.op(LD_H_IND, 12)
    a.op(JEQ_K, 0x0800, jt=f"{p}ip4")
    a.op(JEQ_K, 0x86DD, jt=f"{p}ip6")
    a.op(JEQ_K, 0x0806, jt=f"{p}arp", jf=rej)
    # IPv4, not a later fragment: protocol to M[0], X past the header (L4 at X + 14)
    a.label(f"{p}ip4")
    a.op(LD_H_IND, 20)
    a.op(JSET_K, 0x1FFF, jt=rej)
    a.op(LD_B_IND, 23)
    a.op(ST, 0)
    a.op(LD_B_IND, 14)
    a.op(ALU_AND_K, 0x0F)
    a.op(ALU_LSH_K, 2)
    a.op(ALU_ADD_X)
    a.op(TAX)
    a.op(LD_MEM, 0)
    if m.family == 4:
        a.op(JEQ_K, m.proto, jt=f"{p}probe")
    if not inner and m.tunnel_ports:
        a.op(JEQ_K, 17, jt=f"{p}tunnel")
    a.op(JA, jt=rej)
    # IPv6 (extension headers are not followed): next header to A, X past the 40-byte header
    a.label(f"{p}ip6")
    a.op(LD_B_IND, 20)
    a.op(ST, 0)
    a.op(TXA)
    a.op(ALU_ADD_K, 40)
    a.op(TAX)
    a.op(LD_MEM, 0)
    if m.family == 6:
        a.op(JEQ_K, m.proto, jt=f"{p}probe")
    if m.v6_neighbours:
        a.op(JEQ_K, 58, jt=f"{p}nd")
    if not inner and m.tunnel_ports:
        a.op(JEQ_K, 17, jt=f"{p}tunnel")
    a.op(JA, jt=rej)
    # the probe: ICMP echo identifier, or either port
    a.label(f"{p}probe")
    if m.proto in ICMP_ECHO:
        a.op(LD_H_IND, 14 + 4)
        a.op(JEQ_K, m.marker, jt=acc)
        a.op(JA, jt=f"{p}nd" if m.proto == 58 and m.v6_neighbours else rej)
    else:
        a.op(LD_H_IND, 14)
        a.op(JEQ_K, m.marker, jt=acc)
        a.op(LD_H_IND, 16)
        a.op(JEQ_K, m.marker, jt=acc)
        a.op(JA, jt=f"{p}tunnel" if m.proto == 17 and m.tunnel_ports and not inner else rej)
    # neighbour solicitation / advertisement whose target ends like a next hop's address
    a.label(f"{p}nd")
    if m.v6_neighbours:
        a.op(LD_B_IND, 14)
        a.op(JEQ_K, ND_TYPES[0], jt=f"{p}ndt")
        a.op(JEQ_K, ND_TYPES[1], jt=f"{p}ndt", jf=rej)
        a.label(f"{p}ndt")
        a.op(LD_W_IND, 14 + 8 + 12)
        for n in m.v6_neighbours:
            a.op(JEQ_K, _low32(n), jt=acc)
    a.op(JA, jt=rej)
    # a tunnel: UDP to one of its ports carries an Ethernet frame 8 + 8 bytes into the datagram
    a.label(f"{p}tunnel")
    if not inner and m.tunnel_ports:
        a.op(LD_H_IND, 14 + 2)
        for port in m.tunnel_ports:
            a.op(JEQ_K, port, jt=f"{p}inner")
        a.op(JA, jt=rej)
        a.label(f"{p}inner")
        a.op(TXA)
        a.op(ALU_ADD_K, 14 + 8 + 8)
        a.op(TAX)
        a.op(JA, jt="i:start")
    a.op(JA, jt=rej)
    # ARP: a request for a next hop (target address) or a reply from it (sender address)
    a.label(f"{p}arp")
    if m.v4_neighbours:
        a.op(LD_W_IND, 14 + 24)
        for n in m.v4_neighbours:
            a.op(JEQ_K, _u32(n), jt=acc)
        a.op(LD_W_IND, 14 + 14)
        for n in m.v4_neighbours:
            a.op(JEQ_K, _u32(n), jt=acc)
    a.label(rej)
    a.op(RET_K, 0)
    a.label(acc)
    a.op(RET_K, KEEP)


def probe_filter(m: Match) -> list[Insn]:
    """The program for one capture socket: the outer frame, then (tunnels) the frame inside.

    >>> prog = probe_filter(Match(4, 1, 0x1234))
    >>> prog[-1], prog[-2]
    ((6, 0, 0, 262144), (6, 0, 0, 0))
    """
    a = _Asm()
    a.op(LDX_IMM, 0)  # X = 0: the frame starts at 0
    _frame(a, m, "o:", inner=False)
    a.label("i:start")
    if m.tunnel_ports:
        _frame(a, m, "i:", inner=True)
    return a.build()


def _u32(addr: str) -> int:
    return int(struct.unpack("!I", socket.inet_aton(addr))[0])


def _low32(addr: str) -> int:
    return int.from_bytes(ipaddress.IPv6Address(addr).packed[12:], "big")


def run(prog: list[Insn], pkt: bytes) -> int:
    """Interpret `prog` on `pkt` as the kernel does (a load past the end rejects): bytes kept."""
    a = x = pc = 0
    mem = [0] * 16
    sizes = {0x00: 4, 0x08: 2, 0x10: 1}
    while pc < len(prog):
        code, jt, jf, k = prog[pc]
        pc += 1
        cls = code & 0x07
        if cls == 0x00:  # LD
            if code == LD_MEM:
                a = mem[k]
                continue
            off = k + (x if code & 0xE0 == 0x40 else 0)
            n = sizes[code & 0x18]
            if off + n > len(pkt):
                return 0
            a = int.from_bytes(pkt[off : off + n], "big")
        elif cls == 0x01:  # LDX
            if code == LDX_B_MSH:
                if k >= len(pkt):
                    return 0
                x = (pkt[k] & 0x0F) << 2
            else:
                x = k
        elif cls == 0x02:  # ST
            mem[k] = a
        elif cls == 0x04:  # ALU
            op, src = code & 0xF0, x if code & 0x08 else k
            a = {0x00: a + src, 0x50: a & src, 0x60: a << src}[op] & 0xFFFFFFFF
        elif cls == 0x05:  # JMP
            if code == JA:
                pc += k
            elif code == JEQ_K:
                pc += jt if a == k else jf
            elif code == JSET_K:
                pc += jt if a & k else jf
        elif cls == 0x06:  # RET
            return k
        elif cls == 0x07:  # MISC
            if code == TAX:
                x = a
            else:
                a = x
    return 0


def attach(sock: socket.socket, prog: list[Insn]) -> ctypes.Array[ctypes.c_char]:
    """Attach the program; returns the buffer, which must stay alive as long as the socket."""
    raw = b"".join(struct.pack("HBBI", *insn) for insn in prog)
    buf = ctypes.create_string_buffer(raw, len(raw))
    fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    return buf
