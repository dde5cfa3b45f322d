"""A firewall rule and rule set, whichever tool printed them (iptables-save, iptables -L, nft)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FwRule:
    """One rule: where it sits, what it matches, what it does, and its counters."""

    table: str  # iptables table, or nft `family table`
    chain: str
    target: str  # DROP, REJECT, ACCEPT, a user chain, ...
    proto: str  # "udp", "tcp", "" = any
    dports: tuple[tuple[int, int], ...]  # inclusive ranges; () = any port
    conditions: tuple[str, ...]  # what else narrows the match ("-s 10.0.0.5", "--ctstate INVALID")
    in_iface: str
    line: str  # the rule as printed by the source
    packets: int | None = None
    bytes: int | None = None
    negated_port: bool = False

    @property
    def blocks(self) -> bool:
        return self.target in ("DROP", "REJECT")

    @property
    def unconditional(self) -> bool:
        """Matches every packet of its protocol/port, whoever sends it."""
        return not self.conditions and not self.negated_port

    def covers(self, proto: str, port: int) -> bool:
        if self.proto not in ("", "all", proto):
            return False
        if not self.dports:
            return True
        return any(lo <= port <= hi for lo, hi in self.dports)


@dataclass
class Ruleset:
    rules: list[FwRule] = field(default_factory=list)
    policies: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, chain) -> ACCEPT/DROP/-
    hooks: dict[tuple[str, str], str] = field(default_factory=dict)  # base chains -> input/forward/...

    def reachable(self, hooks: tuple[str, ...] = ("prerouting", "input", "forward")) -> set[tuple[str, str]]:
        """(table, chain) pairs a packet arriving at `hooks` can traverse: the base chains and every
        chain jumped to from them, transitively. A chain nothing jumps to never sees a packet."""
        chains = {(r.table, r.chain) for r in self.rules} | set(self.policies)
        todo = [tc for tc, hook in self.hooks.items() if hook in hooks]
        seen = set(todo)
        while todo:
            table, chain = todo.pop()
            for r in self.rules:
                jump = (table, r.target)
                if r.table == table and r.chain == chain and jump in chains and jump not in seen:
                    seen.add(jump)
                    todo.append(jump)
        return seen
