"""DHCP faults (seed 002): no OFFER comes back, or the pool is empty."""

from __future__ import annotations

from netsleuth.lab import Lab
from netsleuth.lab.blocks import Netns
from netsleuth.lab.scenario import Scenario, Vantage, scenario

DHCLIENT_CONF = "timeout 4;\nretry 1;\n"


def dhcp_lan(lab: Lab, clients: int, dhcp_range: str) -> tuple[Netns, list[Netns]]:
    """A DHCP server namespace (dnsmasq on 10.99.10.1) and `clients` namespaces on one bridge."""
    sw, srv = lab.netns("sw"), lab.netns("dhcpsrv")
    sw.bridge("br0")
    lab.veth(sw, "psrv", srv, "eth0", master="br0", peer_addr="10.99.10.1/24")
    cls = []
    for i in range(clients):
        c = lab.netns(f"c{i + 1}")  # its own resolv.conf (no server: dnsmasq here serves no DNS)
        lab.veth(sw, f"pc{i + 1}", c, "eth0", master="br0")
        cls.append(c)
    lab.dnsmasq(srv, "eth0", dhcp_range=dhcp_range, dns=False, tag="dhcp")
    return srv, cls


def dhclient_once(lab: Lab, ns: Netns) -> bool:
    """One DHCP attempt (dhclient -1, 4 s); True if a lease came. The hook script is /bin/true."""
    conf = lab.path(f"dhclient-{ns.role}.conf")
    conf.write_text(DHCLIENT_CONF)
    r = ns.run(
        [
            "dhclient", "-1", "-sf", "/bin/true", "-cf", str(conf),
            "-lf", str(lab.path(f"dhclient-{ns.role}.leases")),
            "-pf", str(lab.path(f"dhclient-{ns.role}.pid")), "eth0",
        ],
        check=False,
        timeout=15,
    )  # fmt: skip
    return r.returncode == 0


def dhclient_waiting(lab: Lab, ns: Netns) -> None:
    """A DHCP client that keeps asking (in the foreground, stopped by pid on `down`), as on a VM
    that boots and waits for its address."""
    conf = lab.path(f"dhclient-{ns.role}.conf")
    conf.write_text(DHCLIENT_CONF)
    lab.spawn(
        [
            "dhclient", "-d", "-sf", "/bin/true", "-cf", str(conf),
            "-lf", str(lab.path(f"dhclient-{ns.role}.leases")),
            "-pf", str(lab.path(f"dhclient-{ns.role}.pid")), "eth0",
        ],
        netns=ns,
        log=lab.path(f"dhclient-{ns.role}.out"),
    )  # fmt: skip


def private_varlog(lab: Lab, logs: dict[str, str]) -> list[str]:
    """A command prefix: a private mount namespace whose /var/log holds these lab logs
    (name under /var/log -> lab file), as they lie on a real host."""
    d = lab.path("varlog", "x").parent
    links = " && ".join(f"ln -sf {src} {d}/{name}" for name, src in logs.items()) or "true"
    script = f'{links} && mount --bind {d} /var/log && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "lab-mnt"]


@scenario
class NoOffer(Scenario):
    """DISCOVERs get no OFFER: a firewall on the DHCP server drops UDP 67 (seed 002).

    Diagnosed from the client, whose dhclient keeps asking: diagnose's default probes send a
    DISCOVER on the interface a DHCP client of that namespace runs for."""

    name = "dhcp-no-offer"
    expect = "dhcp.no_offer"
    expect_subject = ("eth0", "10.99.10.1")
    tools = ("ip", "dnsmasq", "iptables", "dhclient")

    def build(self, lab: Lab) -> Vantage:
        srv, (c1,) = dhcp_lan(lab, 1, "10.99.10.50,10.99.10.60,255.255.255.0,1h")
        srv.iptables("-A", "INPUT", "-p", "udp", "--dport", "67", "-j", "DROP")
        dhclient_waiting(lab, c1)
        return Vantage(inside=c1.name, probes=True)


@scenario
class PoolExhausted(Scenario):
    """A pool of one address and two clients: dnsmasq logs `no address available` (seed 002)."""

    name = "dhcp-pool-exhausted"
    expect = "dhcp.pool_exhausted"
    expect_subject = ("10.99.10", "dnsmasq", "eth0")
    tools = ("ip", "dnsmasq", "dhclient", "unshare")

    def build(self, lab: Lab) -> Vantage:
        srv, (c1, c2) = dhcp_lan(lab, 2, "10.99.10.50,10.99.10.50,255.255.255.0,1h")
        dhclient_once(lab, c1)
        dhclient_once(lab, c2)
        log = str(lab.path("dhcp-dhcpsrv.log"))
        return Vantage(inside=srv.name, wrap=private_varlog(lab, {"dnsmasq.log": log}))
