"""The evidence record and the bundle that holds a host's evidence, from any source."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

# characters of one piece of evidence held in memory (the collector keeps no more of an output); from
# the collector's model, not its runner: reading a bundle or `--version` need not import subprocess
from netsleuth.collector.model import MAX_TEXT as MAX_TEXT
from netsleuth.messages import Msg, Note

HOST = ""  # the network namespace netsleuth ran in (or the sosreport's host namespace)
MAX_LINE = 64 * 1024  # characters (bytes when scanning) of one line looked at
BLOCK = 8 * 1024 * 1024  # bytes read at a time when streaming a file


class Readable(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


def blocks_in_place(fh: Readable, size: int = BLOCK) -> Iterator[tuple[bytearray, int, int]]:
    r"""The content in blocks of whole lines of about `size` bytes, read into one buffer: each
    (buf, start, stop) is a block `buf[start:stop]`, valid until the next one is asked for. A line
    longer than `size` is cut there and the rest of it skipped, so a file without a newline is read
    in linear time and one buffer of memory.

    >>> import io
    >>> [bytes(b[i:j]) for b, i, j in blocks_in_place(io.BytesIO(b"ab\ncd\nef"), 4)]
    [b'ab\n', b'cd\n', b'ef']
    >>> [bytes(b[i:j]) for b, i, j in blocks_in_place(io.BytesIO(b"0123456789\nxy\nz"), 4)]
    [b'0123', b'xy\n', b'z']
    """
    buf = bytearray(2 * size)
    view = memoryview(buf)
    have = 0  # bytes carried at the front: the start of a line not ended yet (fewer than `size`)
    skipping = False  # inside a line already cut: drop up to its newline
    try:
        while got := fh.readinto(view[have : have + size]):
            start, end = 0, have + got
            if skipping:
                nl = buf.find(b"\n", 0, end)
                if nl < 0:
                    have = 0
                    continue
                start, skipping = nl + 1, False
            nl = buf.rfind(b"\n", start, end)
            if nl >= 0:
                yield buf, start, nl + 1
                start = nl + 1
            elif end - start >= size:  # one line longer than a block: its start only
                yield buf, start, start + size
                have, skipping = 0, True
                continue
            have = end - start
            buf[:have] = buf[start:end]
        if have:
            yield buf, 0, have
    finally:
        view.release()


def blocks(fh: Readable, size: int = BLOCK) -> Iterator[bytes]:
    r"""`blocks_in_place` as bytes, each its own copy.

    >>> import io
    >>> list(blocks(io.BytesIO(b"0123456789\nxy\n"), 4))
    [b'0123', b'xy\n']
    """
    for buf, start, stop in blocks_in_place(fh, size):
        yield bytes(buf[start:stop])


class Status(StrEnum):
    OK = "ok"
    TIMEOUT = "timeout"
    MISSING = "missing"
    DENIED = "denied"
    ERROR = "error"


@dataclass
class Evidence:
    """One piece of evidence: the raw output of a command or a file, and how it was obtained.

    `path`, when set, holds the text on disk (a large file of a sosreport); `lines()` then
    streams it, so multi-gigabyte logs never sit in memory.
    """

    name: str
    status: Status
    text: str = ""
    source: str = ""  # the command line or file it came from
    duration_s: float = 0.0
    netns: str = HOST
    key: str = ""  # the interface or bridge for per-object evidence
    rc: int | None = None
    error: str = ""  # stderr, or the reason it is missing/denied/timed out
    why: Msg | None = None  # `error` as wording (`reasons` entry) when netsleuth composed it
    later: str | None = None  # second sample of a counter, `interval_s` after the first
    interval_s: float | None = None
    path: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def content(self) -> str:
        """The whole text (read from `path` if the evidence lives on disk), at most `MAX_TEXT`
        characters of it: a parser that needs the whole text never holds more than that (what is
        left out is said in `error`; logs are streamed whole with `lines()`)."""
        if self.path is not None and not self.text:
            with self.path.open(errors="replace") as fh:
                text = fh.read(MAX_TEXT + 1)
            if len(text) > MAX_TEXT:
                self._say_cut(self.path.stat().st_size)
                return text[:MAX_TEXT]
            return text
        return self.text

    def _say_cut(self, size: int) -> None:
        note = f"only the first {MAX_TEXT >> 20} MiB of {size / 2**20:.0f} MiB read"
        if note not in self.error:
            prior = self.why or self.error
            self.error = f"{self.error}; {note}" if self.error else note
            cut = Msg("text_cut", {"mib": MAX_TEXT >> 20, "size": f"{size / 2**20:.0f}"})
            self.why = Msg("both", {"first": prior, "then": cut}) if prior else cut

    def lines(self) -> Iterator[str]:
        """Stream the lines of the text without loading a file on disk whole; a line longer than
        `MAX_LINE` is cut there."""
        if self.path is not None and not self.text:
            with self.path.open("rb") as fh:
                for block in blocks(fh):
                    for line in block.decode(errors="replace").splitlines():
                        yield line[:MAX_LINE]
        else:
            for line in self.text.splitlines():
                yield line[:MAX_LINE]

    def chunks(self, size: int = BLOCK) -> Iterator[str]:
        """The text in blocks of whole lines of about `size` bytes (streamed from `path`; lines
        longer than a block cut, so a file without a newline costs one block of memory and linear
        time)."""
        if self.path is None or self.text:
            yield self.text
            return
        with self.path.open("rb") as fh:
            for block in blocks(fh, size):
                yield block.decode(errors="replace")

    def ident(self) -> str:
        """A short unique label: name, key and namespace."""
        label = f"{self.name}[{self.key}]" if self.key else self.name
        return f"{label}@{self.netns}" if self.netns else label


@dataclass
class Bundle:
    """Everything known about one host, whatever the source: live, bundle or sosreport."""

    source: str  # "live", "bundle:<file>", "sosreport:<path>"
    hostname: str = ""
    kernel: str = ""
    collected_at: str = ""
    namespaces: list[str] = field(default_factory=lambda: [HOST])  # the scopes analysed
    items: list[Evidence] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)  # what the source could not give, and why
    # lookups by (name, netns, key) and (name, netns): rebuilt when `items` has grown
    _one: dict[tuple[str, str, str], Evidence] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _many: dict[tuple[str, str], list[Evidence]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _all: dict[tuple[str, str], list[Evidence]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _indexed: int = field(default=-1, init=False, repr=False, compare=False)

    def add(self, ev: Evidence) -> None:
        self.items.append(ev)

    def discard(self, name: str) -> None:
        """Remove every piece of evidence of this name."""
        kept = [ev for ev in self.items if ev.name != name]
        if len(kept) != len(self.items):
            self.items[:] = kept
            self._indexed = -1

    def _index(self) -> None:
        if self._indexed == len(self.items):
            return
        self._one, self._many, self._all = {}, {}, {}
        for ev in self.items:
            self._one.setdefault((ev.name, ev.netns, ev.key), ev)  # the first one wins, as before
            self._all.setdefault((ev.name, ev.netns), []).append(ev)
            if ev.key:
                self._many.setdefault((ev.name, ev.netns), []).append(ev)
        self._indexed = len(self.items)

    def get(self, name: str, netns: str = HOST, key: str = "") -> Evidence | None:
        self._index()
        return self._one.get((name, netns, key))

    def keyed(self, name: str, netns: str = HOST) -> list[Evidence]:
        """Every per-object piece of evidence of this name (e.g. `ethtool.ring` per NIC)."""
        self._index()
        return list(self._many.get((name, netns), []))

    def every(self, name: str, netns: str = HOST) -> list[Evidence]:
        """Every piece of evidence of this name in this scope, keyed or not."""
        self._index()
        return list(self._all.get((name, netns), []))

    def scopes(self) -> list[str]:
        """The network namespaces analysed (HOST = the namespace netsleuth ran in)."""
        return list(self.namespaces) or [HOST]
