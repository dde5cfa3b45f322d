"""A Neutron-like network node (seed 000): qdhcp-/qrouter- namespaces on a bridge, dnsmasq serving
DHCP in qdhcp-, and the agents that own them. The agents are stand-in processes with the agents'
names (the lab has no OpenStack): what a process list shows of a real node."""

from __future__ import annotations

import uuid

from netsleuth.lab import Lab
from netsleuth.lab.scenario import Scenario, Vantage, scenario

AGENTS = ("neutron-dhcp-agent", "neutron-l3-agent", "neutron-metadata-agent")
STAND_IN = "#!/usr/bin/python3\n# lab stand-in for an OpenStack agent\nimport time\ntime.sleep(86400)\n"


def neutron_node(lab: Lab, *, agents: bool) -> Vantage:
    net_id = str(uuid.UUID(int=0x5EED0000 + int(lab.run_id, 16)))
    node = lab.netns("node")
    dhcp = lab.netns("qdhcp", f"qdhcp-{lab.prefix}-{net_id[:18]}")
    router = lab.netns("qrouter", f"qrouter-{lab.prefix}-{net_id[19:]}")
    node.bridge("br-int")
    lab.veth(node, "tapd1", dhcp, "ns-d1", master="br-int", peer_addr="10.99.20.2/24")
    lab.veth(node, "tapr1", router, "qr-r1", master="br-int", peer_addr="10.99.20.1/24")
    if agents:
        lab.dnsmasq(  # like Neutron's: the network id (the namespace's suffix) is in its command line
            dhcp,
            "ns-d1",
            dhcp_range="10.99.20.100,10.99.20.150,255.255.255.0,1h",
            dns=False,
            tag=f"dhcp-{dhcp.name[len('qdhcp-') :]}",
        )
        for agent in AGENTS:
            exe = lab.path("bin", agent)
            exe.write_text(STAND_IN)
            exe.chmod(0o755)
            lab.spawn([str(exe), "--config-file", "/etc/neutron/neutron.conf"])
    wrap: list[str] = []
    if agents:  # a well-kept node renews DHCP patiently (seed 000's fix), in its own view of /etc
        conf = lab.path("dhclient.conf")
        conf.write_text("timeout 300;\n")
        bind = f"[ ! -e /etc/dhcp/dhclient.conf ] || mount --bind {conf} /etc/dhcp/dhclient.conf"
        wrap = [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            f'{bind} && exec "$@"',
            "lab-mnt",
        ]
    return Vantage(netns=[node.name, dhcp.name, router.name], wrap=wrap)


@scenario
class NeutronAgentDown(Scenario):
    """qdhcp-/qrouter- namespaces exist but no DHCP/L3 agent and no dnsmasq run: VMs get no address (seed 000)."""

    name = "neutron-agent-down"
    expect = "neutron.agent_down"
    expect_subject = ("dhcp", "l3")
    sos = True  # sos's process list and `ip netns` show the namespaces without their agents

    def build(self, lab: Lab) -> Vantage:
        return neutron_node(lab, agents=False)
