"""arp.duplicate_ip (seed 003's two MACs for 10.100.10.201), vxlan.udp_blocked, vlan.no_reply and
mtu.path_blackhole on probe evidence."""

from __future__ import annotations

from netsleuth.results.probes import ArpProbe, EchoProbe, MtuProbe, to_json
from tests.helpers import bundle, check, ev, findings, run


def test_seed003_two_macs_for_one_ip() -> None:
    p = ArpProbe("10.100.10.201", "bond0", 3, ["00:18:51:38:b1:cd", "8c:dc:d4:b3:af:14"])
    (f,) = findings(run(bundle(ev("probe.arp", to_json(p), key=p.target))), "arp.duplicate_ip")
    assert f.subject == "10.100.10.201"
    assert "00:18:51:38:b1:cd 10.100.10.201\n8c:dc:d4:b3:af:14 10.100.10.201" in f.evidence[0].excerpt


def test_someone_else_answers_for_our_own_address() -> None:
    p = ArpProbe("10.0.0.5", "eth0", 1, ["8c:dc:d4:b3:af:14"], own=True)
    assert findings(run(bundle(ev("probe.arp", to_json(p), key=p.target))), "arp.duplicate_ip")


def test_one_mac_quiet_and_missing_skipped() -> None:
    p = ArpProbe("10.0.0.5", "eth0", 3, ["00:18:51:38:b1:cd"])
    r = run(bundle(ev("probe.arp", to_json(p), key=p.target)), only={"arp.duplicate_ip", "vlan.no_reply"})
    assert not r.findings
    assert check(r, "arp.duplicate_ip").startswith("pass")
    assert check(r, "vlan.no_reply").startswith("skipped")
    assert check(run(bundle(), only={"arp.duplicate_ip"}), "arp.duplicate_ip").startswith("skipped")


def test_vlan_tagged_arp_without_reply() -> None:
    p = ArpProbe("10.100.2.1", "bond0", 3, [], vlan=1011)
    (f,) = findings(run(bundle(ev("probe.arp", to_json(p), key=p.target))), "vlan.no_reply")
    assert f.subject == "vlan 1011 on bond0"


def test_vxlan_underlay_ok_overlay_dead() -> None:
    p = EchoProbe(
        "10.85.0.2",
        4789,
        "udp",
        3,
        0,
        icmp_ok=True,
        overlay_target="10.86.0.2",
        overlay_ok=False,
        device="vx0",
    )
    (f,) = findings(run(bundle(ev("probe.vxlan", to_json(p), key=p.target))), "vxlan.udp_blocked")
    assert f.subject == "10.85.0.2"


def test_vxlan_both_dead_is_not_udp_blocked() -> None:
    p = EchoProbe("10.85.0.2", 4789, "udp", 3, 0, icmp_ok=False, overlay_target="10.86.0.2", overlay_ok=False)
    assert not findings(run(bundle(ev("probe.vxlan", to_json(p), key=p.target))), "vxlan.udp_blocked")


def test_udp_echo_on_a_non_vxlan_port_is_not_vxlan() -> None:
    p = EchoProbe("10.0.0.2", 5000, "udp", 3, 0, icmp_ok=True)
    assert not findings(run(bundle(ev("probe.udp", to_json(p), key=p.target))), "vxlan.udp_blocked")


def test_path_blackhole() -> None:
    p = MtuProbe(
        "10.82.0.2", "eth0", 1500, 1400, False, None, 1401, "blackhole", [[84, 1], [1500, 0], [1500, 0]]
    )
    (f,) = findings(run(bundle(ev("probe.mtu", to_json(p), key=p.target))), "mtu.path_blackhole")
    assert f.subject == "10.82.0.2" and "ping -M do -s 1372" in f.remedy.now[0]


def test_path_ok_or_signalled_is_quiet() -> None:
    for verdict in ("ok", "frag_needed"):
        p = MtuProbe("10.82.0.2", "eth0", 1500, 1400, False, None, 1401, verdict)
        r = run(bundle(ev("probe.mtu", to_json(p), key=p.target)), only={"mtu.path_blackhole"})
        assert not r.findings
    assert check(run(bundle(), only={"mtu.path_blackhole"}), "mtu.path_blackhole").startswith("skipped")


def test_garbage_probe_evidence_skips_not_crashes() -> None:
    r = run(bundle(ev("probe.mtu", "{not json", key="x")), only={"mtu.path_blackhole"})
    assert check(r, "mtu.path_blackhole").startswith("skipped")
