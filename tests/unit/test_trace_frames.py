"""What a trace capture socket keeps and what each kept frame is: the BPF program run by its
interpreter (the same instructions the kernel gets) and the classifier, on frames built with
scapy the way they appear on the wire — VLAN tags in the frame or in PACKET_AUXDATA, IPv6,
ARP / neighbour discovery, and VXLAN on an underlay."""

from __future__ import annotations

import struct

import pytest
from scapy.all import (  # type: ignore[import-untyped]
    ARP,
    ICMP,
    IP,
    TCP,
    UDP,
    VXLAN,
    Dot1AD,
    Dot1Q,
    Ether,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    IPv6,
)

from netsleuth.capture.bpf import Match, probe_filter, run
from netsleuth.capture.frames import PACKET_AUXDATA, SOL_PACKET, classify, with_tag
from netsleuth.results.capture import Outer

V4 = Match(4, 1, 4242, neighbours=("10.99.11.1",), tunnel_ports=(4789,))
ECHO = IP(src="10.99.11.2", dst="10.99.11.1") / ICMP(type=8, id=4242)


def kept(m: Match, frame: object) -> bool:
    return run(probe_filter(m), bytes(frame)) > 0  # type: ignore[call-overload]


@pytest.mark.parametrize(
    "frame",
    [
        Ether() / ECHO,
        Ether() / Dot1Q(vlan=1011) / ECHO,
        Ether() / Dot1AD(vlan=100) / Dot1Q(vlan=1011) / ECHO,
        Ether() / IP(dst="10.99.11.2") / ICMP(type=0, id=4242),
        Ether() / Dot1Q(vlan=1011) / ARP(op=1, psrc="10.99.11.2", pdst="10.99.11.1"),
        Ether() / ARP(op=2, psrc="10.99.11.1", pdst="10.99.11.2"),
        Ether()
        / IP(src="10.70.0.1", dst="10.70.0.2")
        / UDP(sport=5555, dport=4789)
        / VXLAN(vni=42)
        / Ether()
        / ECHO,
        Ether() / IP() / UDP(dport=4789) / VXLAN(vni=42) / Ether() / Dot1Q(vlan=7) / ARP(pdst="10.99.11.1"),
    ],
    ids=["probe", "tagged", "qinq", "reply", "arp-tagged", "arp-reply", "vxlan", "vxlan-arp"],
)
def test_filter_keeps_the_probe_and_its_next_hops_resolution(frame: object) -> None:
    assert kept(V4, frame)


@pytest.mark.parametrize(
    "frame",
    [
        Ether() / IP() / ICMP(id=1),  # someone else's ping
        Ether() / ARP(op=1, psrc="10.99.11.2", pdst="10.99.11.9"),  # another address
        Ether() / IP() / UDP(dport=4790) / VXLAN(vni=42) / Ether() / ECHO,  # not a tunnel port
        Ether() / IP() / UDP(dport=4789) / VXLAN(vni=42) / Ether() / IP() / ICMP(id=1),
        Ether() / IP(flags=0, frag=100) / ICMP(id=4242),  # a later fragment: no ICMP header
        Ether() / IP() / TCP(sport=4242, dport=80),  # right number, wrong protocol
    ],
    ids=["other-ping", "other-arp", "other-port", "other-inner", "fragment", "tcp"],
)
def test_filter_drops_the_rest(frame: object) -> None:
    assert not kept(V4, frame)


def test_filter_without_tunnel_ports_ignores_vxlan() -> None:
    frame = Ether() / IP() / UDP(dport=4789) / VXLAN(vni=42) / Ether() / ECHO
    assert not kept(Match(4, 1, 4242), frame)


def test_ipv6_probe_and_neighbour_discovery() -> None:
    m = Match(6, 58, 77, neighbours=("fd00:61:2::2",))
    ip = IPv6(src="fd00:61:1::2", dst="fd00:61:2::2")
    assert kept(m, Ether() / ip / ICMPv6EchoRequest(id=77))
    assert kept(m, Ether() / IPv6() / ICMPv6EchoReply(id=77))
    assert kept(m, Ether() / Dot1Q(vlan=5) / IPv6() / ICMPv6ND_NS(tgt="fd00:61:2::2"))
    assert kept(m, Ether() / IPv6() / ICMPv6ND_NA(tgt="fd00:61:2::2"))
    assert not kept(m, Ether() / IPv6() / ICMPv6ND_NS(tgt="fd00:61:2::3"))
    assert not kept(m, Ether() / ip / ICMPv6EchoRequest(id=78))
    assert classify(bytes(Ether() / IPv6() / ICMPv6ND_NA(tgt="fd00:61:2::2")), m).kind == "neigh-reply"  # type: ignore[union-attr]


def test_tcp_and_udp_probes_match_either_port() -> None:
    for proto, l4 in ((6, TCP), (17, UDP)):
        m = Match(4, proto, 40001)
        assert kept(m, Ether() / IP() / l4(sport=40001, dport=22))
        assert kept(m, Ether() / IP() / l4(sport=22, dport=40001))
        assert classify(bytes(Ether() / IP() / l4(sport=22, dport=40001)), m).kind == "reply"  # type: ignore[union-attr]
        assert not kept(m, Ether() / IP() / l4(sport=22, dport=40002))


def test_classify_names_tags_and_the_outer_header() -> None:
    tagged = classify(bytes(Ether() / Dot1Q(vlan=1011) / ARP(op=1, pdst="10.99.11.1")), V4)
    assert tagged is not None and (tagged.kind, tagged.target, tagged.vlan) == (
        "neigh-request",
        "10.99.11.1",
        (1011,),
    )
    under = Ether() / IP(src="10.70.0.1", dst="10.70.0.2") / UDP(dport=4789) / VXLAN(vni=42) / Ether() / ECHO
    got = classify(bytes(under), V4)
    assert got is not None and got.kind == "request"
    assert got.outer == Outer("vxlan", 42, 4789, "10.70.0.1", "10.70.0.2")


def test_aux_data_tag_is_put_back_where_it_was_on_the_wire() -> None:
    """A frame the kernel untagged (veth receive, NIC rx-vlan offload): the tag arrives in
    PACKET_AUXDATA. Put back, it classifies exactly like the frame tagged in place."""
    wire = bytes(Ether(dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=1011) / ARP(op=1, pdst="10.99.11.1"))
    untagged = wire[:12] + wire[16:]
    aux = struct.pack("IIIHHHH", 0x51, len(untagged), len(untagged), 0, 14, 1011, 0x8100)
    assert with_tag(untagged, [(SOL_PACKET, PACKET_AUXDATA, aux)]) == wire
    no_vlan = struct.pack("IIIHHHH", 0x01, len(untagged), len(untagged), 0, 14, 0, 0)
    assert with_tag(untagged, [(SOL_PACKET, PACKET_AUXDATA, no_vlan)]) == untagged
    assert classify(with_tag(untagged, [(SOL_PACKET, PACKET_AUXDATA, aux)]), V4) == classify(wire, V4)


def test_truncated_frames_are_not_ours() -> None:
    whole = bytes(Ether() / ECHO)
    for n in (0, 10, 14, 20, 33):
        assert classify(whole[:n], V4) is None
        assert run(probe_filter(V4), whole[:n]) == 0
