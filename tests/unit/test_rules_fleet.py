"""The cross-host rules on real outputs of a lab VXLAN fleet (tests/fixtures/fleet/README.md): each
fault names the host (or the pair, in its direction) at fault; the healthy fleet is quiet; a rule
without its evidence is skipped with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netsleuth.evidence.model import Bundle
from netsleuth.facts import load_all
from netsleuth.facts.fleet import FleetModel, HostStatus, summarise
from netsleuth.facts.store import FactStore
from netsleuth.fleet_analysis import FleetOptions, run_fleet_rules
from netsleuth.results.fleet import FleetFinding
from netsleuth.results.report import Check
from tests.helpers import FIXTURES, bundle, ev, fixture

HOSTS = ("hv1", "hv2", "hv3", "hv4")
HOTSOS = FIXTURES.parents[1] / ".." / "shared" / "external" / "hotsos-data"  # <repo root>/../shared
PIECES = {
    "link": "ip_link.json",
    "addr": "ip_address.json",
    "fdb": "bridge_fdb.txt",
    "route": "ip_route.json",
}


def lab_host(
    name: str, collected_at: str = "2026-11-21T10:00:00+00:00", ps: str = "", **variant: str
) -> Bundle:
    """One namespace host's evidence; `variant` picks a fault's file for a piece (link="port8472")."""
    names = {"link": "ip.link", "addr": "ip.addr", "fdb": "bridge.fdb", "route": "ip.route"}
    items = []
    for piece, suffix in PIECES.items():
        tag = f"_{variant[piece]}" if piece in variant else ""
        items.append(ev(names[piece], fixture(f"fleet/lab_{name}{tag}.{suffix}")))
    if ps:
        items.append(ev("ps", fixture(f"platform/{ps}")))
    b = bundle(*items, collected_at=collected_at)
    b.hostname = "vm"  # namespace hosts share the machine's hostname
    return b


def model_of(bundles: dict[str, Bundle], **kw: object) -> FleetModel:
    load_all()
    return FleetModel(
        {n: summarise(FactStore(b), name=n, label=f"{n}.tar.gz") for n, b in bundles.items()},
        **kw,  # type: ignore[arg-type]
    )


def lab_fleet(**variants: dict[str, str]) -> FleetModel:
    return model_of({h: lab_host(h, **variants.get(h, {})) for h in HOSTS})


def fleet_rule(model: FleetModel, rule_id: str, **opts: object) -> tuple[list[FleetFinding], Check]:
    found, checks = run_fleet_rules(model, FleetOptions(only=frozenset({rule_id}), **opts))  # type: ignore[arg-type]
    (check,) = checks
    return found, check


LOUD = (
    "fleet.tunnel_mesh_incomplete",
    "fleet.vxlan_port_mismatch",
    "fleet.mtu_inconsistent",
    "fleet.duplicate_ip",
)


def test_healthy_lab_fleet_is_quiet() -> None:
    model = lab_fleet()
    assert {h.vteps[0].name for h in model.hosts.values()} == {"vx0"}
    assert all(len(h.vteps[0].remotes) == 3 for h in model.hosts.values())
    for rule_id in (*LOUD, "fleet.clock_skew"):
        found, check = fleet_rule(model, rule_id)
        assert not found and check.status == "pass", (rule_id, found, check)


def test_reverse_tunnel_missing_names_the_pair_in_its_direction() -> None:
    (f,), check = fleet_rule(lab_fleet(hv2={"fdb": "no_way_back"}), "fleet.tunnel_mesh_incomplete")
    assert (f.subject, f.severity, f.hosts) == ("hv1->hv2", "critical", ["hv1", "hv2"])
    assert [(x.src, x.dst) for x in f.links] == [("hv1", "hv2")]
    assert "00:00:00:00:00:00 dev vx0 dst 10.99.200.2 self permanent" in f.evidence[0].excerpt
    assert f.remedy.now[:1] == ["ssh hv2"]
    assert "bridge fdb append 00:00:00:00:00:00 dev vx0 dst 10.99.200.1" in f.remedy.now
    assert check.status == "fail" and check.reason == "hv1->hv2"


def test_an_entry_learned_from_traffic_is_not_a_way_back() -> None:
    text = fixture("fleet/lab_hv2_no_way_back.bridge_fdb.txt")
    assert "dev vx0 dst 10.99.200.1 self \n" in text  # learned: hv1's MAC, not permanent
    model = lab_fleet(hv2={"fdb": "no_way_back"})
    assert "10.99.200.1" not in {r.address for r in model.hosts["hv2"].vteps[0].remotes}


def test_tunnel_to_an_address_outside_the_fleet() -> None:
    three = model_of({h: lab_host(h) for h in HOSTS[:3]})
    found, _ = fleet_rule(three, "fleet.tunnel_mesh_incomplete")
    assert {(f.subject, f.severity) for f in found} == {(f"{h}->10.99.200.4", "info") for h in HOSTS[:3]}
    three.inventory = True  # the fleet is the whole inventory: nobody there is a fault
    found, _ = fleet_rule(three, "fleet.tunnel_mesh_incomplete")
    assert {f.severity for f in found} == {"critical"} and "no host of the fleet" in found[0].title


def test_tunnel_to_a_host_that_could_not_be_collected_is_not_a_fault() -> None:
    three = model_of({h: lab_host(h) for h in HOSTS[:3]}, inventory=True)
    three.statuses["hv4"] = HostStatus("hv4", "unreachable", "ssh: connect timed out", address="10.99.200.4")
    assert not fleet_rule(three, "fleet.tunnel_mesh_incomplete")[0]


def test_one_vtep_on_port_8472_names_the_odd_host() -> None:
    model = lab_fleet(hv4={"link": "port8472", "addr": "port8472"})
    (f,), _ = fleet_rule(model, "fleet.vxlan_port_mismatch")
    assert (f.subject, f.severity, f.hosts) == ("hv4", "critical", ["hv4"])
    assert "UDP port 8472" in f.title and "4789" in f.title
    assert {(x.src, x.dst) for x in f.links} == {(h, "hv4") for h in HOSTS[:3]} | {
        ("hv4", h) for h in HOSTS[:3]
    }
    assert "dstport 8472" in f.evidence[0].excerpt


def test_one_vtep_on_another_vni_names_it() -> None:
    (f,), _ = fleet_rule(lab_fleet(hv4={"link": "vni43", "addr": "vni43"}), "fleet.vxlan_port_mismatch")
    assert f.subject == "hv4" and "VNI 43" in f.title and "42" in f.title


def test_two_hosts_on_different_ports_names_both() -> None:
    model = model_of({"hv1": lab_host("hv1"), "hv4": lab_host("hv4", link="port8472", addr="port8472")})
    found, _ = fleet_rule(model, "fleet.vxlan_port_mismatch")
    assert sorted(f.subject for f in found) == ["hv1", "hv4"]


def test_overlay_mtu_1500_where_the_others_use_1450() -> None:
    (f,), _ = fleet_rule(lab_fleet(hv3={"link": "mtu1500", "addr": "mtu1500"}), "fleet.mtu_inconsistent")
    assert (f.subject, f.severity, f.hosts) == ("hv3 vx0", "warning", ["hv3"])
    assert "overlay MTU 1500" in f.title and "1450" in f.title
    assert f.remedy.now == ["ssh hv3", "ip link set dev vx0 mtu 1450"]


def test_jumbo_underlay_on_one_host() -> None:
    found, _ = fleet_rule(lab_fleet(hv4={"link": "jumbo", "addr": "jumbo"}), "fleet.mtu_inconsistent")
    assert sorted(f.subject for f in found) == ["hv4 eth0", "hv4 vx0"]
    assert any("underlay MTU 9000" in f.title for f in found)


def test_one_address_on_two_hosts_names_both() -> None:
    model = lab_fleet(hv2={"addr": "dup"}, hv3={"addr": "dup"})
    (f,), _ = fleet_rule(model, "fleet.duplicate_ip")
    assert (f.subject, f.hosts, f.severity) == ("10.99.200.50", ["hv2", "hv3"], "critical")
    assert [e.source.split(":")[0] for e in f.evidence] == ["hv2", "hv3"]


def test_one_mac_on_two_hosts() -> None:
    model = lab_fleet(hv2={"link": "mac", "addr": "mac"}, hv3={"link": "mac", "addr": "mac"})
    (f,), _ = fleet_rule(model, "fleet.duplicate_ip")
    assert (f.subject, f.hosts) == ("02:00:00:99:20:02", ["hv2", "hv3"]) and "MAC address" in f.title


def test_addresses_every_host_has_by_design_are_not_duplicates() -> None:
    """Two copies of one real sosreport (compute4): its own addresses collide; lxdbr0's 10.50.99.1
    (a bridge for local containers only), loopback and link-local addresses do not count."""
    from netsleuth.evidence.sosreport import read_sosreport

    root = HOTSOS / "roots" / "openstack"
    if not root.is_dir():
        pytest.skip(f"needs the hotsos data roots ({root})")
    model = model_of({"a": read_sosreport(root, "a"), "b": read_sosreport(root, "b")})
    found, _ = fleet_rule(model, "fleet.duplicate_ip")
    subjects = {f.subject for f in found}
    assert "10.0.0.128" in subjects
    assert not subjects & {"10.50.99.1", "127.0.0.1", "::1"} and not any(
        s.startswith("fe80") for s in subjects
    )


def test_a_host_whose_clock_is_five_minutes_ahead() -> None:
    at = {"hv1": "10:00:00", "hv2": "10:00:03", "hv3": "10:05:02", "hv4": "10:00:01"}
    model = model_of({h: lab_host(h, collected_at=f"2026-11-21T{t}+00:00") for h, t in at.items()})
    (f,), _ = fleet_rule(model, "fleet.clock_skew")
    assert (f.subject, f.severity, f.hosts) == ("hv3", "warning", ["hv3"])
    assert "300 s ahead" in f.title


def test_clock_against_the_controller_when_each_collection_began() -> None:
    model = model_of({h: lab_host(h, collected_at="2026-11-21T10:00:05+00:00") for h in HOSTS[:2]})
    for h, asked in (("hv1", "2026-11-21T10:00:03+00:00"), ("hv2", "2026-11-21T10:02:00+00:00")):
        model.statuses[h] = HostStatus(h, "ok", requested_at=asked, duration_s=4.0)
    (f,), _ = fleet_rule(model, "fleet.clock_skew")
    assert f.subject == "hv2" and "115 s behind" in f.title and "controller" in f.summary


def test_clock_skew_cannot_be_told_from_collections_hours_apart() -> None:
    at = ["2026-11-21T10:00:00+00:00", "2026-11-21T12:00:00+00:00", "2026-11-22T09:00:00+00:00"]
    model = model_of({h: lab_host(h, collected_at=t) for h, t in zip(HOSTS, at, strict=False)})
    found, check = fleet_rule(model, "fleet.clock_skew")
    assert not found and check.status == "skipped" and "not taken at one time" in check.reason


MESH = {
    "schema": "netsleuth.mesh/v1",
    "port": 4789,
    "hosts": {h: {"address": f"10.99.200.{i}"} for i, h in enumerate(HOSTS, 1)},
}


def _result(
    src: str, dst: str, udp: str = "ok", icmp: str = "ok", seen: tuple[bool | None, ...] = (True, True, True)
) -> dict[str, object]:
    keys = ("left_src", "reached_dst_nic", "delivered")
    return {
        "src": src,
        "dst": dst,
        "icmp": icmp,
        "pmtu": 1500,
        "udp": udp,
        "udp_seen": dict(zip(keys, seen, strict=True)),
        "detail": "",
    }


def _mesh(tmp_path: Path, results: list[dict[str, object]]) -> Path:
    path = tmp_path / "mesh.json"
    path.write_text(json.dumps({**MESH, "results": results}))
    return path


def _pairs(drop: dict[tuple[str, str], dict[str, object]]) -> list[dict[str, object]]:
    return [drop.get((s, d), _result(s, d)) for s in HOSTS for d in HOSTS if s != d]


def test_mesh_one_host_drops_inbound_udp(tmp_path: Path) -> None:
    drops = {(s, "hv4"): _result(s, "hv4", udp="lost", seen=(True, True, False)) for s in HOSTS[:3]}
    (f,), _ = fleet_rule(lab_fleet(), "fleet.udp_one_way", mesh=_mesh(tmp_path, _pairs(drops)))
    assert (f.subject, f.severity, f.hosts) == ("hv4", "critical", ["hv4"])
    assert "hv4 drops UDP 4789 arriving from hv1, hv2, hv3" in f.title
    assert {(x.src, x.dst) for x in f.links} == {(s, "hv4") for s in HOSTS[:3]}
    assert (
        "hv1 -> hv4: icmp ok, udp/4789 lost (left src: yes, at dst NIC: yes, delivered: no)"
        in f.evidence[0].excerpt
    )


def test_mesh_sender_that_never_sends_and_udp_lost_on_the_wire(tmp_path: Path) -> None:
    drops = {
        ("hv1", "hv2"): _result("hv1", "hv2", udp="lost", seen=(False, False, False)),
        ("hv3", "hv4"): _result("hv3", "hv4", udp="lost", seen=(True, False, False)),
    }
    found, _ = fleet_rule(lab_fleet(), "fleet.udp_one_way", mesh=_mesh(tmp_path, _pairs(drops)))
    assert sorted((f.subject, f.title) for f in found) == [
        ("hv1", "UDP 4789 one way only: hv1 does not send UDP 4789 to hv2"),
        ("hv4", "UDP 4789 one way only: UDP 4789 from hv3 never reaches hv4's NIC"),
    ]


def test_mesh_host_unreachable_both_ways_is_not_one_way(tmp_path: Path) -> None:
    dead = {
        (s, d): _result(s, d, udp="lost", icmp="lost", seen=(True, False, False))
        for s in HOSTS
        for d in HOSTS
        if "hv4" in (s, d) and s != d
    }
    found, check = fleet_rule(lab_fleet(), "fleet.udp_one_way", mesh=_mesh(tmp_path, _pairs(dead)))
    assert not found and check.status == "pass"


def test_mesh_missing_is_skipped() -> None:
    found, check = fleet_rule(lab_fleet(), "fleet.udp_one_way")
    assert not found and check.status == "skipped" and "fleet.mesh" in check.reason


def test_agent_down_matched_to_the_host_where_its_process_is_gone() -> None:
    agents = FIXTURES / "platform" / "agents_l3_down.json"
    model = model_of({"network1": lab_host("hv1", ps="ps_auxww_plain.txt"), "hv2": lab_host("hv2")})
    (f,), _ = fleet_rule(model, "fleet.agent_down", extra=(agents,))
    assert (f.subject, f.hosts, f.severity) == ("L3 agent on network1", ["network1"], "critical")
    assert "process (neutron-l3-agent) is gone" in f.title
    assert any("no process running neutron-l3-agent" in e.excerpt for e in f.evidence)


def test_agent_reported_down_while_its_process_runs() -> None:
    agents = FIXTURES / "platform" / "agents_l3_down.json"
    model = model_of({"network1": lab_host("hv1", ps="ps_auxww_neutron_node.txt"), "hv2": lab_host("hv2")})
    (f,), _ = fleet_rule(model, "fleet.agent_down", extra=(agents,))
    assert f.subject == "L3 agent on network1" and "heartbeats do not reach the controller" in f.title


def test_agent_list_missing_is_skipped() -> None:
    found, check = fleet_rule(lab_fleet(), "fleet.agent_down")
    assert not found and check.status == "skipped" and "agent list" in check.reason


def test_agent_list_carried_by_the_controllers_bundle() -> None:
    """`netsleuth diagnose --with agents.json --save-bundle` on the controller keeps the list in its bundle."""
    controller = lab_host("hv2")
    controller.add(
        ev("user.input", fixture("platform/agents_l3_down.json"), key="agents.json", source="agents.json")
    )
    model = model_of({"network1": lab_host("hv1", ps="ps_auxww_plain.txt"), "controller": controller})
    (f,), _ = fleet_rule(model, "fleet.agent_down")
    assert f.subject == "L3 agent on network1" and f.evidence[0].source == "controller: agents.json"
