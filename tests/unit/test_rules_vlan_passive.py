"""vlan.no_reply found passively from real outputs of a userspace OVS (the lab's vlan-no-reply
build): `ovs-vsctl --format=json list Port/Interface/Bridge`, two samples of `ip -j -d -s -s link`
and `ip -j -s neigh`, taken on the OVS node with a VM port tagged 1011 and a trunk whose far side
does not carry 1011 (fault), or a second VM in VLAN 1011 that answers (healthy). `-internal`: the
node also has its own address on an internal port tagged 1011."""

from __future__ import annotations

import pytest

from netsleuth.evidence.model import Bundle
from netsleuth.parsers.neigh import parse_neigh
from tests.helpers import bundle, check, ev, findings, fixture, run

RULE = {"vlan.no_reply"}


def node(case: str, *, later: bool = True, neigh: bool = True) -> Bundle:
    d = f"probes/vlan/{case}"
    items = [
        ev(
            "ip.link",
            fixture(f"{d}.ip_link.json"),
            later=fixture(f"{d}.ip_link.later.json") if later else None,
            interval_s=1.0,
            source="ip -j -d -s -s link show",
        ),
        ev("ovs.port", fixture(f"{d}.ovs_port.json"), source="ovs-vsctl --format=json list Port"),
        ev("ovs.interface", fixture(f"{d}.ovs_interface.json")),
        ev("ovs.bridge", fixture(f"{d}.ovs_bridge.json")),
    ]
    if neigh:
        items.append(ev("ip.neigh", fixture(f"{d}.ip_neigh.json"), source="ip -j -s neigh show"))
    return bundle(*items)


def test_vm_port_tagged_1011_nothing_back_while_the_trunk_sends() -> None:
    (f,) = findings(run(node("fault"), RULE), "vlan.no_reply")
    assert f.subject == "vlan 1011 on tap1"
    assert "tap1 (via trunk0)" in f.summary
    text = "\n".join(e.excerpt for e in f.evidence)
    assert "Port tap1: tag 1011 (bridge br-int)" in text
    assert "tap1: rx 9 -> 10 packets (+1), tx 6 -> 6 packets (+0)" in text
    assert "trunk0 (carries vlan 1011): rx 6 -> 6 packets (+0), tx 14 -> 15 packets (+1)" in text


def test_healthy_tagged_ports_are_quiet() -> None:
    for case in ("healthy", "healthy-internal"):
        r = run(node(case), RULE)
        assert not r.findings, case
        assert check(r, "vlan.no_reply").startswith("pass")


def test_own_internal_port_with_unresolved_neighbour() -> None:
    fs = findings(run(node("fault-internal"), RULE), "vlan.no_reply")
    own = [f for f in fs if f.subject == "vlan 1011 on vl1011"]
    assert len(own) == 1
    assert "10.99.11.1 dev vl1011 INCOMPLETE" in "\n".join(e.excerpt for e in own[0].evidence)
    assert "10.99.11.1" in own[0].summary
    # the VM port hears the node's own broadcasts in VLAN 1011, so its counters alone say nothing
    assert [f.subject for f in fs] == ["vlan 1011 on vl1011"]


def test_one_sample_of_counters_is_not_enough_for_a_vm_port() -> None:
    assert not run(node("fault", later=False), RULE).findings


def test_own_port_needs_the_neighbour_table() -> None:
    r = run(node("fault-internal", neigh=False), RULE)
    assert not [f for f in r.findings if f.subject == "vlan 1011 on vl1011"]


def test_without_ovs_or_vlan_devices_skipped() -> None:
    r = run(bundle(ev("ip.link", fixture("probes/vlan/fault.ip_link.json"))), RULE)
    assert check(r, "vlan.no_reply").startswith("skipped")


def test_neighbour_table_text_and_garbage() -> None:
    (n,) = parse_neigh("10.99.11.1 dev vl1011 FAILED")
    assert n.failed and not n.resolved
    with pytest.raises(Exception, match="not an `ip neigh` line"):
        parse_neigh("garbage here")
