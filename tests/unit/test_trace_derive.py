"""Path derivation on outputs recorded from a real lab (tests/integration/test_trace_ovs.py with
NETSLEUTH_RECORD=1): `ip -j` of each namespace crossed and one `ovs-vsctl` snapshot of a userspace
OVS (br0 and br1 joined by patch ports; A -- pa@br0, pc@br0 -- C, pb@br1 -- B). Also recorded
(test_trace_vxlan.py, test_trace_neighbours.py): a Linux VXLAN between two namespace hosts, an OVS
VXLAN port whose underlay leaves by a second bridge, and a trunk wired to a second OVS bridge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netsleuth.capture.hostview import OVS_SNAPSHOT, Host, Recorded, parse_ovs_snapshot
from netsleuth.capture.trace import derive_path
from netsleuth.results.capture import Outer

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "capture" / "ovs_patch_path.json"


@pytest.fixture
def rec() -> dict[str, Any]:
    return dict(json.loads(FIXTURE.read_text()))


def _host(rec: dict[str, Any], **override: dict[str, Any]) -> tuple[Host, Recorded]:
    cmds = dict(rec["commands"])
    cmds.update(override)
    replay = Recorded(cmds)
    return Host(run=replay), replay


def _ovs_key() -> str:
    return " ".join(["ovs-vsctl", "--timeout=3", *OVS_SNAPSHOT])


def test_ovs_snapshot_maps_ports_to_bridges_and_patch_peers(rec: dict[str, Any]) -> None:
    snap = parse_ovs_snapshot(rec["commands"][_ovs_key()]["out"])
    assert {n: (i.bridge, i.type) for n, i in snap.items()} == {
        "pa": ("br0", ""),
        "pc": ("br0", ""),
        "br0": ("br0", "internal"),
        "patch-01": ("br0", "patch"),
        "pb": ("br1", ""),
        "br1": ("br1", "internal"),
        "patch-10": ("br1", "patch"),
    }
    assert snap["patch-01"].options == {"peer": "patch-10"}
    assert snap["pa"].mac  # mac_in_use, to tell pa from a namesake elsewhere


def test_path_crosses_ovs_bridge_and_patch_port_to_the_owner_of_dest(rec: dict[str, Any]) -> None:
    host, _ = _host(rec)
    ns = rec["ns"]
    pts = derive_path(rec["dest"], rec["from_netns"], host)
    assert [(p.netns, p.iface, p.role, p.error) for p in pts] == [
        (ns["a"], "eth0", "sender", ""),
        (ns["s"], "pa", "ovs-port", ""),
        (ns["s"], "pb", "ovs-port", ""),  # on br1, reached through patch-01/patch-10
        (ns["b"], "eth0", "destination", ""),
    ]
    assert host.notes == []


def test_same_bridge_other_port_chosen_by_destination(rec: dict[str, Any]) -> None:
    host, _ = _host(rec)
    ns = rec["ns"]
    pts = derive_path("10.62.0.4", rec["from_netns"], host)
    assert [(p.netns, p.iface) for p in pts] == [
        (ns["a"], "eth0"),
        (ns["s"], "pa"),
        (ns["s"], "pc"),
        (ns["c"], "eth0"),
    ]


def test_only_namespaces_on_the_path_are_read(rec: dict[str, Any]) -> None:
    host, replay = _host(rec)
    derive_path(rec["dest"], rec["from_netns"], host)
    read = {k.split()[2] for k in replay.asked if k.startswith("ip -n")}
    assert read == {rec["ns"][r] for r in ("a", "s", "b", "c")}  # c: pc's peer, ruled out
    assert not any("netns list " in k or k.startswith("ip -j") for k in replay.asked)  # no walk
    assert sum(k.startswith("ovs-vsctl") for k in replay.asked) == 1
    assert all(k in rec["commands"] for k in replay.asked)


@pytest.mark.parametrize(
    ("ran", "says"),
    [
        ({"rc": 124, "out": "", "err": "timed out after 4 s"}, "ovs-vsctl did not answer within 3 s"),
        ({"rc": 127, "out": "", "err": "ovs-vsctl is not installed"}, "ovs-vsctl is not installed"),
        (
            {"rc": 1, "out": "", "err": "ovs-vsctl: unix:/run/x/db.sock: database connection failed"},
            "database connection failed",
        ),
    ],
)
def test_ovs_unanswered_stops_at_the_ovs_port_and_says_why(
    rec: dict[str, Any], ran: dict[str, Any], says: str
) -> None:
    host, _ = _host(rec, **{_ovs_key(): ran})
    ns = rec["ns"]
    pts = derive_path(rec["dest"], rec["from_netns"], host)
    assert [(p.netns, p.iface, bool(p.error)) for p in pts] == [
        (ns["a"], "eth0", False),
        (ns["s"], "pa", False),
        (ns["s"], "pa", True),
    ]
    assert says in pts[-1].error and "--points" in pts[-1].error
    assert any(says in n for n in host.notes)


def test_no_route_in_sender_gives_no_points(rec: dict[str, Any]) -> None:
    key = f"ip -n {rec['from_netns']} -j route get {rec['dest']}"
    host, _ = _host(rec, **{key: {"rc": 2, "out": "", "err": "RTNETLINK answers: Network is unreachable"}})
    assert derive_path(rec["dest"], rec["from_netns"], host) == []


def _replay(name: str) -> tuple[dict[str, Any], list[Any]]:
    rec = json.loads((FIXTURE.parent / f"{name}.json").read_text())
    return rec, derive_path(rec["dest"], rec["from_netns"], Host(run=Recorded(rec["commands"])))


def test_linux_vxlan_is_followed_onto_its_underlay_and_out_at_the_far_vtep() -> None:
    """Recorded from tests/integration/test_trace_vxlan.py (two namespace hosts, VNI 42)."""
    rec, pts = _replay("vxlan_path")
    h1, h2 = rec["ns"]["h1"], rec["ns"]["h2"]
    under = Outer("vxlan", 42, 4789, "10.70.0.1", "10.70.0.2")
    assert [(p.netns, p.iface, p.role, p.tunnel, p.next_hop, p.reply_next_hop) for p in pts] == [
        (h1, "vx0", "sender", None, "10.80.0.2", ""),
        (h1, "u0", "router-out", under, "10.70.0.2", ""),
        (h2, "u0", "vtep", under, "", ""),
        (h2, "vx0", "destination", None, "", "10.80.0.1"),
    ]


def test_ovs_vxlan_port_underlay_leaves_by_the_bridge_port_not_its_internal_device() -> None:
    rec, pts = _replay("ovs_vxlan_path")
    n, vm, far = rec["ns"]["node"], rec["ns"]["vm"], rec["ns"]["far"]
    under = Outer("vxlan", 5001, 4789, "10.71.0.1", "10.71.0.2")
    assert [(p.netns, p.iface, p.role, p.tunnel) for p in pts] == [
        (vm, "eth0", "sender", None),
        (n, "tap1", "ovs-port", None),
        (n, "ph0", "ovs-port", under),
        (far, "eth0", "vtep", under),
        (far, "vx0", "destination", None),
    ]
    assert pts[0].next_hop == "10.81.0.2"


def test_a_wire_to_a_second_bridge_is_followed_like_a_switch() -> None:
    rec, pts = _replay("ovs_vlan_switch_path")
    n, vm, gw = rec["ns"]["node"], rec["ns"]["vm"], rec["ns"]["gw"]
    assert [(p.netns, p.iface, p.role) for p in pts] == [
        (vm, "eth0", "sender"),
        (n, "tap1", "ovs-port"),
        (n, "trunk0", "ovs-port"),
        (n, "tport", "ovs-port"),
        (n, "gwport", "ovs-port"),
        (gw, "eth0", "destination"),
    ]
    assert (pts[0].next_hop, pts[-1].reply_next_hop) == ("10.99.11.1", "10.99.11.2")
