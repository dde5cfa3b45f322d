"""Results of active probes, read back from evidence `probe.<kind>` (key = target, text = JSON).

Probes store what they saw as evidence so that rules stay pure and a saved bundle reproduces the
diagnosis. One dataclass per kind mirrors the JSON; `to_json`/`from_json` convert both ways. The
facts that read them back are in facts/probes.py.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

from netsleuth.errors import ParseError

T = TypeVar("T")

KINDS = ("mtu", "dns", "dhcp", "arp", "udp", "tcp", "vxlan", "http")


@dataclass
class FragNeeded:
    """An ICMP "fragmentation needed" (or ICMPv6 "packet too big") that came back."""

    from_: str
    mtu: int


@dataclass
class MtuProbe:
    """`probe.mtu` (contract A): path MTU toward `target` by a DF binary search."""

    target: str
    iface: str
    configured_mtu: int | None
    largest_ok_mtu: int | None
    local_emsgsize: bool
    icmp_frag_needed: FragNeeded | None
    lost_above: int | None
    verdict: str  # ok | blackhole | frag_needed | unreachable
    tries: list[list[int]] = field(default_factory=list)  # [size, 1 ok / 0 lost / -1 local EMSGSIZE]


@dataclass
class DnsQuery:
    """One query to one server over one transport."""

    proto: str  # udp | tcp
    outcome: str  # answer | nxdomain | servfail | refused | timeout | unreachable | error
    ms: float | None = None
    addresses: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class DnsServer:
    server: str
    loopback: bool
    udp: DnsQuery
    tcp: DnsQuery
    ping: bool | None = None  # ICMP echo answered (None: not tried)


@dataclass
class SystemLookup:
    """The system path: getaddrinfo, through nsswitch (files, dns, ...) with the libc resolver."""

    outcome: str  # answer | fail
    addresses: list[str] = field(default_factory=list)
    error: str = ""
    ms: float | None = None


@dataclass
class DnsProbe:
    """`probe.dns`: each resolver of resolv.conf on its own over UDP and TCP, and the system path."""

    name: str
    rotate: bool
    servers: list[DnsServer]
    system: SystemLookup | None = None
    hosts_match: list[str] = field(default_factory=list)  # addresses /etc/hosts gives for the name
    nsswitch_hosts: list[str] = field(default_factory=list)


@dataclass
class DhcpOffer:
    server: str  # server identifier (option 54) or source address
    yiaddr: str
    server_mac: str = ""


@dataclass
class DhcpProbe:
    """`probe.dhcp`: DISCOVERs sent on `iface`, OFFERs collected (no REQUEST is ever sent)."""

    iface: str
    client_mac: str
    discovers: int
    wait_s: float
    offers: list[DhcpOffer] = field(default_factory=list)
    vlan: int | None = None


@dataclass
class ArpProbe:
    """`probe.arp`: who answers an ARP request for `target` (duplicate address detection)."""

    target: str
    iface: str
    requests: int
    macs: list[str] = field(default_factory=list)  # every distinct MAC that answered
    own: bool = False  # the target is one of this host's own addresses (DAD)
    vlan: int | None = None  # the VLAN tag the requests carried, when probing per VLAN


@dataclass
class EchoProbe:
    """`probe.udp` / `probe.tcp` / `probe.vxlan`: token-authenticated echo toward a listener,
    and for `vxlan` the underlay (ICMP to the remote) versus the overlay (ICMP through the tunnel)."""

    target: str
    port: int
    proto: str  # udp | tcp
    sent: int
    answered: int
    rejected: int = 0  # answers whose HMAC did not check
    icmp_ok: bool | None = None  # underlay ICMP echo to the target host answered
    overlay_target: str = ""  # vxlan: an address behind the tunnel
    overlay_ok: bool | None = None
    device: str = ""  # vxlan device
    error: str = ""
    rtt_ms: list[float] = field(default_factory=list)


@dataclass
class SelfHealth:
    """The prober's own health: a starved CPU or a clock jump is not the network's fault."""

    steal_pct: float | None = None
    starvation_ms: float | None = None  # the largest extra delay of a timed sleep
    clock_jump_s: float | None = None  # wall clock minus monotonic drift over the run


@dataclass
class LatencyProbe:
    """`probe.tcp` (repeated connects) / `probe.http` (repeated requests): latency and loss."""

    target: str
    kind: str  # tcp | http
    count: int
    ok: int
    errors: dict[str, int] = field(default_factory=dict)
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    health: SelfHealth = field(default_factory=SelfHealth)

    @property
    def loss_pct(self) -> float:
        return 100.0 * (self.count - self.ok) / self.count if self.count else 0.0


def answered(q: DnsQuery) -> bool:
    """The server answered (a name error or a refusal is an answer too: the server works)."""
    return q.outcome in ("answer", "nxdomain", "servfail", "refused")


def _rename(obj: Any, out: bool) -> Any:
    if isinstance(obj, dict):
        return {
            ("from" if out and k == "from_" else "from_" if not out and k == "from" else k): _rename(v, out)
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_rename(v, out) for v in obj]
    return obj


def to_json(result: Any) -> str:
    """The evidence text of a probe result (the JSON of contract A)."""
    return json.dumps(_rename(dataclasses.asdict(result), True), ensure_ascii=False, sort_keys=True)


def from_json(kind: type[T], text: str) -> T:
    """Read a probe result back; ParseError when the JSON does not fit the kind."""
    from pydantic import TypeAdapter, ValidationError  # only when probe results are read (start-up)

    try:
        data = json.loads(text)
        return TypeAdapter(kind).validate_python(_rename(data, False))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ParseError(f"not a {kind.__name__} result ({str(exc).splitlines()[0]})", text[:120]) from None


__all__ = [
    "KINDS",
    "ArpProbe",
    "DhcpOffer",
    "DhcpProbe",
    "DnsProbe",
    "DnsQuery",
    "DnsServer",
    "EchoProbe",
    "FragNeeded",
    "LatencyProbe",
    "MtuProbe",
    "SelfHealth",
    "SystemLookup",
    "answered",
    "from_json",
    "to_json",
]
