"""The kernel neighbour (ARP/NDP) table: `ip -j -s neigh show` (live) or `ip [-s] neigh show`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from netsleuth.errors import ParseError

FAILED_STATES = frozenset({"INCOMPLETE", "FAILED"})
RESOLVED_STATES = frozenset({"REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT", "NOARP"})


@dataclass(frozen=True)
class Neighbour:
    dst: str
    dev: str
    lladdr: str
    states: frozenset[str]
    line: str  # as `ip neigh` prints it (the excerpt quoted in findings)

    @property
    def failed(self) -> bool:
        return bool(self.states & FAILED_STATES) and not self.lladdr

    @property
    def resolved(self) -> bool:
        return bool(self.states & RESOLVED_STATES) and bool(self.lladdr or "NOARP" in self.states)


_NEIGH_TEXT = re.compile(
    r"^(?P<dst>[0-9a-fA-F.:]+)\s+dev\s+(?P<dev>\S+)(?:\s+lladdr\s+(?P<ll>[0-9a-fA-F:]+))?.*?"
    r"(?P<states>(?:\s+[A-Z_]+)+)\s*$"
)


def parse_neigh(text: str) -> list[Neighbour]:
    """`ip -j -s neigh show` (live) or `ip [-s] neigh show` (sosreports).

    >>> n = parse_neigh('[{"dst":"10.99.11.1","dev":"vl1011","refcnt":1,"used":0,"confirmed":63,'
    ...                 '"updated":0,"probes":4,"state":["INCOMPLETE"]}]')
    >>> n[0].dst, n[0].dev, n[0].failed, n[0].line
    ('10.99.11.1', 'vl1011', True, '10.99.11.1 dev vl1011 INCOMPLETE')
    >>> t = parse_neigh("10.0.0.1 dev eth0.1011 lladdr e6:cb:05:15:4e:be ref 1 used 2/2/2 probes 4 REACHABLE")
    >>> t[0].dev, t[0].lladdr, t[0].resolved
    ('eth0.1011', 'e6:cb:05:15:4e:be', True)
    """
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParseError(f"`ip -j neigh` output is not JSON ({exc})", text[:80]) from None
        out: list[Neighbour] = []
        for r in rows:
            if "dst" not in r or "dev" not in r:
                raise ParseError("`ip -j neigh` entry without dst/dev", json.dumps(r)[:120])
            states = frozenset(str(s) for s in r.get("state", []))
            ll = str(r.get("lladdr", ""))
            line = (
                f"{r['dst']} dev {r['dev']}"
                + (f" lladdr {ll}" if ll else "")
                + " "
                + " ".join(sorted(states))
            )
            out.append(Neighbour(str(r["dst"]), str(r["dev"]), ll, states, line.strip()))
        return out
    found: list[Neighbour] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = _NEIGH_TEXT.match(line)
        if m is None:
            raise ParseError("not an `ip neigh` line", line)
        states = frozenset(m.group("states").split())
        found.append(Neighbour(m.group("dst"), m.group("dev"), (m.group("ll") or "").lower(), states, line))
    return found
