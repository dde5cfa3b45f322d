"""Firewall faults (seeds 002/003): the host runs a service and its own firewall drops it."""

from __future__ import annotations

from netsleuth.lab import Lab
from netsleuth.lab.scenario import Scenario, Vantage, scenario


@scenario
class DropsDhcpService(Scenario):
    """dnsmasq serves DHCP on this host, and an iptables rule drops UDP 67 before it (seed 002)."""

    name = "firewall-drops-service"
    expect = "firewall.drops_service"
    expect_subject = ("67", "dhcp", "bootps")
    tools = ("ip", "dnsmasq", "iptables")
    sos = True  # sos runs `ip netns exec NS iptables-save` and netstat in every namespace
    sos_inside = True  # and, run inside it, the namespace's own firewall tables (`iptables -vnxL`)

    def build(self, lab: Lab) -> Vantage:
        srv, cli = lab.netns("srv"), lab.netns("cli")
        lab.veth(srv, "eth0", cli, "eth0", addr="10.99.12.1/24")
        lab.dnsmasq(srv, "eth0", dhcp_range="10.99.12.50,10.99.12.60,255.255.255.0,1h", dns=False, tag="dhcp")
        srv.iptables("-A", "INPUT", "-p", "udp", "--dport", "67", "-j", "DROP")
        return Vantage(inside=srv.name)
