"""Open vSwitch faults (seeds 000/003/004), on the lab's own userspace Open vSwitch.

ovs-vswitchd runs inside the lab's "node" namespace with its ports; netsleuth diagnoses from inside
that namespace with the lab's OVS environment (OVS_RUNDIR ...), as it would on a compute node.
"""

from __future__ import annotations

from netsleuth.lab import Lab
from netsleuth.lab.blocks import Netns
from netsleuth.lab.ovs import Ovs
from netsleuth.lab.scenario import Scenario, Vantage, scenario

OVS_TOOLS = ("ip", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "ovs-appctl")


def ovs_node(lab: Lab) -> tuple[Ovs, Netns, Vantage]:
    """A node running OVS with br-int and one VM port (vm1 behind tap1)."""
    node, vm = lab.netns("node"), lab.netns("vm1")
    ovs = lab.ovs(netns=node)
    ovs.bridge("br-int")
    lab.veth(node, "tap1", vm, "eth0", peer_addr="10.99.4.2/24")
    ovs.port("br-int", "tap1", tag=1)
    return ovs, node, Vantage(inside=node.name, env=ovs.env)


@scenario
class VswitchdStopped(Scenario):
    """ovs-vswitchd hangs (SIGSTOP) while ovsdb-server answers: flows are not served (seed 000)."""

    name = "ovs-vswitchd-hung"
    expect = "ovs.vswitchd_unresponsive"
    expect_subject = ("ovs-vswitchd",)
    tools = OVS_TOOLS

    def build(self, lab: Lab) -> Vantage:
        ovs, _, vantage = ovs_node(lab)
        ovs.pause_vswitchd()
        return vantage


@scenario
class OvsdbStopped(Scenario):
    """ovsdb-server is gone: no port can be added or changed (seed 000)."""

    name = "ovs-ovsdb-down"
    expect = "ovs.ovsdb_unreachable"
    expect_subject = ("ovsdb-server",)
    tools = OVS_TOOLS
    sos = True  # sos's openvswitch plugin, told where this OVS lives (OVS_RUNDIR, OVS_LOGDIR)

    def build(self, lab: Lab) -> Vantage:
        ovs, _, vantage = ovs_node(lab)
        ovs.stop("ovsdb-server")
        return vantage


@scenario
class OvsMissingInterface(Scenario):
    """A bridge port whose NIC does not exist: `error: could not open network device` (seeds 003/004)."""

    name = "ovs-interface-missing"
    expect = "ovs.interface_error"
    expect_subject = ("eth9",)
    tools = OVS_TOOLS

    def build(self, lab: Lab) -> Vantage:
        ovs, _, vantage = ovs_node(lab)
        ovs.bridge("br-ex")
        ovs.port("br-ex", "eth9")  # no such device
        return vantage


@scenario
class OvsBondMemberDown(Scenario):
    """An OVS bond with one member's link down: half the redundancy is gone (seed 000)."""

    name = "ovs-bond-member-down"
    expect = "nic.bond_member_down"
    expect_subject = ("m2",)
    tools = OVS_TOOLS

    def build(self, lab: Lab) -> Vantage:
        ovs, node, vantage = ovs_node(lab)
        tor = lab.netns("tor")
        ovs.bridge("br-phy")
        tor.bridge("br0")
        lab.veth(node, "m1", tor, "p1", peer_master="br0")
        lab.veth(node, "m2", tor, "p2", peer_master="br0", peer_up=False)  # the switch port is down
        ovs.bond("br-phy", "bond0", ["m1", "m2"])
        return vantage


@scenario
class VlanNotCarried(Scenario):
    """A VM port tagged 1011 on a trunk whose far side does not carry 1011: no reply (seed 003).

    diagnose cannot know which VLAN and which address to ask for, so the engineer asks, on the
    node, the documented way: `netsleuth probe arp 10.99.11.1 --vlan 1011 --iface trunk0`: ARP
    tagged 1011 leaves the trunk and nothing comes back (the far side only has untagged 10.99.11.1)."""

    name = "vlan-no-reply"
    expect = "vlan.no_reply"
    expect_subject = ("1011", "tap1", "trunk0")
    tools = OVS_TOOLS

    def build(self, lab: Lab) -> Vantage:
        node, vm, tor = lab.netns("node"), lab.netns("vm1"), lab.netns("tor")
        ovs = lab.ovs(netns=node)
        ovs.bridge("br-int")
        lab.veth(node, "tap1", vm, "eth0", peer_addr="10.99.11.2/24")
        ovs.port("br-int", "tap1", tag=1011)
        lab.veth(node, "trunk0", tor, "eth0", peer_addr="10.99.11.1/24")
        ovs.port("br-int", "trunk0")  # a trunk; the far side has no VLAN 1011 (untagged only)
        vm.run(["ping", "-c", "1", "-W", "1", "10.99.11.1"], check=False)  # ARP leaves tagged, no reply
        probe = ["probe", "arp", "10.99.11.1", "--vlan", "1011", "--iface", "trunk0", "--wait", "1"]
        return Vantage(inside=node.name, env=ovs.env, command=probe)
