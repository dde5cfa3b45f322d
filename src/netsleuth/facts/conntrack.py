"""Connection tracking: count, max, buckets, timeouts and the state histogram of one namespace."""

from __future__ import annotations

from dataclasses import dataclass

from netsleuth.evidence.model import Evidence
from netsleuth.facts.store import FactStore, Unavailable, provides
from netsleuth.messages import Msg
from netsleuth.parsers.conntrack import (
    ConntrackStats,
    StateHistogram,
    parse_histogram,
    parse_histogram_blocks,
    parse_stats,
)
from netsleuth.parsers.sysctl import parse_sysctl


@dataclass(frozen=True)
class Sysctl:
    values: dict[str, str]
    evidence: Evidence

    def int(self, key: str) -> int | None:
        v = self.values.get(key)
        return int(v) if v is not None and v.lstrip("-").isdigit() else None

    def line(self, key: str) -> str:
        return f"{key} = {self.values[key]}" if key in self.values else ""


@provides(Sysctl, reads=("sysctl.net",))
def _sysctl(fs: FactStore) -> Sysctl:
    ev = fs.require("sysctl.net")
    values = parse_sysctl(ev.content())
    if not values:
        raise Unavailable(Msg("sysctl_empty"))
    return Sysctl(values, ev)


@dataclass(frozen=True)
class Conntrack:
    count: int
    max: int
    buckets: int | None
    sysctl: Sysctl
    histogram: StateHistogram | None
    histogram_source: str
    stats: ConntrackStats | None

    @property
    def fill(self) -> float:
        return self.count / self.max if self.max else 0.0


def _histogram(ev: Evidence) -> StateHistogram:
    if ev.path is not None and not ev.text:  # a table on disk (a sosreport's): its bytes, in blocks
        with ev.path.open("rb") as fh:
            return parse_histogram_blocks(iter(lambda: fh.read(256 * 1024), b""))
    return parse_histogram(ev.lines())


@provides(Conntrack, reads=("conntrack.states", "conntrack.stats"), uses=(Sysctl,))
def _conntrack(fs: FactStore) -> Conntrack:
    sysctl = fs.get(Sysctl)
    count = sysctl.int("net.netfilter.nf_conntrack_count")
    cmax = sysctl.int("net.netfilter.nf_conntrack_max") or sysctl.int("net.nf_conntrack_max")
    if count is None or cmax is None:
        raise Unavailable(Msg("conntrack_not_loaded"))
    hist, hsrc = None, ""
    ev = fs.evidence("conntrack.states")
    if ev is not None and ev.ok:
        hist, hsrc = _histogram(ev), ev.source
    stats = None
    sev = fs.evidence("conntrack.stats")
    if sev is not None and sev.ok:
        try:
            stats = parse_stats(sev.content())
        except ValueError:
            stats = None
    return Conntrack(count, cmax, sysctl.int("net.netfilter.nf_conntrack_buckets"), sysctl, hist, hsrc, stats)
