"""Probe results -> evidence -> a Bundle, which the rules that read them judge
(analysis.probe_report): the same report as diagnose."""

from __future__ import annotations

import platform
import socket
from datetime import UTC, datetime
from typing import Any

from netsleuth.evidence.model import HOST, Bundle, Evidence, Status
from netsleuth.results.probes import (
    ArpProbe,
    DhcpProbe,
    DnsProbe,
    EchoProbe,
    LatencyProbe,
    MtuProbe,
    to_json,
)

__all__ = ["HOST", "Bundle", "Evidence", "Status"]


def evidence(kind: str, result: Any, source: str, duration_s: float = 0.0) -> Evidence:
    key = getattr(result, "target", "") or getattr(result, "iface", "") or getattr(result, "name", "")
    return Evidence(
        f"probe.{kind}", Status.OK, text=to_json(result), source=source, key=key, duration_s=duration_s
    )


def skipped(kind: str, key: str, why: str, source: str) -> Evidence:
    """A probe that could not run (no root, no route): evidence with the reason, never a pass."""
    status = Status.DENIED if "root" in why else Status.ERROR
    return Evidence(f"probe.{kind}", status, source=source, key=key, error=why)


def passive(names: tuple[str, ...], timeout: float = 2.0) -> list[Evidence]:
    from netsleuth.evidence.catalogue import spec
    from netsleuth.evidence.live import collect_spec

    out: list[Evidence] = []
    for name in names:
        out += collect_spec(spec(name), timeout, HOST)
    return out


def new_bundle(items: list[Evidence]) -> Bundle:
    b = Bundle(
        source="live",
        hostname=socket.gethostname(),
        kernel=platform.release(),
        collected_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    for it in items:
        b.add(it)
    for it in items:
        if it.name.startswith("probe.") and not it.ok:
            b.notes.append(f"{it.name} {it.key}: skipped — {it.error}")
    return b


def summary(result: Any) -> str:
    """One line per probe result, for the report's notes."""
    if isinstance(result, MtuProbe):
        frag = (
            f"; ICMP frag needed from {result.icmp_frag_needed.from_} (mtu {result.icmp_frag_needed.mtu})"
            if result.icmp_frag_needed
            else "; no ICMP frag needed came back"
        )
        local = "; the local interface refused larger sizes (EMSGSIZE)" if result.local_emsgsize else ""
        return (
            f"probe mtu {result.target} via {result.iface or '?'} (configured {result.configured_mtu}): "
            f"largest passing {result.largest_ok_mtu}, lost from {result.lost_above}{frag}{local} "
            f"-> {result.verdict}"
        )
    if isinstance(result, DnsProbe):
        parts = [
            f"{s.server} udp {s.udp.outcome}{' ' + ','.join(s.udp.addresses) if s.udp.addresses else ''}"
            f" / tcp {s.tcp.outcome}"
            + ("" if s.ping is None else f" / ping {'ok' if s.ping else 'no reply'}")
            for s in result.servers
        ]
        sysl = ""
        if result.system is not None:
            sysl = f"; system path (getaddrinfo, nsswitch hosts: {' '.join(result.nsswitch_hosts)}): "
            sysl += result.system.outcome + (
                " " + ",".join(result.system.addresses) if result.system.addresses else ""
            )
            if result.hosts_match:
                sysl += f" (/etc/hosts has {','.join(result.hosts_match)})"
        return f"probe dns {result.name}: " + ("; ".join(parts) or "no name server configured") + sysl
    if isinstance(result, DhcpProbe):
        offers = ", ".join(f"{o.yiaddr} from {o.server}" for o in result.offers) or "no OFFER"
        return f"probe dhcp {result.iface} ({result.client_mac}, {result.discovers} DISCOVER, {result.wait_s:g} s): {offers}"
    if isinstance(result, ArpProbe):
        who = ", ".join(result.macs) or "nobody"
        vl = f" vlan {result.vlan}" if result.vlan is not None else ""
        return f"probe arp {result.target} on {result.iface}{vl}: answered by {who}"
    if isinstance(result, EchoProbe):
        icmp = "" if result.icmp_ok is None else f"; ICMP {'answers' if result.icmp_ok else 'no reply'}"
        if result.overlay_target:
            return (
                f"probe vxlan {result.device} remote {result.target}: underlay ICMP "
                f"{'answers' if result.icmp_ok else 'no reply'}, overlay {result.overlay_target} "
                f"{'answers' if result.overlay_ok else 'no reply'}"
            )
        err = f" ({result.error})" if result.error else ""
        return (
            f"probe {result.proto} {result.target}:{result.port}: {result.answered}/{result.sent} authenticated "
            f"replies{err}{icmp}"
        )
    if isinstance(result, LatencyProbe):
        h = result.health
        errs = ", ".join(f"{k} {v}" for k, v in sorted(result.errors.items())) or "none"
        return (
            f"probe {result.kind} {result.target}: {result.ok}/{result.count} ok, loss {result.loss_pct:.1f}%, "
            f"p50 {result.p50_ms} ms, p90 {result.p90_ms} ms, p99 {result.p99_ms} ms, max {result.max_ms} ms; "
            f"errors: {errs}; own health: steal {h.steal_pct}%, worst wake-up delay {h.starvation_ms} ms, "
            f"clock drift {h.clock_jump_s} s"
        )
    return str(result)


def verdict_latency(result: LatencyProbe) -> str:
    """Network or application? Own health first."""
    h = result.health
    if (h.steal_pct or 0) > 10 or (h.starvation_ms or 0) > 200 or abs(h.clock_jump_s or 0) > 1:
        return "this prober's own host is unhealthy (CPU steal/starvation or a clock jump): re-run elsewhere before blaming the network"
    if result.ok == result.count:
        return "every attempt succeeded: if the application still fails, look at the application"
    if set(result.errors) <= {"refused", "http_protocol"}:
        return "the host answers but the service refuses or fails: an application problem, not the network"
    return "attempts time out or reset: a network problem (or an overloaded peer) — check the path in both directions"
