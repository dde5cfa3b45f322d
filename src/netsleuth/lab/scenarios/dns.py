"""Name resolution faults (seeds 002/003), seen from inside a client namespace whose resolv.conf is
/etc/netns/NAME/resolv.conf. The name servers are lab dnsmasq instances that answer every name."""

from __future__ import annotations

from netsleuth.lab import Lab
from netsleuth.lab.blocks import Netns
from netsleuth.lab.scenario import Scenario, Vantage, scenario


def lan(lab: Lab, *hosts: tuple[str, str]) -> tuple[Netns, dict[str, Netns]]:
    """A client (10.99.6.9) and hosts (role, address) on one Linux bridge."""
    sw, client = lab.netns("sw"), lab.netns("client")
    sw.bridge("br0")
    lab.veth(sw, "pcl", client, "eth0", master="br0", peer_addr="10.99.6.9/24")
    made = {}
    for i, (role, address) in enumerate(hosts):
        ns = lab.netns(role)
        lab.veth(sw, f"p{i}", ns, "eth0", master="br0", peer_addr=f"{address}/24")
        made[role] = ns
    return client, made


def name_server(lab: Lab, ns: Netns, answer: str) -> None:
    lab.dnsmasq(ns, "eth0", extra=[f"--address=/#/{answer}"], tag="dns")


@scenario
class LoopbackResolverDead(Scenario):
    """resolv.conf points at 127.0.0.53 (a VPN client's cache) and nothing listens there (seed 003)."""

    name = "dns-loopback-dead"
    expect = "dns.loopback_resolver_dead"
    expect_subject = ("127.0.0.53",)

    def build(self, lab: Lab) -> Vantage:
        client, _ = lan(lab)
        client.resolv_conf("# written by a VPN client\nnameserver 127.0.0.53\n")
        return Vantage(inside=client.name, probes=True)


@scenario
class Udp53Blocked(Scenario):
    """The name server answers ping and TCP 53, but a firewall drops UDP 53 (seed 003)."""

    name = "dns-udp53-blocked"
    expect = "dns.udp53_blocked"
    expect_subject = ("10.99.6.1",)
    tools = ("ip", "dnsmasq", "iptables")

    def build(self, lab: Lab) -> Vantage:
        client, hosts = lan(lab, ("dns1", "10.99.6.1"))
        name_server(lab, hosts["dns1"], "10.99.6.10")
        hosts["dns1"].iptables("-A", "INPUT", "-p", "udp", "--dport", "53", "-j", "DROP")
        client.resolv_conf("nameserver 10.99.6.1\n")
        return Vantage(inside=client.name, probes=True)


@scenario
class ServerUnreachable(Scenario):
    """resolv.conf names a server that does not exist any more (seeds 002/003)."""

    name = "dns-server-unreachable"
    expect = "dns.server_unreachable"
    expect_subject = ("10.99.6.99",)

    def build(self, lab: Lab) -> Vantage:
        client, _ = lan(lab)
        client.resolv_conf("nameserver 10.99.6.99\n")
        return Vantage(inside=client.name, probes=True)


@scenario
class RotateInconsistent(Scenario):
    """`options rotate` over two servers, one of which does not answer: lookups fail every other time (seed 003)."""

    name = "dns-rotate-inconsistent"
    expect = "dns.rotate_inconsistent"
    expect_subject = ("10.99.6.2",)
    tools = ("ip", "dnsmasq", "iptables")

    def build(self, lab: Lab) -> Vantage:
        client, hosts = lan(lab, ("dns1", "10.99.6.1"), ("dns2", "10.99.6.2"))
        name_server(lab, hosts["dns1"], "10.99.6.10")
        name_server(lab, hosts["dns2"], "10.99.6.10")
        for proto in ("udp", "tcp"):
            hosts["dns2"].iptables("-A", "INPUT", "-p", proto, "--dport", "53", "-j", "DROP")
        client.resolv_conf("options rotate\nnameserver 10.99.6.1\nnameserver 10.99.6.2\n")
        return Vantage(inside=client.name, probes=True)
