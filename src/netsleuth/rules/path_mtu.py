"""A path that swallows large DF packets without a word (seeds 003/004): ping works, ssh and TCP
stall after the handshake, because the packets above some size vanish and no ICMP "fragmentation
needed" comes back to lower the sender's path MTU."""

from __future__ import annotations

from collections.abc import Iterator

from netsleuth.facts.probes import MtuProbes
from netsleuth.messages import Msg
from netsleuth.rules.base import Cmd, Finding, Seen, Severity, rule


@rule("mtu.path_blackhole", needs=(MtuProbes,), seed="003/004", severity=Severity.CRITICAL)
def path_blackhole(probes: MtuProbes) -> Iterator[Finding]:
    """Toward a peer, DF packets above some size vanish and no ICMP frag-needed comes back."""
    for p, ev in probes.items:
        if p.verdict != "blackhole" or p.largest_ok_mtu is None:
            continue
        tries = ", ".join(
            f"{size}:{ {1: 'ok', 0: 'lost', -1: 'EMSGSIZE', -2: 'frag-needed'}.get(code, '?') }"
            for size, code in p.tries[-8:]
        )
        payload = p.largest_ok_mtu - 28
        yield Finding(
            Severity.CRITICAL,
            subject=p.target,
            params={
                "target": p.target,
                "iface": p.iface or "?",
                "configured": p.configured_mtu or "?",
                "largest": p.largest_ok_mtu,
                "lost": p.lost_above or "?",
            },
            seen=[
                Seen(
                    f"netsleuth probe mtu {p.target} ({ev.source})",
                    f"largest DF packet that passes: {p.largest_ok_mtu} bytes; lost from {p.lost_above} "
                    f"(interface {p.iface} mtu {p.configured_mtu}); no ICMP fragmentation-needed came back\n"
                    f"tries (size:result): {tries}",
                ),
            ],
            now=[
                Cmd(f"ping -M do -s {payload} -c 3 {p.target}", Msg("c_passes")),
                Cmd(
                    f"ping -M do -s {(p.lost_above or p.largest_ok_mtu + 1) - 28} -c 3 {p.target}",
                    Msg("c_vanishes"),
                ),
                Cmd(
                    f"ip route replace {p.target} via <gateway> dev {p.iface} mtu {p.largest_ok_mtu}",
                    Msg("c_work_around"),
                ),
                f"iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss {p.largest_ok_mtu - 40}",
            ],
            seed="003",
        )
