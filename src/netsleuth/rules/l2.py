"""Layer 2 and overlays (seed 003): two hosts answering ARP for one address (10.100.10.201 seen
with 00:18:51:38:b1:cd and 8c:dc:d4:b3:af:14), VXLAN peers that ping each other but whose UDP 4789
is dropped on the way, and ARP that leaves tagged with a VLAN the switch port does not carry."""

from __future__ import annotations

from collections.abc import Iterator

from netsleuth.facts.probes import ArpProbes, EchoProbes
from netsleuth.facts.vlan import VlanPorts
from netsleuth.messages import Msg
from netsleuth.results.capture import PcapSummary, TraceResult
from netsleuth.rules.base import Cmd, Finding, Seen, Severity, Skip, rule
from netsleuth.rules.capture import trace_table, vlan_loss

VXLAN_PORTS = {4789, 8472}  # IANA, and the Linux kernel's historical default
MIN_VLAN_REQUESTS = 2  # a retried request: one unanswered at the end of a capture is no fault


@rule("arp.duplicate_ip", needs=(), optional=(ArpProbes, PcapSummary), seed="003", severity=Severity.CRITICAL)
def duplicate_ip(probes: ArpProbes | None, pcap: PcapSummary | None) -> Iterator[Finding]:
    """Two MAC addresses answer ARP for one IP (or someone else answers for our own address)."""
    if probes is None and pcap is None:
        raise Skip(Msg("no_arp_probe"))
    for p, ev in probes.items if probes else []:
        if len(p.macs) < 2 and not (p.own and p.macs):
            continue
        what = "our own address" if p.own else p.target
        yield Finding(
            Severity.CRITICAL,
            subject=p.target,
            params={
                "ip": p.target,
                "macs": ", ".join(p.macs),
                "iface": p.iface,
                "own": Msg("own_yes" if p.own else "own_no"),
            },
            seen=[
                Seen(
                    f"netsleuth probe arp {p.target} --iface {p.iface} ({ev.source})",
                    f"{p.requests} ARP requests for {what} {p.target}; answered by:\n"
                    + "\n".join(f"{mac} {p.target}" for mac in p.macs),
                )
            ],
            now=[
                Cmd(f"arping -D -I {p.iface} -c 3 {p.target}", Msg("c_dad_by_hand")),
                Msg("do_find_holder"),
            ],
            seed="003",
        )
    for d in pcap.arp.duplicates if pcap is not None else []:
        assert pcap is not None
        if len(d.macs) < 2:
            continue
        yield Finding(
            Severity.CRITICAL,
            subject=d.ip,
            params={
                "ip": d.ip,
                "macs": ", ".join(d.macs),
                "iface": Msg("iface_capture", {"file": pcap.file}),
                "own": Msg("own_no"),
            },
            seen=[
                Seen(
                    pcap.source,
                    f"ARP replies or announcements for {d.ip} from {len(d.macs)} MAC addresses:\n"
                    + "\n".join(f"{mac} {d.ip}" for mac in d.macs),
                )
            ],
            now=[
                Cmd(f"arping -c 3 {d.ip}", Msg("c_more_than_one_mac")),
                Msg("do_find_holder"),
            ],
            seed="003",
        )


@rule("vxlan.udp_blocked", needs=(EchoProbes,), seed="003", severity=Severity.CRITICAL)
def udp_blocked(probes: EchoProbes) -> Iterator[Finding]:
    """VXLAN peers reach each other by ICMP, but UDP 4789 (the tunnel) does not pass."""
    for p, ev in probes.items:
        if p.overlay_target:  # diagnose --peer through a VXLAN device: underlay vs overlay
            if not (p.icmp_ok and p.overlay_ok is False):
                continue
            excerpt = (
                f"underlay: ping {p.target} answers\n"
                f"overlay: ping {p.overlay_target} through {p.device} (UDP {p.port} to {p.target}): no reply"
            )
        else:  # the token echo toward a listener on the VXLAN port
            if p.proto != "udp" or p.port not in VXLAN_PORTS or p.answered or not p.icmp_ok:
                continue
            excerpt = (
                f"ping {p.target}: answers\n"
                f"{p.sent} authenticated UDP requests to {p.target}:{p.port}: {p.answered} replies"
                + (f" ({p.error})" if p.error else "")
            )
        yield Finding(
            Severity.CRITICAL,
            subject=p.target,
            params={"remote": p.target, "port": p.port, "device": p.device or "vxlan"},
            seen=[Seen(f"netsleuth probe ({ev.source})", excerpt)],
            now=[
                Cmd(f"netsleuth listen udp {p.port} --token T", Msg("c_on_peer", {"peer": p.target})),
                Cmd(f"netsleuth probe udp {p.target}:{p.port} --token T", Msg("c_here_then_back")),
                Cmd(f"iptables-save | grep -n {p.port}", Msg("c_both_hosts")),
            ],
            seed="003",
        )


def _vlan_probe(probes: ArpProbes) -> Iterator[Finding]:
    for p, ev in probes.items:
        if p.vlan is None or p.macs:
            continue
        yield Finding(
            Severity.CRITICAL,
            subject=f"vlan {p.vlan} on {p.iface}",
            params={"vlan": p.vlan, "target": p.target, "iface": p.iface, "where": Msg("where_probe")},
            seen=[
                Seen(
                    f"netsleuth probe arp {p.target} --vlan {p.vlan} ({ev.source})",
                    f"{p.requests} ARP requests for {p.target} tagged {p.vlan} left {p.iface}; no reply",
                )
            ],
            now=[
                Cmd(f"tcpdump -eni {p.iface} vlan {p.vlan} and arp", Msg("c_leaves_tagged")),
                Msg("do_ask_port", {"port": p.iface, "vlan": p.vlan}),
            ],
            seed="003",
        )


def _vlan_pcap(pcap: PcapSummary) -> Iterator[Finding]:
    name = pcap.file.rsplit("/", 1)[-1]
    for t in pcap.vlan.per_tag:
        if t.requests < MIN_VLAN_REQUESTS or t.replies:
            continue
        untagged = (
            f"\n{pcap.vlan.untagged_replies} replies came back untagged (the far side is not in VLAN {t.tag})"
            if pcap.vlan.untagged_replies
            else ""
        )
        yield Finding(
            Severity.CRITICAL,
            subject=f"vlan {t.tag} on {name}",
            params={"vlan": t.tag, "target": Msg("target_its"), "iface": name, "where": Msg("where_capture")},
            seen=[
                Seen(
                    pcap.source,
                    f"{t.requests} ARP/ICMP echo requests tagged {t.tag}, 0 replies tagged {t.tag}{untagged}",
                )
            ],
            now=[
                Cmd(f"tcpdump -eni IFACE vlan {t.tag} and arp", Msg("c_capture_link")),
                Msg("do_ask_switch", {"vlan": t.tag}),
            ],
            seed="003",
        )


def _vlan_passive(vp: VlanPorts) -> Iterator[Finding]:
    """OVS access ports and VLAN sub-interfaces: requests go into VLAN N, nothing comes back.

    The host's own interface in the VLAN (an OVS internal port, eth0.N): its neighbour entries
    are INCOMPLETE/FAILED and none resolved, and it sent in the interval (or ever). A port toward a
    VM: between the two samples the VM sent (rx rose) and nothing was delivered back to it (tx
    flat), while a trunk of the bridge that carries N transmitted (the requests left)."""
    interval = vp.links.interval_s
    for port in vp.ports:
        c = port.counters
        seen: list[Seen] = []
        targets: list[str] = []
        if port.own:
            neigh = vp.neighbours.on(port.name) if vp.neighbours else []
            failed = [n for n in neigh if n.failed]
            if not failed or any(n.resolved for n in neigh) or c is None:
                continue
            sent = port.sent if port.sent is not None else c.tx
            if not sent:
                continue
            targets = [n.dst for n in failed]
            assert vp.neighbours is not None
            seen.append(Seen(vp.neighbours.evidence.source, "\n".join(n.line for n in failed)))
        else:
            if not port.sent or port.came_back != 0:
                continue
            left = [(u, uc) for u, uc in port.uplinks if uc is not None and uc.tx_delta]
            if not left:
                continue
            targets = []
        if c is not None:
            seen.append(Seen(vp.links.source(), f"{port.name}: {c.describe(interval)}"))
        for u, uc in port.uplinks:
            if uc is not None:
                seen.append(
                    Seen(vp.links.source(), f"{u} (carries vlan {port.vlan}): {uc.describe(interval)}")
                )
        tag_line = (
            f"Port {port.name}: tag {port.vlan} (bridge {port.bridge})"
            if port.source.startswith("ovs")
            else f"{port.name}: vlan id {port.vlan} on {port.bridge}"
        )
        seen.insert(0, Seen(port.source, tag_line))
        via = ", ".join(u for u, _ in port.uplinks) or port.bridge or "?"
        yield Finding(
            Severity.CRITICAL,
            subject=f"vlan {port.vlan} on {port.name}",
            params={
                "vlan": port.vlan,
                "target": ", ".join(targets) or Msg("target_vm", {"port": port.name}),
                "iface": Msg("iface_via", {"name": port.name, "via": via}),
                "where": Msg("where_neighbours" if port.own else "where_counters"),
            },
            seen=seen,
            now=[
                Cmd(
                    f"tcpdump -eni {via.split(',')[0]} vlan {port.vlan}",
                    Msg("c_leave_tagged_n", {"vlan": port.vlan}),
                ),
                Msg("do_ask_port", {"port": via, "vlan": port.vlan}),
            ],
            seed="003",
        )


def _vlan_trace(trace: TraceResult) -> Iterator[Finding]:
    """A traced probe, or the ARP / neighbour solicitation it waited for, left tagged and nothing
    came back: the VLAN and the port where it first carried the tag (seed 003's bond0)."""
    loss = trace.loss()
    if loss is None or not vlan_loss(loss):
        return
    vlan = ".".join(str(t) for t in loss.vlan)
    port = loss.tagged_at or loss.after
    target = loss.target or trace.dest
    what = {"arp": "ARP requests", "nd": "neighbour solicitations"}.get(loss.what, f"{trace.proto} probe")
    where = f"lost between {loss.after} and {loss.before}" if loss.before else f"last seen at {loss.after}"
    iface = port.rpartition(":")[2]
    yield Finding(
        Severity.CRITICAL,
        subject=f"vlan {vlan} on {port}",
        params={
            "vlan": vlan,
            "target": target,
            "iface": Msg("iface_trace", {"port": port, "last": loss.before or loss.after}),
            "where": Msg("where_trace"),
        },
        seen=[
            Seen(
                trace.source or f"netsleuth trace {trace.dest}",
                f"{what} for {target} left {port} tagged {vlan}, {where}; no reply came back\n"
                + trace_table(trace),
            )
        ],
        now=[
            Cmd(f"tcpdump -eni {iface} vlan {loss.vlan[-1]}", Msg("c_leave_tagged_n", {"vlan": vlan})),
            Msg("do_ask_port", {"port": iface, "vlan": vlan}),
        ],
        seed="003",
    )


@rule(
    "vlan.no_reply",
    needs=(),
    optional=(ArpProbes, PcapSummary, VlanPorts, TraceResult),
    seed="003",
    severity=Severity.CRITICAL,
)
def vlan_no_reply(
    probes: ArpProbes | None,
    pcap: PcapSummary | None,
    vp: VlanPorts | None,
    trace: TraceResult | None,
) -> Iterator[Finding]:
    """Requests leave tagged with VLAN N and nothing comes back tagged N: the switch port does not
    carry that VLAN (ARP probe per VLAN, a capture, a trace, or OVS access ports with
    neighbours/counters)."""
    tagged = probes is not None and any(p.vlan is not None for p, _ in probes.items)
    if not tagged and pcap is None and vp is None and trace is None:
        raise Skip(Msg("no_vlan_evidence"))
    if probes is not None:
        yield from _vlan_probe(probes)
    if pcap is not None:
        yield from _vlan_pcap(pcap)
    if vp is not None:
        yield from _vlan_passive(vp)
    if trace is not None:
        yield from _vlan_trace(trace)
