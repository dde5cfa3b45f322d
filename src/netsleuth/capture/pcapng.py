"""Write a pcapng file with one interface (IDB) per capture point: what each point saw."""

from __future__ import annotations

import struct
from pathlib import Path

LINKTYPE_ETHERNET = 1


def _pad(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def _block(btype: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def _opt(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad(value)


def write_pcapng(
    path: Path, interfaces: list[str], frames: list[tuple[int, float, bytes]], snaplen: int = 65535
) -> None:
    """`interfaces`: names of the points (if_name of each IDB); `frames`: (interface index, epoch
    seconds, frame) in any order — written sorted by time, microsecond timestamps.

    >>> import tempfile, dpkt
    >>> p = Path(tempfile.mkdtemp(), "t.pcapng")
    >>> write_pcapng(p, ["ns1:eth0", "br0"], [(1, 2.5, b"\\x01" * 60), (0, 1.25, b"\\x02" * 60)])
    >>> [(ts, f[:1]) for ts, f in dpkt.pcapng.Reader(p.open("rb"))]
    [(1.25, b'\\x02'), (2.5, b'\\x01')]
    """
    with path.open("wb") as fh:
        shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + _opt(4, b"netsleuth trace") + _opt(0, b"")
        fh.write(_block(0x0A0D0D0A, shb))
        for name in interfaces:
            idb = struct.pack("<HHI", LINKTYPE_ETHERNET, 0, snaplen)
            idb += _opt(2, name.encode()) + _opt(9, b"\x06") + _opt(0, b"")
            fh.write(_block(0x00000001, idb))
        for idx, ts, frame in sorted(frames, key=lambda f: f[1]):
            usec = round(ts * 1_000_000)
            epb = struct.pack("<IIIII", idx, usec >> 32, usec & 0xFFFFFFFF, len(frame), len(frame))
            fh.write(_block(0x00000006, epb + _pad(frame)))
