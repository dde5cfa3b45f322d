"""The firewall of one namespace (iptables and nftables together) and the services listening in it."""

from __future__ import annotations

from dataclasses import dataclass

from netsleuth.evidence.model import Evidence
from netsleuth.facts.dns import listening_sockets
from netsleuth.facts.store import FactStore, Unavailable, provides
from netsleuth.messages import Msg
from netsleuth.parsers.fwrule import FwRule, Ruleset
from netsleuth.parsers.iptables import parse_iptables_list, parse_iptables_save
from netsleuth.parsers.nft import parse_nft
from netsleuth.parsers.sockets import Listener

# tables iptables-nft keeps in nftables: already read through iptables-save, not read twice
_IPT_NFT_TABLES = {
    f"{fam} {t}" for fam in ("ip", "ip6") for t in ("filter", "nat", "mangle", "raw", "security")
}


@dataclass(frozen=True)
class Firewall:
    """Every rule of the namespace, each with the source it was read from."""

    rules: list[tuple[FwRule, str]]  # (rule, source)
    rulesets: list[tuple[Ruleset, str]]
    netns: str = ""

    def blocking(self, proto: str, port: int) -> list[tuple[FwRule, str, str]]:
        """Rules that drop/reject every `proto` packet to `port` (whoever sends it), in a chain such
        packets reach, not shadowed by an earlier ACCEPT of that port; also a DROP policy that
        nothing opens. Returns (rule, source, how)."""
        found: list[tuple[FwRule, str, str]] = []
        for rs, src in self.rulesets:
            live = rs.reachable()
            opened: set[tuple[str, str]] = set()
            for r in rs.rules:
                key = (r.table, r.chain)
                if key not in live or not r.covers(proto, port):
                    continue
                if r.target == "ACCEPT" and not any("state" in c or c == "ct" for c in r.conditions):
                    if r.unconditional and not r.in_iface:
                        opened.add(key)
                    opened.add((r.table, "*any"))
                    continue
                if r.blocks and r.unconditional and r.dports and key not in opened:
                    found.append((r, src, "rule"))
            for (table, chain), hook in rs.hooks.items():
                policy = rs.policies.get((table, chain), "")
                if hook == "input" and policy == "DROP" and (table, "*any") not in opened:
                    line = f"{table} chain {chain}: policy DROP, no rule accepts {proto} port {port}"
                    pol = FwRule(table, chain, "DROP", proto, ((port, port),), (), "", line)
                    found.append((pol, src, "policy"))
        return found


def _ruleset(ev: Evidence) -> Ruleset:
    text = ev.content()
    if ev.name == "iptables.list":
        return parse_iptables_list(text)
    return parse_iptables_save(text)


@provides(Firewall, reads=("iptables.save", "iptables.list", "nft.ruleset"))
def _firewall(fs: FactStore) -> Firewall:
    sets: list[tuple[Ruleset, str]] = []
    reasons: list[Msg] = []
    ipt_backend_nft = False
    for name in ("iptables.save", "iptables.list"):
        ev = fs.evidence(name)
        if ev is not None and ev.ok and ev.content().strip():
            sets.append((_ruleset(ev), ev.source))
            ipt_backend_nft = "nf_tables" in ev.content()[:300]
            break
        reasons.append(Msg(ev.status.value, {"name": name}) if ev else Msg("not_collected", {"name": name}))
    nft = fs.evidence("nft.ruleset")
    if nft is not None and nft.ok and nft.content().strip():
        rs = parse_nft(nft.content())
        if sets or ipt_backend_nft:  # ip/ip6 filter, nat... are iptables-nft's tables: read once
            rs.rules = [r for r in rs.rules if r.table not in _IPT_NFT_TABLES]
            rs.hooks = {k: v for k, v in rs.hooks.items() if k[0] not in _IPT_NFT_TABLES}
        sets.append((rs, nft.source))
    else:
        name = "nft.ruleset"
        reasons.append(Msg(nft.status.value, {"name": name}) if nft else Msg("not_collected", {"name": name}))
    if not sets:
        raise Unavailable(Msg("no_firewall", {"why": reasons}))
    return Firewall([(r, src) for rs, src in sets for r in rs.rules], sets, fs.netns)


@dataclass(frozen=True)
class Listening:
    listeners: list[Listener]
    source: str

    def on(self, proto: str, port: int) -> list[Listener]:
        """Sockets serving `proto`/`port` to other hosts (not only on loopback)."""
        return [
            x
            for x in self.listeners
            if x.proto == proto and x.port == port and not x.address.startswith(("127.", "::1"))
        ]


@provides(Listening, reads=("sockets.listen", "proc.net_sockets"))
def _listening(fs: FactStore) -> Listening:
    return Listening(*listening_sockets(fs))
