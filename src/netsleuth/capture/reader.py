"""Stream the frames of a pcap or pcapng file with bounded memory, from a file or a pipe
(`tcpdump -w - | netsleuth pcap -`: nothing here seeks).

Classic pcap is read here in large chunks (the analysis may also walk the records of those chunks
itself, see `Capture.fh`); pcapng block by block. A capture cut short (still being written, or
copied while it was) gives the frames before the cut, and `Capture.cut_short` says where it
stopped; so does a malformed pcapng block after the first frames."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BufferedReader
from pathlib import Path
from struct import Struct
from typing import BinaryIO

from netsleuth.errors import ParseError

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_LINUX_SLL2 = 276


@dataclass
class Capture:
    """An open capture: its link type, format and an iterator of (timestamp, frame bytes).

    For classic pcap, `fh` is the file positioned at the first record and `little`/`nano` its
    byte order and timestamp resolution, so a reader may walk the records itself instead of
    iterating `frames` (use one or the other, not both)."""

    path: Path
    fmt: str  # pcap | pcapng
    linktype: int
    snaplen: int
    frames: Iterator[tuple[float, bytes]]
    fh: BufferedReader | None = None
    little: bool = True
    nano: bool = False
    cut_short: list[str] = field(default_factory=list)  # why reading stopped before the end, if it did


_FILE_HDR_LE = Struct("<IHHiIII")  # magic, version, zone, sigfigs, snaplen, linktype
_FILE_HDR_BE = Struct(">IHHiIII")
MAX_RECORD = 262_144 * 4  # larger caplen: not a capture record (garbage or corruption)
CHUNK = 1 << 22


def pcap_records(
    fh: BinaryIO, little: bool, nano: bool, cut_short: list[str] | None = None
) -> Iterator[tuple[float, bytes]]:
    """The records of a classic pcap file after its 24-byte header, read in large chunks.

    The general path (timestamps in seconds); `Analyser.run_pcap` walks the records itself. A
    record cut short at the end of the file (tcpdump killed mid-write) is left out and said in
    `cut_short`; an impossible length raises ParseError.
    """
    unpack = Struct("<IIII" if little else ">IIII").unpack_from
    div = 1e9 if nano else 1e6
    buf = b""
    pos = 0
    base = 24  # file offset of buf[0]
    count = 0
    while True:
        chunk = fh.read(CHUNK)
        if not chunk:
            if pos < len(buf) and cut_short is not None:
                cut_short.append(f"the last record is cut short after {count} frames (offset {base + pos})")
            return
        base += pos
        buf = buf[pos:] + chunk if pos < len(buf) else chunk
        pos = 0
        n = len(buf)
        while pos + 16 <= n:
            sec, frac, caplen, _ = unpack(buf, pos)
            end = pos + 16 + caplen
            if end > n:
                if caplen > MAX_RECORD:
                    raise ParseError(f"impossible record length {caplen} at offset {base + pos}")
                break
            count += 1
            yield sec + frac / div, buf[pos + 16 : end]
            pos = end


PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_IDB, PCAPNG_OPB, PCAPNG_SPB, PCAPNG_EPB = 1, 2, 3, 6
MAX_BLOCK = 16 * 1024 * 1024  # a larger pcapng block is not one (garbage or corruption)


@dataclass
class _Iface:
    linktype: int
    snaplen: int
    unit: float = 1e-6  # seconds per timestamp tick (if_tsresol)


def _tsresol(options: bytes, order: str) -> float:
    """The timestamp unit of an interface from its options (if_tsresol, code 9; default µs)."""
    i = 0
    while i + 4 <= len(options):
        code, length = struct.unpack_from(order + "HH", options, i)
        if code == 0:
            break
        if code == 9 and length >= 1 and i + 4 < len(options):
            v = options[i + 4]
            return 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0 ** -min(v, 30)
        i += 4 + length + (-length % 4)
    return 1e-6


class _PcapngReader:
    """pcapng, block by block, without seeking (a pipe will do)."""

    def __init__(self, fh: BinaryIO, magic: bytes, cut_short: list[str]) -> None:
        self.fh = fh
        self.cut_short = cut_short
        self.offset = 0
        self.order = "<"
        self.ifaces: list[_Iface] = []
        self.count = 0
        first = self._block(magic)
        if first is None or first[0] != PCAPNG_SHB:
            raise ParseError("unreadable pcapng header (cut short)")
        while not self.ifaces:  # the link type is that of the first interface
            nxt = self._block()
            if nxt is None:
                raise ParseError("pcapng file without an interface description")
            self._handle_meta(*nxt)
        self.linktype = self.ifaces[0].linktype
        self.snaplen = self.ifaces[0].snaplen

    def _read(self, n: int) -> bytes:
        data = self.fh.read(n)
        while len(data) < n:  # a pipe gives what it has
            more = self.fh.read(n - len(data))
            if not more:
                break
            data += more
        return data

    def _block(self, head: bytes = b"") -> tuple[int, bytes] | None:
        """(type, body) of the next block; None at the end (a cut block is said in cut_short)."""
        at = self.offset
        head += self._read(8 - len(head))
        if not head:
            return None
        if len(head) < 8:
            self.cut_short.append(f"a block is cut short at offset {at} after {self.count} frames")
            return None
        if head[:4] == b"\x0a\x0d\x0d\x0a":  # a section header says its byte order itself
            bom = self._read(4)
            head += bom
            if len(bom) < 4:
                self.cut_short.append(f"a section header is cut short at offset {at}")
                return None
            self.order = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">" if bom == b"\x1a\x2b\x3c\x4d" else ""
            if not self.order:
                raise ParseError(f"pcapng section header with an unknown byte order at offset {at}")
        btype, length = struct.unpack_from(self.order + "II", head)
        if length < 12 or length % 4 or length > MAX_BLOCK:
            if self.count:
                self.cut_short.append(
                    f"malformed block (length {length}) at offset {at}: read {self.count} frames before it"
                )
                return None
            raise ParseError(f"malformed pcapng block (length {length}) at offset {at}")
        rest = self._read(length - len(head))
        self.offset += length
        if len(rest) < length - len(head):
            self.cut_short.append(f"the last block is cut short after {self.count} frames (offset {at})")
            return None
        trailer = struct.unpack_from(self.order + "I", rest, len(rest) - 4)[0]
        if trailer != length:
            if self.count:
                self.cut_short.append(f"malformed block at offset {at}: read {self.count} frames before it")
                return None
            raise ParseError(f"malformed pcapng block at offset {at} (lengths {length} and {trailer})")
        body = head[8:] + rest[:-4]
        return btype, body

    def _handle_meta(self, btype: int, body: bytes) -> None:
        if btype == PCAPNG_SHB:
            self.ifaces = []  # interface ids restart with each section
        elif btype == PCAPNG_IDB and len(body) >= 8:
            linktype, _, snaplen = struct.unpack_from(self.order + "HHI", body)
            self.ifaces.append(_Iface(linktype, snaplen, _tsresol(body[8:], self.order)))

    def _frame(self, btype: int, body: bytes) -> tuple[float, bytes] | None:
        o = self.order
        if btype == PCAPNG_EPB and len(body) >= 20:
            iface, hi, lo, caplen, _ = struct.unpack_from(o + "IIIII", body)
            data = body[20 : 20 + caplen]
        elif btype == PCAPNG_OPB and len(body) >= 20:
            iface, _, hi, lo, caplen, _ = struct.unpack_from(o + "HHIIII", body)
            data = body[20 : 20 + caplen]
        elif btype == PCAPNG_SPB and len(body) >= 4 and self.ifaces:
            (orig,) = struct.unpack_from(o + "I", body)
            iface, hi, lo = 0, 0, 0
            data = body[4 : 4 + min(orig, self.ifaces[0].snaplen or orig)]
        else:
            self._handle_meta(btype, body)
            return None
        if iface >= len(self.ifaces) or self.ifaces[iface].linktype != self.linktype:
            return None  # an interface never described, or of another link type
        return ((hi << 32) | lo) * self.ifaces[iface].unit, data

    def frames(self) -> Iterator[tuple[float, bytes]]:
        while (blk := self._block()) is not None:
            got = self._frame(*blk)
            if got is not None:
                self.count += 1
                yield got


def _open_raw(path: Path) -> BufferedReader:
    """The file, or standard input for `-` (a pipe: never seeked)."""
    import io
    import os

    fd = os.dup(0) if str(path) == "-" else os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    return io.BufferedReader(io.FileIO(fd, "rb"), buffer_size=1 << 20)


@contextmanager
def open_capture(path: Path) -> Iterator[Capture]:
    """Open a pcap or pcapng file (`-`: standard input); ParseError when it is neither (or is cut
    short in its header). Nothing seeks, so a pipe will do.

    >>> import tempfile, dpkt
    >>> d = tempfile.mkdtemp(); p = Path(d, "x.pcap")
    >>> w = dpkt.pcap.Writer(p.open("wb")); w.writepkt(b"\\xff" * 60, ts=1.5); w.close()
    >>> with open_capture(p) as cap:
    ...     cap.fmt, cap.linktype, [(ts, len(f)) for ts, f in cap.frames]
    ('pcap', 1, [(1.5, 60)])
    """
    fh = _open_raw(path)
    try:
        magic = fh.read(4)
        cut: list[str] = []
        if magic in PCAP_MAGICS:
            hdr = magic + fh.read(20)
            if len(hdr) < 24:
                raise ParseError(f"{path}: unreadable capture header (cut short)")
            little = magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
            nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
            _, _, _, _, _, snaplen, linktype = (_FILE_HDR_LE if little else _FILE_HDR_BE).unpack(hdr)
            frames = pcap_records(fh, little, nano, cut)
            cap = Capture(path, "pcap", linktype, snaplen, frames, fh, little, nano, cut)
        elif magic == PCAPNG_MAGIC:
            try:
                rdn = _PcapngReader(fh, magic, cut)
            except ParseError as exc:
                raise ParseError(f"{path}: {exc}") from None
            except struct.error as exc:
                raise ParseError(f"{path}: unreadable capture header ({exc})") from None
            cap = Capture(path, "pcapng", rdn.linktype, rdn.snaplen, rdn.frames(), cut_short=cut)
        else:
            raise ParseError(f"{path}: not a pcap or pcapng file (magic {magic.hex() or 'empty'})")
        yield cap
    finally:
        fh.close()
