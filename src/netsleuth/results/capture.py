"""Results of packet captures: a capture file's summary (`pcap.summary`, contract B) and the result
of a multi-point trace (`trace.result`). Both are kept as evidence (JSON, capture/evidence.py), so
a saved bundle reproduces the diagnosis and the rules stay pure; facts/capture.py reads them back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from netsleuth.messages import Msg

PCAP_SUMMARY = "pcap.summary"
TRACE_RESULT = "trace.result"


@dataclass(frozen=True)
class OversizeFrame:
    src_mac: str
    dst_mac: str
    len: int
    max_expected: int
    count: int


@dataclass(frozen=True)
class TrailerFrame:
    """A frame longer than its IP packet needs (beyond the 60-byte minimum): bytes after the IP
    datagram, e.g. seed 004's 2-byte "vssmonitoring" trailer on 1519-byte frames."""

    src_mac: str
    len: int
    ip_total_len: int
    trailer_bytes: int
    count: int


@dataclass(frozen=True)
class FlowStats:
    flow: str  # "a:p>b:q"
    retransmissions: int
    resets: int
    zero_windows: int


@dataclass(frozen=True)
class TcpStats:
    flows: int = 0
    retransmissions: int = 0
    resets: int = 0
    zero_windows: int = 0
    top_flows: list[FlowStats] = field(default_factory=list)


@dataclass(frozen=True)
class FragNeeded:
    from_: str  # "from" in the JSON: the router that sent ICMP fragmentation-needed
    to: str
    mtu: int
    count: int


@dataclass(frozen=True)
class DhcpDiscover:
    client_mac: str
    xid: str
    count: int


@dataclass(frozen=True)
class DhcpOffer:
    server: str
    yiaddr: str
    client_mac: str


@dataclass(frozen=True)
class DhcpStats:
    discover_without_offer: list[DhcpDiscover] = field(default_factory=list)
    offers: list[DhcpOffer] = field(default_factory=list)


@dataclass(frozen=True)
class DnsServer:
    server: str
    proto: str  # udp | tcp
    queries: int
    responses: int
    unanswered: int
    other_packets: int = 0  # anything else from the server: TCP segments, ICMP, an ARP reply


@dataclass(frozen=True)
class ArpUnanswered:
    target: str
    requests: int


@dataclass(frozen=True)
class ArpDuplicate:
    ip: str
    macs: list[str]


@dataclass(frozen=True)
class ArpStats:
    unanswered: list[ArpUnanswered] = field(default_factory=list)
    duplicates: list[ArpDuplicate] = field(default_factory=list)


@dataclass(frozen=True)
class VlanTag:
    """ARP and ICMP echo requests and replies that carried one VLAN tag."""

    tag: int
    requests: int
    replies: int


@dataclass(frozen=True)
class VlanStats:
    tags_seen: list[int] = field(default_factory=list)
    untagged_replies: int = 0
    per_tag: list[VlanTag] = field(default_factory=list)


@dataclass(frozen=True)
class PcapSummary:
    """What `netsleuth pcap FILE` found in a capture; mirrors the `pcap.summary` JSON (contract B)."""

    file: str
    packets: int
    link_mtu: int
    oversize_frames: list[OversizeFrame] = field(default_factory=list)
    trailer_frames: list[TrailerFrame] = field(default_factory=list)
    tcp: TcpStats = field(default_factory=TcpStats)
    icmp_frag_needed: list[FragNeeded] = field(default_factory=list)
    dhcp: DhcpStats = field(default_factory=DhcpStats)
    dns: list[DnsServer] = field(default_factory=list)  # JSON: {"dns": {"servers": [...]}}
    arp: ArpStats = field(default_factory=ArpStats)
    vlan: VlanStats = field(default_factory=VlanStats)
    source: str = field(default="", compare=False)  # where the evidence came from (not in the JSON)

    def to_json(self) -> dict[str, Any]:
        """The `pcap.summary` JSON object."""
        d = asdict(self)
        d.pop("source")
        d["icmp_frag_needed"] = [
            {"from": f.from_, "to": f.to, "mtu": f.mtu, "count": f.count} for f in self.icmp_frag_needed
        ]
        d["dns"] = {"servers": d["dns"]}
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], source: str = "") -> PcapSummary:
        """Build from the JSON; a missing section is empty, a wrong type raises (TypeError/KeyError)."""
        tcp = d.get("tcp") or {}
        dhcp = d.get("dhcp") or {}
        arp = d.get("arp") or {}
        vlan = d.get("vlan") or {}
        return cls(
            file=str(d["file"]),
            packets=int(d["packets"]),
            link_mtu=int(d.get("link_mtu", 1500)),
            oversize_frames=[OversizeFrame(**x) for x in d.get("oversize_frames", [])],
            trailer_frames=[TrailerFrame(**x) for x in d.get("trailer_frames", [])],
            tcp=TcpStats(
                flows=int(tcp.get("flows", 0)),
                retransmissions=int(tcp.get("retransmissions", 0)),
                resets=int(tcp.get("resets", 0)),
                zero_windows=int(tcp.get("zero_windows", 0)),
                top_flows=[FlowStats(**x) for x in tcp.get("top_flows", [])],
            ),
            icmp_frag_needed=[
                FragNeeded(from_=x["from"], to=x["to"], mtu=int(x["mtu"]), count=int(x["count"]))
                for x in d.get("icmp_frag_needed", [])
            ],
            dhcp=DhcpStats(
                discover_without_offer=[DhcpDiscover(**x) for x in dhcp.get("discover_without_offer", [])],
                offers=[DhcpOffer(**x) for x in dhcp.get("offers", [])],
            ),
            dns=[DnsServer(**x) for x in (d.get("dns") or {}).get("servers", [])],
            arp=ArpStats(
                unanswered=[ArpUnanswered(**x) for x in arp.get("unanswered", [])],
                duplicates=[
                    ArpDuplicate(ip=x["ip"], macs=list(x["macs"])) for x in arp.get("duplicates", [])
                ],
            ),
            vlan=VlanStats(
                tags_seen=[int(t) for t in vlan.get("tags_seen", [])],
                untagged_replies=int(vlan.get("untagged_replies", 0)),
                per_tag=[VlanTag(**x) for x in vlan.get("per_tag", [])],
            ),
            source=source,
        )


# --- multi-point trace -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sighting:
    """Whether one capture point saw the probe in one direction (request or reply)."""

    seen: bool
    ts: float | None = None  # epoch seconds of the first sighting
    count: int = 0


@dataclass(frozen=True)
class TracePoint:
    """One capture point, in path order from the sender outwards."""

    netns: str  # "" = the namespace netsleuth ran in
    iface: str
    role: str  # sender | bridge-port | bridge | vlan | vxlan | uplink | router | point
    request: Sighting
    reply: Sighting
    error: str = ""  # could not capture here (and why)

    @property
    def label(self) -> str:
        return f"{self.netns}:{self.iface}" if self.netns else self.iface


@dataclass(frozen=True)
class Drop:
    """A kernel drop of the probe seen by the skb:kfree_skb tracepoint."""

    reason: str
    location: str
    iface: str = ""
    netns_inode: int | None = None
    count: int = 1


@dataclass(frozen=True)
class TraceResult:
    """The `trace.result` JSON: the probe, every point's sightings, kernel drops, the outcome."""

    dest: str
    from_netns: str
    proto: str  # icmp | tcp:PORT | udp:PORT
    marker: str  # ICMP id or payload marker identifying the probe
    points: list[TracePoint]
    reply_received: bool
    duration_s: float = 0.0
    drops: list[Drop] = field(default_factory=list)
    drops_note: str = ""  # why kernel drop reasons are not available, when they are not (English)
    drops_why: Msg | None = None  # the same, as wording the report puts in its own language
    source: str = field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("source")
        d["drops_why"] = self.drops_why.to_json() if self.drops_why else None
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], source: str = "") -> TraceResult:
        points = [
            TracePoint(
                netns=str(p.get("netns", "")),
                iface=str(p["iface"]),
                role=str(p.get("role", "point")),
                request=Sighting(**p["request"]),
                reply=Sighting(**p["reply"]),
                error=str(p.get("error", "")),
            )
            for p in d["points"]
        ]
        return cls(
            dest=str(d["dest"]),
            from_netns=str(d.get("from_netns", "")),
            proto=str(d.get("proto", "icmp")),
            marker=str(d.get("marker", "")),
            points=points,
            reply_received=bool(d["reply_received"]),
            duration_s=float(d.get("duration_s", 0.0)),
            drops=[Drop(**x) for x in d.get("drops", [])],
            drops_note=str(d.get("drops_note", "")),
            drops_why=Msg.from_json(d["drops_why"]) if d.get("drops_why") else None,
            source=source,
        )
