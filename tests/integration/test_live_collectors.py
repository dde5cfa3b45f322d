"""Live collectors inside a namespace: the conntrack histogram (`ip netns exec NS cat
/proc/net/nf_conntrack`, streamed in blocks) counts what the kernel's table holds, entry by entry;
the network sysctls leave out the per-interface subtrees of the namespace's many interfaces."""

from __future__ import annotations

import time

import pytest

from netsleuth.evidence.collectors import conntrack_states, sysctl_net
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


def test_network_sysctls_of_a_namespace_without_its_interfaces() -> None:
    with Lab("sysctl") as lab:
        ns = lab.netns("a")
        for i in range(20):
            ns.ip("link", "add", f"sv{i}a", "type", "veth", "peer", "name", f"sv{i}b")
        ns.sysctl("net.ipv4.conf.all.rp_filter", 2)
        ev = sysctl_net("sysctl.net", 5.0, netns=ns.name)
    assert ev.status is Status.OK, ev.error
    values = dict(line.split(" = ", 1) for line in ev.text.splitlines() if " = " in line)
    assert values["net.ipv4.conf.all.rp_filter"] == "2"  # this namespace's value, not ours
    assert "net.ipv4.conf.default.forwarding" in values and "net.ipv4.ip_forward" in values
    assert not [k for k in values if ".sv" in k or ".lo." in k]  # no per-interface subtree
