"""The evidence record and the bundle that holds a host's evidence, from any source."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from netsleuth.messages import Note

HOST = ""  # the network namespace netsleuth ran in (or the sosreport's host namespace)


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
    later: str | None = None  # second sample of a counter, `interval_s` after the first
    interval_s: float | None = None
    path: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def content(self) -> str:
        """The whole text (read from `path` if the evidence lives on disk)."""
        if self.path is not None and not self.text:
            return self.path.read_text(errors="replace")
        return self.text

    def lines(self) -> Iterator[str]:
        """Stream the lines of the text without loading a file on disk whole."""
        if self.path is not None and not self.text:
            with self.path.open(errors="replace") as fh:
                for line in fh:
                    yield line.rstrip("\n")
        else:
            yield from self.text.splitlines()

    def chunks(self, size: int = 8 * 1024 * 1024) -> Iterator[str]:
        """The text in blocks of whole lines of about `size` characters (streamed from `path`)."""
        if self.path is None or self.text:
            yield self.text
            return
        with self.path.open(errors="replace") as fh:
            rest = ""
            while block := fh.read(size):
                block = rest + block
                cut = block.rfind("\n") + 1
                if cut == 0:
                    rest = block
                    continue
                rest = block[cut:]
                yield block[:cut]
            if rest:
                yield rest

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
    _indexed: int = field(default=-1, init=False, repr=False, compare=False)

    def add(self, ev: Evidence) -> None:
        self.items.append(ev)

    def _index(self) -> None:
        if self._indexed == len(self.items):
            return
        self._one, self._many = {}, {}
        for ev in self.items:
            self._one.setdefault((ev.name, ev.netns, ev.key), ev)  # the first one wins, as before
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

    def scopes(self) -> list[str]:
        """The network namespaces analysed (HOST = the namespace netsleuth ran in)."""
        return list(self.namespaces) or [HOST]
