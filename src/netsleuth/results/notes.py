"""What each probe measured, one line per result, for the report's notes; and for a latency probe
the verdict "network or application?". Worded in the report's language from the catalogue's
`notes` entry (messages/*/notes.toml): the analysis writes them from the probe evidence, so a
saved bundle read later, in another language, says the same."""

from __future__ import annotations

from typing import Any

from netsleuth.messages import fragment
from netsleuth.results.probes import ArpProbe, DhcpProbe, DnsProbe, EchoProbe, LatencyProbe, MtuProbe


def say(lang: str, key: str, **params: Any) -> str:
    """A note, or a piece of one, spaces kept."""
    return fragment(lang, "notes", key, params)


def _or_unknown(v: object) -> object:
    return "?" if v is None else v


def _mtu(lang: str, r: MtuProbe) -> str:
    frag = (
        say(lang, "mtu_frag", source=r.icmp_frag_needed.from_, mtu=r.icmp_frag_needed.mtu)
        if r.icmp_frag_needed
        else say(lang, "mtu_no_frag")
    )
    local = say(lang, "mtu_local") if r.local_emsgsize else ""
    return say(
        lang,
        "mtu",
        target=r.target,
        iface=r.iface or "?",
        configured=_or_unknown(r.configured_mtu),
        largest=_or_unknown(r.largest_ok_mtu),
        lost=_or_unknown(r.lost_above),
        frag=frag,
        local=local,
        verdict=say(lang, f"mtu_verdict_{r.verdict}") or r.verdict,
    )


def _outcome(lang: str, outcome: str, addresses: list[str]) -> str:
    word = say(lang, f"dns_{outcome}") or outcome
    return f"{word} {','.join(addresses)}" if addresses else word


def _dns(lang: str, r: DnsProbe) -> str:
    parts = []
    for s in r.servers:
        ping = (
            "" if s.ping is None else say(lang, "dns_ping", answer=say(lang, "ok" if s.ping else "no_reply"))
        )
        parts.append(
            say(
                lang,
                "dns_server",
                server=s.server,
                udp=_outcome(lang, s.udp.outcome, s.udp.addresses),
                tcp=_outcome(lang, s.tcp.outcome, []),
                ping=ping,
            )
        )
    system = ""
    if r.system is not None:
        hosts = say(lang, "dns_hosts_file", names=",".join(r.hosts_match)) if r.hosts_match else ""
        system = say(
            lang,
            "dns_system",
            nsswitch=" ".join(r.nsswitch_hosts),
            outcome=_outcome(lang, r.system.outcome, r.system.addresses),
            hosts=hosts,
        )
    servers = say(lang, "list_sep").join(parts) or say(lang, "dns_no_server")
    return say(lang, "dns", name=r.name, servers=servers, system=system)


def _dhcp(lang: str, r: DhcpProbe) -> str:
    offers = say(lang, "comma").join(
        say(lang, "dhcp_offer", address=o.yiaddr, server=o.server) for o in r.offers
    )
    return say(
        lang,
        "dhcp",
        iface=r.iface,
        mac=r.client_mac,
        discovers=r.discovers,
        wait=f"{r.wait_s:g}",
        offers=offers or say(lang, "dhcp_no_offer"),
    )


def _arp(lang: str, r: ArpProbe) -> str:
    vlan = say(lang, "arp_vlan", vlan=r.vlan) if r.vlan is not None else ""
    who = ", ".join(r.macs) or say(lang, "arp_nobody")
    return say(lang, "arp", target=r.target, iface=r.iface, vlan=vlan, who=who)


def _answers(lang: str, ok: bool | None) -> str:
    return say(lang, "answers" if ok else "no_reply")


def _echo(lang: str, r: EchoProbe) -> str:
    if r.overlay_target:
        return say(
            lang,
            "vxlan",
            device=r.device,
            target=r.target,
            underlay=_answers(lang, r.icmp_ok),
            overlay=r.overlay_target,
            overlay_answer=_answers(lang, r.overlay_ok),
        )
    icmp = "" if r.icmp_ok is None else say(lang, "echo_icmp", answer=_answers(lang, r.icmp_ok))
    err = say(lang, "echo_error", error=r.error) if r.error else ""
    return say(
        lang,
        "echo",
        proto=r.proto,
        target=r.target,
        port=r.port,
        answered=r.answered,
        sent=r.sent,
        error=err,
        icmp=icmp,
    )


def _latency(lang: str, r: LatencyProbe) -> str:
    h = r.health
    errors = say(lang, "comma").join(f"{k} {v}" for k, v in sorted(r.errors.items())) or say(lang, "none")
    return say(
        lang,
        "latency",
        kind=r.kind,
        target=r.target,
        ok=r.ok,
        count=r.count,
        loss=f"{r.loss_pct:.1f}",
        p50=r.p50_ms,
        p90=r.p90_ms,
        p99=r.p99_ms,
        max=r.max_ms,
        errors=errors,
        steal=h.steal_pct,
        starvation=h.starvation_ms,
        drift=h.clock_jump_s,
    )


def latency_verdict(lang: str, r: LatencyProbe) -> str:
    """Network or application? The prober's own health first."""
    h = r.health
    if (h.steal_pct or 0) > 10 or (h.starvation_ms or 0) > 200 or abs(h.clock_jump_s or 0) > 1:
        key = "verdict_unhealthy"
    elif r.ok == r.count:
        key = "verdict_all_ok"
    elif set(r.errors) <= {"refused", "http_protocol"}:
        key = "verdict_application"
    else:
        key = "verdict_network"
    return say(lang, "verdict", verdict=say(lang, key))


def probe_notes(lang: str, result: Any) -> list[str]:
    """The lines a probe result adds to the report's notes."""
    if isinstance(result, MtuProbe):
        return [_mtu(lang, result)]
    if isinstance(result, DnsProbe):
        return [_dns(lang, result)]
    if isinstance(result, DhcpProbe):
        return [_dhcp(lang, result)]
    if isinstance(result, ArpProbe):
        return [_arp(lang, result)]
    if isinstance(result, EchoProbe):
        return [_echo(lang, result)]
    if isinstance(result, LatencyProbe):
        return [_latency(lang, result), latency_verdict(lang, result)]
    return [str(result)]
