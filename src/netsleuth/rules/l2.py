"""Layer 2 and overlays (seed 003): two hosts answering ARP for one address (10.100.10.201 seen
with 00:18:51:38:b1:cd and 8c:dc:d4:b3:af:14), VXLAN peers that ping each other but whose UDP 4789
is dropped on the way, and ARP that leaves tagged with a VLAN the switch port does not carry."""

from __future__ import annotations

from collections.abc import Iterator

from netsleuth.facts.probes import ArpProbes, EchoProbes
from netsleuth.rules.base import Finding, Seen, Severity, Skip, rule

VXLAN_PORTS = {4789, 8472}  # IANA, and the Linux kernel's historical default


@rule("arp.duplicate_ip", needs=(ArpProbes,), seed="003", severity=Severity.CRITICAL)
def duplicate_ip(probes: ArpProbes) -> Iterator[Finding]:
    """Two MAC addresses answer ARP for one IP (or someone else answers for our own address)."""
    for p, ev in probes.items:
        if len(p.macs) < 2 and not (p.own and p.macs):
            continue
        what = "our own address" if p.own else p.target
        yield Finding(
            "arp.duplicate_ip",
            Severity.CRITICAL,
            subject=p.target,
            params={
                "ip": p.target,
                "macs": ", ".join(p.macs),
                "iface": p.iface,
                "own": "yes" if p.own else "no",
            },
            seen=[
                Seen(
                    f"netsleuth probe arp {p.target} --iface {p.iface} ({ev.source})",
                    f"{p.requests} ARP requests for {what} {p.target}; answered by:\n"
                    + "\n".join(f"{mac} {p.target}" for mac in p.macs),
                )
            ],
            now=[
                f"arping -D -I {p.iface} -c 3 {p.target}   # duplicate address detection by hand",
                "find the second holder by its MAC in the switch's MAC table, and give one of them another address",
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
            "vxlan.udp_blocked",
            Severity.CRITICAL,
            subject=p.target,
            params={"remote": p.target, "port": p.port, "device": p.device or "vxlan"},
            seen=[Seen(f"netsleuth probe ({ev.source})", excerpt)],
            now=[
                f"netsleuth listen udp {p.port} --token T   # on {p.target} (next to the tunnel, nothing stopped)",
                f"netsleuth probe udp {p.target}:{p.port} --token T   # here; then the other way round",
                f"iptables-save | grep -n {p.port}   # on both hosts, then the firewalls between them",
            ],
            seed="003",
        )


@rule("vlan.no_reply", needs=(ArpProbes,), seed="003", severity=Severity.CRITICAL)
def vlan_no_reply(probes: ArpProbes) -> Iterator[Finding]:
    """ARP leaves tagged with VLAN N and nothing answers: the switch port does not carry that VLAN."""
    tagged = [(p, ev) for p, ev in probes.items if p.vlan is not None]
    if not tagged:
        raise Skip("no ARP probe sent with a VLAN tag (`netsleuth probe arp IP --vlan N`)")
    for p, ev in tagged:
        if p.macs:
            continue
        yield Finding(
            "vlan.no_reply",
            Severity.CRITICAL,
            subject=f"vlan {p.vlan} on {p.iface}",
            params={"vlan": p.vlan, "target": p.target, "iface": p.iface},
            seen=[
                Seen(
                    f"netsleuth probe arp {p.target} --vlan {p.vlan} ({ev.source})",
                    f"{p.requests} ARP requests for {p.target} tagged {p.vlan} left {p.iface}; no reply",
                )
            ],
            now=[
                f"tcpdump -eni {p.iface} vlan {p.vlan} and arp   # the request leaves tagged, nothing returns",
                f"ask the network team: does the switch port of {p.iface} carry VLAN {p.vlan}?",
            ],
            seed="003",
        )
