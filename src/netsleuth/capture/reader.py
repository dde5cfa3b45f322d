"""Stream the frames of a pcap or pcapng file with bounded memory.

Classic pcap is read here in large chunks (the analysis may also walk the records of those chunks
itself, see `Capture.fh`); pcapng goes through dpkt's reader."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BufferedReader
from pathlib import Path
from struct import Struct
from typing import Any, BinaryIO

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
    interface: str = ""  # pcapng: the name of its (first) interface, as the file gives it


_FILE_HDR_LE = Struct("<IHHiIII")  # magic, version, zone, sigfigs, snaplen, linktype
_FILE_HDR_BE = Struct(">IHHiIII")
MAX_RECORD = 262_144 * 4  # larger caplen: not a capture record (garbage or corruption)
CHUNK = 1 << 22


def pcap_records(fh: BinaryIO, little: bool, nano: bool) -> Iterator[tuple[float, bytes]]:
    """The records of a classic pcap file after its 24-byte header, read in large chunks.

    The general path (timestamps in seconds); `Analyser.run_pcap` walks the records itself. A
    record cut short at the end of the file (tcpdump killed mid-write) is ignored; an impossible
    length raises ParseError.
    """
    unpack = Struct("<IIII" if little else ">IIII").unpack_from
    div = 1e9 if nano else 1e6
    buf = b""
    pos = 0
    while True:
        chunk = fh.read(CHUNK)
        if not chunk:
            return
        buf = buf[pos:] + chunk if pos < len(buf) else chunk
        pos = 0
        n = len(buf)
        while pos + 16 <= n:
            sec, frac, caplen, _ = unpack(buf, pos)
            end = pos + 16 + caplen
            if end > n:
                if caplen > MAX_RECORD:
                    raise ParseError(f"impossible record length {caplen} at offset {fh.tell() - n + pos}")
                break
            yield sec + frac / div, buf[pos + 16 : end]
            pos = end


def if_name(opts: list[Any]) -> str:
    """The `if_name` option (code 2) of a pcapng interface block, bytes that are not UTF-8 kept
    as escapes (\\xff): a name is any bytes but '/' and NUL, and it is only ever shown.

    >>> from types import SimpleNamespace as O
    >>> if_name([O(code=9, data=b"\\x06"), O(code=2, data=b'q\\xff<"a>')])
    'q\\\\xff<"a>'
    """
    for opt in opts:
        if getattr(opt, "code", None) == 2:
            return bytes(opt.data).rstrip(b"\0").decode("utf-8", "backslashreplace")
    return ""


@contextmanager
def open_capture(path: Path) -> Iterator[Capture]:
    """Open a pcap or pcapng file; ParseError when it is neither (or is cut short in its header).

    >>> import tempfile, dpkt
    >>> d = tempfile.mkdtemp(); p = Path(d, "x.pcap")
    >>> w = dpkt.pcap.Writer(p.open("wb")); w.writepkt(b"\\xff" * 60, ts=1.5); w.close()
    >>> with open_capture(p) as cap:
    ...     cap.fmt, cap.linktype, [(ts, len(f)) for ts, f in cap.frames]
    ('pcap', 1, [(1.5, 60)])
    """
    fh = path.open("rb", buffering=1 << 20)
    assert isinstance(fh, BufferedReader)
    try:
        magic = fh.read(4)
        fh.seek(0)
        try:
            if magic in PCAP_MAGICS:
                hdr = fh.read(24)
                if len(hdr) < 24:
                    raise ParseError(f"{path}: unreadable capture header (cut short)")
                little = magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
                nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
                _, _, _, _, _, snaplen, linktype = (_FILE_HDR_LE if little else _FILE_HDR_BE).unpack(hdr)
                frames = pcap_records(fh, little, nano)
                cap = Capture(path, "pcap", linktype, snaplen, frames, fh, little, nano)
            elif magic == PCAPNG_MAGIC:
                import dpkt  # type: ignore[import-untyped]  # only pcapng needs it (import time)

                try:
                    rdn = dpkt.pcapng.Reader(fh)
                except (dpkt.UnpackError, dpkt.NeedData) as exc:
                    raise ParseError(f"{path}: unreadable capture header ({exc})") from None
                cap = Capture(path, "pcapng", int(rdn.datalink()), int(rdn.snaplen), iter(rdn))
                cap.interface = if_name(rdn.idb.opts)
            else:
                raise ParseError(f"{path}: not a pcap or pcapng file (magic {magic.hex() or 'empty'})")
        except ValueError as exc:
            if isinstance(exc, ParseError):
                raise
            raise ParseError(f"{path}: unreadable capture header ({exc})") from None
        yield cap
    finally:
        fh.close()
