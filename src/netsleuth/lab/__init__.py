"""The fault lab: small real networks on this machine, with one fault from faults.md injected.

Building blocks (for scenarios here and for other engineers' integration tests)::

    from netsleuth.lab import Lab, LabUnavailable

    with Lab("my-test") as lab:                    # root needed, else LabUnavailable (skip on it)
        a = lab.netns("a")                          # namespace "nsl<4 hex>-a", lo up, and its own
                                                    #   /etc/netns/NAME/resolv.conf naming no server
        b = lab.netns("b")
        q = lab.netns("qdhcp", f"qdhcp-{lab.prefix}-net1")   # Neutron-like names carry the prefix
        br = a.bridge("br0", mtu=None, addr="10.9.0.1/24")   # Linux bridge, STP off, up
        lab.veth(a, "vethb", b, "eth0", mtu=1500, peer_mtu=None, master=br,
                 peer_addr="10.9.0.2/24")           # pair across namespaces, both ends up
        a.vxlan("vx0", 42, local="10.9.0.1", remote="10.9.0.2", dstport=4789,
                dev=None, mtu=1450, df_set=True)    # no `dev`: the kernel then accepts any MTU
        a.addr("br0", "10.9.1.1/24"); a.mtu("eth0", 1350); a.down("eth0"); a.route("default", "via", ...)
        a.iptables("-A", "INPUT", "-p", "udp", "--dport", "53", "-j", "DROP")   # inside `a` only
        a.nft("table inet t { chain c { type filter hook input priority 0; udp dport 67 drop; } }")
        a.sysctl("net.ipv4.ip_forward", 1)          # per-namespace: dies with it
        b.resolv_conf("nameserver 10.9.0.1\\n")     # /etc/netns/NAME/resolv.conf
        b.run(["ping", "-c1", "10.9.0.1"])          # CompletedProcess; LabError on failure
        lab.spawn(["sleep", "60"], netns=b)         # background process, stopped by pid on down

        ovs = lab.ovs(netns=a)                      # own ovsdb-server + ovs-vswitchd in
        ovs.env                                     #   /run/netsleuth-lab/<run>/ovs; give this env to
        ovs.bridge("br-int")                        #   ovs-* tools and `netsleuth diagnose`
        ovs.port("br-int", "tap1", tag=1011)        # devices must live in the vswitchd namespace
        ovs.bond("br-int", "bond0", ["m1", "m2"]); ovs.vxlan_port("br-int", "vx", "10.9.0.2")
        ovs.pause_vswitchd(); ovs.resume_vswitchd(); ovs.stop("ovsdb-server")

        dns = lab.dnsmasq(a, "br0", dhcp_range="10.9.0.50,10.9.0.60,1h", records={"db.lab": "10.9.0.7"})
        dns.log                                     # its log file (queries, DHCP); dns.stop()

        lab.sysctl("net.netfilter.nf_conntrack_max", 64)   # GLOBAL: old value restored on down
    # leaving the block (normally, on an exception, on Ctrl-C or SIGTERM) runs lab.down()

- Everything is journaled before it is made, in /run/netsleuth-lab/<run_id>/state.json;
  `Lab.attach(run_id).down()` tears down a lab of another (or a crashed) process, and `down()` is
  idempotent. `Lab.leftover_run_ids()` finds crashed runs by the "nsl<run_id>-" name prefix.
- `Lab(keep=True)` leaves the lab up on a clean exit (`netsleuth lab up`).
- `global_sysctl(key, value)` is a context manager for a global sysctl outside a Lab.
- Interface names are checked against the kernel's 15 characters; links live only in lab namespaces.

Scenarios (`netsleuth.lab.scenarios`): one small class per fault, `SCENARIOS` maps name -> class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from netsleuth.lab.blocks import Netns, Veth
from netsleuth.lab.core import LabRun, global_sysctl, require_root
from netsleuth.lab.dnsmasq import Dnsmasq
from netsleuth.lab.ovs import Ovs
from netsleuth.lab.shell import LabError, LabUnavailable, sh

P = ParamSpec("P")
B = TypeVar("B")


def _block(make: Callable[Concatenate[LabRun, P], B]) -> Callable[Concatenate[LabRun, P], B]:
    """A method of Lab that makes a building block in this lab: `lab.veth(...)` is
    `Veth.create(lab, ...)`, with the same parameters and types."""

    def method(self: LabRun, /, *args: P.args, **kwargs: P.kwargs) -> B:
        return make(self, *args, **kwargs)

    method.__doc__ = make.__doc__
    return method


class Lab(LabRun):
    """A set of namespaces, links and processes built for one scenario; torn down on exit.
    Its building blocks: `netns` (blocks.Netns), `veth` (blocks.Veth), `ovs` (ovs.Ovs),
    `dnsmasq` (dnsmasq.Dnsmasq); each cleans up after itself through the lab's journal."""

    netns = _block(Netns.create)
    veth = _block(Veth.create)
    ovs = _block(Ovs.start)
    dnsmasq = _block(Dnsmasq.start)


__all__ = ["Lab", "LabError", "LabUnavailable", "global_sysctl", "require_root", "sh"]
