"""The ARP and DHCP frames the probes send, read back by dpkt (an independent parser), and the
replies the probes read, built by dpkt the way a server sends them."""

from __future__ import annotations

import socket

import dpkt  # type: ignore[import-untyped]

from netsleuth.probes.frames import arp_reply_from, arp_request, dhcp_discover, dhcp_offer_from

MAC = bytes.fromhex("02005e1000fe")
SERVER_MAC = bytes.fromhex("52540012ab01")


def test_arp_request_is_a_broadcast_who_has() -> None:
    frame = arp_request(MAC, "10.0.0.5", "10.0.0.9")
    eth = dpkt.ethernet.Ethernet(frame)
    assert (eth.dst, eth.src, eth.type) == (b"\xff" * 6, MAC, dpkt.ethernet.ETH_TYPE_ARP)
    arp = eth.data
    assert (arp.op, arp.sha, socket.inet_ntoa(arp.spa), socket.inet_ntoa(arp.tpa)) == (
        dpkt.arp.ARP_OP_REQUEST,
        MAC,
        "10.0.0.5",
        "10.0.0.9",
    )
    assert len(frame) == 60  # padded to the Ethernet minimum


def test_duplicate_address_probe_says_nothing_of_its_sender_and_may_carry_a_vlan_tag() -> None:
    eth = dpkt.ethernet.Ethernet(arp_request(MAC, "0.0.0.0", "10.0.0.9", vlan=100))
    assert [t.id for t in eth.vlan_tags] == [100]
    assert eth.data.spa == bytes(4) and socket.inet_ntoa(eth.data.tpa) == "10.0.0.9"


def _arp_reply(spa: str, vlan: int | None = None) -> bytes:
    arp = dpkt.arp.ARP(
        op=dpkt.arp.ARP_OP_REPLY, sha=SERVER_MAC, spa=socket.inet_aton(spa), tha=MAC, tpa=bytes(4)
    )
    eth = dpkt.ethernet.Ethernet(dst=MAC, src=SERVER_MAC, type=dpkt.ethernet.ETH_TYPE_ARP, data=arp)
    if vlan is not None:
        eth.vlan_tags = [dpkt.ethernet.VLANtag8021Q(id=vlan)]
        eth.type = dpkt.ethernet.ETH_TYPE_8021Q
    return bytes(eth)


def test_arp_reply_names_the_holder_of_the_address_tagged_or_not() -> None:
    assert arp_reply_from(_arp_reply("10.0.0.9"), "10.0.0.9") == "52:54:00:12:ab:01"
    assert arp_reply_from(_arp_reply("10.0.0.9", vlan=100), "10.0.0.9") == "52:54:00:12:ab:01"
    assert arp_reply_from(_arp_reply("10.0.0.8"), "10.0.0.9") is None  # another address
    assert arp_reply_from(arp_request(SERVER_MAC, "10.0.0.9", "10.0.0.1"), "10.0.0.9") is None  # a request


def test_dhcp_discover_is_well_formed_down_to_its_checksums() -> None:
    frame = dhcp_discover(MAC, 0x1234ABCD)
    eth = dpkt.ethernet.Ethernet(frame)
    ip = eth.data
    assert (socket.inet_ntoa(ip.src), socket.inet_ntoa(ip.dst), ip.p) == ("0.0.0.0", "255.255.255.255", 17)
    assert dpkt.in_cksum(bytes(frame[14:34])) == 0  # the IP header checksum holds
    udp = ip.data
    assert (udp.sport, udp.dport, udp.ulen) == (68, 67, len(bytes(udp)))
    pseudo = ip.src + ip.dst + bytes([0, 17]) + udp.ulen.to_bytes(2, "big")
    assert dpkt.in_cksum(pseudo + bytes(udp)) == 0  # and the UDP one
    dhcp = dpkt.dhcp.DHCP(bytes(udp.data))
    assert (dhcp.op, dhcp.xid, dhcp.chaddr[:6], dhcp.flags) == (1, 0x1234ABCD, MAC, 0x8000)
    opts = dict(dhcp.opts)
    assert opts[dpkt.dhcp.DHCP_OPT_MSGTYPE] == bytes([dpkt.dhcp.DHCPDISCOVER])
    assert opts[dpkt.dhcp.DHCP_OPT_PARAM_REQ] == bytes([1, 3, 6])


def _offer(xid: int, msgtype: int = dpkt.dhcp.DHCPOFFER, server_id: bool = True) -> bytes:
    opts = [(dpkt.dhcp.DHCP_OPT_MSGTYPE, bytes([msgtype]))]
    if server_id:
        opts.append((dpkt.dhcp.DHCP_OPT_SERVER_ID, socket.inet_aton("192.168.100.1")))
    dhcp = dpkt.dhcp.DHCP(op=dpkt.dhcp.DHCP_OP_REPLY, xid=xid, yiaddr=0xC0A86405, chaddr=MAC, opts=opts)
    udp = dpkt.udp.UDP(sport=67, dport=68, data=dhcp)
    udp.ulen = len(udp)
    ip = dpkt.ip.IP(src=socket.inet_aton("192.168.100.2"), dst=b"\xff" * 4, p=17, data=udp)
    ip.len = len(ip)
    return bytes(dpkt.ethernet.Ethernet(dst=b"\xff" * 6, src=SERVER_MAC, type=0x0800, data=ip))


def test_dhcp_offer_for_our_discover_names_server_address_and_mac() -> None:
    offer = dhcp_offer_from(_offer(7), 7)
    assert offer is not None
    assert (offer.server, offer.yiaddr, offer.server_mac) == (
        "192.168.100.1",
        "192.168.100.5",
        "52:54:00:12:ab:01",
    )
    assert dhcp_offer_from(_offer(7, server_id=False), 7).server == "192.168.100.2"  # type: ignore[union-attr]
    assert dhcp_offer_from(_offer(8), 7) is None  # another client's transaction
    assert dhcp_offer_from(_offer(7, msgtype=dpkt.dhcp.DHCPACK), 7) is None  # not an OFFER
    assert dhcp_offer_from(dhcp_discover(MAC, 7), 7) is None  # our own DISCOVER
