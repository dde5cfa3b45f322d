"""Path MTU by binary search with DF set (what `ping -M do -s SIZE` does by hand, seeds 003/004).

The search tells a local EMSGSIZE (our own interface is smaller) from loss on the wire, notes an
ICMP "fragmentation needed" when a router sends one, and reports the largest size that passes.
Sizes not passing with no ICMP back mean a black hole: ping works, full-size TCP stalls."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from netsleuth.probes.icmp import Kind, Outcome, Pinger
from netsleuth.probes.route import route_to
from netsleuth.results.probes import FragNeeded, MtuProbe

MIN_SIZE = 68  # the smallest MTU IPv4 allows
SMALL = 84  # a default ping


@dataclass
class Search:
    """The state of the search, kept for the report."""

    largest_ok: int | None = None
    lost_above: int | None = None
    local_emsgsize: bool = False
    frag: Outcome | None = None
    tries: list[list[int]] = field(default_factory=list)


Send = Callable[[int], Outcome]


def _try(send: Send, size: int, s: Search, retries: int) -> bool | None:
    """True: passed; False: lost or refused; None: unreachable even here."""
    for _ in range(retries):
        out = send(size)
        code = {Kind.REPLY: 1, Kind.EMSGSIZE: -1, Kind.FRAG_NEEDED: -2}.get(out.kind, 0)
        s.tries.append([size, code])
        if out.kind is Kind.REPLY:
            return True
        if out.kind is Kind.EMSGSIZE:
            s.local_emsgsize = True
            return False
        if out.kind is Kind.FRAG_NEEDED:
            s.frag = out
            return False
        if out.kind is Kind.UNREACHABLE:
            return None
    return False


def search(send: Send, upper: int, retries: int = 2, lower: int = SMALL) -> Search:
    """Largest size in [lower, upper] that passes, assuming sizes pass up to a limit and fail above.

    A size counts as lost only after `retries` tries with no answer (one dropped packet is not a
    black hole).

    >>> limit = 1400
    >>> s = search(lambda n: Outcome(Kind.REPLY if n <= limit else Kind.LOST), 1500, retries=1)
    >>> s.largest_ok, s.lost_above, len(s.tries) <= 12
    (1400, 1401, True)
    """
    s = Search()
    first = _try(send, lower, s, retries)
    if not first:
        return s  # nothing passes: unreachable (or ICMP filtered)
    s.largest_ok = lower
    top = _try(send, upper, s, retries)
    if top:
        s.largest_ok = upper
        return s
    lo, hi = lower, upper  # lo passes, hi fails
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _try(send, mid, s, retries):
            lo = mid
        else:
            hi = mid
    s.largest_ok, s.lost_above = lo, hi
    return s


def verdict(s: Search, upper: int) -> str:
    """ok | frag_needed | blackhole | unreachable.

    >>> verdict(Search(largest_ok=1500), 1500)
    'ok'
    >>> verdict(Search(largest_ok=1400, lost_above=1401), 1500)
    'blackhole'
    >>> verdict(Search(largest_ok=1400, lost_above=1401, frag=Outcome(Kind.FRAG_NEEDED, mtu=1400)), 1500)
    'frag_needed'
    >>> verdict(Search(largest_ok=1400, lost_above=1401, local_emsgsize=True, tries=[[1401, -1]]), 1500)
    'ok'
    >>> verdict(Search(), 1500)
    'unreachable'
    """
    if s.largest_ok is None:
        return "unreachable"
    if s.largest_ok >= upper:
        return "ok"
    if s.frag is not None:
        return "frag_needed"
    above = [code for size, code in s.tries if s.lost_above is not None and size >= s.lost_above]
    if s.local_emsgsize and above and all(code == -1 for code in above):
        return "ok"  # the limit is our own interface: the kernel says so, nothing is lost on the wire
    return "blackhole"


def probe_mtu(
    target: str, upper: int | None = None, wait_s: float = 1.0, retries: int = 2, interval_s: float = 0.02
) -> MtuProbe:
    """Run the search toward `target` (IPv4), rate-limited by `interval_s` between packets."""
    route = route_to(target)
    configured = route.mtu if route else None
    top = min(upper or configured or 1500, 65535)
    with Pinger(target, df=True) as p:

        def send(size: int) -> Outcome:
            time.sleep(interval_s)
            return p.send(size, wait_s)

        s = search(send, top, retries)
    frag = FragNeeded(s.frag.sender, s.frag.mtu or 0) if s.frag is not None else None
    return MtuProbe(
        target=target,
        iface=route.dev if route else "",
        configured_mtu=configured,
        largest_ok_mtu=s.largest_ok,
        local_emsgsize=s.local_emsgsize,
        icmp_frag_needed=frag,
        lost_above=s.lost_above,
        verdict=verdict(s, top),
        tries=s.tries,
    )
