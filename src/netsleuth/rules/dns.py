"""Name resolution (seeds 002/003): a VPN client put 127.0.0.1 in front of the real server and
nothing answers there; a firewall in the middle drops UDP 53 while ping to the server works;
`options rotate` spreads lookups over servers that disagree, so ping and nslookup disagree;
resolv.conf rewritten at every boot by dhclient; sshd waiting on reverse lookups."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from netsleuth.evidence.model import Evidence
from netsleuth.facts.dns import Listeners, Resolver, ResolvOwners, SshdDns
from netsleuth.facts.probes import DnsProbes
from netsleuth.messages import Msg
from netsleuth.results.capture import DnsServer as CapturedServer
from netsleuth.results.capture import PcapSummary
from netsleuth.results.probes import DnsProbe, DnsServer, answered
from netsleuth.rules.base import Cmd, Finding, Seen, Severity, Skip, rule


def _line(s: DnsServer) -> str:
    def one(q_proto: str) -> str:
        q = s.udp if q_proto == "udp" else s.tcp
        extra = f" {','.join(q.addresses)}" if q.addresses else (f" ({q.error})" if q.error else "")
        return f"{q_proto}: {q.outcome}{extra}"

    ping = "" if s.ping is None else f"; ping: {'reply' if s.ping else 'no reply'}"
    return f"server {s.server} — {one('udp')}; {one('tcp')}{ping}"


def _probe_seen(ev: Evidence, p: DnsProbe, servers: list[DnsServer]) -> Seen:
    return Seen(f"netsleuth probe dns {p.name} ({ev.source})", "\n".join(_line(s) for s in servers))


def _dead(s: DnsServer) -> bool:
    return not answered(s.udp) and not answered(s.tcp)


@rule(
    "dns.loopback_resolver_dead",
    needs=(Resolver,),
    optional=(DnsProbes, Listeners),
    seed="003",
    severity=Severity.CRITICAL,
)
def loopback_resolver_dead(
    res: Resolver, probes: DnsProbes | None, listeners: Listeners | None
) -> Iterator[Finding]:
    """resolv.conf names a loopback resolver (a VPN client, a local cache) and nothing answers on it."""
    loops = res.conf.loopback()
    if not loops:
        return
    if probes is None and listeners is None:
        raise Skip(Msg("loopback_resolver_unknown"))
    probed = {s.server: (s, ev, p) for p, ev in (probes.items if probes else []) for s in p.servers}
    for addr in loops:
        seen = [Seen(res.evidence.source, res.conf.lines.get(addr, f"nameserver {addr}"))]
        hit = probed.get(addr.split("%")[0])
        if hit is not None:
            s, ev, p = hit
            if not _dead(s):
                continue
            seen.append(_probe_seen(ev, p, [s]))
        elif listeners is not None:
            if listeners.answers("udp", addr, 53) or listeners.answers("tcp", addr, 53):
                continue
            seen.append(Seen(listeners.source, f"no socket listens on {addr} port 53"))
        else:
            continue
        others = [n for n in res.conf.nameservers if n != addr]
        yield Finding(
            Severity.CRITICAL,
            subject=addr,
            params={"server": addr, "others": ", ".join(others) or Msg("none")},
            seen=seen,
            now=[
                Cmd("ss -lunp 'sport = :53'", Msg("c_who_answers")),
                Cmd(f"sed -i '/^nameserver {addr}$/d' /etc/resolv.conf", Msg("c_or_stop_injector")),
            ],
            seed="003",
        )


MIN_DNS_QUERIES = 2  # a retried query: one unanswered at the end of a capture is no fault


def _silent_udp_servers(pcap: PcapSummary) -> Iterator[tuple[CapturedServer, CapturedServer | None]]:
    """Servers queried over UDP (at least twice) that sent no UDP response at all in the capture,
    with their TCP entry when the capture has one."""
    tcp = {s.server: s for s in pcap.dns if s.proto == "tcp"}
    for s in pcap.dns:
        if s.proto != "udp" or s.responses or s.queries < MIN_DNS_QUERIES:
            continue
        try:
            if ipaddress.ip_address(s.server).is_loopback:
                continue  # dns.loopback_resolver_dead's case
        except ValueError:
            continue
        yield s, tcp.get(s.server)


def _capture_lines(s: CapturedServer, t: CapturedServer | None) -> str:
    lines = [f"server {s.server} — udp: {s.queries} queries, {s.responses} responses"]
    if t is not None:
        lines.append(f"server {s.server} — tcp: {t.queries} connections to port 53, {t.responses} answered")
    lines.append(f"other packets from {s.server} (TCP, ICMP, ARP): {s.other_packets}")
    return "\n".join(lines)


@rule(
    "dns.udp53_blocked",
    needs=(),
    optional=(DnsProbes, PcapSummary),
    seed="003",
    severity=Severity.CRITICAL,
)
def udp53_blocked(probes: DnsProbes | None, pcap: PcapSummary | None) -> Iterator[Finding]:
    """A name server that is reachable (ping or TCP 53 answers, or anything else from it in a
    capture) but whose UDP 53 queries time out."""
    if probes is None and pcap is None:
        raise Skip(Msg("no_dns_probe"))
    for p, ev in probes.items if probes else []:
        for s in p.servers:
            if s.loopback or answered(s.udp) or s.udp.outcome != "timeout":
                continue
            if not (answered(s.tcp) or s.ping):
                continue
            yield Finding(
                Severity.CRITICAL,
                subject=s.server,
                params={"server": s.server, "via": Msg("via_tcp" if answered(s.tcp) else "via_icmp")},
                seen=[_probe_seen(ev, p, [s])],
                now=[
                    Cmd(f"dig @{s.server} {p.name} +tcp", Msg("c_tcp_works")),
                    Cmd(
                        "iptables-save | grep -n -- '--dport 53'",
                        Msg("c_every_firewall", {"server": s.server}),
                    ),
                ],
                seed="003",
            )
    for cs, ct in _silent_udp_servers(pcap) if pcap is not None else []:
        assert pcap is not None
        tcp_ok = ct is not None and ct.responses > 0
        if not (tcp_ok or cs.other_packets):
            continue
        yield Finding(
            Severity.CRITICAL,
            subject=cs.server,
            params={
                "server": cs.server,
                "via": Msg("via_tcp_capture" if tcp_ok else "via_other_capture"),
            },
            seen=[Seen(pcap.source, _capture_lines(cs, ct))],
            now=[
                Cmd(f"dig @{cs.server} . NS +tcp", Msg("c_tcp_works")),
                Cmd(
                    "iptables-save | grep -n -- '--dport 53'", Msg("c_every_firewall", {"server": cs.server})
                ),
            ],
            seed="003",
        )


@rule(
    "dns.server_unreachable",
    needs=(),
    optional=(DnsProbes, PcapSummary),
    seed="002/003",
    severity=Severity.CRITICAL,
)
def server_unreachable(probes: DnsProbes | None, pcap: PcapSummary | None) -> Iterator[Finding]:
    """A configured name server answers neither over UDP nor over TCP, nor to ping (or, in a
    capture, sends nothing back at all)."""
    if probes is None and pcap is None:
        raise Skip(Msg("no_dns_probe"))
    for p, ev in probes.items if probes else []:
        for s in p.servers:
            if s.loopback or not _dead(s) or s.ping:
                continue
            yield Finding(
                Severity.CRITICAL,
                subject=s.server,
                params={"server": s.server, "how": Msg("how_probe")},
                seen=[_probe_seen(ev, p, [s])],
                now=[f"ip route get {s.server}", f"ping -c 3 {s.server}"],
                seed="003",
            )
    for cs, ct in _silent_udp_servers(pcap) if pcap is not None else []:
        assert pcap is not None
        if (ct is not None and ct.responses > 0) or cs.other_packets:
            continue
        yield Finding(
            Severity.CRITICAL,
            subject=cs.server,
            params={"server": cs.server, "how": Msg("how_capture", {"queries": cs.queries})},
            seen=[Seen(pcap.source, _capture_lines(cs, ct))],
            now=[f"ip route get {cs.server}", f"ping -c 3 {cs.server}"],
            seed="003",
        )


def _odd_ones(servers: list[DnsServer]) -> list[str]:
    """Servers that all answer but disagree: those whose answer differs from the majority (on a
    tie, from the first server that gives the most common answer, as resolv.conf lists them)."""
    views = [(s.server, (tuple(sorted(s.udp.addresses)), s.udp.outcome)) for s in servers]
    counts: dict[tuple[tuple[str, ...], str], int] = {}
    for _srv, v in views:
        counts[v] = counts.get(v, 0) + 1
    top = max(counts.values())
    reference = next(v for _srv, v in views if counts[v] == top)
    return [srv for srv, v in views if v != reference]


@rule(
    "dns.rotate_inconsistent", needs=(DnsProbes,), optional=(Resolver,), seed="003", severity=Severity.WARNING
)
def rotate_inconsistent(probes: DnsProbes, res: Resolver | None) -> Iterator[Finding]:
    """`options rotate` with servers that disagree or where one fails: lookups fail now and then."""
    for p, ev in probes.items:
        rotate = p.rotate or (res is not None and res.conf.rotate)
        if not rotate or len(p.servers) < 2:
            continue
        views = {s.server: (tuple(s.udp.addresses), s.udp.outcome) for s in p.servers}
        # asked for the root (no name given), any answer, even REFUSED, shows the server works
        refusals = ("servfail", "refused") if p.name != "." else ()
        failing = [s.server for s in p.servers if not answered(s.udp) or s.udp.outcome in refusals]
        distinct = {v for v in views.values()}
        if not failing and len(distinct) < 2:
            continue
        suspects = failing or _odd_ones(p.servers)
        seen = [_probe_seen(ev, p, p.servers)]
        if res is not None:
            seen.insert(
                0,
                Seen(
                    res.evidence.source,
                    "\n".join(
                        ln
                        for ln in res.evidence.content().splitlines()
                        if ln.startswith(("nameserver", "options"))
                    ),
                ),
            )
        yield Finding(
            Severity.WARNING,
            subject=", ".join(suspects),  # the server(s) at fault, not the file that lists them
            params={
                "servers": ", ".join(views),
                "failing": ", ".join(failing) or Msg("none"),
                "suspects": ", ".join(suspects),
                "name": p.name,
            },
            seen=seen,
            now=[Cmd("sed -i 's/\\brotate\\b//' /etc/resolv.conf", Msg("c_or_remove_server"))],
            persist=[Msg("do_remove_rotate")],
            seed="003",
        )


@rule("dns.resolv_overwritten", needs=(ResolvOwners,), seed="003", severity=Severity.INFO)
def resolv_overwritten(owners: ResolvOwners) -> Iterator[Finding]:
    """resolv.conf is regenerated (dhclient/NetworkManager, PEERDNS): a hand edit will not last."""
    if not owners.rewritten:
        return
    ifcfg = next((m.source.rsplit("/", 1)[-1] for m in owners.markers if m.what == "peerdns"), "ifcfg-eth0")
    yield Finding(
        Severity.INFO,
        subject="/etc/resolv.conf",
        params={"by": Msg("by_" + "_".join(sorted({m.what for m in owners.markers})))},
        seen=[Seen(m.source, m.line) for m in owners.markers],
        persist=[
            Cmd(f"echo 'PEERDNS=no' >> /etc/sysconfig/network-scripts/{ifcfg}", Msg("c_rhel_dhclient")),
            Cmd(
                "printf '[main]\\ndns=none\\n' > /etc/NetworkManager/conf.d/90-dns-none.conf",
                Msg("c_networkmanager"),
            ),
            Cmd(
                "echo 'supersede domain-name-servers 10.0.0.2;' >> /etc/dhcp/dhclient.conf",
                Msg("c_keep_servers"),
            ),
        ],
        seed="003",
    )


@rule(
    "dns.slow_reverse_lookup",
    needs=(SshdDns,),
    optional=(DnsProbes, Resolver, Listeners),
    seed="002",
    severity=Severity.INFO,
    scope="host",
)
def slow_reverse_lookup(
    sshd: SshdDns, probes: DnsProbes | None, res: Resolver | None, listeners: Listeners | None
) -> Iterator[Finding]:
    """sshd `UseDNS yes` while the first resolver fails: every ssh login waits for a reverse lookup."""
    if not sshd.use_dns:
        return
    failing: list[str] = []
    seen = [Seen(sshd.evidence.source, sshd.line or "UseDNS yes")]
    if probes is not None:
        for p, ev in probes.items:
            bad = [s for s in p.servers if not answered(s.udp)]
            if bad:
                failing += [s.server for s in bad]
                seen.append(_probe_seen(ev, p, bad))
    elif res is not None and listeners is not None:
        for addr in res.conf.loopback():
            if not listeners.answers("udp", addr, 53):
                failing.append(addr)
                seen.append(Seen(listeners.source, f"no socket listens on {addr} port 53"))
    else:
        raise Skip(Msg("usedns_unknown"))
    if not failing:
        return
    yield Finding(
        Severity.INFO,
        subject="sshd",
        params={"servers": ", ".join(failing)},
        seen=seen,
        now=["sed -i 's/^#\\?UseDNS.*/UseDNS no/' /etc/ssh/sshd_config && systemctl reload sshd"],
        persist=[Msg("do_usedns_no")],
        seed="002",
    )
