"""What captures show: a NIC driver that pads frames (seed 004: 1519-byte frames with a 2-byte
"vssmonitoring" trailer on a 1500 MTU, dropped by qvo), the hop where a traced probe disappears
(seeds 002/003: seen leaving but no reply coming back is outside this host; not seen leaving is this
host), and TCP that keeps retransmitting (seed 003: pca to its database over a 1350-byte uplink)."""

from __future__ import annotations

from collections.abc import Iterator

from netsleuth.facts.nic import Drivers
from netsleuth.facts.probes import MtuProbes
from netsleuth.messages import Msg
from netsleuth.results.capture import Loss, Outer, PcapSummary, Sighting, TraceResult
from netsleuth.rules.base import Cmd, Finding, RemedyLine, Seen, Severity, Skip, rule

TRAILER_MAX = 8  # a driver pads a few bytes; more than this over MTU+header is offload (TSO/GRO)
FCS_BYTES = 4  # a capture that keeps the FCS shows 4 extra bytes on every frame: not a trailer
RETRANS_MIN = 3
RETRANS_SHARE = 0.01
RESETS_MIN = 20
ZERO_WINDOWS_MIN = 10


def _trailer_lines(pcap: PcapSummary) -> tuple[list[str], set[str]]:
    lines: list[str] = []
    macs: set[str] = set()
    for t in pcap.trailer_frames:
        if t.trailer_bytes == FCS_BYTES and not any(
            o.src_mac == t.src_mac and o.len == t.len for o in pcap.oversize_frames
        ):
            continue
        if t.trailer_bytes > TRAILER_MAX:
            continue
        lines.append(
            f"{t.count} frame(s) from {t.src_mac}: {t.len} bytes, IP datagram {t.ip_total_len} bytes, "
            f"{t.trailer_bytes}-byte Ethernet trailer"
        )
        macs.add(t.src_mac)
    for o in pcap.oversize_frames:
        if 0 < o.len - o.max_expected <= TRAILER_MAX:
            lines.append(
                f"{o.count} frame(s) {o.src_mac} > {o.dst_mac}: {o.len} bytes, more than "
                f"{o.max_expected} (MTU {pcap.link_mtu} + header)"
            )
            macs.add(o.src_mac)
    return lines, macs


def _joined(items: list[Msg]) -> Msg | None:
    """Several worded items as one, separated as the report's language separates them."""
    out: Msg | None = None
    for item in reversed(items):
        out = item if out is None else Msg("items_more", {"first": item, "rest": out})
    return out


@rule(
    "nic.driver_trailer",
    needs=(),
    optional=(PcapSummary, MtuProbes, Drivers),
    seed="004",
    severity=Severity.WARNING,
    scope="host",
)
def driver_trailer(
    pcap: PcapSummary | None, mtu: MtuProbes | None, drivers: Drivers | None
) -> Iterator[Finding]:
    """A NIC driver pads frames: a few bytes of trailer push full-size frames past MTU + header."""
    if pcap is None and mtu is None and drivers is None:
        raise Skip(Msg("needs_offload_evidence"))
    seen: list[Seen] = []
    evidence_of_padding: list[Msg] = []
    if pcap is not None:
        lines, macs = _trailer_lines(pcap)
        if lines:
            seen.append(Seen(pcap.source or f"capture {pcap.file}", "\n".join(lines)))
            evidence_of_padding.append(
                Msg("padded_capture", {"file": pcap.file, "macs": ", ".join(sorted(macs))})
            )
    if mtu is not None:
        for probe, ev in mtu.items:
            conf, ok = probe.configured_mtu, probe.largest_ok_mtu
            if conf and ok and 1 <= conf - ok <= 4 and probe.icmp_frag_needed is None:
                seen.append(
                    Seen(
                        ev.source or "probe.mtu",
                        f"to {probe.target} via {probe.iface}: MTU {conf} configured, largest packet "
                        f"that passes {ok}, no ICMP fragmentation-needed",
                    )
                )
                evidence_of_padding.append(Msg("padded_path", {"target": probe.target, "short": conf - ok}))
    usb = [(nic, i, drivers.evidence[nic]) for nic, i in drivers.info.items() if i.on_usb] if drivers else []
    for nic, _i, ev in usb:
        seen.append(Seen(ev.source or f"ethtool -i {nic}", ev.content().strip()))
    if not evidence_of_padding and not usb:
        return
    subject = usb[0][0] if usb else (pcap.file if pcap is not None and seen else "path")
    driver = usb[0][1].driver if usb else ""
    yield Finding(
        Severity.WARNING if evidence_of_padding else Severity.INFO,
        subject=subject,
        params={
            "what": _joined(evidence_of_padding) or Msg("padded_none"),
            "nic": subject,
            "driver": driver or "?",
            "usb": ", ".join(f"{nic} ({i.driver}, {i.bus_info})" for nic, i, _ev in usb) or Msg("usb_none"),
        },
        seen=seen,
        now=[
            Cmd(f"ethtool -i {subject}", Msg("c_driver_bus"))
            if usb
            else Cmd("ethtool -i <uplink NIC>", Msg("c_which_driver")),
            Cmd("ping -M do -s 1472 <peer>", Msg("c_full_size_again")),
        ],
        persist=[Msg("do_vendor_driver")],
    )


def _ts(s: Sighting) -> str:
    return f"{s.ts:.6f}" if s.seen and s.ts is not None else "-"


def _sighting(s: Sighting) -> str:
    return f"{'seen' if s.seen else 'NOT seen':8} {_ts(s):>18}" + (f" {s.carried()}" if s.carried() else "")


def trace_table(trace: TraceResult) -> str:
    """Every point and direction, as the evidence of a finding: the probe, then below each point
    the neighbour resolution (ARP / NDP) it saw for the path's next hops."""
    lines = []
    for p in trace.points:
        lines.append(
            f"{p.label:32} {p.role:12} request {_sighting(p.request)}   reply {_sighting(p.reply)}"
            + (f"   ({p.error})" if p.error else "")
            + (f"   [{p.tunnel.describe()}]" if p.tunnel else "")
        )
        for n in p.neighbours:
            if n.request.seen or n.reply.seen or n.target in (p.next_hop, p.reply_next_hop):
                ask, answer = ("ARP who-has", "is-at") if n.what == "arp" else ("NS", "NA")
                lines.append(
                    f"{'':32} {'':12} {ask} {n.target}: {_sighting(n.request)}   "
                    f"{answer}: {_sighting(n.reply)}"
                )
    return "\n".join(lines)


def _carried(vlan: list[int], outer: Outer | None) -> Msg:
    tags = ".".join(str(t) for t in vlan)
    if outer is not None:
        return Msg("carried_both" if vlan else "carried_tunnel", {"vlan": tags, "outer": outer.describe()})
    return Msg("carried_vlan", {"vlan": tags}) if vlan else Msg("carried_untagged")


def vlan_loss(loss: Loss) -> bool:
    """The loss of something that carried a VLAN tag with nothing coming back (seed 003's ARP
    tagged 1011 leaving bond0): a switch (or OVS) port that does not carry the VLAN."""
    if not loss.vlan:
        return False
    if loss.kind in ("beyond", "unanswered"):
        return True
    return loss.what != "probe" and loss.direction == "request" and loss.kind == "between"


def _hop(loss: Loss) -> tuple[str, Msg | str]:
    """The subject (plain) and the hop (worded) of a loss."""
    if loss.kind == "unsent" or loss.kind == "undelivered":
        point = loss.before or loss.after
        return f"{point} (sender)", Msg("hop_sender", {"point": point})
    if loss.kind == "beyond":
        return f"beyond {loss.after}", Msg("hop_beyond", {"point": loss.after})
    if loss.kind == "unanswered":
        return loss.after, loss.after
    return f"{loss.after} -> {loss.before}", f"{loss.after} -> {loss.before}"


def _verdict(loss: Loss) -> tuple[Msg, Msg]:
    """(direction, verdict) of a loss, worded."""
    carried = _carried(loss.vlan, loss.outer)
    if loss.what == "probe":
        direction = Msg(f"dir_{loss.direction}")
        if loss.kind == "unsent":
            return direction, Msg(
                "verdict_lost", {"dir": direction, "where": Msg("where_unsent", {"point": loss.before})}
            )
        if loss.kind == "undelivered":
            where = Msg("where_undelivered", {"point": loss.after})
            return direction, Msg("verdict_lost", {"dir": direction, "where": where})
        if loss.kind == "beyond":
            key = "verdict_outside_carried" if loss.vlan or loss.outer else "verdict_outside"
            return direction, Msg(key, {"last": loss.after, "carried": carried})
        where = Msg("where_between", {"a": loss.after, "b": loss.before})
        if loss.vlan or loss.outer:
            return direction, Msg(
                "verdict_lost_carried",
                {"dir": direction, "where": where, "carried": carried, "last": loss.after},
            )
        return direction, Msg("verdict_lost", {"dir": direction, "where": where})
    what = Msg(f"what_{loss.what}")
    way = "unanswered" if loss.kind in ("beyond", "unanswered") else loss.direction
    direction = Msg(f"dir_neigh_{way}", {"what": what, "target": loss.target})
    key = (
        f"neigh_{loss.kind}"
        if loss.direction == "request" or loss.kind != "between"
        else "neigh_reply_between"
    )
    if loss.kind == "between" and (loss.vlan or loss.outer):
        key += "_carried"
    how = Msg(key, {"what": what, "a": loss.after, "b": loss.before, "carried": carried})
    held = Msg(f"held_{loss.held or 'request'}")
    return direction, Msg(
        "verdict_neigh", {"held": held, "egress": loss.egress, "target": loss.target, "how": how}
    )


@rule(
    "path.loss_localized", needs=(TraceResult,), seed="002/003/004", severity=Severity.CRITICAL, scope="host"
)
def loss_localized(trace: TraceResult) -> Iterator[Finding]:
    """A traced probe is seen at one capture point and not at the next: the hop and direction where
    it is lost; or it left this host and no reply came back (look outside: switch, peer). When the
    probe waits for its next hop to resolve, the ARP / neighbour solicitation is followed instead."""
    points = [p for p in trace.points if not p.error]
    if not points:
        raise Skip(Msg("no_capture_point", {"why": [p.error for p in trace.points]}))
    loss = trace.loss()
    if loss is None:
        return
    if vlan_loss(loss):
        raise Skip(Msg("vlan_loss", {"vlan": ".".join(str(t) for t in loss.vlan), "after": loss.after}))
    seen = [Seen(trace.source or f"netsleuth trace {trace.dest}", trace_table(trace))]
    drops = "; ".join(
        f"{d.reason} at {d.location}" + (f" on {d.iface}" if d.iface else "") + f" (x{d.count})"
        for d in trace.drops
    )
    if drops:
        seen.append(Seen("tracefs skb:kfree_skb", drops))
    worded = _joined(  # the same list, worded in the report's language
        [
            Msg(
                "drop_on" if d.iface else "drop_at",
                {"reason": d.reason, "location": d.location, "iface": d.iface, "count": d.count},
            )
            for d in trace.drops
        ]
    )
    subject, hop = _hop(loss)
    direction, verdict = _verdict(loss)
    yield Finding(
        Severity.CRITICAL,
        subject=subject,
        params={
            "dest": trace.dest,
            "proto": trace.proto,
            "drops": worded or trace.drops_why or trace.drops_note or Msg("drops_none"),
            "hop": hop,
            "direction": direction,
            "verdict": verdict,
        },
        seen=seen,
        now=_now(trace, loss),
    )


def _nsx(label: str) -> tuple[str, str]:
    """`ip netns exec NS ` (or "") and the interface of a point's label."""
    ns, _, iface = label.rpartition(":")
    return (f"ip netns exec {ns} " if ns else ""), iface


def _now(trace: TraceResult, loss: Loss) -> list[RemedyLine]:
    target = loss.target or trace.dest
    if loss.kind == "beyond":
        return [
            Cmd(f"tcpdump -eni {_nsx(loss.after)[1]} host {target}", Msg("c_far_side")),
            Msg("do_check_switch"),
        ]
    nsx, iface = _nsx(loss.before or loss.after)
    v6 = ":" in trace.dest
    now: list[RemedyLine] = [
        Cmd(
            f"{nsx}{'ip6tables' if v6 else 'iptables'}-save -c | grep -v ' \\[0:0\\]'", Msg("c_rules_matched")
        ),
        Cmd(f"{nsx}ip -s link show {iface}", Msg("c_iface_drops")),
        Cmd(f"{nsx}ip route get {trace.dest}", Msg("c_where_sent")),
    ]
    if loss.what != "probe":
        now[2:] = [Cmd(f"{nsx}nft list ruleset", Msg("c_neigh_dropped", {"target": target}))]
        now.insert(0, Cmd(f"{_nsx(loss.egress)[0]}ip neigh show {target}", Msg("c_neigh_incomplete")))
    return now


@rule(
    "tcp.retransmissions",
    needs=(PcapSummary,),
    seed="003",
    severity=Severity.WARNING,
    scope="host",
)
def retransmissions(pcap: PcapSummary) -> Iterator[Finding]:
    """A capture shows TCP retransmitting (or resetting, or stalled on zero windows): ping works,
    the application times out (seed 003: pca to its database over a too-small MTU)."""
    t = pcap.tcp
    share = t.retransmissions / pcap.packets if pcap.packets else 0.0
    bad_retrans = t.retransmissions >= RETRANS_MIN and share >= RETRANS_SHARE
    if not (bad_retrans or t.resets >= RESETS_MIN or t.zero_windows >= ZERO_WINDOWS_MIN):
        return
    worst = t.top_flows[0].flow if t.top_flows else pcap.file
    lines = [
        f"{pcap.packets} packets, {t.flows} TCP connections: {t.retransmissions} retransmissions "
        f"({share:.1%}), {t.resets} resets, {t.zero_windows} zero windows"
    ]
    lines += [
        f"{f.flow}: {f.retransmissions} retransmissions, {f.resets} resets, {f.zero_windows} zero windows"
        for f in t.top_flows[:5]
    ]
    frag = [
        f"ICMP frag-needed from {f.from_} for {f.to}: MTU {f.mtu} (x{f.count})" for f in pcap.icmp_frag_needed
    ]
    yield Finding(
        Severity.WARNING,
        subject=worst,
        params={
            "file": pcap.file,
            "retrans": t.retransmissions,
            "share": f"{share:.1%}",
            "resets": t.resets,
            "zero_windows": t.zero_windows,
            "flows": t.flows,
            "worst": worst,
        },
        seen=[Seen(pcap.source or f"capture {pcap.file}", "\n".join(lines + frag))],
        now=[
            Cmd("ping -M do -s 1472 <peer>", Msg("c_full_size_pass")),
            Cmd("ip -d link", Msg("c_every_mtu")),
        ],
    )
