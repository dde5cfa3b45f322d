"""Overlay and L2 faults (seed 003): VXLAN whose UDP does not pass, two hosts claiming one address."""

from __future__ import annotations

from netsleuth.lab import Lab
from netsleuth.lab.scenario import Scenario, Vantage, scenario


@scenario
class VxlanUdpBlocked(Scenario):
    """VXLAN peers ping each other but UDP 4789 is dropped by the far host's firewall (seed 003)."""

    name = "vxlan-udp-blocked"
    expect = "vxlan.udp_blocked"
    expect_subject = ("10.99.8.2",)
    tools = ("ip", "iptables")

    def build(self, lab: Lab) -> Vantage:
        a, b = lab.netns("hva"), lab.netns("hvb")
        lab.veth(a, "eth0", b, "eth0", addr="10.99.8.1/24", peer_addr="10.99.8.2/24")
        a.vxlan("vx0", 7, local="10.99.8.1", remote="10.99.8.2", dev="eth0", addr="10.98.8.1/24")
        b.vxlan("vx0", 7, local="10.99.8.2", remote="10.99.8.1", dev="eth0", addr="10.98.8.2/24")
        b.iptables("-A", "INPUT", "-p", "udp", "--dport", "4789", "-j", "DROP")
        a.run(
            ["ping", "-c", "1", "-W", "1", "10.98.8.2"], check=False
        )  # the overlay fails, the underlay works
        return Vantage(inside=a.name, probes=True)


@scenario
class DuplicateIp(Scenario):
    """Two hosts on one bridge both hold 10.99.9.5: two MACs answer ARP for it (seed 003)."""

    name = "arp-duplicate-ip"
    expect = "arp.duplicate_ip"
    expect_subject = ("10.99.9.5",)

    def build(self, lab: Lab) -> Vantage:
        sw, client, h1, h2 = (lab.netns(r) for r in ("sw", "client", "h1", "h2"))
        sw.bridge("br0")
        lab.veth(sw, "pcl", client, "eth0", master="br0", peer_addr="10.99.9.9/24")
        lab.veth(sw, "ph1", h1, "eth0", master="br0", peer_addr="10.99.9.5/24")
        lab.veth(sw, "ph2", h2, "eth0", master="br0", peer_addr="10.99.9.5/24")
        client.run(["ping", "-c", "2", "-W", "1", "10.99.9.5"], check=False)
        return Vantage(inside=client.name, probes=True, peers=["10.99.9.5"])
