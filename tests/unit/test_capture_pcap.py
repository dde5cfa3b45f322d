"""`netsleuth pcap`: captures written by the tests with each fault, analysed and diagnosed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from netsleuth.capture.analyse import analyse_file
from netsleuth.capture.evidence import pcap_evidence, trace_evidence
from netsleuth.errors import ParseError
from netsleuth.results.capture import PcapSummary, Sighting, TracePoint, TraceResult
from tests.frames import (
    BROADCAST,
    arp,
    dhcp,
    dns,
    ether,
    icmp_echo,
    icmp_frag_needed,
    ipv4,
    tcp,
    udp,
    write,
)
from tests.helpers import bundle, check, ev, findings, run

VM = "fa:16:3e:a9:6e:f2"
PEER = "fa:16:3e:07:ee:2c"


def _write(tmp: Path, name: str, pkts: list[bytes] | list[tuple[float, bytes]], fmt: str = "pcap") -> Path:
    return write(tmp / name, pkts, fmt)


def seed004_frames() -> list[bytes]:
    """Seed 004: `ping -s 1471` through VLAN 131: 1517 bytes + a 2-byte trailer = 1519 on eth1."""
    frames = []
    for seq in range(1, 4):
        echo = ipv4("192.168.11.105", "192.168.11.106", icmp_echo(24895, seq, b"\xab" * 1471))
        frames.append(ether(echo, VM, PEER, vlan=131) + b"\x00\x00")  # the driver's 2-byte trailer
    return frames


def test_seed004_trailer_frames_of_1519_bytes(tmp_path: Path) -> None:
    s = analyse_file(_write(tmp_path, "eth1.pcap", seed004_frames()))
    assert [(t.src_mac, t.len, t.ip_total_len, t.trailer_bytes, t.count) for t in s.trailer_frames] == [
        (VM, 1519, 1499, 2, 3)
    ]
    assert [(o.len, o.max_expected, o.count) for o in s.oversize_frames] == [(1519, 1518, 3)]
    assert s.vlan.tags_seen == [131]


def test_seed004_trailer_in_pcapng_too(tmp_path: Path) -> None:
    s = analyse_file(_write(tmp_path, "eth1.pcapng", seed004_frames(), fmt="pcapng"))
    assert s.trailer_frames[0].len == 1519


def test_short_frames_padded_to_60_are_not_trailers(tmp_path: Path) -> None:
    who = ether(arp(1, VM, "10.0.0.1", "10.0.0.2"), VM, BROADCAST)
    syn = ether(ipv4("10.0.0.1", "10.0.0.2", tcp(20, 80, "S")))
    s = analyse_file(_write(tmp_path, "small.pcap", [who + b"\0" * 18, syn + b"\0" * 6]))
    assert s.trailer_frames == [] and s.oversize_frames == []


def _conversation(retrans: int) -> list[tuple[float, bytes]]:
    """A TCP connection with `retrans` timeout retransmissions, then a reset."""

    def c(t: object) -> bytes:
        return ether(ipv4("10.1.0.5", "10.2.0.9", t))

    def sv(t: object) -> bytes:
        return ether(ipv4("10.2.0.9", "10.1.0.5", t))

    pk = [
        (0.5, c(tcp(40000, 3306, "S", seq=1000))),
        (0.501, sv(tcp(3306, 40000, "SA", seq=5000, ack=1001))),
        (0.502, c(tcp(40000, 3306, "A", seq=1001, ack=5001))),
    ]
    t = 1.0
    seq = 1001
    for i in range(20):
        seg = c(tcp(40000, 3306, "PA", seq=seq, ack=5001, data=b"x" * 100))
        pk.append((t, seg))
        if i < retrans:
            pk.append((t + 0.3, seg))
            t += 0.3
        seq += 100
        pk.append((t + 0.001, sv(tcp(3306, 40000, "A", seq=5001, ack=seq, window=0 if i == 19 else 502))))
        t += 0.01
    pk.append((t, sv(tcp(3306, 40000, "R", seq=5001))))
    return pk


def test_tcp_retransmissions_resets_zero_windows_per_flow(tmp_path: Path) -> None:
    s = analyse_file(_write(tmp_path, "db.pcap", _conversation(retrans=5)))
    assert (s.tcp.flows, s.tcp.retransmissions, s.tcp.resets, s.tcp.zero_windows) == (1, 5, 1, 1)
    assert s.tcp.top_flows[0].flow == "10.1.0.5:40000>10.2.0.9:3306"


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_retransmission_count_matches_tshark(tmp_path: Path) -> None:
    p = _write(tmp_path, "db.pcap", _conversation(retrans=7))
    out = subprocess.run(
        [
            "tshark",
            "-n",
            "-r",
            str(p),
            "-Y",
            "tcp.analysis.retransmission",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert analyse_file(p).tcp.retransmissions == len(out.split()) == 7


def test_icmp_frag_needed_dhcp_dns_arp(tmp_path: Path) -> None:
    frag = ether(ipv4("10.1.0.1", "10.1.0.5", icmp_frag_needed(1350, "10.1.0.5", "203.0.113.7")))
    mac = "52:54:00:12:34:56"
    disc = ether(ipv4("0.0.0.0", "255.255.255.255", udp(68, 67, dhcp(1, 0x1234, mac, 1))), mac, BROADCAST)
    q = ether(ipv4("10.1.0.5", "10.1.0.53", udp(5353, 53, dns(7, "db."))))
    q2 = ether(ipv4("10.1.0.5", "10.1.0.54", udp(5354, 53, dns(8, "db."))))
    r2 = ether(ipv4("10.1.0.54", "10.1.0.5", udp(53, 5354, dns(8, "db.", qr=True))))
    who = ether(arp(1, VM, "10.1.0.5", "10.1.0.99"), VM, BROADCAST)
    dup = [
        ether(arp(2, m, "10.1.0.7", "10.1.0.5", hwdst=VM), m, VM)
        for m in ("02:00:00:00:00:01", "02:00:00:00:00:02")
    ]
    s = analyse_file(_write(tmp_path, "mix.pcap", [frag, disc, disc, q, q2, r2, who, who, *dup]))
    assert [(f.from_, f.to, f.mtu) for f in s.icmp_frag_needed] == [("10.1.0.1", "203.0.113.7", 1350)]
    assert [(d.client_mac, d.count) for d in s.dhcp.discover_without_offer] == [(mac, 2)]
    assert [(d.server, d.queries, d.responses, d.unanswered) for d in s.dns] == [
        ("10.1.0.53", 1, 0, 1),
        ("10.1.0.54", 1, 1, 0),
    ]
    assert [(a.target, a.requests) for a in s.arp.unanswered] == [("10.1.0.99", 2)]
    assert [(d.ip, d.macs) for d in s.arp.duplicates] == [
        ("10.1.0.7", ["02:00:00:00:00:01", "02:00:00:00:00:02"])
    ]


def test_vlan_request_with_untagged_reply(tmp_path: Path) -> None:
    req = ether(arp(1, VM, "10.100.2.2", "10.100.2.1"), VM, BROADCAST, vlan=1011)
    rep = ether(arp(2, PEER, "10.100.2.1", "10.100.2.2"), PEER, VM)
    s = analyse_file(_write(tmp_path, "bond0.pcap", [req, rep]))
    assert (s.vlan.tags_seen, s.vlan.untagged_replies) == ([1011], 1)


def test_garbage_is_a_parse_error(tmp_path: Path) -> None:
    p = tmp_path / "notes.pcap"
    p.write_text("this is not a capture\n")
    with pytest.raises(ParseError):
        analyse_file(p)


def test_summary_json_roundtrip(tmp_path: Path) -> None:
    s = analyse_file(_write(tmp_path, "eth1.pcap", seed004_frames()))
    d = json.loads(json.dumps(s.to_json()))
    assert PcapSummary.from_json(d) == s
    assert set(d) >= {
        "file",
        "packets",
        "link_mtu",
        "oversize_frames",
        "trailer_frames",
        "tcp",
        "icmp_frag_needed",
        "dhcp",
        "dns",
        "arp",
        "vlan",
    }


# --- the rules over a Bundle holding the evidence ----------------------------------------------


def _pcap_bundle(s: PcapSummary):  # type: ignore[no-untyped-def]
    e = pcap_evidence(s)
    return bundle(ev(e.name, e.text, key=e.key, source=e.source))


def test_driver_trailer_fires_on_seed004_capture(tmp_path: Path) -> None:
    rep = run(
        _pcap_bundle(analyse_file(_write(tmp_path, "eth1.pcap", seed004_frames()))), {"nic.driver_trailer"}
    )
    (f,) = findings(rep, "nic.driver_trailer")
    assert f.severity == "warning" and VM in f.summary and "1519 bytes" in f.evidence[0].excerpt


def test_driver_trailer_quiet_on_clean_capture(tmp_path: Path) -> None:
    rep = run(
        _pcap_bundle(analyse_file(_write(tmp_path, "db.pcap", _conversation(0)))), {"nic.driver_trailer"}
    )
    assert findings(rep, "nic.driver_trailer") == [] and check(rep, "nic.driver_trailer").startswith("pass")


def test_driver_trailer_names_usb_nic(tmp_path: Path) -> None:
    info = "driver: r8152\nversion: v1.12.12\nfirmware-version: rtl8153a-4 v2 02/07/20\nbus-info: usb-0000:00:14.0-2\n"
    s = analyse_file(_write(tmp_path, "eth1.pcap", seed004_frames()))
    b = _pcap_bundle(s)
    b.add(ev("ethtool.info", info, key="eth1", source="ethtool -i eth1"))
    (f,) = findings(run(b, {"nic.driver_trailer"}), "nic.driver_trailer")
    assert f.subject == "eth1" and "r8152" in f.summary


def test_driver_trailer_skipped_without_evidence() -> None:
    assert check(run(bundle(), {"nic.driver_trailer"}), "nic.driver_trailer").startswith("skipped")


def test_tcp_retransmissions_fires_and_names_flow(tmp_path: Path) -> None:
    rep = run(
        _pcap_bundle(analyse_file(_write(tmp_path, "db.pcap", _conversation(5)))), {"tcp.retransmissions"}
    )
    (f,) = findings(rep, "tcp.retransmissions")
    assert f.subject == "10.1.0.5:40000>10.2.0.9:3306" and "5 retransmissions" in f.summary


def test_tcp_retransmissions_quiet_on_healthy_flow(tmp_path: Path) -> None:
    rep = run(
        _pcap_bundle(analyse_file(_write(tmp_path, "db.pcap", _conversation(0)))), {"tcp.retransmissions"}
    )
    assert findings(rep, "tcp.retransmissions") == []


def test_tcp_retransmissions_skipped_without_capture() -> None:
    assert check(run(bundle(), {"tcp.retransmissions"}), "tcp.retransmissions").startswith("skipped")


def _trace(req: list[bool], rep: list[bool], answered: bool) -> TraceResult:
    names = [
        ("A", "eth0", "sender"),
        ("R", "r0", "router-in"),
        ("R", "r1", "router-out"),
        ("B", "eth0", "destination"),
    ]
    pts = [
        TracePoint(
            ns, i, role, Sighting(a, 1.0 if a else None, int(a)), Sighting(b, 2.0 if b else None, int(b))
        )
        for (ns, i, role), a, b in zip(names, req, rep, strict=True)
    ]
    return TraceResult("10.2.0.2", "A", "icmp", "4242", pts, answered)


def _trace_bundle(t: TraceResult):  # type: ignore[no-untyped-def]
    e = trace_evidence(t)
    return bundle(ev(e.name, e.text, key=e.key, source=e.source))


@pytest.mark.parametrize(
    ("req", "rep", "hop", "direction"),
    [
        ([True, True, False, False], [False] * 4, "R:r0 -> R:r1", "request"),
        ([True] * 4, [True, False, True, True], "R:r1 -> R:r0", "reply"),
        ([True] * 4, [False] * 4, "beyond B:eth0", "reply"),
    ],
)
def test_loss_localized_names_hop_and_direction(
    req: list[bool], rep: list[bool], hop: str, direction: str
) -> None:
    (f,) = findings(
        run(_trace_bundle(_trace(req, rep, False)), {"path.loss_localized"}), "path.loss_localized"
    )
    assert f.subject == hop and f"({direction})" in f.title


def test_loss_localized_outside_says_look_outside() -> None:
    (f,) = findings(
        run(_trace_bundle(_trace([True] * 4, [False] * 4, False)), {"path.loss_localized"}),
        "path.loss_localized",
    )
    assert "look outside" in f.summary


def test_loss_localized_quiet_when_seen_everywhere() -> None:
    rep = run(_trace_bundle(_trace([True] * 4, [True] * 4, True)), {"path.loss_localized"})
    assert findings(rep, "path.loss_localized") == [] and check(rep, "path.loss_localized").startswith("pass")


def test_loss_localized_skipped_without_trace() -> None:
    assert check(run(bundle(), {"path.loss_localized"}), "path.loss_localized").startswith("skipped")
