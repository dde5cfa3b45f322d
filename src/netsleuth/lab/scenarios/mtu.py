"""MTU faults (seeds 003/004): full-size frames do not fit at the smaller hop."""

from __future__ import annotations

from netsleuth.lab import Lab
from netsleuth.lab.scenario import Scenario, Vantage, scenario


@scenario
class BridgedUplinkMtu(Scenario):
    """Container veth at 1500 bridged onto a host uplink of 1350 (seed 003: ping passes, TCP stalls)."""

    name = "mtu-bridged-uplink"
    expect = "mtu.mismatch"
    expect_subject = ("uplink",)
    sos = True

    def build(self, lab: Lab) -> Vantage:
        host, peer, ctr = lab.netns("host"), lab.netns("peer"), lab.netns("ctr")
        br = host.bridge("br0", addr="10.99.0.1/24")
        lab.veth(ctr, "eth0", host, "vethc", mtu=1500, peer_master=br, addr="10.99.0.2/24")
        lab.veth(host, "uplink", peer, "eth0", mtu=1350, master=br, peer_addr="10.99.0.3/24")
        return Vantage(netns=[host.name, peer.name, ctr.name])


@scenario
class VxlanOverSmallUnderlay(Scenario):
    """VXLAN device at 1500 over a 1500 underlay: no room for the 50 bytes of headers (seed 004)."""

    name = "mtu-vxlan-underlay"
    expect = "mtu.mismatch"
    expect_subject = ("vx0",)
    # not from sos: sos runs only `ip address show` (no `-d`) inside namespaces, so the VXLAN's
    # local address and underlay are not in the sosreport
    sos = False

    def build(self, lab: Lab) -> Vantage:
        a, b = lab.netns("hva"), lab.netns("hvb")
        lab.veth(a, "eth0", b, "eth0", mtu=1500, addr="10.99.1.1/24", peer_addr="10.99.1.2/24")
        # no `dev`: the kernel accepts 1500 then (with dev it refuses anything above 1450)
        a.vxlan("vx0", 42, local="10.99.1.1", remote="10.99.1.2", mtu=1500, df_set=True, addr="10.98.0.1/24")
        b.vxlan("vx0", 42, local="10.99.1.2", remote="10.99.1.1", dev="eth0", addr="10.98.0.2/24")
        return Vantage(netns=[a.name, b.name])


@scenario
class PathBlackhole(Scenario):
    """A router hop of MTU 1400 drops its own ICMP frag-needed: ping passes, large DF packets vanish (seeds 003/004)."""

    name = "mtu-path-blackhole"
    expect = "mtu.path_blackhole"
    expect_subject = ("10.99.15.2",)
    tools = ("ip", "iptables")

    def build(self, lab: Lab) -> Vantage:
        cli, rtr, srv = lab.netns("cli"), lab.netns("rtr"), lab.netns("srv")
        lab.veth(rtr, "eth0", cli, "eth0", addr="10.99.14.1/24", peer_addr="10.99.14.2/24")
        lab.veth(rtr, "eth1", srv, "eth0", mtu=1400, addr="10.99.15.1/24", peer_addr="10.99.15.2/24")
        rtr.sysctl("net.ipv4.ip_forward", 1)
        cli.route("10.99.15.0/24", "via", "10.99.14.1")
        srv.route("10.99.14.0/24", "via", "10.99.15.1")
        rtr.iptables("-A", "OUTPUT", "-p", "icmp", "--icmp-type", "fragmentation-needed", "-j", "DROP")
        cli.run(["ping", "-c", "1", "-W", "2", "10.99.15.2"])  # small packets pass
        return Vantage(inside=cli.name, probes=True, peers=["10.99.15.2"])
