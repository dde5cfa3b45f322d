"""What `netsleuth pcap` says a capture measured, whether or not a rule fires: in text, JSON (the
report's `capture` section) and HTML; counts checked against tshark on the same capture; an empty
capture and hostile names handled honestly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scapy.all import (  # type: ignore[import-untyped]
    ARP,
    BOOTP,
    DHCP,
    DNS,
    DNSQR,
    IP,
    TCP,
    UDP,
    Ether,
    Raw,
    wrpcap,
)

from netsleuth.capture.analyse import analyse_file
from netsleuth.capture.pcapng import write_pcapng

C, S = "10.1.0.5", "10.2.0.9"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netsleuth.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def at(t: float, p: Any) -> Any:
    p.time = t
    return p


def tcp_mix() -> list[Any]:
    """Three connections: data retransmitted twice, a port that resets, a receiver whose window
    closes (two zero-window ACKs); 10 s apart in all."""
    pk = []
    c, s = IP(src=C, dst=S), IP(src=S, dst=C)
    # 1. 40000 -> 3306: handshake, 10 data segments, the 3rd and 7th sent again 300 ms later
    pk += [
        at(0.0, Ether() / c / TCP(sport=40000, dport=3306, flags="S", seq=999)),
        at(0.001, Ether() / s / TCP(sport=3306, dport=40000, flags="SA", seq=4999, ack=1000)),
        at(0.002, Ether() / c / TCP(sport=40000, dport=3306, flags="A", seq=1000, ack=5000)),
    ]
    t, seq = 0.01, 1000
    for i in range(10):
        seg = Ether() / c / TCP(sport=40000, dport=3306, flags="PA", seq=seq, ack=5000) / Raw(b"x" * 100)
        pk.append(at(t, seg))
        if i in (2, 6):
            t += 0.3
            pk.append(at(t, seg.copy()))
        seq += 100
        pk.append(at(t + 0.001, Ether() / s / TCP(sport=3306, dport=40000, flags="A", seq=5000, ack=seq)))
        t += 0.01
    # 2. 40001 -> 23: refused
    pk += [
        at(5.0, Ether() / c / TCP(sport=40001, dport=23, flags="S", seq=7)),
        at(5.001, Ether() / s / TCP(sport=23, dport=40001, flags="RA", seq=0, ack=8)),
    ]
    # 3. 40002 -> 80: the server's window closes
    pk += [
        at(8.0, Ether() / c / TCP(sport=40002, dport=80, flags="S", seq=99)),
        at(8.001, Ether() / s / TCP(sport=80, dport=40002, flags="SA", seq=499, ack=100, window=200)),
        at(8.002, Ether() / c / TCP(sport=40002, dport=80, flags="A", seq=100, ack=500)),
        at(8.01, Ether() / c / TCP(sport=40002, dport=80, flags="PA", seq=100, ack=500) / Raw(b"y" * 200)),
        at(8.011, Ether() / s / TCP(sport=80, dport=40002, flags="A", seq=500, ack=300, window=0)),
        at(10.0, Ether() / s / TCP(sport=80, dport=40002, flags="A", seq=500, ack=300, window=0)),
    ]
    return pk


def exchanges() -> list[Any]:
    """DHCP: one DISCOVER answered, one not; DNS: one query answered, one not; ARP: two
    addresses asked for, one answers."""
    vm, srv = "52:54:00:00:00:01", "52:54:00:00:00:02"

    def bootp(mtype: str, xid: int, src: str = "0.0.0.0", yiaddr: str = "0.0.0.0") -> Any:
        sport, dport = (67, 68) if mtype == "offer" else (68, 67)
        return (
            Ether(src=vm)
            / IP(src=src, dst="255.255.255.255")
            / UDP(sport=sport, dport=dport)
            / BOOTP(chaddr=bytes.fromhex("525400000001"), xid=xid, yiaddr=yiaddr)
            / DHCP(options=[("message-type", mtype), "end"])
        )

    q = Ether() / IP(src=C, dst="10.1.0.53") / UDP(sport=5353, dport=53)
    r = Ether() / IP(src="10.1.0.53", dst=C) / UDP(sport=53, dport=5353)
    return [
        bootp("discover", 1),
        bootp("offer", 1, "10.1.0.1", "10.1.0.77"),
        bootp("discover", 2),
        q / DNS(id=1, qd=DNSQR(qname="db.")),
        r / DNS(id=1, qr=1, qd=DNSQR(qname="db.")),
        q / DNS(id=2, qd=DNSQR(qname="cache.")),
        Ether() / ARP(op=1, psrc=C, pdst="10.1.0.1"),
        Ether(src=srv) / ARP(op=2, hwsrc=srv, psrc="10.1.0.1", pdst=C),
        Ether() / ARP(op=1, psrc=C, pdst="10.1.0.99"),
        Ether() / ARP(op=1, psrc=C, pdst="10.1.0.99"),
    ]


def test_summary_counts_what_happened(tmp_path: Path) -> None:
    p = tmp_path / "mix.pcap"
    wrpcap(str(p), tcp_mix())
    s = analyse_file(p)
    assert (s.packets, s.start, s.duration_s) == (33, 0.0, 10.0)
    t = s.tcp
    assert (t.flows, t.data_segments, t.retransmissions, t.resets, t.zero_windows) == (3, 13, 2, 1, 2)
    assert t.retransmission_share == pytest.approx(2 / 13)
    assert (t.top_flows[0].flow, t.top_flows[0].retransmissions) == ("10.1.0.5:40000>10.2.0.9:3306", 2)


def test_dhcp_dns_arp_answered_and_unanswered(tmp_path: Path) -> None:
    p = tmp_path / "ex.pcap"
    wrpcap(str(p), exchanges())
    s = analyse_file(p)
    assert (s.dhcp.discovers, s.dhcp.answered) == (2, 1)
    assert [(d.queries, d.responses, d.unanswered) for d in s.dns] == [(2, 1, 1)]
    assert (s.arp.requests, s.arp.targets, s.arp.answered) == (3, 2, 1)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_retransmissions_resets_zero_windows_match_tshark(tmp_path: Path) -> None:
    p = tmp_path / "mix.pcap"
    wrpcap(str(p), tcp_mix())
    s = analyse_file(p)

    def tshark(flt: str) -> int:
        out = subprocess.run(
            ["tshark", "-n", "-r", str(p), "-Y", flt, "-T", "fields", "-e", "frame.number"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return len(out.split())

    assert s.tcp.retransmissions == tshark("tcp.analysis.retransmission") == 2
    assert s.tcp.resets == tshark("tcp.flags.reset == 1") == 1
    assert s.tcp.zero_windows == tshark("tcp.analysis.zero_window") == 2


def test_pcap_json_report_carries_the_summary_without_summary_flag(tmp_path: Path) -> None:
    p = tmp_path / "ex.pcap"
    wrpcap(str(p), exchanges())
    out = cli("pcap", str(p), "--format", "json", "--only", "tcp.retransmissions")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["findings"] == []  # no rule fires, and still:
    assert r["capture"]["packets"] == 10 and r["capture"]["arp"]["answered"] == 1
    assert r["capture"]["dhcp"]["discovers"] == 2 and r["capture"]["tcp"]["retransmission_share"] == 0
    for key in ("schema", "tool", "host", "started_at", "duration_s", "findings", "checks", "evidence"):
        assert key in r, key  # netsleuth.report/v1 keeps every field


def test_text_and_html_show_the_summary_when_no_rule_fires(tmp_path: Path) -> None:
    p = tmp_path / "mix.pcap"
    wrpcap(str(p), tcp_mix())
    text = cli("pcap", str(p), "--only", "arp.duplicate_ip").stdout
    assert "What the capture measured" in text
    assert "retransmissions: 2 (15.38% of data segments)" in text
    assert "10.1.0.5:40000>10.2.0.9:3306  retransmissions 2, resets 0, zero windows 0" in text
    html = cli("pcap", str(p), "--format", "html").stdout
    assert "<td>retransmissions</td><td>2 (15.38% of data segments)</td>" in html
    zh = cli("pcap", str(p), "--lang", "zh").stdout
    assert "抓包测得的情况" in zh and "重传: 2（占数据段的 15.38%）" in zh
    md = cli("pcap", str(p), "--format", "markdown").stdout
    assert "| resets | 1 |" in md


def test_each_count_of_a_summary_line_chooses_its_own_plural_form() -> None:
    from netsleuth.report.measured import capture_rows

    def rows(lang: str, queries: int, servers: int, requests: int, targets: int, dups: int) -> dict[str, str]:
        c = {
            "file": "x.pcap",
            "packets": 9,
            "start": 0,
            "duration_s": 1.0,
            "dns": {
                "servers": [{"queries": queries if i == 0 else 0, "unanswered": 0} for i in range(servers)]
            },
            "arp": {"requests": requests, "targets": targets, "answered": targets, "duplicates": [{}] * dups},
        }
        return dict(capture_rows(c, lang))

    one = rows("en", 1, 1, 1, 1, 1)
    assert one["DNS"] == "1 query to 1 server: 1 answered, 0 unanswered"
    assert one["ARP"] == "1 request for 1 address: 1 answered, 0 unanswered; 1 address claimed by two MACs"
    many = rows("en", 1500, 2, 3, 2, 0)
    assert many["DNS"] == "1,500 queries to 2 servers: 1,500 answered, 0 unanswered"
    assert (
        many["ARP"] == "3 requests for 2 addresses: 2 answered, 0 unanswered; 0 addresses claimed by two MACs"
    )
    zh = rows("zh", 1, 1, 3, 2, 1)
    assert zh["DNS"] == "向 1 个服务器发出 1 个查询：1 个有应答，0 个没有应答"
    assert zh["ARP"] == "对 2 个地址发出 3 个请求：2 个有应答，0 个没有应答；1 个地址被两个 MAC 声明"


def test_empty_capture_gives_an_honest_empty_summary(tmp_path: Path) -> None:
    p = tmp_path / "empty.pcap"
    wrpcap(str(p), [])
    out = cli("pcap", str(p), "--format", "json")
    assert out.returncode == 0, out.stderr
    c = json.loads(out.stdout)["capture"]
    assert (c["packets"], c["start"], c["duration_s"], c["tcp"]["flows"]) == (0, None, 0.0, 0)
    text = cli("pcap", str(p)).stdout
    assert "packets: 0" in text and "no packets in this capture: nothing was measured" in text
    assert "retransmissions" not in text  # nothing measured is not "0 retransmissions"
    assert "no packets in this capture" in cli("pcap", str(p), "--format", "html").stdout


def test_hostile_interface_and_file_names_are_escaped_in_html(tmp_path: Path) -> None:
    """An interface name holding quotes, angle brackets and bytes that are not UTF-8 (as a pcapng
    if_name may), in a file whose name has angle brackets too."""
    p = tmp_path / "<b>cap'.pcapng"
    write_pcapng(p, ['q"<script>x'], [(0, 1.0, bytes(Ether() / IP() / TCP()))])
    raw = p.read_bytes().replace(b'q"<script>x', b'q"<scr\xffpt>x')  # same length: not UTF-8 now
    p.write_bytes(raw)
    out = cli("pcap", str(p), "--format", "html")
    assert out.returncode == 0, out.stderr
    assert "<script" not in out.stdout and "<b>" not in out.stdout
    assert "q&quot;&lt;scr\\xffpt&gt;x" in out.stdout
    assert "&lt;b&gt;cap&#x27;.pcapng" in out.stdout
    assert (
        json.loads(cli("pcap", str(p), "--format", "json").stdout)["capture"]["interface"]
        == 'q"<scr\\xffpt>x'
    )
