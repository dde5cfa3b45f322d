"""Facts of the active probes: their results (results/probes.py), read back from the evidence
`probe.<kind>` of the analysed namespace (key = target, text = JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netsleuth.evidence.model import Evidence
from netsleuth.facts.store import FactStore, Unavailable, provides, why_not
from netsleuth.messages import Msg, Reason
from netsleuth.results.probes import (
    ArpProbe,
    DhcpProbe,
    DnsProbe,
    EchoProbe,
    LatencyProbe,
    MtuProbe,
    from_json,
)


def _collect(fs: FactStore, kind: str, cls: type[Any], how: Reason) -> list[tuple[Any, Evidence]]:
    every = fs.every(f"probe.{kind}")
    found = [ev for ev in every if ev.ok]
    if not found:
        if every:
            raise Unavailable([why_not(ev, f"{ev.name} {ev.key}") for ev in every])
        raise Unavailable(Msg("probe_not_run", {"name": f"probe.{kind}", "how": how}))
    return [(from_json(cls, ev.content()), ev) for ev in found]


@dataclass
class MtuProbes:
    items: list[tuple[MtuProbe, Evidence]]


@dataclass
class DnsProbes:
    items: list[tuple[DnsProbe, Evidence]]


@dataclass
class DhcpProbes:
    items: list[tuple[DhcpProbe, Evidence]]


@dataclass
class ArpProbes:
    items: list[tuple[ArpProbe, Evidence]]


@dataclass
class EchoProbes:
    items: list[tuple[EchoProbe, Evidence]]


@dataclass
class LatencyProbes:
    items: list[tuple[LatencyProbe, Evidence]]


@provides(MtuProbes, reads=("probe.mtu",))
def _mtu(fs: FactStore) -> MtuProbes:
    return MtuProbes(
        _collect(fs, "mtu", MtuProbe, Msg("probe_or_peer", {"command": "`netsleuth probe mtu HOST`"}))
    )


@provides(DnsProbes, reads=("probe.dns",))
def _dns(fs: FactStore) -> DnsProbes:
    return DnsProbes(_collect(fs, "dns", DnsProbe, "`netsleuth probe dns`"))


@provides(DhcpProbes, reads=("probe.dhcp",))
def _dhcp(fs: FactStore) -> DhcpProbes:
    return DhcpProbes(_collect(fs, "dhcp", DhcpProbe, "`netsleuth probe dhcp IFACE`"))


@provides(ArpProbes, reads=("probe.arp",))
def _arp(fs: FactStore) -> ArpProbes:
    return ArpProbes(_collect(fs, "arp", ArpProbe, "`netsleuth probe arp IP`"))


@provides(EchoProbes, reads=("probe.udp", "probe.vxlan", "probe.tcp"))
def _echo(fs: FactStore) -> EchoProbes:
    found = [ev for ev in fs.every("probe.udp", "probe.vxlan") if ev.ok]
    found += [ev for ev in fs.every("probe.tcp") if ev.ok and '"proto"' in ev.text]
    if not found:
        how = Msg("probe_or_peer", {"command": "`netsleuth probe udp HOST:PORT`"})
        raise Unavailable(Msg("probe_not_run", {"name": "probe.udp/probe.vxlan", "how": how}))
    return EchoProbes([(from_json(EchoProbe, ev.content()), ev) for ev in found])


@provides(LatencyProbes, reads=("probe.tcp", "probe.http"))
def _latency(fs: FactStore) -> LatencyProbes:
    found = [ev for ev in fs.every("probe.tcp", "probe.http") if ev.ok and '"kind"' in ev.text]
    if not found:
        how = "`netsleuth probe tcp|http TARGET`"
        raise Unavailable(Msg("probe_not_run", {"name": "probe.tcp/probe.http", "how": how}))
    return LatencyProbes([(from_json(LatencyProbe, ev.content()), ev) for ev in found])
