"""DHCP (seeds 000/002): instances that never get an address because DISCOVERs get no OFFER
(dnsmasq down, UDP 67/68 dropped on the way), a pool with no address left, and clients that give
up renewing while a restarted DHCP agent is still rebuilding its qdhcp- namespaces."""

from __future__ import annotations

from collections.abc import Iterator

from netsleuth.facts.dhcp import RECENT_S, Dhclient, DhcpLog, QdhcpNamespaces
from netsleuth.facts.probes import DhcpProbes
from netsleuth.messages import Msg
from netsleuth.parsers.dhclient import DEFAULT_TIMEOUT
from netsleuth.results.capture import DhcpDiscover, PcapSummary
from netsleuth.rules.base import Cmd, Finding, Seen, Severity, Skip, rule

MIN_DISCOVERS = 3  # a client retries; one unanswered DISCOVER in a log is no fault
RECOMMENDED_TIMEOUT = 300  # seed 000: `timeout 300;`
MIN_CAPTURED_DISCOVERS = 2  # a client retries; one DISCOVER at the end of a capture is no fault


def _recent(age: float | None) -> bool:
    return age is None or age <= RECENT_S


@rule(
    "dhcp.no_offer",
    needs=(),
    optional=(DhcpProbes, DhcpLog, PcapSummary),
    seed="002",
    severity=Severity.CRITICAL,
    scope="host",
)
def no_offer(probes: DhcpProbes | None, log: DhcpLog | None, pcap: PcapSummary | None) -> Iterator[Finding]:
    """DISCOVERs get no OFFER: the DHCP server is down or the path drops UDP 67/68."""
    if probes is None and log is None and pcap is None:
        raise Skip(Msg("no_dhcp_evidence"))
    if pcap is not None:
        yield from _no_offer_pcap(pcap)
    for p, ev in probes.items if probes else []:
        if p.offers:
            continue
        yield Finding(
            Severity.CRITICAL,
            subject=p.iface,
            params={
                "iface": p.iface,
                "count": p.discovers,
                "wait": f"{p.wait_s:g}",
                "where": Msg("where_probe"),
            },
            seen=[
                Seen(
                    f"netsleuth probe dhcp {p.iface} ({ev.source})",
                    f"{p.discovers} DHCPDISCOVER from {p.client_mac} on {p.iface}, no DHCPOFFER in {p.wait_s:g} s",
                )
            ],
            now=[
                Cmd(f"tcpdump -ni {p.iface} -e 'udp port 67 or udp port 68'", Msg("c_discover_leaves")),
                Cmd("ps aux | grep [d]nsmasq", Msg("c_server_running")),
                "iptables-save | grep -E -- '--dport (67|68)'",
            ],
            seed="002",
        )
    for mac, h in sorted((log.macs if log else {}).items()):
        if h.offers or h.no_address or h.discovers < MIN_DISCOVERS or not _recent(h.newest_age_s):
            continue
        yield Finding(
            Severity.CRITICAL,
            subject=mac,
            params={
                "iface": h.iface,
                "count": h.discovers,
                "wait": "",
                "where": Msg("where_log"),
                "mac": mac,
            },
            seen=[Seen(h.source, h.last_discover)],
            now=[f"tcpdump -ni {h.iface} -e 'udp port 67 or udp port 68'", "ps aux | grep [d]nsmasq"],
            seed="002",
        )


def _no_offer_pcap(pcap: PcapSummary) -> Iterator[Finding]:
    """Clients whose DISCOVERs (retried: at least two) got no OFFER at all in the capture."""
    offered = {o.client_mac for o in pcap.dhcp.offers}
    per_mac: dict[str, list[DhcpDiscover]] = {}
    for d in pcap.dhcp.discover_without_offer:
        if d.client_mac not in offered:
            per_mac.setdefault(d.client_mac, []).append(d)
    for mac, ds in sorted(per_mac.items()):
        count = sum(d.count for d in ds)
        if count < MIN_CAPTURED_DISCOVERS:
            continue
        yield Finding(
            Severity.CRITICAL,
            subject=mac,
            params={
                "iface": pcap.file,
                "count": count,
                "wait": "",
                "where": Msg("where_capture"),
                "mac": mac,
            },
            seen=[
                Seen(
                    pcap.source,
                    "\n".join(f"{d.count} DHCPDISCOVER from {mac} (xid 0x{d.xid}), no DHCPOFFER" for d in ds),
                )
            ],
            now=[
                Cmd("tcpdump -ni IFACE -e 'udp port 67 or udp port 68'", Msg("c_discover_arrives")),
                Cmd("ps aux | grep [d]nsmasq", Msg("c_server_running")),
                "iptables-save | grep -E -- '--dport (67|68)'",
            ],
            seed="002",
        )


@rule("dhcp.pool_exhausted", needs=(DhcpLog,), seed="002", severity=Severity.CRITICAL, scope="host")
def pool_exhausted(log: DhcpLog) -> Iterator[Finding]:
    """dnsmasq says `no address available`: the range is used up (or has no free fixed address)."""
    hits = [h for h in log.macs.values() if h.no_address]
    by_iface: dict[str, list[str]] = {}
    for h in hits:
        by_iface.setdefault(h.iface, []).append(h.mac)
    for iface, macs in sorted(by_iface.items()):
        sample = [h for h in hits if h.iface == iface]
        recent = any(_recent(h.newest_age_s) for h in sample)
        yield Finding(
            Severity.CRITICAL if recent else Severity.INFO,
            subject=iface,
            params={
                "iface": iface,
                "macs": ", ".join(sorted(macs)),
                "count": sum(h.no_address for h in sample),
            },
            seen=[Seen(sample[0].source, "\n".join(h.last_no_address for h in sample[:5]))],
            now=[
                Cmd("ps aux | grep [d]nsmasq", Msg("c_read_range")),
                Cmd("cat /var/lib/neutron/dhcp/*/leases | wc -l", Msg("c_leases_held")),
            ],
            seed="002",
        )


@rule(
    "dhcp.renew_timeout_short",
    needs=(Dhclient,),
    optional=(QdhcpNamespaces,),
    seed="000",
    severity=Severity.WARNING,
    scope="host",
)
def renew_timeout_short(dh: Dhclient, qdhcp: QdhcpNamespaces | None) -> Iterator[Finding]:
    """dhclient gives up before a restarted DHCP agent is back (minutes with many qdhcp namespaces)."""
    timeout = dh.conf.effective_timeout
    if timeout >= RECOMMENDED_TIMEOUT:
        return
    count = len(qdhcp.names) if qdhcp else 0
    explicit = dh.conf.timeout is not None
    if not explicit and count == 0:
        return  # the distribution default on a host that serves no DHCP: nothing says it matters here
    seen = [
        Seen(
            dh.evidence.source,
            dh.conf.timeout_line or f"(no `timeout` statement: dhclient default {DEFAULT_TIMEOUT} s)",
        )
    ]
    if qdhcp is not None and count:
        seen.append(Seen(qdhcp.evidence.source, f"{count} qdhcp- namespaces: " + " ".join(qdhcp.names[:5])))
    yield Finding(
        Severity.WARNING,
        subject=dh.evidence.source,
        params={"timeout": timeout, "qdhcp": count, "recommended": RECOMMENDED_TIMEOUT},
        seen=seen,
        persist=[
            Cmd(
                f"sed -i '/^timeout /d' {dh.evidence.source} && echo 'timeout {RECOMMENDED_TIMEOUT};' >> {dh.evidence.source}",
                Msg("c_images_too"),
            )
        ],
        seed="000",
    )
