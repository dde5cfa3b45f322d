"""Active probes toward real faults built in namespaces: a path-MTU black hole, two hosts with
one IP on a bridge, a DHCP server that never offers, and VXLAN whose UDP port is dropped."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.probe_helpers import NETSLEUTH, have, ids, probe

pytestmark = pytest.mark.root


@pytest.fixture
def lab() -> Iterator[Any]:
    from netsleuth.lab import Lab, LabUnavailable

    try:
        with Lab("probes-l2") as lab:
            yield lab
    except LabUnavailable as exc:
        pytest.skip(str(exc))


def _routed(lab: Any, icmp_dropped: bool) -> tuple[Any, Any]:
    """cli --1500-- rtr --1400-- srv; rtr may drop the ICMP frag-needed it would send."""
    cli, rtr, srv = lab.netns("cli"), lab.netns("rtr"), lab.netns("srv")
    lab.veth(rtr, "eth0", cli, "eth0", addr="10.81.0.1/24", peer_addr="10.81.0.2/24")
    lab.veth(rtr, "eth1", srv, "eth0", mtu=1400, addr="10.82.0.1/24", peer_addr="10.82.0.2/24")
    rtr.sysctl("net.ipv4.ip_forward", 1)
    cli.route("10.82.0.0/24", "via", "10.81.0.1")
    srv.route("10.81.0.0/24", "via", "10.82.0.1")
    if icmp_dropped:
        rtr.iptables("-A", "OUTPUT", "-p", "icmp", "--icmp-type", "fragmentation-needed", "-j", "DROP")
    return cli, srv


def test_mtu_blackhole_found(lab: Any) -> None:
    cli, _srv = _routed(lab, icmp_dropped=True)
    rc, report = probe(cli.name, "probe", "mtu", "10.82.0.2", "--wait", "0.3")
    assert rc == 2
    assert ids(report) == {"mtu.path_blackhole": ["10.82.0.2"]}
    assert "largest passing 1400, lost from 1401" in report["notes"][0]


def test_mtu_with_icmp_is_frag_needed_not_blackhole(lab: Any) -> None:
    cli, _srv = _routed(lab, icmp_dropped=False)
    rc, report = probe(cli.name, "probe", "mtu", "10.82.0.2", "--wait", "0.3")
    assert rc == 0, report["findings"]
    assert "ICMP frag needed from 10.81.0.1 (mtu 1400)" in report["notes"][0]
    assert "-> frag_needed" in report["notes"][0]


def test_mtu_local_interface_limit_is_emsgsize(lab: Any) -> None:
    cli, _srv = _routed(lab, icmp_dropped=True)
    rc, report = probe(cli.name, "probe", "mtu", "10.81.0.1", "--max", "1600", "--wait", "0.3")
    assert rc == 0, report["findings"]
    assert "largest passing 1500" in report["notes"][0] and "EMSGSIZE" in report["notes"][0]


def _bridge_hosts(lab: Any, same_ip: bool) -> Any:
    sw = lab.netns("sw")
    br = sw.bridge("br0")
    hosts = []
    for i, ip in enumerate(["10.83.0.5", "10.83.0.5" if same_ip else "10.83.0.6", "10.83.0.9"]):
        h = lab.netns(f"h{i}")
        lab.veth(sw, f"p{i}", h, "eth0", master=br, peer_addr=f"{ip}/24")
        hosts.append(h)
    return hosts


def test_two_hosts_one_ip_is_duplicate(lab: Any) -> None:
    prober = _bridge_hosts(lab, same_ip=True)[2]
    rc, report = probe(prober.name, "probe", "arp", "10.83.0.5", "--wait", "0.8")
    assert rc == 2
    assert ids(report) == {"arp.duplicate_ip": ["10.83.0.5"]}
    assert len(report["findings"][0]["summary"].split("answered by ")[1].split(",")) == 2


def test_one_holder_is_quiet(lab: Any) -> None:
    prober = _bridge_hosts(lab, same_ip=False)[2]
    rc, report = probe(prober.name, "probe", "arp", "10.83.0.5", "--wait", "0.8")
    assert rc == 0 and not ids(report)
    assert "answered by" in report["notes"][0] and "nobody" not in report["notes"][0]


def test_diagnose_default_probes_detect_our_address_elsewhere(lab: Any) -> None:
    """diagnose's cheap default probes: duplicate-address detection of the host's own addresses."""
    holder = _bridge_hosts(lab, same_ip=True)[0]
    holder.resolv_conf("nameserver 127.0.0.1\n")
    started = time.monotonic()
    rc, report = probe(holder.name, "diagnose", "-q", timeout=60)
    assert time.monotonic() - started < 30
    assert rc == 2
    assert ids(report)["arp.duplicate_ip"] == ["10.83.0.5"]
    assert ids(report)["dns.loopback_resolver_dead"] == ["127.0.0.1"]
    rc, report = probe(holder.name, "diagnose", "-q", "--no-probes", timeout=60)
    assert "arp.duplicate_ip" not in ids(report)
    assert not any(e["name"].startswith("probe.") for e in report["evidence"])


def _dhcp(lab: Any, drop: bool) -> Any:
    if not have("dnsmasq"):
        pytest.skip("dnsmasq not installed")
    srv, cli = lab.netns("srv"), lab.netns("cli")
    lab.veth(srv, "eth0", cli, "eth0", addr="10.84.0.1/24")
    cli.resolv_conf("nameserver 10.84.0.1\n")
    if drop:
        srv.iptables("-A", "INPUT", "-p", "udp", "--dport", "67", "-j", "DROP")
    lab.dnsmasq(
        srv, "eth0", dhcp_range="10.84.0.50,10.84.0.60,255.255.255.0,1h", dns=False, extra=["--no-ping"]
    )
    return cli


def test_dhcp_offer_seen_and_no_lease_taken(lab: Any) -> None:
    cli = _dhcp(lab, drop=False)
    rc, report = probe(cli.name, "probe", "dhcp", "eth0", "--wait", "2")
    assert rc == 0, report["findings"]
    note = report["notes"][0]
    assert "from 10.84.0.1" in note
    offered = [int(a.rsplit(".", 1)[1]) for a in re.findall(r"10\.84\.0\.\d+(?= from)", note)]
    assert offered and all(50 <= host <= 60 for host in offered), note  # inside dnsmasq's range
    addrs = subprocess.run(
        ["ip", "-n", cli.name, "-4", "addr", "show", "eth0"], capture_output=True, text=True
    ).stdout
    assert "inet " not in addrs  # DISCOVER only: nothing configured


def test_dhcp_udp67_dropped_is_no_offer(lab: Any) -> None:
    cli = _dhcp(lab, drop=True)
    rc, report = probe(cli.name, "probe", "dhcp", "eth0", "--wait", "2")
    assert rc == 2
    assert ids(report) == {"dhcp.no_offer": ["eth0"]}


def _vxlan(lab: Any, drop: bool) -> tuple[Any, Any]:
    a, b = lab.netns("a"), lab.netns("b")
    lab.veth(a, "eth0", b, "eth0", addr="10.85.0.1/24", peer_addr="10.85.0.2/24")
    a.vxlan("vx0", 42, local="10.85.0.1", remote="10.85.0.2", dstport=4789, dev="eth0")
    b.vxlan("vx0", 42, local="10.85.0.2", remote="10.85.0.1", dstport=4789, dev="eth0")
    a.addr("vx0", "10.86.0.1/24")
    b.addr("vx0", "10.86.0.2/24")
    if drop:
        b.iptables("-A", "INPUT", "-p", "udp", "--dport", "4789", "-j", "DROP")
    return a, b


def test_vxlan_peer_underlay_ok_overlay_dropped(lab: Any) -> None:
    a, _b = _vxlan(lab, drop=True)
    rc, report = probe(
        a.name, "diagnose", "--peer", "10.86.0.2", "--only", "vxlan.udp_blocked", "-q", timeout=60
    )
    assert rc == 2
    assert ids(report) == {"vxlan.udp_blocked": ["10.85.0.2"]}


def test_vxlan_healthy_is_quiet(lab: Any) -> None:
    a, _b = _vxlan(lab, drop=False)
    _rc, report = probe(
        a.name,
        "diagnose",
        "--peer",
        "10.86.0.2",
        "--only",
        "vxlan.udp_blocked",
        "--only",
        "mtu.path_blackhole",
        "-q",
        timeout=60,
    )
    assert not ids(report), report["findings"]
    assert any("overlay 10.86.0.2 answers" in n for n in report["notes"])


def test_udp_echo_across_a_drop(lab: Any) -> None:
    """seed 003's `nc -u` test: the listener answers, until a firewall drops the port."""
    a, b = lab.netns("a"), lab.netns("b")
    lab.veth(a, "eth0", b, "eth0", addr="10.87.0.1/24", peer_addr="10.87.0.2/24")
    lab.spawn([NETSLEUTH, "listen", "udp", "8472", "--token", "lab-token-1", "--lifetime", "20"], netns=b)
    time.sleep(1.0)
    rc, report = probe(a.name, "probe", "udp", "10.87.0.2:8472", "--token", "lab-token-1", "--count", "3")
    assert rc == 0 and "3/3 authenticated" in report["notes"][0]
    rc, report = probe(a.name, "probe", "udp", "10.87.0.2:8472", "--token", "not-the-token", "--count", "2")
    assert "0/2 authenticated" in report["notes"][0]  # unauthenticated: no reply at all
    b.iptables("-A", "INPUT", "-p", "udp", "--dport", "8472", "-j", "DROP")
    rc, report = probe(
        a.name, "probe", "udp", "10.87.0.2:8472", "--token", "lab-token-1", "--count", "3", "--wait", "0.5"
    )
    assert rc == 2
    assert ids(report) == {"vxlan.udp_blocked": ["10.87.0.2"]}


def test_vlan_tagged_arp_answered_in_its_vlan_and_not_in_another(lab: Any) -> None:
    """`probe arp --vlan`: tagged requests through Open vSwitch (userspace) from a trunk port to an
    access port of VLAN 100; VLAN 200 is not carried to anyone."""
    if not all(have(t) for t in ("ovsdb-server", "ovs-vswitchd", "ovs-vsctl")):
        pytest.skip("Open vSwitch not installed")
    sw, prober, holder = lab.netns("sw"), lab.netns("pr"), lab.netns("h")
    ovs = lab.ovs(netns=sw)
    ovs.bridge("br0")
    lab.veth(sw, "trunk0", prober, "eth0")
    lab.veth(sw, "acc100", holder, "eth0", peer_addr="10.85.0.5/24")
    ovs.port("br0", "trunk0", trunks=[100, 200])
    ovs.port("br0", "acc100", tag=100)
    mac = json.loads(holder.run(["ip", "-j", "link", "show", "eth0"]).stdout)[0]["address"]
    rc, report = probe(
        prober.name, "probe", "arp", "10.85.0.5", "--iface", "eth0", "--vlan", "100", "--wait", "0.8"
    )
    assert rc == 0 and not ids(report), report["findings"]
    assert f"answered by {mac}" in report["notes"][0]
    rc, report = probe(
        prober.name, "probe", "arp", "10.85.0.5", "--iface", "eth0", "--vlan", "200", "--wait", "0.5"
    )
    assert rc == 2 and ids(report) == {"vlan.no_reply": ["vlan 200 on eth0"]}
