"""Connection tracking (seed 001): a full table drops every new connection's packets.

The table's max is GLOBAL (`net.netfilter.nf_conntrack_max`): the lab lowers it and restores the
old value on `down`; the count is per namespace, so the flows go into a namespace that tracks them.
"""

from __future__ import annotations

import sys

from netsleuth.lab import Lab
from netsleuth.lab.blocks import Netns
from netsleuth.lab.scenario import Scenario, Vantage, scenario

FLOWS = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(2):
    for port in range(20000, 20000 + int(sys.argv[2])):
        try:
            s.sendto(b"x", (sys.argv[1], port))
        except OSError:
            pass
"""


def tracked_pair(lab: Lab) -> tuple[Netns, Netns]:
    """A client and a server namespace; the server tracks every connection (conntrack match)."""
    srv, cli = lab.netns("srv"), lab.netns("cli")
    lab.veth(srv, "eth0", cli, "eth0", addr="10.99.3.1/24", peer_addr="10.99.3.2/24")
    srv.iptables("-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW,ESTABLISHED,RELATED", "-j", "ACCEPT")
    srv.sysctl("net.netfilter.nf_conntrack_udp_timeout", 300)  # per namespace: flows stay while we look
    return srv, cli


def open_flows(cli: Netns, target: str, n: int) -> None:
    cli.run([sys.executable, "-c", FLOWS, target, str(n)], timeout=20)


@scenario
class ConntrackTableFull(Scenario):
    """The conntrack table fills up: `nf_conntrack: table full, dropping packet` (seed 001)."""

    name = "conntrack-table-full"
    expect = "conntrack.table_full"
    expect_subject = ("nf_conntrack",)
    tools = ("ip", "iptables")
    sos = True
    # `nf_conntrack: table full` is in the machine's kernel log, as `... in netns N` (an inode a
    # sosreport cannot map to a namespace name): offline it belongs to the host scope
    host_wide = True

    def build(self, lab: Lab) -> Vantage:
        srv, cli = tracked_pair(lab)
        lab.sysctl("net.netfilter.nf_conntrack_max", 64)
        open_flows(cli, "10.99.3.1", 100)
        return Vantage(inside=srv.name)


@scenario
class ConntrackNearLimit(Scenario):
    """The conntrack table is 80% full: the next burst fills it (seed 001)."""

    name = "conntrack-near-limit"
    expect = "conntrack.near_limit"
    expect_subject = ("nf_conntrack",)
    tools = ("ip", "iptables")
    sos_inside = True  # the count is per namespace: sos run inside it reads that namespace's count

    def build(self, lab: Lab) -> Vantage:
        srv, cli = tracked_pair(lab)
        lab.sysctl("net.netfilter.nf_conntrack_max", 200)
        open_flows(cli, "10.99.3.1", 160)
        return Vantage(inside=srv.name)
