"""`netsleuth trace` against real namespaces: A -- router R -- B, a drop at one hop; and
`netsleuth pcap` on a capture taken by tcpdump inside a namespace."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.root
NETSLEUTH = [sys.executable, "-m", "netsleuth.cli"]


def sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=10)


@pytest.fixture
def lab() -> Iterator[dict[str, str]]:
    """A (10.61.1.2) -- R (forwarding) -- B (10.61.2.2), each in its own namespace."""
    sfx = uuid.uuid4().hex[:6]
    ns = {"A": f"trA{sfx}", "R": f"trR{sfx}", "B": f"trB{sfx}"}
    try:
        for n in ns.values():
            sh("ip", "netns", "add", n)
            sh("ip", "-n", n, "link", "set", "lo", "up")
        sh("ip", "link", "add", f"ta{sfx}", "type", "veth", "peer", "name", f"tr{sfx}")
        sh("ip", "link", "set", f"ta{sfx}", "netns", ns["A"], "name", "eth0")
        sh("ip", "link", "set", f"tr{sfx}", "netns", ns["R"], "name", "r0")
        sh("ip", "link", "add", f"tb{sfx}", "type", "veth", "peer", "name", f"ts{sfx}")
        sh("ip", "link", "set", f"tb{sfx}", "netns", ns["B"], "name", "eth0")
        sh("ip", "link", "set", f"ts{sfx}", "netns", ns["R"], "name", "r1")
        for n, dev, addr, gw in (
            (ns["A"], "eth0", "10.61.1.2/24", "10.61.1.1"),
            (ns["R"], "r0", "10.61.1.1/24", ""),
            (ns["R"], "r1", "10.61.2.1/24", ""),
            (ns["B"], "eth0", "10.61.2.2/24", "10.61.2.1"),
        ):
            sh("ip", "-n", n, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", n, "link", "set", dev, "up")
            if gw:
                sh("ip", "-n", n, "route", "add", "default", "via", gw)
        sh("ip", "netns", "exec", ns["R"], "sysctl", "-qw", "net.ipv4.ip_forward=1")
        yield ns
    finally:
        for n in ns.values():
            subprocess.run(["ip", "netns", "del", n], capture_output=True, check=False)


def trace(ns: dict[str, str], *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    out = subprocess.run(
        [*NETSLEUTH, "trace", "10.61.2.2", "--from-netns", ns["A"], "--format", "json", *extra],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode in (0, 1, 2), out.stderr
    return out.returncode, json.loads(out.stdout)


def test_healthy_path_every_point_seen_both_ways(lab: dict[str, str], tmp_path: Path) -> None:
    save = tmp_path / "trace.pcapng"
    rc, rep = trace(lab, "--save", str(save))
    assert rc == 0 and rep["findings"] == []
    (chk,) = [c for c in rep["checks"] if c["id"] == "path.loss_localized"]
    assert chk["status"] == "pass"
    if shutil.which("tshark"):
        out = subprocess.run(
            ["tshark", "-r", str(save), "-T", "fields", "-e", "frame.interface_name", "-e", "icmp.type"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
        seen = {tuple(line.split("\t")) for line in out if line}
        for point in (f"{lab['A']}:eth0", f"{lab['R']}:r0", f"{lab['R']}:r1", f"{lab['B']}:eth0"):
            assert (point, "8") in seen and (point, "0") in seen, point


def test_request_dropped_at_router_names_that_hop(lab: dict[str, str]) -> None:
    sh(
        "ip",
        "netns",
        "exec",
        lab["R"],
        "iptables",
        "-I",
        "FORWARD",
        "-p",
        "icmp",
        "--icmp-type",
        "echo-request",
        "-j",
        "DROP",
    )
    rc, rep = trace(lab)
    (f,) = [f for f in rep["findings"] if f["id"] == "path.loss_localized"]
    assert rc == 2
    assert f["subject"] == f"{lab['R']}:r0 -> {lab['R']}:r1" and "(request)" in f["title"]


def test_reply_dropped_at_router_names_hop_and_reply_direction(lab: dict[str, str]) -> None:
    sh(
        "ip",
        "netns",
        "exec",
        lab["R"],
        "iptables",
        "-I",
        "FORWARD",
        "-p",
        "icmp",
        "--icmp-type",
        "echo-reply",
        "-j",
        "DROP",
    )
    _, rep = trace(lab)
    (f,) = [f for f in rep["findings"] if f["id"] == "path.loss_localized"]
    assert f["subject"] == f"{lab['R']}:r1 -> {lab['R']}:r0" and "(reply)" in f["title"]


def test_tcp_probe_to_closed_port_still_traced(lab: dict[str, str]) -> None:
    rc, rep = trace(lab, "--proto", "tcp:7")  # RST from B is the reply
    assert rc == 0 and rep["findings"] == []


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_pcap_of_tcpdump_capture_in_a_namespace(lab: dict[str, str], tmp_path: Path) -> None:
    """tcpdump on B's eth0 while A's TCP segments to B are retransmitted (B drops them)."""
    cap = tmp_path / "b-eth0.pcap"
    dump = subprocess.Popen(
        ["ip", "netns", "exec", lab["B"], "tcpdump", "-U", "-ni", "eth0", "-w", str(cap), "tcp port 9"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    srv = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            lab["B"],
            sys.executable,
            "-c",
            "import socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
            "s.bind(('10.61.2.2',9));s.listen();c,_=s.accept();time.sleep(6)",
        ],
    )
    try:
        time.sleep(1.0)
        client = (
            "import socket,time;s=socket.create_connection(('10.61.2.2',9),timeout=3);"
            "s.sendall(b'x'*100);time.sleep(0.2);s.sendall(b'y'*100);time.sleep(2.5)"
        )
        # after the handshake, B drops A's data: A retransmits
        sh(
            "ip",
            "netns",
            "exec",
            lab["B"],
            "iptables",
            "-I",
            "INPUT",
            "-p",
            "tcp",
            "--dport",
            "9",
            "-m",
            "length",
            "--length",
            "100:",
            "-j",
            "DROP",
        )
        subprocess.run(
            ["ip", "netns", "exec", lab["A"], sys.executable, "-c", client], timeout=15, check=False
        )
    finally:
        time.sleep(0.3)
        dump.terminate()
        srv.terminate()
        dump.wait(5)
        srv.wait(5)
    out = subprocess.run(
        [*NETSLEUTH, "pcap", str(cap), "--format", "json", "--summary", str(tmp_path / "s.json")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["packets"] > 0
    assert summary["tcp"]["retransmissions"] >= 3, summary["tcp"]
    if shutil.which("tshark"):
        ts = subprocess.run(
            [
                "tshark",
                "-n",
                "-r",
                str(cap),
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
        ).stdout.split()
        assert summary["tcp"]["retransmissions"] == len(ts)
    assert out.returncode == 1
    assert any(f["id"] == "tcp.retransmissions" for f in json.loads(out.stdout)["findings"])
