"""Network building blocks: namespaces, veth pairs, Linux bridges, VXLAN devices, firewall rules.

Every link lives inside a namespace the lab made (never the default one), so deleting the
namespace removes it: the only undo step a link needs is its namespace's.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netsleuth.lab.core import NAME_PREFIX, LabRun, check_ifname
from netsleuth.lab.shell import DEFAULT_TIMEOUT, LabError, sh

# Every lab namespace gets its own /etc/netns/NAME/resolv.conf, so that nothing run inside it (a
# DHCP client, `diagnose`'s DNS probe) ever sees or queries the machine's resolvers through the
# inherited /etc/resolv.conf. By default it names no server (the lab has no DNS unless a scenario
# starts one and writes its own with `resolv_conf`).
NO_RESOLVER = "# netsleuth lab namespace: no name server (a scenario writes its own when it runs one)\n"


@dataclass
class Netns:
    """A network namespace of the lab, with loopback up."""

    lab: LabRun
    name: str
    role: str

    @classmethod
    def create(cls, lab: LabRun, role: str, name: str | None = None) -> Netns:
        """`name` defaults to <prefix>-<role>; a Neutron-like name must contain the prefix
        (e.g. f"qdhcp-{lab.prefix}-net1") so that a crashed run can be found and cleaned."""
        full = name or f"{lab.prefix}-{role}"
        if lab.prefix not in full or not (full.startswith(NAME_PREFIX) or f"-{lab.prefix}-" in full):
            raise LabError(f"namespace {full!r} must carry the lab prefix {lab.prefix}")
        lab.journal(kind="netns", name=full)
        sh(["ip", "netns", "add", full])
        ns = cls(lab, full, role)
        ns.ip("link", "set", "lo", "up")
        ns.resolv_conf(NO_RESOLVER)
        return ns

    def __str__(self) -> str:
        return self.name

    # ---- commands inside ----------------------------------------------------------------
    def run(
        self, argv: Sequence[str], *, check: bool = True, timeout: float = DEFAULT_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside this namespace."""
        return sh(argv, netns=self.name, check=check, timeout=timeout)

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh(["ip", "-n", self.name, *args], check=check)

    def up(self, dev: str) -> None:
        self.ip("link", "set", "dev", dev, "up")

    def down(self, dev: str) -> None:
        self.ip("link", "set", "dev", dev, "down")

    def addr(self, dev: str, cidr: str) -> None:
        self.ip("addr", "add", cidr, "dev", dev)

    def mtu(self, dev: str, mtu: int) -> None:
        self.ip("link", "set", "dev", dev, "mtu", str(mtu))

    def route(self, *spec: str) -> None:
        """`ns.route("default", "via", "10.0.0.1")`."""
        self.ip("route", "add", *spec)

    def sysctl(self, key: str, value: str | int) -> None:
        """A per-namespace sysctl (net.ipv4.ip_forward ...): dies with the namespace."""
        self.run(["sysctl", "-q", "-w", f"{key}={value}"])

    def resolv_conf(self, text: str) -> Path:
        """/etc/netns/NAME/resolv.conf: what `ip netns exec` shows this namespace as /etc/resolv.conf.
        Write it before running a DHCP client or resolver here (never the machine's own file)."""
        d = Path("/etc/netns") / self.name
        d.mkdir(parents=True, exist_ok=True)
        (d / "resolv.conf").write_text(text)
        return d / "resolv.conf"

    def iptables(self, *rule: str, v6: bool = False) -> None:
        """`ns.iptables("-A", "INPUT", "-p", "udp", "--dport", "53", "-j", "DROP")`, in this namespace."""
        self.run(["ip6tables" if v6 else "iptables", "-w", "5", *rule])

    def nft(self, ruleset: str) -> None:
        """Load an nft ruleset (text) into this namespace."""
        r = sh(["nft", "-f", "-"], netns=self.name, input=ruleset, check=False)
        if r.returncode != 0:
            raise LabError(f"nft in {self.name}: {r.stderr.strip()}")

    # ---- links ----------------------------------------------------------------------------
    def bridge(self, name: str, *, mtu: int | None = None, addr: str | None = None) -> str:
        """A Linux bridge (STP off, no forward delay), up."""
        check_ifname(name)
        self.ip("link", "add", "name", name, "type", "bridge", "stp_state", "0", "forward_delay", "0")
        if mtu:
            self.mtu(name, mtu)
        if addr:
            self.addr(name, addr)
        self.up(name)
        return name

    def enslave(self, dev: str, master: str) -> None:
        self.ip("link", "set", "dev", dev, "master", master)

    def vxlan(
        self,
        name: str,
        vni: int,
        *,
        local: str | None = None,
        remote: str | None = None,
        dstport: int = 4789,
        dev: str | None = None,
        mtu: int | None = None,
        df_set: bool = False,
        master: str | None = None,
        addr: str | None = None,
        up: bool = True,
    ) -> str:
        """A VXLAN device. The kernel refuses an MTU above dev's MTU - 50 when `dev` is given; to build
        a VXLAN without room for its headers, leave `dev` out and give `local` (an underlay address)."""
        check_ifname(name)
        argv = ["link", "add", name, "type", "vxlan", "id", str(vni), "dstport", str(dstport)]
        for opt, val in (("local", local), ("remote", remote), ("dev", dev)):
            if val:
                argv += [opt, val]
        if df_set:
            argv += ["df", "set"]
        self.ip(*argv)
        if mtu:
            self.mtu(name, mtu)
        if master:
            self.enslave(name, master)
        if addr:
            self.addr(name, addr)
        if up:
            self.up(name)
        return name


@dataclass
class Veth:
    """A veth pair: `a_name` in namespace `a`, `b_name` in namespace `b`."""

    a: Netns
    a_name: str
    b: Netns
    b_name: str

    @classmethod
    def create(
        cls,
        lab: LabRun,
        a: Netns,
        a_name: str,
        b: Netns,
        b_name: str,
        *,
        mtu: int | None = None,
        peer_mtu: int | None = None,
        master: str | None = None,
        peer_master: str | None = None,
        addr: str | None = None,
        peer_addr: str | None = None,
        up: bool = True,
        peer_up: bool = True,
    ) -> Veth:
        """Made inside `a` with its peer moved to `b` in the same call (the default namespace is
        never touched). `mtu` sets both ends unless `peer_mtu` differs; `master` is a bridge in `a`."""
        check_ifname(a_name)
        check_ifname(b_name)
        argv = ["link", "add", "name", a_name]
        if mtu:
            argv += ["mtu", str(mtu)]
        argv += ["type", "veth", "peer", "name", b_name, "netns", b.name]
        pm = peer_mtu or mtu
        if pm:
            argv += ["mtu", str(pm)]
        a.ip(*argv)
        for ns, dev, br, cidr, on in (
            (a, a_name, master, addr, up),
            (b, b_name, peer_master, peer_addr, peer_up),
        ):
            if br:
                ns.enslave(dev, br)
            if cidr:
                ns.addr(dev, cidr)
            if on:
                ns.up(dev)
        return cls(a, a_name, b, b_name)
