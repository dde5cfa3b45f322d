"""Stream a capture into a `PcapSummary`: one pass, bounded memory, minimal work per frame.

Frames are dispatched on raw ethertype / protocol bytes; only the fields a check needs are read
(no dpkt objects per packet). Classic pcap files of Ethernet frames take `Analyser.run_pcap`, a
loop over the file's records with the common frame (IPv4 + TCP) read at fixed offsets and its
in-order case accounted inline; everything else goes through the general `Analyser._frame`. Tables (flows, pending DNS/DHCP/ARP) are capped, so memory stays
bounded whatever the file size."""

from __future__ import annotations

import socket
import struct
from collections import Counter, defaultdict
from collections.abc import Iterable
from io import BufferedReader
from pathlib import Path
from struct import Struct

from netsleuth.capture.reader import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_RAW,
    MAX_RECORD,
    open_capture,
    pcap_records,
)
from netsleuth.capture.tcpflow import Half, Stamp, ToSeconds, same
from netsleuth.errors import ParseError
from netsleuth.results.capture import (
    ArpDuplicate,
    ArpStats,
    ArpUnanswered,
    DhcpDiscover,
    DhcpOffer,
    DhcpStats,
    DnsServer,
    FlowStats,
    FragNeeded,
    OversizeFrame,
    PcapSummary,
    TcpStats,
    TrailerFrame,
    VlanStats,
    VlanTag,
)

CHUNK = 1 << 18  # read size of the pcap fast path (fits a core's L2 cache)
MAX_FLOWS = 500_000  # oldest flows are forgotten beyond this (their counts are kept)
MAX_PENDING = 200_000
TOP_FLOWS = 10
MIN_FRAME = 60  # Ethernet minimum without FCS: shorter IP packets are padded, not trailered

_TCP = Struct("!4xIIBBH")  # seq, ack, data offset, flags, window
# pcap record header: both timestamp fields as one integer (the stamp), captured length
_REC_LE = Struct("<QI4x")
_REC_BE = Struct(">QI4x")
# From a pcap record's start (16-byte record header, then the frame), assuming Ethernet + IPv4
# without options + TCP: ethertype + version/IHL + TOS, total length, flags/fragment offset + TTL +
# protocol, addresses + ports (the flow key), seq, ack, data offset + flags, window. Fields are
# merged so that one mask tests them.
_ETH_IP4_TCP = Struct("!28xIH2xI2x12sIIHH")
_ntop4 = socket.inet_ntoa


def _mac(b: bytes) -> str:
    return b.hex(":")


def _ip(b: bytes) -> str:
    return _ntop4(b) if len(b) == 4 else socket.inet_ntop(socket.AF_INET6, b)


def _flow_label(label: bytes) -> str:
    n = (len(label) - 4) // 2
    sp = int.from_bytes(label[2 * n : 2 * n + 2], "big")
    dp = int.from_bytes(label[2 * n + 2 : 2 * n + 4], "big")
    a, b = _ip(label[:n]), _ip(label[n : 2 * n])
    if n == 16:
        return f"[{a}]:{sp}>[{b}]:{dp}"
    return f"{a}:{sp}>{b}:{dp}"


class Analyser:
    """Accumulates what one capture shows; feed frames with `frame()` (or `run()` over a file)."""

    def __init__(self, link_mtu: int = 1500, linktype: int = LINKTYPE_ETHERNET) -> None:
        self.link_mtu = link_mtu
        self.linktype = linktype
        self.packets = 0
        self.flows: dict[bytes, Half] = {}
        self.flow_count = 0
        self.forgotten = Counter[str]()  # totals of flows evicted from the table
        self.forgotten_top: list[FlowStats] = []
        self.oversize: Counter[tuple[str, str, int, int]] = Counter()
        self.trailer: Counter[tuple[str, int, int, int]] = Counter()
        self.frag: Counter[tuple[str, str, int]] = Counter()
        self.dhcp_discover: dict[tuple[str, str], int] = {}
        self.dhcp_offered: set[str] = set()
        self.dhcp_offers: dict[tuple[str, str, str], None] = {}
        self.dns_pending: dict[tuple[bytes, bytes, bytes, str], bytes] = {}
        self.dns_q: Counter[tuple[bytes, str]] = Counter()
        self.dns_r: Counter[tuple[bytes, str]] = Counter()
        self.arp_req: Counter[bytes] = Counter()
        self.arp_answered: set[bytes] = set()
        self.arp_macs: defaultdict[bytes, set[bytes]] = defaultdict(set)
        self.tags: set[int] = set()
        self.tagged_targets: set[bytes] = set()
        self.untagged_replies = 0
        self.vlan_req: Counter[int] = Counter()  # ARP/ICMP echo requests per VLAN tag
        self.vlan_rep: Counter[int] = Counter()  # ARP/ICMP echo replies per VLAN tag
        self.icmp_from: set[bytes] = set()  # IPv4 sources of any ICMP message
        self.secs: ToSeconds = same  # the timestamps of the capture being read, in seconds

    # --- the per-frame hot path ------------------------------------------------------------

    def run(self, frames: Iterable[tuple[float, bytes]]) -> None:
        """Consume an iterator of (timestamp in seconds, frame)."""
        self.secs = same
        frame = self._frame
        n = 0
        try:
            for ts, buf in frames:
                n += 1
                frame(ts, buf)
        finally:
            self.packets += n

    def run_pcap(
        self, fh: BufferedReader, little: bool = True, nano: bool = False, cut_short: list[str] | None = None
    ) -> None:
        r"""Consume the records of a classic pcap file (`fh` just after its 24-byte file header).

        The hot loop of `netsleuth pcap`: records are walked in place in large chunks (no object
        per record) and the common frame, Ethernet + IPv4 without options + TCP that is neither
        oversize nor trailered, is read with a single unpack at fixed offsets, its flow looked up
        by the raw addresses and ports and its in-order case (`Half.segment`'s first branch)
        accounted inline. Every other frame goes through `_frame`, with the same result. A record
        cut short at the end of the file is left out and said in `cut_short`; an impossible length
        raises ParseError.

        Same summary as the general path (`run` over `pcap_records`), here with a retransmission,
        a trailered frame and a VLAN-tagged one:

        >>> import io, struct
        >>> def rec(ts, seq, flags, n, tail=b"", tag=b""):
        ...     ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + n, 0, 0x4000, 64, 6, 0,
        ...                      b"\x0a\0\0\1", b"\x0a\0\0\2")
        ...     tcp = struct.pack("!HHIIBBHHH", 1000, 80, seq, 7, 0x50, flags, 500, 0, 0)
        ...     f = bytes(12) + tag + b"\x08\x00" + ip + tcp + bytes(n) + tail
        ...     return struct.pack("<IIII", 1, ts, len(f), len(f)) + f
        >>> data = b"".join([rec(0, 1, 0x02, 0), rec(10, 2, 0x18, 100), rec(20, 102, 0x18, 100),
        ...                  rec(900_000, 2, 0x18, 100), rec(900_010, 202, 0x18, 10, b"\0\0"),
        ...                  rec(900_020, 212, 0x18, 10, tag=b"\x81\x00\x00\x05")])
        >>> fast, general = Analyser(), Analyser()
        >>> fast.run_pcap(io.BufferedReader(io.BytesIO(data)))
        >>> general.run(pcap_records(io.BytesIO(data), True, False))
        >>> fast.summary("f") == general.summary("f"), fast.summary("f").tcp.retransmissions
        (True, 1)
        """
        if self.linktype != LINKTYPE_ETHERNET:
            self.run(pcap_records(fh, little, nano, cut_short))
            return
        rec = (_REC_LE if little else _REC_BE).unpack_from
        pkt = _ETH_IP4_TCP.unpack_from
        self.secs = secs = _pcap_seconds(little, nano)
        flows = self.flows
        new_flow = self._new_flow
        frame = self._frame
        big = self.link_mtu + 14  # longer: oversize (slow path)
        readinto = fh.readinto
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        base = 0  # file offset of buf[0], after the file header
        n = 0  # bytes of buf holding data
        pos = 0
        count = 0
        try:
            while True:
                if pos:  # keep the incomplete record at the end, read after it
                    rest = n - pos
                    buf[:rest] = view[pos:n]
                    base += pos
                    n = rest
                    pos = 0
                if n == len(buf):  # a record larger than the buffer (at most MAX_RECORD)
                    view.release()
                    buf.extend(bytes(len(buf)))
                    view = memoryview(buf)
                got = readinto(view[n:])
                if not got:
                    if n and cut_short is not None:
                        cut_short.append(
                            f"the last record is cut short after {self.packets + count} frames "
                            f"(offset {24 + base})"
                        )
                    return
                n += got
                last = n - 16
                while pos <= last:
                    ts, caplen = rec(buf, pos)
                    end = pos + caplen + 16
                    if end > n:
                        if caplen > MAX_RECORD:
                            raise ParseError(f"impossible record length {caplen} at offset {24 + base + pos}")
                        break
                    count += 1
                    if 54 <= caplen <= big:
                        ev, tot, fp, key, seq, ack, df, win = pkt(buf, pos)
                        # IPv4 (ethertype 0x0800, no options), TCP, not a non-first fragment, no
                        # trailer (frames of up to 60 bytes are padded, not trailered)
                        if (
                            ev >> 8 == 0x080045
                            and fp & 0x1FFF00FF == 6
                            and (caplen <= tot + 14 or caplen <= 60)
                        ):
                            pos = end
                            try:
                                half = flows[key]
                            except KeyError:
                                half = new_flow(key, 4)
                            seglen = tot - 20 - ((df >> 12) << 2)
                            if seq == half.nextseq and win and not df & 0x07:
                                # Half.segment's common case, inline (keep the two in step)
                                if seglen:
                                    half.nextseq = (seq + seglen) & 0xFFFFFFFF
                                    half.nextseqtime = ts
                                if df & 0x10:
                                    if ack != half.lastack:
                                        half.lastack = ack
                                        half.lastacktime = ts
                                        half.dupacks = 0
                                        if half.syn_ts and not half.rtt:
                                            half.rtt = secs(ts) - secs(half.syn_ts)
                                    elif not seglen and win == half.lastwin:
                                        half.dupacks += 1
                                half.lastwin = win
                            else:
                                half.segment(ts, seq, ack, df & 0xFF, win, seglen, secs)
                            continue
                    frame(ts, bytes(view[pos + 16 : end]))
                    pos = end
        finally:
            view.release()
            self.packets += count

    def _frame(self, ts: Stamp, buf: bytes) -> None:
        """Account one frame of any link type (the general path); `ts` as `self.secs` reads it."""
        lt = self.linktype
        eth = lt == LINKTYPE_ETHERNET
        mtu = self.link_mtu
        flows = self.flows
        tag = 0
        flen = len(buf)
        if eth:
            if flen < 14:
                return
            et = (buf[12] << 8) | buf[13]
            off = 14
            while et == 0x8100 or et == 0x88A8:
                tag = ((buf[off] & 0x0F) << 8) | buf[off + 1]
                self.tags.add(tag)
                et = (buf[off + 2] << 8) | buf[off + 3]
                off += 4
            if flen > mtu + off:
                self._oversize(buf, off)
        elif lt == LINKTYPE_LINUX_SLL:
            et = (buf[14] << 8) | buf[15]
            off = 16
        elif lt == LINKTYPE_LINUX_SLL2:
            et = (buf[0] << 8) | buf[1]
            off = 20
        elif lt in (LINKTYPE_RAW, LINKTYPE_IPV4):
            et = 0x0800 if buf and buf[0] >> 4 == 4 else 0x86DD
            off = 0
        else:
            return
        if et == 0x0800:
            if flen < off + 20:
                return
            ihl = (buf[off] & 0x0F) << 2
            tot = (buf[off + 2] << 8) | buf[off + 3]
            end = off + tot
            if flen > end and flen > MIN_FRAME and eth:
                self._trailer(buf, off, tot)
            proto = buf[off + 9]
            if buf[off + 7] or (buf[off + 6] & 0x1F):
                return  # a non-first fragment carries no L4 header
            l4 = off + ihl
            if proto == 6:
                if flen < l4 + 20:
                    return
                key = buf[off + 12 : off + 20] + buf[l4 : l4 + 4]
                half = flows.get(key)
                if half is None:
                    half = self._new_flow(key, 4)
                seq, ack, doff, flags, win = _TCP.unpack_from(buf, l4)
                half.segment(ts, seq, ack, flags, win, tot - ihl - ((doff >> 4) << 2), self.secs)
            elif proto == 17:
                if flen >= l4 + 8:
                    self._udp(buf, l4, end, buf[off + 12 : off + 16], buf[off + 16 : off + 20], tag)
            elif proto == 1:
                self._icmp4(buf, off, l4, tag)
        elif et == 0x86DD:
            if len(buf) < off + 40:
                return
            plen = (buf[off + 4] << 8) | buf[off + 5]
            nh = buf[off + 6]
            l4 = off + 40
            end = l4 + plen
            if lt == LINKTYPE_ETHERNET and len(buf) > end and len(buf) > MIN_FRAME:
                self._trailer(buf, off, 40 + plen)
            if nh == 6:
                if len(buf) < l4 + 20:
                    return
                key = buf[off + 8 : off + 40] + buf[l4 : l4 + 4]
                half = flows.get(key)
                if half is None:
                    half = self._new_flow(key, 16)
                seq, ack, doff, flags, win = _TCP.unpack_from(buf, l4)
                half.segment(ts, seq, ack, flags, win, plen - ((doff >> 4) << 2), self.secs)
            elif nh == 17:
                if len(buf) >= l4 + 8:
                    self._udp(buf, l4, end, buf[off + 8 : off + 24], buf[off + 24 : off + 40], tag)
            elif nh == 58 and len(buf) >= l4 + 8 and buf[l4] == 2:
                ptb_mtu = int.from_bytes(buf[l4 + 4 : l4 + 8], "big")
                inner = buf[l4 + 8 + 24 : l4 + 8 + 40]
                to = _ip(inner) if len(inner) == 16 else "?"
                self.frag[(_ip(buf[off + 8 : off + 24]), to, ptb_mtu)] += 1
        elif et == 0x0806:
            self._arp(buf, off, tag)

    # --- the rarer cases (a method call is fine here) --------------------------------------

    def _new_flow(self, key: bytes, n: int) -> Half:
        fwd = Half(key)
        rkey = key[n : 2 * n] + key[:n] + key[2 * n + 2 : 2 * n + 4] + key[2 * n : 2 * n + 2]
        rev = self.flows.get(rkey)
        if rev is None:
            rev = Half(rkey)
            self.flows[rkey] = rev
            self.flow_count += 1
        fwd.rev, rev.rev = rev, fwd
        self.flows[key] = fwd
        if len(self.flows) > MAX_FLOWS:
            self._evict()
        return fwd

    def _evict(self) -> None:
        """Forget the oldest tenth of the flow table, keeping their counts."""
        drop = list(self.flows)[: MAX_FLOWS // 10]
        for k in drop:
            h = self.flows.pop(k)
            self.forgotten["retransmissions"] += h.retrans
            self.forgotten["resets"] += h.resets
            self.forgotten["zero_windows"] += h.zero_windows
            if h.retrans or h.resets or h.zero_windows:
                self.forgotten_top.append(
                    FlowStats(_flow_label(h.label), h.retrans, h.resets, h.zero_windows)
                )
        self.forgotten_top = sorted(self.forgotten_top, key=_flow_weight)[:TOP_FLOWS]

    def _oversize(self, buf: bytes, off: int) -> None:
        self.oversize[(_mac(buf[6:12]), _mac(buf[0:6]), len(buf), self.link_mtu + off)] += 1

    def _trailer(self, buf: bytes, off: int, ip_len: int) -> None:
        if len(buf) <= MIN_FRAME + off - 14:
            return  # padding of a short (tagged) frame
        expected = max(off + ip_len, MIN_FRAME)
        extra = len(buf) - expected
        if extra > 0:
            self.trailer[(_mac(buf[6:12]), len(buf), ip_len, extra)] += 1

    def _icmp4(self, buf: bytes, off: int, l4: int, tag: int) -> None:
        if len(buf) < l4 + 8:
            return
        typ, code = buf[l4], buf[l4 + 1]
        if len(self.icmp_from) < MAX_PENDING:
            self.icmp_from.add(buf[off + 12 : off + 16])
        if tag and typ in (0, 8):
            (self.vlan_req if typ == 8 else self.vlan_rep)[tag] += 1
        if typ == 3 and code == 4:
            mtu = (buf[l4 + 6] << 8) | buf[l4 + 7]
            inner = l4 + 8
            to = _ntop4(buf[inner + 16 : inner + 20]) if len(buf) >= inner + 20 else "?"
            self.frag[(_ntop4(buf[off + 12 : off + 16]), to, mtu)] += 1
        elif typ == 8 and tag:
            self.tagged_targets.add(buf[off + 16 : off + 20])
        elif typ == 0 and not tag and self.tags and buf[off + 12 : off + 16] in self.tagged_targets:
            self.untagged_replies += 1

    def _udp(self, buf: bytes, l4: int, end: int, src: bytes, dst: bytes, tag: int) -> None:
        sport = (buf[l4] << 8) | buf[l4 + 1]
        dport = (buf[l4 + 2] << 8) | buf[l4 + 3]
        p = l4 + 8
        if dport == 53 or sport == 53:
            if len(buf) < p + 4:
                return
            txid = buf[p : p + 2]
            if dport == 53 and not buf[p + 2] & 0x80:
                self.dns_q[(dst, "udp")] += 1
                if len(self.dns_pending) < MAX_PENDING:
                    self.dns_pending[(dst, src, buf[l4 : l4 + 2], "udp")] = txid
            elif sport == 53 and buf[p + 2] & 0x80:
                k = (src, dst, buf[l4 + 2 : l4 + 4], "udp")
                if self.dns_pending.get(k) == txid:
                    del self.dns_pending[k]
                self.dns_r[(src, "udp")] += 1
        elif (dport == 67 or dport == 68) and len(buf) >= p + 244 and buf[p + 236 : p + 240] == b"c\x82Sc":
            mtype = _dhcp_type(buf, p + 240, end)
            xid = buf[p + 4 : p + 8].hex()
            chaddr = _mac(buf[p + 28 : p + 34])
            if mtype == 1:
                k2 = (chaddr, xid)
                if k2 in self.dhcp_discover or len(self.dhcp_discover) < MAX_PENDING:
                    self.dhcp_discover[k2] = self.dhcp_discover.get(k2, 0) + 1
            elif mtype == 2:
                self.dhcp_offered.add(xid)
                server = _dhcp_server(buf, p + 240, end) or _ip(src)
                if len(self.dhcp_offers) < 1000:
                    self.dhcp_offers[(server, _ntop4(buf[p + 16 : p + 20]), chaddr)] = None

    def _arp(self, buf: bytes, off: int, tag: int) -> None:
        if len(buf) < off + 28 or buf[off + 4] != 6 or buf[off + 5] != 4:
            return
        op = buf[off + 7]
        sha, spa = buf[off + 8 : off + 14], buf[off + 14 : off + 18]
        tpa = buf[off + 24 : off + 28]
        if tag and op in (1, 2):
            (self.vlan_req if op == 1 else self.vlan_rep)[tag] += 1
        if op == 1:
            if spa != b"\0\0\0\0" and spa != tpa and len(self.arp_req) < MAX_PENDING:
                self.arp_req[tpa] += 1
            if tag:
                self.tagged_targets.add(tpa)
            if spa == tpa:  # gratuitous announcement: this MAC claims the address
                self.arp_macs[spa].add(sha)
        elif op == 2:
            self.arp_answered.add(spa)
            if len(self.arp_macs) < MAX_PENDING:
                self.arp_macs[spa].add(sha)
            if not tag and self.tags and spa in self.tagged_targets:
                self.untagged_replies += 1

    # --- the result --------------------------------------------------------------------------

    def summary(self, file: str) -> PcapSummary:
        halves = list(self.flows.values())
        per_conn: dict[int, FlowStats] = {}
        for h in halves:
            if h.retrans or h.resets or h.zero_windows:
                per_conn[id(h)] = FlowStats(_flow_label(h.label), h.retrans, h.resets, h.zero_windows)
        top = sorted([*per_conn.values(), *self.forgotten_top], key=_flow_weight)[:TOP_FLOWS]
        servers = self._dns_servers(halves)
        return PcapSummary(
            file=file,
            packets=self.packets,
            link_mtu=self.link_mtu,
            oversize_frames=[
                OversizeFrame(s, d, ln, mx, c) for (s, d, ln, mx), c in self.oversize.most_common(20)
            ],
            trailer_frames=[
                TrailerFrame(s, ln, ip, tb, c) for (s, ln, ip, tb), c in self.trailer.most_common(20)
            ],
            tcp=TcpStats(
                flows=self.flow_count,
                retransmissions=sum(h.retrans for h in halves) + self.forgotten["retransmissions"],
                resets=sum(h.resets for h in halves) + self.forgotten["resets"],
                zero_windows=sum(h.zero_windows for h in halves) + self.forgotten["zero_windows"],
                top_flows=top,
            ),
            icmp_frag_needed=[FragNeeded(f, t, m, c) for (f, t, m), c in self.frag.most_common(20)],
            dhcp=DhcpStats(
                discover_without_offer=[
                    DhcpDiscover(mac, xid, c)
                    for (mac, xid), c in self.dhcp_discover.items()
                    if xid not in self.dhcp_offered
                ][:50],
                offers=[DhcpOffer(s, y, m) for (s, y, m) in self.dhcp_offers][:50],
            ),
            dns=servers,
            arp=ArpStats(
                unanswered=[
                    ArpUnanswered(_ip(t), c)
                    for t, c in self.arp_req.most_common()
                    if t not in self.arp_answered
                ][:50],
                duplicates=[
                    ArpDuplicate(_ip(ip), sorted(_mac(m) for m in macs))
                    for ip, macs in sorted(self.arp_macs.items())
                    if len(macs) > 1
                ],
            ),
            vlan=VlanStats(
                tags_seen=sorted(self.tags),
                untagged_replies=self.untagged_replies,
                per_tag=[
                    VlanTag(t, self.vlan_req.get(t, 0), self.vlan_rep.get(t, 0))
                    for t in sorted({*self.vlan_req, *self.vlan_rep})
                ],
            ),
        )

    def _dns_servers(self, halves: list[Half]) -> list[DnsServer]:
        """Per name server and transport: queries, responses, unanswered. UDP from the DNS
        messages; TCP per connection to port 53 (a response: the server's side answered without a
        reset). `other_packets` counts what else came from the server: TCP segments of any
        connection, ICMP messages, an ARP reply."""
        unanswered = Counter(k[0] for k in self.dns_pending)
        tcp_q: Counter[bytes] = Counter()
        tcp_r: Counter[bytes] = Counter()
        tcp_from: Counter[bytes] = Counter()
        for h in halves:
            if h.lastwin == -1:
                continue  # nothing was seen in this direction
            n = 4 if len(h.label) == 12 else 16
            tcp_from[h.label[:n]] += 1
            if h.label[2 * n + 2 : 2 * n + 4] == b"\x005":
                dst = h.label[n : 2 * n]
                tcp_q[dst] += 1
                if h.rev.lastwin != -1 and not h.rev.resets:
                    tcp_r[dst] += 1
        servers: list[DnsServer] = []
        keys = {*self.dns_q, *((srv, "tcp") for srv in tcp_q)}
        for srv, proto in sorted(keys):
            other = tcp_from.get(srv, 0) + (srv in self.icmp_from) + (srv in self.arp_answered)
            if proto == "udp":
                q, r, u = self.dns_q[(srv, proto)], self.dns_r.get((srv, proto), 0), unanswered.get(srv, 0)
            else:
                q, r = tcp_q[srv], tcp_r[srv]
                u = q - r
            servers.append(DnsServer(_ip(srv), proto, q, r, u, other))
        return servers


def _pcap_seconds(little: bool, nano: bool) -> ToSeconds:
    """Seconds of the stamp `_REC_LE`/`_REC_BE` read: exactly the float `sec + frac / 1e6` (1e9)."""
    div = 1e9 if nano else 1e6

    def le(ts: int) -> float:  # fraction in the high half
        return (ts & 0xFFFFFFFF) + (ts >> 32) / div

    def be(ts: int) -> float:
        return (ts >> 32) + (ts & 0xFFFFFFFF) / div

    return le if little else be


def _flow_weight(f: FlowStats) -> tuple[int, str]:
    return (-(f.retransmissions + f.resets + f.zero_windows), f.flow)


def _dhcp_options(buf: bytes, i: int, end: int) -> dict[int, bytes]:
    opts: dict[int, bytes] = {}
    end = min(end, len(buf))
    while i < end:
        code = buf[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        if i + 1 >= end:
            break
        ln = buf[i + 1]
        opts[code] = buf[i + 2 : i + 2 + ln]
        i += 2 + ln
    return opts


def _dhcp_type(buf: bytes, i: int, end: int) -> int:
    v = _dhcp_options(buf, i, end).get(53, b"")
    return v[0] if v else 0


def _dhcp_server(buf: bytes, i: int, end: int) -> str:
    v = _dhcp_options(buf, i, end).get(54, b"")
    return _ntop4(v) if len(v) == 4 else ""


def analyse_capture(path: Path, link_mtu: int = 1500) -> tuple[PcapSummary, list[str]]:
    """Stream one capture (`-`: standard input) into its summary, and why reading stopped early
    when it did (a capture still being written, a malformed block after the first frames);
    ParseError when the file is not a capture."""
    with open_capture(path) as cap:
        an = Analyser(link_mtu, cap.linktype)
        try:
            if cap.fh is not None:
                an.run_pcap(cap.fh, cap.little, cap.nano, cap.cut_short)
            else:
                an.run(cap.frames)
        except (ValueError, IndexError, struct.error) as exc:  # a record that lies about its length
            raise ParseError(f"{path}: capture cut short after {an.packets} frames ({exc})") from None
        return an.summary(path.name), list(cap.cut_short)


def analyse_file(path: Path, link_mtu: int = 1500) -> PcapSummary:
    """Stream one capture file into its summary; ParseError when the file is not a capture."""
    return analyse_capture(path, link_mtu)[0]
