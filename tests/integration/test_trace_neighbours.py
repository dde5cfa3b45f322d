"""`netsleuth trace` when the next hop does not resolve, in real lab namespaces: the probe never
leaves, and trace follows its ARP request (IPv6: neighbour solicitation) instead.

Seed 003 on a userspace Open vSwitch (the kernel has no 8021q; OVS tags in userspace):

    vm1:eth0 ── node:tap1 (access, tag 1011) ┐ br-int ┌ node:trunk0 ── tor:eth0 (10.99.11.1, untagged)

and the same trunk carried on through a second OVS bridge to an access port of VLAN 1011 (the
healthy case, and the case where that port is in another VLAN). A router A -- R -- B, IPv4 and
IPv6, where B does not answer ARP / neighbour solicitations."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from netsleuth.lab import Lab, LabUnavailable
from tests.integration.trace_helpers import derive_and_record, trace

pytestmark = pytest.mark.root
GW = "10.99.11.1"


def by_iface(rep: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{p['netns']}:{p['iface']}": p for p in rep["trace"]["points"]}


def arp(point: dict[str, Any], target: str) -> dict[str, Any]:
    (n,) = [n for n in point["neighbours"] if n["target"] == target]
    return dict(n)


@pytest.fixture
def vlan_lab() -> Iterator[Any]:
    try:
        with Lab("trace-vlan") as lab:
            node, vm = lab.netns("node"), lab.netns("vm1")
            ovs = lab.ovs(netns=node)
            ovs.bridge("br-int")
            lab.veth(node, "tap1", vm, "eth0", peer_addr="10.99.11.2/24")
            ovs.port("br-int", "tap1", tag=1011)
            yield lab, ovs, node, vm
    except LabUnavailable as exc:
        pytest.skip(str(exc))


def test_seed003_arp_leaves_the_trunk_tagged_1011_and_nothing_comes_back(vlan_lab: Any) -> None:
    lab, ovs, node, vm = vlan_lab
    tor = lab.netns("tor")
    lab.veth(node, "trunk0", tor, "eth0", peer_addr=f"{GW}/24")  # the far side: untagged only
    ovs.port("br-int", "trunk0")
    rc, rep = trace(GW, vm.name, ovs.env)
    assert rc == 2
    (f,) = [f for f in rep["findings"] if f["id"] == "vlan.no_reply"]
    assert f["subject"] == f"vlan 1011 on {node.name}:trunk0"
    assert f"ARP requests for {GW} left {node.name}:trunk0 tagged 1011" in f["evidence"][0]["excerpt"]
    assert not [f for f in rep["findings"] if f["id"] == "path.loss_localized"]
    pts = by_iface(rep)
    # untagged from the VM and on the access port; tagged on the trunk (in the frame: OVS tags
    # it in userspace) and where it arrives (in aux data: the kernel took the tag out)
    assert arp(pts[f"{vm.name}:eth0"], GW)["request"]["vlan"] == []
    assert arp(pts[f"{node.name}:tap1"], GW)["request"]["vlan"] == []
    assert arp(pts[f"{node.name}:trunk0"], GW)["request"]["vlan"] == [1011]
    assert arp(pts[f"{tor.name}:eth0"], GW)["request"]["vlan"] == [1011]
    assert not any(
        arp(p, GW)["reply"]["seen"] for p in pts.values() if p["iface"] != "eth0" or p["netns"] != vm.name
    )
    loss = rep["trace"]["loss"]
    assert (loss["what"], loss["tagged_at"], loss["after"]) == (
        "arp",
        f"{node.name}:trunk0",
        f"{tor.name}:eth0",
    )


def _switch(lab: Any, ovs: Any, node: Any, access_tag: int) -> Any:
    """trunk0 -- tport on a second bridge (the 'switch'), its port toward the gateway tagged."""
    gw = lab.netns("gw")
    lab.veth(node, "trunk0", node, "tport")
    ovs.port("br-int", "trunk0")
    ovs.bridge("br-tor")
    ovs.port("br-tor", "tport")
    lab.veth(node, "gwport", gw, "eth0", peer_addr=f"{GW}/24")
    ovs.port("br-tor", "gwport", tag=access_tag)
    return gw


def test_vlan_carried_to_an_access_port_answers_and_tags_are_recorded(vlan_lab: Any) -> None:
    lab, ovs, node, vm = vlan_lab
    gw = _switch(lab, ovs, node, access_tag=1011)
    ns = {"node": node.name, "vm": vm.name, "gw": gw.name}
    derive_and_record(GW, vm.name, "ovs_vlan_switch_path", ns, ovs.env)
    rc, rep = trace(GW, vm.name, ovs.env)
    assert rc == 0 and rep["findings"] == [], rep["findings"]
    n = node.name
    assert list(by_iface(rep)) == [
        f"{vm.name}:eth0",
        f"{n}:tap1",
        f"{n}:trunk0",
        f"{n}:tport",
        f"{n}:gwport",
        f"{gw.name}:eth0",
    ]
    pts = by_iface(rep)
    for label in (f"{n}:trunk0", f"{n}:tport"):
        assert pts[label]["request"]["vlan"] == [1011] and pts[label]["reply"]["vlan"] == [1011], label
    for label in (f"{vm.name}:eth0", f"{n}:tap1", f"{n}:gwport", f"{gw.name}:eth0"):
        assert pts[label]["request"]["seen"] and pts[label]["request"]["vlan"] == [], label
    assert rep["trace"]["loss"] is None


def test_switch_port_in_another_vlan_is_vlan_no_reply(vlan_lab: Any) -> None:
    lab, ovs, node, vm = vlan_lab
    _switch(lab, ovs, node, access_tag=1012)
    rc, rep = trace(GW, vm.name, ovs.env)
    (f,) = [f for f in rep["findings"] if f["id"] == "vlan.no_reply"]
    assert rc == 2 and f["subject"] == f"vlan 1011 on {node.name}:trunk0"
    loss = rep["trace"]["loss"]
    assert (loss["after"], loss["before"]) == (f"{node.name}:tport", f"{node.name}:gwport")


@pytest.fixture
def router() -> Iterator[dict[str, Any]]:
    """A (10.61.1.2, fd00:61:1::2) -- R -- B (10.61.2.2, fd00:61:2::2)."""
    try:
        with Lab("trace-nd") as lab:
            a, r, b = lab.netns("a"), lab.netns("r"), lab.netns("b")
            lab.veth(r, "r0", a, "eth0", addr="10.61.1.1/24", peer_addr="10.61.1.2/24")
            lab.veth(r, "r1", b, "eth0", addr="10.61.2.1/24", peer_addr="10.61.2.2/24")
            for ns, dev, net, host in (
                (a, "eth0", 1, 2),
                (r, "r0", 1, 1),
                (r, "r1", 2, 1),
                (b, "eth0", 2, 2),
            ):
                ns.ip("addr", "add", f"fd00:61:{net}::{host}/64", "dev", dev, "nodad")
            for ns, n in ((a, 1), (b, 2)):
                ns.route("default", "via", f"10.61.{n}.1")
                ns.ip("-6", "route", "add", "default", "via", f"fd00:61:{n}::1")
            r.sysctl("net.ipv4.ip_forward", 1)
            r.sysctl("net.ipv6.conf.all.forwarding", 1)
            _settle([a, r, b])
            yield {"a": a, "r": r, "b": b}
    except LabUnavailable as exc:
        pytest.skip(str(exc))


def _settle(spaces: list[Any]) -> None:
    """Until no IPv6 address is tentative (link-local DAD): before that, a router's first
    forwarded packet waits for a neighbour solicitation it cannot send yet."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not any(ns.ip("-6", "addr", "show", "tentative").stdout.strip() for ns in spaces):
            return
        time.sleep(0.1)


def test_arp_for_b_not_answered_names_b_not_the_router(router: dict[str, Any]) -> None:
    a, r, b = router["a"], router["r"], router["b"]
    b.nft("table arp t {\n chain i {\n  type filter hook input priority 0; policy drop;\n }\n}\n")
    rc, rep = trace("10.61.2.2", a.name)
    (f,) = [f for f in rep["findings"] if f["id"] == "path.loss_localized"]
    assert rc == 2 and f["subject"] == f"{b.name}:eth0"
    assert "(ARP request for 10.61.2.2, unanswered)" in f["title"]
    assert f"never left {r.name}:r1" in f["summary"]
    pts = by_iface(rep)
    assert arp(pts[f"{r.name}:r1"], "10.61.2.2")["request"]["seen"]
    assert arp(pts[f"{b.name}:eth0"], "10.61.2.2")["request"]["seen"]


def test_ipv6_probe_seen_both_ways(router: dict[str, Any]) -> None:
    a, r, b = router["a"], router["r"], router["b"]
    rc, rep = trace("fd00:61:2:0::2", a.name)
    assert rc == 0 and rep["findings"] == [], rep["findings"]
    assert rep["trace"]["dest"] == "fd00:61:2::2"
    assert list(by_iface(rep)) == [f"{a.name}:eth0", f"{r.name}:r0", f"{r.name}:r1", f"{b.name}:eth0"]
    assert all(p["request"]["seen"] and p["reply"]["seen"] for p in rep["trace"]["points"])


def test_ipv6_echo_dropped_at_the_router_names_the_hop(router: dict[str, Any]) -> None:
    a, r = router["a"], router["r"]
    r.iptables("-A", "FORWARD", "-p", "icmpv6", "--icmpv6-type", "echo-request", "-j", "DROP", v6=True)
    rc, rep = trace("fd00:61:2::2", a.name)
    (f,) = [f for f in rep["findings"] if f["id"] == "path.loss_localized"]
    assert rc == 2 and f["subject"] == f"{r.name}:r0 -> {r.name}:r1" and "(request)" in f["title"]
    assert "ip6tables-save" in f["remedy"]["now"][0]


def test_neighbour_solicitation_not_answered(router: dict[str, Any]) -> None:
    a, r, b = router["a"], router["r"], router["b"]
    b.iptables(
        "-A", "INPUT", "-p", "icmpv6", "--icmpv6-type", "neighbour-solicitation", "-j", "DROP", v6=True
    )
    rc, rep = trace("fd00:61:2::2", a.name)
    (f,) = [f for f in rep["findings"] if f["id"] == "path.loss_localized"]
    assert rc == 2 and f["subject"] == f"{b.name}:eth0"
    assert "(neighbour solicitation for fd00:61:2::2, unanswered)" in f["title"]
    assert f"never left {r.name}:r1" in f["summary"]


def test_interface_name_with_quotes_brackets_and_a_byte_that_is_not_utf8() -> None:
    """The sender's interface is named q\\xff<"a>: trace still runs, says it cannot capture
    there, traces the rest, and the HTML report escapes the name."""
    odd = b'q\xff<"a>'
    try:
        with Lab("trace-odd") as lab:
            a, b = lab.netns("a"), lab.netns("b")
            for argv in (
                ["link", "add", odd, "type", "veth", "peer", "name", "zz", "netns", b.name],
                ["addr", "add", "10.66.0.1/24", "dev", odd],
                ["link", "set", odd, "up"],
            ):
                subprocess.run(["ip", "-n", a.name, *argv], check=True, capture_output=True)
            b.addr("zz", "10.66.0.2/24")
            b.up("zz")
            rc, rep = trace("10.66.0.2", a.name)
            html = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "netsleuth.cli",
                    "trace",
                    "10.66.0.2",
                    "--from-netns",
                    a.name,
                    "--format",
                    "html",
                ],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
    except LabUnavailable as exc:
        pytest.skip(str(exc))
    first, last = rep["trace"]["points"]
    assert first["iface"] == 'q\ufffd<"a>' and first["error"].startswith("cannot capture")
    assert last["request"]["seen"] and last["reply"]["seen"] and rc == 0
    assert html.returncode == 0 and '<"a>' not in html.stdout and "q\ufffd&lt;&quot;a&gt;" in html.stdout
