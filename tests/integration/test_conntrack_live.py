"""The live conntrack histogram of a namespace (`ip netns exec NS cat /proc/net/nf_conntrack`,
streamed in blocks) counts what the kernel's table holds, entry by entry."""

from __future__ import annotations

import time

import pytest

from netsleuth.evidence.collectors import conntrack_states
from netsleuth.evidence.model import Status
from netsleuth.lab import Lab
from netsleuth.parsers.conntrack import count_states, parse_histogram

pytestmark = pytest.mark.root

HOLD = """
import socket, sys, threading, time
srv = socket.socket(); srv.bind(("127.0.0.1", 8080)); srv.listen(500)
held = []
threading.Thread(target=lambda: [held.append(srv.accept()) for _ in range(500)], daemon=True).start()
keep = [socket.create_connection(("127.0.0.1", 8080)) for _ in range(300)]      # ESTABLISHED
for port in range(20000, 20040):
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", port))  # udp
open(sys.argv[1], "w").write("ready")
time.sleep(120)
"""


def test_histogram_of_a_namespace_counts_every_entry() -> None:
    with Lab("ctlive") as lab:
        ns = lab.netns("a")
        ns.nft("table inet t { chain c { type filter hook output priority 0; ct state new accept; }; }")
        ready = lab.path("ready")
        lab.spawn(["python3", "-c", HOLD, str(ready)], netns=ns)
        deadline = time.monotonic() + 20
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready.exists(), "the connection holder did not start"
        ev = conntrack_states("conntrack.states", 5.0, netns=ns.name)
        table = ns.run(["cat", "/proc/net/nf_conntrack"]).stdout
    assert ev.status is Status.OK and ev.netns == ns.name
    hist = parse_histogram(ev.text.splitlines()).counts
    assert hist["ESTABLISHED"] == 300 and hist["udp"] == 40
    assert hist == dict(count_states(table.splitlines()))
