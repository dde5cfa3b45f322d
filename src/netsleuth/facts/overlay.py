"""Overlays: the forwarding entries that tell a VXLAN device where to send (its remote VTEPs)."""

from __future__ import annotations

from dataclasses import dataclass

from netsleuth.evidence.model import Evidence
from netsleuth.facts.store import FactStore, provides
from netsleuth.parsers.bridge import FdbEntry, parse_fdb


@dataclass(frozen=True)
class Fdb:
    """`bridge fdb show` of one namespace."""

    entries: list[FdbEntry]
    evidence: Evidence

    def remotes(self, dev: str) -> list[FdbEntry]:
        """The configured entries of `dev` that send to a remote VTEP (`dst`); entries learned from
        traffic are left out: they age out, and a tunnel that exists only while traffic flows the
        other way is the fault, not the mesh."""
        return [e for e in self.entries if e.dev == dev and e.dst and e.permanent]


@provides(Fdb, reads=("bridge.fdb",))
def _fdb(fs: FactStore) -> Fdb:
    ev = fs.require("bridge.fdb")
    return Fdb(parse_fdb(ev.content()), ev)
