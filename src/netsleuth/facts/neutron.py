"""Neutron: the agent list the user passes, the qdhcp-/qrouter- namespaces of this host, and the
floating/fixed IP and instance rows of a database dump or API answer the user passes."""

from __future__ import annotations

from dataclasses import dataclass, field

from netsleuth.facts.store import FactStore, Unavailable, provides
from netsleuth.messages import Msg
from netsleuth.parsers.neutron import (
    Agent,
    PlatformRows,
    detect_kind,
    json_rows,
    parse_agent_list,
    parse_sql_dump,
)

# namespace prefix -> the agent that owns it
NS_AGENT = {
    "qdhcp-": "neutron-dhcp-agent",
    "qrouter-": "neutron-l3-agent",
    "snat-": "neutron-l3-agent",
    "fip-": "neutron-l3-agent",
}


@dataclass(frozen=True)
class NeutronAgents:
    agents: list[Agent]
    source: str


@provides(NeutronAgents, reads=("user.input",), host=True)
def _agents(fs: FactStore) -> NeutronAgents:
    inputs = fs.keyed("user.input", host=True)
    for ev in inputs:
        if ev.ok and detect_kind(ev.content()) == "agents":
            return NeutronAgents(parse_agent_list(ev.content()), ev.source)
    raise Unavailable(Msg("no_agent_list"))


@dataclass(frozen=True)
class NeutronNamespaces:
    """qdhcp-/qrouter-/snat-/fip- namespaces of this host, as `ip netns list` shows them."""

    names: list[str]
    lines: dict[str, str]
    source: str

    def owned_by(self, agent: str) -> list[str]:
        return [n for n in self.names if any(n.startswith(p) and a == agent for p, a in NS_AGENT.items())]


@provides(NeutronNamespaces, reads=("ip.netns",), host=True)
def _namespaces(fs: FactStore) -> NeutronNamespaces:
    ev = fs.require("ip.netns", host=True)
    names: list[str] = []
    lines: dict[str, str] = {}
    for line in ev.lines():
        parts = line.split()
        if parts and parts[0].startswith(tuple(NS_AGENT)):
            names.append(parts[0])
            lines[parts[0]] = line.strip()
    return NeutronNamespaces(names, lines, ev.source)


@dataclass
class FloatingIpRows:
    rows: PlatformRows = field(default_factory=PlatformRows)


@provides(FloatingIpRows, reads=("user.input",), host=True)
def _rows(fs: FactStore) -> FloatingIpRows:
    out = PlatformRows()
    kinds: list[str] = []
    for ev in fs.keyed("user.input", host=True):
        if not ev.ok:
            continue
        text = ev.content()
        kind = detect_kind(text)
        kinds.append(kind)
        if kind == "sql":
            tables = parse_sql_dump(text)
            for table, attr in (
                ("floating_ips", "floating_ips"),
                ("fixed_ips", "fixed_ips"),
                ("instances", "instances"),
                ("floatingips", "neutron_fips"),
                ("ports", "ports"),
            ):
                if table in tables:
                    getattr(out, attr).extend(tables[table])
                    out.sources[attr] = ev.source
        elif kind == "floating_ips_json":
            out.neutron_fips += json_rows(text, "floatingips")
            out.sources["neutron_fips"] = ev.source
        elif kind == "servers_json":
            out.servers += json_rows(text, "servers")
            out.sources["servers"] = ev.source
        elif kind == "ports_json":
            out.ports += json_rows(text, "ports")
            out.sources["ports"] = ev.source
    if not (out.floating_ips or out.neutron_fips):
        raise Unavailable(Msg("no_floating_ip_rows"))
    return FloatingIpRows(out)
