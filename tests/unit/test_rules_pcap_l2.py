"""Captures feed arp.duplicate_ip, dhcp.no_offer, dns.udp53_blocked/server_unreachable and
vlan.no_reply: captures written here with each fault and a healthy counterpart, read by
`netsleuth pcap` (the same Bundle: one `pcap.summary` evidence) and judged by the same rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.frames import BROADCAST, arp, dhcp, dns, ether, icmp_echo, ipv4, tcp, udp, write
from tests.helpers import cli

VM = "fa:16:3e:a9:6e:f2"
PEER = "fa:16:3e:07:ee:2c"
OTHER = "8c:dc:d4:b3:af:14"
RULES = ("arp.duplicate_ip", "dhcp.no_offer", "dns.udp53_blocked", "dns.server_unreachable", "vlan.no_reply")


def pcap(tmp: Path, name: str, pkts: list[bytes]) -> dict[str, Any]:
    """`netsleuth pcap FILE --format json` on the frames, as a user runs it."""
    p = write(tmp / name, pkts)
    out = cli("pcap", str(p), "--format", "json")
    assert out.stdout, out.stderr
    return dict(json.loads(out.stdout))


def found(report: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["id"] == rule]


def status(report: dict[str, Any], rule: str) -> str:
    return next(c["status"] for c in report["checks"] if c["id"] == rule)


def _arp_reply(mac: str, ip: str) -> bytes:
    return ether(arp(2, mac, ip, "10.1.0.5", hwdst=VM), mac, VM)


def _who_has(ip: str, vlan: int | None = None) -> bytes:
    return ether(arp(1, VM, "10.1.0.5", ip), VM, BROADCAST, vlan=vlan)


def test_duplicate_ip_in_a_capture_names_the_ip_and_both_macs(tmp_path: Path) -> None:
    r = pcap(
        tmp_path,
        "dup.pcap",
        [_who_has("10.1.0.7"), _arp_reply(PEER, "10.1.0.7"), _arp_reply(OTHER, "10.1.0.7")],
    )
    (f,) = found(r, "arp.duplicate_ip")
    assert f["subject"] == "10.1.0.7"
    assert f["evidence"][0]["source"] == "netsleuth pcap dup.pcap"
    assert f"{OTHER} 10.1.0.7\n{PEER} 10.1.0.7" in f["evidence"][0]["excerpt"]
    assert r["host"]["source"].startswith("pcap:")


def test_one_mac_per_ip_is_quiet(tmp_path: Path) -> None:
    r = pcap(
        tmp_path,
        "arp.pcap",
        [_who_has("10.1.0.7"), _arp_reply(PEER, "10.1.0.7"), _arp_reply(PEER, "10.1.0.7")],
    )
    assert not found(r, "arp.duplicate_ip") and status(r, "arp.duplicate_ip") == "pass"


def _discover(mac: str, xid: int) -> bytes:
    return ether(ipv4("0.0.0.0", "255.255.255.255", udp(68, 67, dhcp(1, xid, mac, 1))), mac, BROADCAST)


def _offer(mac: str, xid: int) -> bytes:
    offer = dhcp(2, xid, mac, 2, yiaddr="10.84.0.58", server_id="10.84.0.1")
    return ether(ipv4("10.84.0.1", "10.84.0.58", udp(67, 68, offer)), PEER, mac)


def test_discover_without_offer_names_the_client_mac(tmp_path: Path) -> None:
    served = "fa:16:3e:00:00:02"
    frames = [_discover(VM, 0x1234), _discover(VM, 0x1234), _discover(VM, 0x1234)]
    frames += [_discover(served, 0x99), _offer(served, 0x99)]
    r = pcap(tmp_path, "dhcp.pcap", frames)
    (f,) = found(r, "dhcp.no_offer")
    assert f["subject"] == VM and "3 DHCPDISCOVER" in f["summary"]
    assert "xid 0x00001234" in f["evidence"][0]["excerpt"]


def test_discover_answered_is_quiet(tmp_path: Path) -> None:
    r = pcap(tmp_path, "dhcp-ok.pcap", [_discover(VM, 7), _discover(VM, 7), _offer(VM, 7)])
    assert not found(r, "dhcp.no_offer") and status(r, "dhcp.no_offer") == "pass"


def _query(server: str, txid: int, sport: int = 40000) -> bytes:
    return ether(ipv4("10.1.0.5", server, udp(sport, 53, dns(txid, "db."))))


def _answer(server: str, txid: int, dport: int = 40000) -> bytes:
    return ether(ipv4(server, "10.1.0.5", udp(53, dport, dns(txid, "db.", qr=True))))


def _tcp53(server: str) -> list[bytes]:
    """A DNS-over-TCP exchange the server accepts (SYN, SYN-ACK, query, answer)."""

    def c(t: object) -> bytes:
        return ether(ipv4("10.1.0.5", server, t))

    def s(t: object) -> bytes:
        return ether(ipv4(server, "10.1.0.5", t))

    return [
        c(tcp(41000, 53, "S", seq=100)),
        s(tcp(53, 41000, "SA", seq=500, ack=101)),
        c(tcp(41000, 53, "PA", seq=101, ack=501, data=b"\x00\x15" + bytes(21))),
        s(tcp(53, 41000, "PA", seq=501, ack=124, data=b"\x00\x15" + bytes(21))),
    ]


def test_udp_silent_but_tcp_answers_is_udp53_blocked(tmp_path: Path) -> None:
    r = pcap(tmp_path, "dns-tcp.pcap", [_query("10.1.0.53", 1), _query("10.1.0.53", 2), *_tcp53("10.1.0.53")])
    (f,) = found(r, "dns.udp53_blocked")
    assert f["subject"] == "10.1.0.53" and "TCP 53" in f["summary"]
    assert "udp: 2 queries, 0 responses" in f["evidence"][0]["excerpt"]
    assert not found(r, "dns.server_unreachable")


def test_udp_silent_and_icmp_from_the_server_is_udp53_blocked(tmp_path: Path) -> None:
    echo = ether(ipv4("10.1.0.53", "10.1.0.5", icmp_echo(1, 1, reply=True)))
    r = pcap(tmp_path, "dns-icmp.pcap", [_query("10.1.0.53", 1), _query("10.1.0.53", 2), echo])
    assert [f["subject"] for f in found(r, "dns.udp53_blocked")] == ["10.1.0.53"]
    assert not found(r, "dns.server_unreachable")


def test_nothing_at_all_from_the_server_is_server_unreachable(tmp_path: Path) -> None:
    frames = [_query("10.1.0.54", 1), _query("10.1.0.54", 2), _query("10.1.0.54", 3)]
    frames += [_query("10.1.0.53", 9, 40001), _answer("10.1.0.53", 9, 40001)]  # another one is fine
    r = pcap(tmp_path, "dns-dead.pcap", frames)
    (f,) = found(r, "dns.server_unreachable")
    assert f["subject"] == "10.1.0.54" and "none of 3 UDP queries" in f["summary"]
    assert not found(r, "dns.udp53_blocked")


def test_answered_dns_is_quiet(tmp_path: Path) -> None:
    r = pcap(
        tmp_path, "dns-ok.pcap", [_query("10.1.0.53", 1), _answer("10.1.0.53", 1), _query("10.1.0.53", 2)]
    )
    assert not found(r, "dns.udp53_blocked") and not found(r, "dns.server_unreachable")
    assert status(r, "dns.server_unreachable") == "pass"


def test_tagged_requests_without_tagged_reply_is_vlan_no_reply(tmp_path: Path) -> None:
    untagged = ether(arp(2, PEER, "10.100.2.1", "10.1.0.5"), PEER, VM)
    r = pcap(tmp_path, "bond0.pcap", [_who_has("10.100.2.1", 1011), _who_has("10.100.2.1", 1011), untagged])
    (f,) = found(r, "vlan.no_reply")
    assert f["subject"] == "vlan 1011 on bond0.pcap"
    assert "2 ARP/ICMP echo requests tagged 1011, 0 replies tagged 1011" in f["evidence"][0]["excerpt"]
    assert "1 replies came back untagged" in f["evidence"][0]["excerpt"]


def test_tagged_reply_is_quiet(tmp_path: Path) -> None:
    reply = ether(arp(2, PEER, "10.100.2.1", "10.1.0.5"), PEER, VM, vlan=1011)
    r = pcap(tmp_path, "ok.pcap", [_who_has("10.100.2.1", 1011), _who_has("10.100.2.1", 1011), reply])
    assert not found(r, "vlan.no_reply") and status(r, "vlan.no_reply") == "pass"


def test_only_selects_these_rules_on_a_capture(tmp_path: Path) -> None:
    p = write(tmp_path / "dup.pcap", [_arp_reply(PEER, "10.1.0.7"), _arp_reply(OTHER, "10.1.0.7")])
    out = cli("pcap", str(p), "--format", "json", *(a for r in RULES for a in ("--only", r)))
    r = json.loads(out.stdout)
    assert out.returncode == 2
    assert {c["id"] for c in r["checks"]} == set(RULES)
    assert [f["id"] for f in r["findings"]] == ["arp.duplicate_ip"]
