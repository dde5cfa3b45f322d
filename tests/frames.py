"""Frames for the capture tests, built with dpkt (a netsleuth dependency) and written as pcap or
pcapng files the way tcpdump and dumpcap write them."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from pathlib import Path

import dpkt  # type: ignore[import-untyped]

BROADCAST = "ff:ff:ff:ff:ff:ff"
ZERO = "00:00:00:00:00:00"
_FLAGS = {"F": dpkt.tcp.TH_FIN, "S": dpkt.tcp.TH_SYN, "R": dpkt.tcp.TH_RST, "P": dpkt.tcp.TH_PUSH}
_FLAGS["A"] = dpkt.tcp.TH_ACK


def mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def ip(text: str) -> bytes:
    return socket.inet_aton(text)


def ether(payload: object, src: str = ZERO, dst: str = ZERO, vlan: int | None = None) -> bytes:
    """An Ethernet frame around an IPv4 packet or an ARP message, 802.1Q-tagged when `vlan`."""
    etype = dpkt.ethernet.ETH_TYPE_ARP if isinstance(payload, dpkt.arp.ARP) else dpkt.ethernet.ETH_TYPE_IP
    eth = dpkt.ethernet.Ethernet(src=mac(src), dst=mac(dst), type=etype, data=payload)
    if vlan is not None:
        eth.vlan_tags = [dpkt.ethernet.VLANtag8021Q(id=vlan, type=etype)]
        eth.type = dpkt.ethernet.ETH_TYPE_8021Q
    return bytes(eth)


def ipv4(src: str, dst: str, payload: object, df: bool = False) -> object:
    proto = {dpkt.tcp.TCP: 6, dpkt.udp.UDP: 17, dpkt.icmp.ICMP: 1}[type(payload)]
    pkt = dpkt.ip.IP(src=ip(src), dst=ip(dst), p=proto, ttl=64, id=1, data=payload)
    pkt.df = int(df)
    return pkt


def tcp(
    sport: int, dport: int, flags: str, seq: int = 0, ack: int = 0, window: int = 8192, data: bytes = b""
) -> object:
    bits = 0
    for f in flags:
        bits |= _FLAGS[f]
    return dpkt.tcp.TCP(sport=sport, dport=dport, flags=bits, seq=seq, ack=ack, win=window, data=data)


def udp(sport: int, dport: int, data: object) -> object:
    u = dpkt.udp.UDP(sport=sport, dport=dport, data=data)
    u.ulen = len(u)
    return u


def icmp_echo(ident: int, seq: int, data: bytes = b"", reply: bool = False) -> object:
    kind = dpkt.icmp.ICMP_ECHOREPLY if reply else dpkt.icmp.ICMP_ECHO
    return dpkt.icmp.ICMP(type=kind, code=0, data=dpkt.icmp.ICMP.Echo(id=ident, seq=seq, data=data))


def icmp_frag_needed(mtu: int, inner_src: str, inner_dst: str) -> object:
    """ICMP destination unreachable, fragmentation needed (type 3 code 4) with the next-hop MTU,
    quoting the header of the dropped DF packet and its first 8 bytes."""
    inner = dpkt.ip.IP(src=ip(inner_src), dst=ip(inner_dst), p=6, ttl=64, id=1, data=b"\0" * 8)
    inner.df = 1
    quoted = bytes(inner)
    return dpkt.icmp.ICMP(type=3, code=4, data=dpkt.icmp.ICMP.Unreach(mtu=mtu, data=quoted))


def arp(op: int, hwsrc: str, psrc: str, pdst: str, hwdst: str = ZERO) -> object:
    return dpkt.arp.ARP(op=op, sha=mac(hwsrc), spa=ip(psrc), tha=mac(hwdst), tpa=ip(pdst))


def dhcp(
    op: int, xid: int, chaddr: str, msgtype: int, yiaddr: str = "0.0.0.0", server_id: str = ""
) -> object:
    opts = [(dpkt.dhcp.DHCP_OPT_MSGTYPE, bytes([msgtype]))]
    if server_id:
        opts.append((dpkt.dhcp.DHCP_OPT_SERVER_ID, ip(server_id)))
    return dpkt.dhcp.DHCP(
        op=op, xid=xid, chaddr=mac(chaddr), yiaddr=int.from_bytes(ip(yiaddr), "big"), opts=opts
    )


def dns(ident: int, qname: str, qr: bool = False) -> object:
    d = dpkt.dns.DNS(id=ident, qd=[dpkt.dns.DNS.Q(name=qname.rstrip("."))])
    d.qr = dpkt.dns.DNS_R if qr else dpkt.dns.DNS_Q
    d.rd = 1
    return d


def write(path: Path, frames: Iterable[bytes | tuple[float, bytes]], fmt: str = "pcap") -> Path:
    """A capture file of `frames` (a frame alone is stamped one millisecond after the previous)."""
    with path.open("wb") as fh:
        w = dpkt.pcap.Writer(fh) if fmt == "pcap" else dpkt.pcapng.Writer(fh)
        ts = 1.0
        for f in frames:
            ts, data = f if isinstance(f, tuple) else (ts + 0.001, f)
            w.writepkt(data, ts=ts)
    return path
