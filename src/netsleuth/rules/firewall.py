"""Firewall (seeds 002/003): the host runs a service — dnsmasq answering DHCP and DNS, a VXLAN
tunnel endpoint, sshd — and its own iptables/nftables rules throw that service's packets away:
instances get no address, lookups time out, the overlay is silent, ssh hangs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from netsleuth.evidence.model import HOST
from netsleuth.facts.firewall import Firewall, Listening
from netsleuth.facts.host import HostInfo, Processes
from netsleuth.facts.network import Links
from netsleuth.facts.ovs import OvsState
from netsleuth.messages import Msg
from netsleuth.parsers.fwrule import FwRule
from netsleuth.rules.base import Cmd, Finding, RemedyLine, Seen, Severity, Skip, rule


@dataclass(frozen=True)
class Service:
    name: str  # DHCP, DNS, VXLAN, SSH
    proto: str
    port: int
    why: Seen  # the evidence that the host runs it


def _services(
    ns: str, listening: Listening | None, procs: Processes | None, links: Links | None, ovs: OvsState | None
) -> list[Service]:
    out: list[Service] = []
    for name, proto, port in (
        ("DHCP", "udp", 67),
        ("DNS", "udp", 53),
        ("DNS", "tcp", 53),
        ("SSH", "tcp", 22),
    ):
        socks = listening.on(proto, port) if listening is not None else []
        if socks:
            out.append(Service(name, proto, port, Seen(listening.source if listening else "", socks[0].line)))
    if listening is None and procs is not None and ns == HOST:
        for name, proto, port, prog, needle in (
            ("DHCP", "udp", 67, "dnsmasq", "--dhcp-range"),
            ("DNS", "udp", 53, "dnsmasq", ""),
            ("SSH", "tcp", 22, "sshd", ""),
        ):
            hits = [p for p in procs.named(prog) if needle in p.command]
            if hits:
                out.append(Service(name, proto, port, Seen("ps", f"{hits[0].pid} {hits[0].command}"[:240])))
    ports: dict[int, Seen] = {}
    if links is not None:
        for lnk in links.links:
            if lnk.vxlan is not None and lnk.admin_up:
                ports.setdefault(
                    lnk.vxlan.port,
                    Seen(links.source(), f"{lnk.name}: vxlan id {lnk.vxlan.vni} dstport {lnk.vxlan.port}"),
                )
    if ovs is not None and ns == HOST:
        for row in ovs.interfaces:
            if str(row.get("type", "")) == "vxlan":
                opts = row.get("options")
                port = 4789
                if isinstance(opts, dict) and str(opts.get("dst_port", "")).isdigit():
                    port = int(str(opts["dst_port"]))
                ports.setdefault(
                    port, Seen("ovs-vsctl list Interface", f"{row.get('name')}: type vxlan options {opts}")
                )
    out += [Service("VXLAN", "udp", p, seen) for p, seen in sorted(ports.items())]
    return out


def _counters(r: FwRule) -> Msg:
    if r.packets is None:
        return Msg("counters_none")
    return Msg("counters", {"packets": r.packets, "bytes": r.bytes})


def _remove(r: FwRule, how: str, svc: Service, ns: str) -> list[RemedyLine]:
    pre = f"ip netns exec {ns} " if ns else ""
    if how == "policy":
        if r.table.startswith(("inet ", "ip ", "ip6 ", "bridge ", "arp ", "netdev ")):
            fam, tbl = r.table.split()
            return [f"{pre}nft insert rule {fam} {tbl} {r.chain} {svc.proto} dport {svc.port} accept"]
        return [f"{pre}iptables -t {r.table} -I {r.chain} 1 -p {svc.proto} --dport {svc.port} -j ACCEPT"]
    if " " in r.table:  # nftables: "inet filter"
        m = re.search(r"handle (\d+)", r.line)
        if m:
            return [f"{pre}nft delete rule {r.table} {r.chain} handle {m.group(1)}"]
        return [
            Cmd(f"{pre}nft -a list chain {r.table} {r.chain}", Msg("c_find_handle")),
            f"{pre}nft delete rule {r.table} {r.chain} handle <handle>",
        ]
    if r.line.startswith("-A "):
        return [f"{pre}iptables -t {r.table} " + re.sub(r"^-A ", "-D ", r.line)]
    return [
        Cmd(f"{pre}iptables -t {r.table} -L {r.chain} -n --line-numbers", Msg("c_find_number")),
        f"{pre}iptables -t {r.table} -D {r.chain} <number>",
    ]


def _persist(r: FwRule, host: HostInfo | None) -> list[RemedyLine]:
    family = host.os_family if host else ""
    if " " in r.table:
        conf = "/etc/sysconfig/nftables.conf" if family == "rhel" else "/etc/nftables.conf"
        return [Msg("do_remove_from_conf", {"conf": conf})]
    if family == "rhel":
        return [
            "firewalld: firewall-cmd --permanent --add-port=... ; firewall-cmd --reload",
            Cmd("iptables-services: service iptables save", Msg("c_writes_sysconfig")),
        ]
    if family == "debian":
        return [Cmd("iptables-save > /etc/iptables/rules.v4", Msg("c_persistent_pkg"))]
    return [Msg("do_save_rules")]


@rule(
    "firewall.drops_service",
    needs=(Firewall,),
    optional=(Listening, Processes, Links, OvsState, HostInfo),
    seed="002/003",
    severity=Severity.WARNING,
)
def drops_service(
    fw: Firewall,
    listening: Listening | None,
    procs: Processes | None,
    links: Links | None,
    ovs: OvsState | None,
    host: HostInfo | None,
) -> Iterator[Finding]:
    """A firewall rule drops or rejects the packets of a service this host runs (DHCP, DNS, VXLAN, SSH)."""
    ns = fw.netns
    if listening is None and procs is None and links is None and ovs is None:
        raise Skip(Msg("needs_what_runs"))
    for svc in _services(ns, listening, procs, links, ovs):
        for r, src, how in fw.blocking(svc.proto, svc.port):
            action = "REJECT" if r.target == "REJECT" else "DROP"
            yield Finding(
                Severity.WARNING,
                subject=f"{svc.proto}/{svc.port} ({svc.name})",
                params={
                    "service": svc.name,
                    "proto": svc.proto,
                    "port": svc.port,
                    "action": action if how == "rule" else Msg("action_policy"),
                    "table": r.table,
                    "chain": r.chain,
                    "counters": _counters(r),
                    "rule_line": r.line,
                },
                seen=[Seen(src, r.line), svc.why],
                now=_remove(r, how, svc, ns),
                persist=_persist(r, host),
                seed="003" if svc.name in ("VXLAN", "DNS") else "002",
            )
