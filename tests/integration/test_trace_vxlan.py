"""`netsleuth trace` through VXLAN, in real lab namespaces: the probe is followed on the underlay
inside its outer header (VNI and UDP port named), to the VTEP that takes it out again.

Linux VXLAN between two namespace hosts:

    h1:vx0 (10.80.0.1, VNI 42) ── h1:u0 (10.70.0.1) ══ h2:u0 (10.70.0.2) ── h2:vx0 (10.80.0.2)

An Open vSwitch (userspace datapath) VXLAN port, its underlay leaving by a second bridge:

    vm1:eth0 ── node:tap1 ┐ br-int ┌ vxlan0 (key 5001, remote 10.71.0.2)
                          br-phy (10.71.0.1) ┌ node:ph0 ── far:eth0 (10.71.0.2) ── far:vx0 (10.81.0.2)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from netsleuth.lab import Lab, LabUnavailable
from tests.integration.trace_helpers import derive_and_record, trace

pytestmark = pytest.mark.root


@pytest.fixture
def linux() -> Iterator[dict[str, Any]]:
    try:
        with Lab("trace-vx") as lab:
            h1, h2 = lab.netns("h1"), lab.netns("h2")
            lab.veth(h1, "u0", h2, "u0", addr="10.70.0.1/24", peer_addr="10.70.0.2/24")
            h1.vxlan("vx0", 42, local="10.70.0.1", remote="10.70.0.2", dev="u0", addr="10.80.0.1/24")
            h2.vxlan("vx0", 42, local="10.70.0.2", remote="10.70.0.1", dev="u0", addr="10.80.0.2/24")
            yield {"h1": h1, "h2": h2}
    except LabUnavailable as exc:
        pytest.skip(str(exc))


def test_linux_vxlan_followed_on_the_underlay_with_its_vni_and_port(linux: dict[str, Any]) -> None:
    h1, h2 = linux["h1"].name, linux["h2"].name
    derive_and_record("10.80.0.2", h1, "vxlan_path", {"h1": h1, "h2": h2}, {})
    rc, rep = trace("10.80.0.2", h1)
    assert rc == 0 and rep["findings"] == [], rep["findings"]
    pts = rep["trace"]["points"]
    assert [(p["netns"], p["iface"], p["role"]) for p in pts] == [
        (h1, "vx0", "sender"),
        (h1, "u0", "router-out"),
        (h2, "u0", "vtep"),
        (h2, "vx0", "destination"),
    ]
    outer = {"kind": "vxlan", "vni": 42, "port": 4789, "src": "10.70.0.1", "dst": "10.70.0.2"}
    for p in pts[1:3]:
        assert p["tunnel"] == outer
        assert p["request"]["outer"] == outer  # seen inside that very header
        assert p["reply"]["outer"] == {**outer, "src": "10.70.0.2", "dst": "10.70.0.1"}
    for p in (pts[0], pts[3]):
        assert p["request"]["seen"] and p["request"]["outer"] is None


def test_udp_4789_dropped_at_the_far_vtep_names_the_hop_vni_and_port(linux: dict[str, Any]) -> None:
    h2 = linux["h2"]
    h2.iptables("-A", "INPUT", "-p", "udp", "--dport", "4789", "-j", "DROP")
    rc, rep = trace("10.80.0.2", linux["h1"].name)
    (f,) = [f for f in rep["findings"] if f["id"] == "path.loss_localized"]
    assert rc == 2 and f["subject"] == f"{h2.name}:u0 -> {h2.name}:vx0"
    assert "VXLAN VNI 42, UDP 4789, 10.70.0.1 > 10.70.0.2" in f["summary"]


@pytest.fixture
def ovs_vxlan() -> Iterator[dict[str, Any]]:
    try:
        with Lab("trace-ovx") as lab:
            node, vm, far = lab.netns("node"), lab.netns("vm1"), lab.netns("far")
            ovs = lab.ovs(netns=node)
            ovs.bridge("br-int")
            lab.veth(node, "tap1", vm, "eth0", peer_addr="10.81.0.1/24")
            ovs.port("br-int", "tap1")
            ovs.vxlan_port("br-int", "vxlan0", "10.71.0.2", key=5001)
            ovs.bridge("br-phy")
            lab.veth(node, "ph0", far, "eth0", peer_addr="10.71.0.2/24")
            ovs.port("br-phy", "ph0")
            node.addr("br-phy", "10.71.0.1/24")
            node.up("br-phy")
            far.vxlan("vx0", 5001, local="10.71.0.2", remote="10.71.0.1", dev="eth0", addr="10.81.0.2/24")
            # a veth leaves UDP checksums to "hardware": OVS's userspace decap would reject them
            far.run(["ethtool", "-K", "eth0", "tx", "off"])
            vm.run(
                ["ping", "-c", "2", "-i", "0.3", "-W", "1", "10.81.0.2"], check=False
            )  # OVS learns the way
            yield {"node": node, "vm": vm, "far": far, "env": ovs.env}
    except LabUnavailable as exc:
        pytest.skip(str(exc))


def test_ovs_vxlan_port_followed_through_the_underlay_bridge(ovs_vxlan: dict[str, Any]) -> None:
    node, vm, far = (ovs_vxlan[k].name for k in ("node", "vm", "far"))
    ns = {"node": node, "vm": vm, "far": far}
    derive_and_record("10.81.0.2", vm, "ovs_vxlan_path", ns, ovs_vxlan["env"])
    rc, rep = trace("10.81.0.2", vm, ovs_vxlan["env"])
    assert rc == 0 and rep["findings"] == [], rep["findings"]
    pts = rep["trace"]["points"]
    assert [(p["netns"], p["iface"]) for p in pts] == [
        (vm, "eth0"),
        (node, "tap1"),
        (node, "ph0"),  # not br-phy's own device: OVS puts the outer header on in userspace
        (far, "eth0"),
        (far, "vx0"),
    ]
    outer = {"kind": "vxlan", "vni": 5001, "port": 4789, "src": "10.71.0.1", "dst": "10.71.0.2"}
    assert pts[2]["tunnel"] == outer and pts[2]["request"]["outer"] == outer
    assert all(p["request"]["seen"] and p["reply"]["seen"] for p in pts)


def test_ovs_vxlan_dropped_at_the_far_vtep_names_vni_5001(ovs_vxlan: dict[str, Any]) -> None:
    far = ovs_vxlan["far"]
    far.iptables("-A", "INPUT", "-p", "udp", "--dport", "4789", "-j", "DROP")
    rc, rep = trace("10.81.0.2", ovs_vxlan["vm"].name, ovs_vxlan["env"])
    (f,) = [f for f in rep["findings"] if f["id"] == "path.loss_localized"]
    assert rc == 2 and f["subject"] == f"{far.name}:eth0 -> {far.name}:vx0"
    assert "VXLAN VNI 5001, UDP 4789" in f["summary"]
