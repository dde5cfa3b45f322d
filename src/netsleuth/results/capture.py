"""Results of packet captures: a capture file's summary (`pcap.summary`, contract B) and the result
of a multi-point trace (`trace.result`). Both are kept as evidence (JSON, capture/evidence.py), so
a saved bundle reproduces the diagnosis and the rules stay pure; facts/capture.py reads them back."""

from __future__ import annotations

from collections.abc import Callable
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
    top_flows: list[FlowStats] = field(default_factory=list)  # most retransmissions first
    data_segments: int = 0  # segments that carry data: retransmissions are a share of these

    @property
    def retransmission_share(self) -> float:
        """Retransmissions per data segment (0.0 when no segment carried data)."""
        return self.retransmissions / self.data_segments if self.data_segments else 0.0


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
    discovers: int = 0  # DISCOVER transactions (client MAC and xid)
    answered: int = 0  # ... that got an OFFER


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
    requests: int = 0  # who-has requests (not announcements)
    targets: int = 0  # distinct addresses asked for
    answered: int = 0  # ... of those that got a reply


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
    start: float | None = None  # epoch seconds of the first frame (None: no frame)
    duration_s: float = 0.0  # from the first frame to the last
    interface: str = ""  # the interface it was taken on, when the file says (pcapng if_name)

    def to_json(self) -> dict[str, Any]:
        """The `pcap.summary` JSON object."""
        d = asdict(self)
        d.pop("source")
        d["icmp_frag_needed"] = [
            {"from": f.from_, "to": f.to, "mtu": f.mtu, "count": f.count} for f in self.icmp_frag_needed
        ]
        d["dns"] = {"servers": d["dns"]}
        d["tcp"]["retransmission_share"] = round(self.tcp.retransmission_share, 6)  # derived
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
                data_segments=int(tcp.get("data_segments", 0)),
            ),
            icmp_frag_needed=[
                FragNeeded(from_=x["from"], to=x["to"], mtu=int(x["mtu"]), count=int(x["count"]))
                for x in d.get("icmp_frag_needed", [])
            ],
            dhcp=DhcpStats(
                discover_without_offer=[DhcpDiscover(**x) for x in dhcp.get("discover_without_offer", [])],
                offers=[DhcpOffer(**x) for x in dhcp.get("offers", [])],
                discovers=int(dhcp.get("discovers", 0)),
                answered=int(dhcp.get("answered", 0)),
            ),
            dns=[DnsServer(**x) for x in (d.get("dns") or {}).get("servers", [])],
            arp=ArpStats(
                unanswered=[ArpUnanswered(**x) for x in arp.get("unanswered", [])],
                duplicates=[
                    ArpDuplicate(ip=x["ip"], macs=list(x["macs"])) for x in arp.get("duplicates", [])
                ],
                requests=int(arp.get("requests", 0)),
                targets=int(arp.get("targets", 0)),
                answered=int(arp.get("answered", 0)),
            ),
            vlan=VlanStats(
                tags_seen=[int(t) for t in vlan.get("tags_seen", [])],
                untagged_replies=int(vlan.get("untagged_replies", 0)),
                per_tag=[VlanTag(**x) for x in vlan.get("per_tag", [])],
            ),
            source=source,
            start=None if d.get("start") is None else float(d["start"]),
            duration_s=float(d.get("duration_s", 0.0)),
            interface=str(d.get("interface", "")),
        )


# --- multi-point trace -------------------------------------------------------------------------


@dataclass(frozen=True)
class Outer:
    """A tunnel header: the one a point expects the probe in (`TracePoint.tunnel`), or the one a
    frame was seen in (`Sighting.outer`)."""

    kind: str  # vxlan
    vni: int | None
    port: int  # UDP destination port
    src: str = ""  # underlay addresses ("" when not known)
    dst: str = ""

    def describe(self) -> str:
        """The header in words (values, not wording: the same in every language).

        >>> Outer("vxlan", 42, 4789, "10.70.0.1", "10.70.0.2").describe()
        'VXLAN VNI 42, UDP 4789, 10.70.0.1 > 10.70.0.2'
        """
        vni = f" VNI {self.vni}" if self.vni is not None else ""
        ends = f", {self.src or '?'} > {self.dst or '?'}" if self.src or self.dst else ""
        return f"{self.kind.upper()}{vni}, UDP {self.port}{ends}"


@dataclass(frozen=True)
class Sighting:
    """Whether one capture point saw the probe in one direction (request or reply)."""

    seen: bool
    ts: float | None = None  # epoch seconds of the first sighting
    count: int = 0
    vlan: list[int] = field(default_factory=list)  # VLAN tags of the first sighting, outermost first
    outer: Outer | None = None  # the tunnel header it was carried in, on an underlay

    def carried(self) -> str:
        """How it was carried, for tables: '', 'vlan 1011', 'in VXLAN VNI 42, UDP 4789, ...'."""
        parts = [f"vlan {'.'.join(str(t) for t in self.vlan)}"] if self.vlan else []
        if self.outer is not None:
            parts.append(f"in {self.outer.describe()}")
        return " ".join(parts)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Sighting:
        outer = d.get("outer")
        return cls(
            seen=bool(d["seen"]),
            ts=None if d.get("ts") is None else float(d["ts"]),
            count=int(d.get("count", 0)),
            vlan=[int(t) for t in d.get("vlan", [])],
            outer=Outer(**outer) if outer else None,
        )


NOT_SEEN = Sighting(False)


@dataclass(frozen=True)
class NeighbourSighting:
    """Resolution of one next hop seen at one point: ARP who-has / is-at (IPv4), neighbour
    solicitation / advertisement (IPv6)."""

    target: str
    request: Sighting
    reply: Sighting

    @property
    def what(self) -> str:
        return "nd" if ":" in self.target else "arp"


@dataclass(frozen=True)
class TracePoint:
    """One capture point, in path order from the sender outwards."""

    netns: str  # "" = the namespace netsleuth ran in
    iface: str
    role: str  # sender | bridge-port | bridge | ovs-port | router-in | router-out | tunnel | vtep | uplink | destination | point
    request: Sighting
    reply: Sighting
    error: str = ""  # could not capture here (and why)
    next_hop: str = ""  # the kernel routes the probe out here, to this neighbour (gateway or dest)
    reply_next_hop: str = ""  # ... and the reply out here, to this neighbour
    tunnel: Outer | None = None  # the probe is expected here inside this tunnel header
    neighbours: list[NeighbourSighting] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.netns}:{self.iface}" if self.netns else self.iface

    def neighbour(self, target: str) -> NeighbourSighting:
        got = next((n for n in self.neighbours if n.target == target), None)
        return got or NeighbourSighting(target, NOT_SEEN, NOT_SEEN)


@dataclass(frozen=True)
class Drop:
    """A kernel drop of the probe seen by the skb:kfree_skb tracepoint."""

    reason: str
    location: str
    iface: str = ""
    netns_inode: int | None = None
    count: int = 1


@dataclass(frozen=True)
class Loss:
    """Where a traced probe goes missing, as plain data (the rules word it, a picture draws it).

    `what` is the probe, or the neighbour resolution it waited for: when the kernel of `egress`
    cannot resolve `target` the probe never leaves, and its ARP / neighbour solicitation is what
    was followed. `after` is the last point that saw it, `before` the first that should have and
    did not ("" = past the last point: nothing came back from beyond it)."""

    what: str  # probe | arp | nd
    direction: str  # request | reply
    kind: str  # unsent | between | beyond | unanswered | undelivered
    after: str  # label of the last point that saw it ("" when none did)
    before: str  # label of the first point that did not ("" = beyond `after`)
    target: str = ""  # arp/nd: the next hop asked for
    egress: str = ""  # arp/nd: the point whose kernel asked (the probe waits there)
    vlan: list[int] = field(default_factory=list)  # tags it carried at `after`
    tagged_at: str = ""  # the first point where it carried those tags
    outer: Outer | None = None  # the tunnel header it carried at `after`
    held: str = ""  # arp/nd: what waits for the resolution: the probe's request or its reply


def _gap(seq: list[TracePoint], seen: Callable[[TracePoint], bool]) -> int | None:
    """Index of the first point that did not see it after one that did (the one before it saw it)."""
    saw = False
    for i, p in enumerate(seq):
        if seen(p):
            saw = True
        elif saw:
            return i
    return None


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
        loss = self.loss()
        d["loss"] = asdict(loss) if loss is not None else None  # derived, for readers of the JSON
        d["drops_why"] = self.drops_why.to_json() if self.drops_why else None
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], source: str = "") -> TraceResult:
        points = [
            TracePoint(
                netns=str(p.get("netns", "")),
                iface=str(p["iface"]),
                role=str(p.get("role", "point")),
                request=Sighting.from_json(p["request"]),
                reply=Sighting.from_json(p["reply"]),
                error=str(p.get("error", "")),
                next_hop=str(p.get("next_hop", "")),
                reply_next_hop=str(p.get("reply_next_hop", "")),
                tunnel=Outer(**p["tunnel"]) if p.get("tunnel") else None,
                neighbours=[
                    NeighbourSighting(
                        str(n["target"]), Sighting.from_json(n["request"]), Sighting.from_json(n["reply"])
                    )
                    for n in p.get("neighbours", [])
                ],
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

    # --- where it goes missing --------------------------------------------------------------

    def loss(self) -> Loss | None:
        """The first place the probe goes missing, request first, then reply; None when it made
        the round trip (or came back by a way that was not watched).

        When the probe is missing right where a kernel routes it out (`next_hop` set), the
        neighbour resolution of that hop is followed instead: the ARP / neighbour solicitation
        through the same points, to where it is lost or to the last point that saw it unanswered.
        """
        pts = [p for p in self.points if not p.error]
        k = 0 if pts and not pts[0].request.seen else _gap(pts, lambda p: p.request.seen)
        if k is not None:
            if pts[k].next_hop:
                found = self._neighbour_loss(pts, k, "next_hop")
                if found is not None:
                    return found
            if k == 0:
                return Loss("probe", "request", "unsent", "", pts[0].label)
            return self._probe_loss("request", "between", pts, k - 1, pts[k].label)
        if not pts:
            return None
        rev = pts[::-1]
        if not any(p.reply.seen for p in pts):
            if self.reply_received:
                return None  # the reply came back by a path not watched; the sender got it
            if rev[0].reply_next_hop:
                found = self._neighbour_loss(rev, 0, "reply_next_hop")
                if found is not None:
                    return found
            return self._probe_loss("reply", "beyond", pts, len(pts) - 1, "", attr="request")
        j = _gap(rev, lambda p: p.reply.seen)
        if j is not None:
            if rev[j].reply_next_hop:
                found = self._neighbour_loss(rev, j, "reply_next_hop")
                if found is not None:
                    return found
            return self._probe_loss("reply", "between", rev, j - 1, rev[j].label, attr="reply")
        if not self.reply_received:
            return Loss("probe", "reply", "undelivered", pts[0].label, "")
        return None

    @staticmethod
    def _probe_loss(
        direction: str, kind: str, seq: list[TracePoint], i: int, before: str, attr: str = "request"
    ) -> Loss:
        s: Sighting = getattr(seq[i], attr)
        tagged = next((p.label for p in seq[: i + 1] if s.vlan and getattr(p, attr).vlan == s.vlan), "")
        return Loss(
            "probe", direction, kind, seq[i].label, before, vlan=s.vlan, tagged_at=tagged, outer=s.outer
        )

    @staticmethod
    def _neighbour_loss(seq: list[TracePoint], i: int, attr: str) -> Loss | None:
        """Follow the resolution of `seq[i]`'s next hop through its segment: the points after it
        up to the next one that routes at the same level (an underlay ends where it ends)."""
        egress = seq[i]
        target = str(getattr(egress, attr))
        held = "request" if attr == "next_hop" else "reply"
        seg = [egress]
        for p in seq[i + 1 :]:
            if egress.tunnel is not None and p.tunnel != egress.tunnel:
                break
            if getattr(p, attr) and p.tunnel == egress.tunnel:
                break
            seg.append(p)
        ns = [p.neighbour(target) for p in seg]
        what = ns[0].what
        if not ns[0].request.seen:
            return None  # no resolution seen leaving: not a neighbour problem we can follow

        def loss(direction: str, kind: str, at: int, before: str, s: Sighting) -> Loss:
            tagged = next(
                (seg[x].label for x in range(at + 1) if s.vlan and ns[x].request.vlan == s.vlan), ""
            )
            return Loss(
                what,
                direction,
                kind,
                seg[at].label,
                before,
                target,
                egress.label,
                s.vlan,
                tagged,
                s.outer,
                held,
            )

        k = _gap(seg, lambda p: p.neighbour(target).request.seen)
        if k is not None:
            return loss("request", "between", k - 1, seg[k].label, ns[k - 1].request)
        if ns[0].reply.seen:
            return None  # resolved: the probe was held for another reason
        if not any(n.reply.seen for n in ns):
            last = len(seg) - 1
            kind = "beyond" if seg[last].role == "uplink" else "unanswered"
            return loss("reply", kind, last, "", ns[last].request)
        back = seg[::-1]
        b = _gap(back, lambda p: p.neighbour(target).reply.seen)
        assert b is not None  # seen somewhere, and not at the egress
        s = back[b - 1].neighbour(target).reply
        return Loss(
            what,
            "reply",
            "between",
            back[b - 1].label,
            back[b].label,
            target,
            egress.label,
            s.vlan,
            "",
            s.outer,
            held,
        )
