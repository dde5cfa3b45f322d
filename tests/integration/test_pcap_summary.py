"""What `netsleuth pcap` measures on a capture taken by tcpdump in a lab namespace while real
traffic misbehaves — data dropped (retransmissions), a closed port (resets), a receiver that does
not read (zero windows), an address nobody holds (ARP unanswered), a name server that is not there
(DNS unanswered) — checked against tshark on the same file."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.probe_helpers import NETSLEUTH, have

pytestmark = pytest.mark.root

SERVER = """
import socket, time
def listen(port, rcvbuf=0):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind(("10.77.0.1", port)); s.listen(); return s
a, b = listen(9), listen(80, 4096)
ca, _ = a.accept(); cb, _ = b.accept()
time.sleep(8)   # reads nothing
"""

CLIENT = """
import socket, time
drop = socket.create_connection(("10.77.0.1", 9), timeout=3)
slow = socket.create_connection(("10.77.0.1", 80), timeout=3)
slow.setblocking(False)
time.sleep(0.5)                  # the drop rule goes in now
drop.sendall(b"x" * 200)         # dropped: retransmitted
sent = 0
t = time.monotonic()
while time.monotonic() - t < 2.5:  # fill the receiver that does not read: its window closes
    try:
        sent += slow.send(b"y" * 4096)
    except BlockingIOError:
        time.sleep(0.05)
for port in (23, 24):            # closed ports: reset
    try:
        socket.create_connection(("10.77.0.1", port), timeout=1)
    except OSError:
        pass
q = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # no name server there
q.sendto(bytes.fromhex("12340100000100000000000002646200000100 01".replace(" ", "")), ("10.77.0.1", 53))
time.sleep(1.5)
"""


@pytest.fixture
def lab() -> Iterator[Any]:
    from netsleuth.lab import Lab, LabUnavailable

    if not have("tcpdump"):
        pytest.skip("tcpdump not installed")
    try:
        with Lab("pcap-sum") as lab:
            yield lab
    except LabUnavailable as exc:
        pytest.skip(str(exc))


def tshark(path: Path, flt: str) -> int:
    out = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-Y", flt, "-T", "fields", "-e", "frame.number"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return len(out.split())


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_real_capture_summary_matches_tshark(lab: Any, tmp_path: Path) -> None:
    srv, cli = lab.netns("srv"), lab.netns("cli")
    lab.veth(srv, "eth0", cli, "eth0", addr="10.77.0.1/24", peer_addr="10.77.0.2/24")
    cap = tmp_path / "cli-eth0.pcap"
    dump = subprocess.Popen(
        ["ip", "netns", "exec", cli.name, "tcpdump", "-U", "-ni", "eth0", "-w", str(cap)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = subprocess.Popen(["ip", "netns", "exec", srv.name, sys.executable, "-c", SERVER])
    try:
        time.sleep(1.0)  # tcpdump and the server are listening
        client = subprocess.Popen(["ip", "netns", "exec", cli.name, sys.executable, "-c", CLIENT])
        time.sleep(0.3)
        srv.iptables(
            "-I", "INPUT", "-p", "tcp", "--dport", "9", "-m", "length", "--length", "100:", "-j", "DROP"
        )
        client.wait(timeout=20)
        cli.run(
            ["ping", "-c", "2", "-i", "0.3", "-W", "1", "10.77.0.99"], check=False
        )  # nobody: ARP unanswered
    finally:
        time.sleep(0.3)
        dump.send_signal(signal.SIGINT)
        server.terminate()
        dump.wait(10)
        server.wait(10)
    out = subprocess.run(
        [NETSLEUTH, "pcap", str(cap), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode in (0, 1, 2), out.stderr
    c = json.loads(out.stdout)["capture"]
    tcp = c["tcp"]
    assert tcp["retransmissions"] == tshark(cap, "tcp.analysis.retransmission") >= 2
    assert tcp["resets"] == tshark(cap, "tcp.flags.reset == 1") >= 2
    assert tcp["zero_windows"] == tshark(cap, "tcp.analysis.zero_window") >= 1
    assert tcp["flows"] == 4 and tcp["data_segments"] > 0
    assert 0 < tcp["retransmission_share"] < 1
    assert c["duration_s"] > 3 and c["packets"] == tshark(cap, "frame")
    assert [(u["target"]) for u in c["arp"]["unanswered"]] == ["10.77.0.99"]
    assert c["arp"]["answered"] >= 1  # the server's address resolved
    assert [(d["server"], d["queries"], d["unanswered"]) for d in c["dns"]["servers"]] == [
        ("10.77.0.1", 1, 1)
    ]
    text = subprocess.run([NETSLEUTH, "pcap", str(cap)], capture_output=True, text=True, timeout=60).stdout
    assert f"resets: {tcp['resets']}" in text and "10.77.0.2:" in text
