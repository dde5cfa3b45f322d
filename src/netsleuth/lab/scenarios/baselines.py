"""Healthy baselines: the same kinds of network as the faults, built right. Nothing at warning or above
may be found on them. They are diagnosed from the default namespace with `--netns` (host-wide evidence
such as the kernel log is the machine's own)."""

from __future__ import annotations

from netsleuth.lab import Lab
from netsleuth.lab.scenario import Scenario, Vantage, scenario
from netsleuth.lab.scenarios.neutron import neutron_node
from netsleuth.lab.shell import LabError


@scenario
class LinuxBridgeBaseline(Scenario):
    """Healthy: two containers on a Linux bridge, MTUs equal, every port up."""

    name = "baseline-linux-bridge"

    def build(self, lab: Lab) -> Vantage:
        host, c1, c2 = lab.netns("host"), lab.netns("ctr1"), lab.netns("ctr2")
        br = host.bridge("br0", addr="10.99.30.1/24")
        lab.veth(host, "veth1", c1, "eth0", peer_master=None, master=br, peer_addr="10.99.30.2/24")
        lab.veth(host, "veth2", c2, "eth0", master=br, peer_addr="10.99.30.3/24")
        c1.run(["ping", "-c", "1", "-W", "2", "10.99.30.3"])  # healthy means it works
        return Vantage(netns=[host.name, c1.name, c2.name])


@scenario
class OvsVxlanBaseline(Scenario):
    """Healthy: VMs on an OVS bridge (userspace) on hv1, VXLAN to a second host hv2, MTU 1450 inside."""

    name = "baseline-ovs-vxlan"
    tools = ("ip", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "ovs-appctl")

    def build(self, lab: Lab) -> Vantage:
        hv1, hv2, vm1, vm2 = (lab.netns(r) for r in ("hv1", "hv2", "vm1", "vm2"))
        lab.veth(hv1, "eth0", hv2, "eth0", addr="10.99.31.1/24", peer_addr="10.99.31.2/24")
        hv1.vxlan("vx0", 100, local="10.99.31.1", remote="10.99.31.2", dev="eth0")
        hv2.vxlan("vx0", 100, local="10.99.31.2", remote="10.99.31.1", dev="eth0")
        ovs = lab.ovs(netns=hv1)
        ovs.bridge("br-int")
        ovs.port("br-int", "vx0")
        lab.veth(hv1, "tapvm1", vm1, "eth0", mtu=1450, peer_addr="10.99.32.1/24")
        ovs.port("br-int", "tapvm1")
        hv2.bridge("br0", mtu=1450)
        hv2.enslave("vx0", "br0")
        lab.veth(hv2, "tapvm2", vm2, "eth0", mtu=1450, master="br0", peer_addr="10.99.32.2/24")
        ok = vm1.run(["ping", "-c", "1", "-W", "3", "10.99.32.2"], check=False)
        if ok.returncode != 0:
            raise LabError("baseline-ovs-vxlan: vm1 cannot reach vm2 over the VXLAN, not a healthy baseline")
        return Vantage(netns=[hv1.name, hv2.name, vm1.name, vm2.name], env=ovs.env)


@scenario
class NeutronNodeBaseline(Scenario):
    """Healthy: a Neutron-like network node, qdhcp-/qrouter- namespaces, dnsmasq and agents running."""

    name = "baseline-neutron-node"
    tools = ("ip", "dnsmasq")

    def build(self, lab: Lab) -> Vantage:
        return neutron_node(lab, agents=True)
