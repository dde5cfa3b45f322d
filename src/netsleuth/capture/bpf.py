"""A tiny classic-BPF builder: the kernel keeps only the probe's packets on each capture socket."""

from __future__ import annotations

import ctypes
import socket
import struct

SO_ATTACH_FILTER = 26

# opcodes (linux/filter.h)
LD_H_ABS = 0x28
LD_B_ABS = 0x30
LDX_B_MSH = 0xB1
LD_H_IND = 0x48
JEQ_K = 0x15
JSET_K = 0x45
RET_K = 0x06

Insn = tuple[int, int, int, int]  # code, jt, jf, k


def probe_filter(proto: int, marker: int) -> list[Insn]:
    """IPv4 over Ethernet, protocol `proto`, first fragment, and the 16-bit `marker` at the start of
    the L4 header (TCP/UDP: either port) or at offset 4 (ICMP: the echo identifier).

    >>> prog = probe_filter(1, 0x1234)
    >>> len(prog), prog[-1], prog[-2]
    (13, (6, 0, 0, 0), (6, 0, 0, 262144))
    """
    accept, reject = (RET_K, 0, 0, 0x40000), (RET_K, 0, 0, 0)
    prog: list[Insn] = [
        (LD_H_ABS, 0, 0, 12),
        (JEQ_K, 0, 0, 0x0800),  # patched below: jf -> reject
        (LD_B_ABS, 0, 0, 23),
        (JEQ_K, 0, 0, proto),
        (LD_H_ABS, 0, 0, 20),
        (JSET_K, 0, 0, 0x1FFF),
        (LDX_B_MSH, 0, 0, 14),
    ]
    if proto == 1:
        prog += [(LD_H_IND, 0, 0, 14 + 4), (JEQ_K, 0, 0, marker), (LD_H_ABS, 0, 0, 0), (JEQ_K, 0, 0, 0x10000)]
    else:
        prog += [(LD_H_IND, 0, 0, 14), (JEQ_K, 0, 0, marker), (LD_H_IND, 0, 0, 16), (JEQ_K, 0, 0, marker)]
    prog += [accept, reject]
    n = len(prog)
    acc, rej = n - 2, n - 1
    out: list[Insn] = []
    for i, (code, _jt, _jf, k) in enumerate(prog):
        if code == JEQ_K and i in (1, 3):
            out.append((code, 0, rej - i - 1, k))
        elif code == JSET_K:
            out.append((code, rej - i - 1, 0, k))
        elif code == JEQ_K and i == 8:  # first marker test: match -> accept, else try the next
            out.append((code, acc - i - 1, 0, k))
        elif code == JEQ_K and i == 10:
            out.append((code, acc - i - 1, rej - i - 1, k))
        else:
            out.append((code, _jt, _jf, k))
    return out


def attach(sock: socket.socket, prog: list[Insn]) -> ctypes.Array[ctypes.c_char]:
    """Attach the program; returns the buffer, which must stay alive as long as the socket."""
    raw = b"".join(struct.pack("HBBI", *insn) for insn in prog)
    buf = ctypes.create_string_buffer(raw, len(raw))
    fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    return buf
