"""Where a traced probe goes missing when it waits for its next hop (seed 003: the container's ARP
for 10.100.2.1 leaves bond0 tagged 1011, the switch never answers), when it crosses a VXLAN
underlay, and the rules that word it: path.loss_localized and vlan.no_reply. The sightings are
those the lab tests (tests/integration/test_trace_neighbours.py) capture for real."""

from __future__ import annotations

import json

import pytest

from netsleuth.capture.evidence import trace_evidence
from netsleuth.results.capture import NOT_SEEN, NeighbourSighting, Outer, Sighting, TracePoint, TraceResult
from tests.helpers import bundle, check, ev, findings, run

RULES = {"path.loss_localized", "vlan.no_reply"}
TUN = Outer("vxlan", 42, 4789, "10.70.0.1", "10.70.0.2")


def seen(vlan: list[int] | None = None, outer: Outer | None = None) -> Sighting:
    return Sighting(True, 1.0, 1, vlan or [], outer)


def pt(
    label: str,
    role: str,
    req: bool = False,
    rep: bool = False,
    *,
    nh: str = "",
    back: str = "",
    tunnel: Outer | None = None,
    arp: dict[str, tuple[Sighting, Sighting]] | None = None,
) -> TracePoint:
    ns, _, iface = label.rpartition(":")
    return TracePoint(
        ns,
        iface,
        role,
        seen(outer=tunnel) if req else NOT_SEEN,
        seen(outer=tunnel) if rep else NOT_SEEN,
        next_hop=nh,
        reply_next_hop=back,
        tunnel=tunnel,
        neighbours=[NeighbourSighting(t, a, b) for t, (a, b) in (arp or {}).items()],
    )


def seed003(reply_at: str = "") -> TraceResult:
    """vm1:eth0 -> node:tap1 (access port, tag 1011) -> node:trunk0 -> tor:eth0 (no VLAN 1011)."""
    gw = "10.99.11.1"
    tagged = seen([1011])
    answer = seen([1011]) if reply_at else NOT_SEEN
    return TraceResult(
        gw,
        "vm1",
        "icmp",
        "4242",
        [
            pt("vm1:eth0", "sender", nh=gw, arp={gw: (seen(), seen() if reply_at == "all" else NOT_SEEN)}),
            pt("node:tap1", "ovs-port", arp={gw: (seen(), seen() if reply_at == "all" else NOT_SEEN)}),
            pt("node:trunk0", "ovs-port", arp={gw: (tagged, answer)}),
            pt("tor:eth0", "destination", arp={gw: (tagged, answer)}),
        ],
        reply_received=False,
    )


def report(t: TraceResult, lang: str = "en"):  # type: ignore[no-untyped-def]
    e = trace_evidence(t)
    return run(bundle(ev(e.name, e.text, key=e.key, source=e.source)), RULES, lang)


def test_seed003_arp_tagged_1011_unanswered_is_vlan_no_reply_on_the_trunk() -> None:
    loss = seed003().loss()
    assert loss is not None
    assert (loss.what, loss.kind, loss.after, loss.vlan, loss.tagged_at, loss.egress) == (
        "arp",
        "unanswered",
        "tor:eth0",
        [1011],
        "node:trunk0",
        "vm1:eth0",
    )
    r = report(seed003())
    (f,) = findings(r, "vlan.no_reply")
    assert f.subject == "vlan 1011 on node:trunk0"
    assert "10.99.11.1" in f.summary and "node:trunk0" in f.summary
    assert "ARP requests for 10.99.11.1 left node:trunk0 tagged 1011" in f.evidence[0].excerpt
    assert findings(r, "path.loss_localized") == []
    assert check(r, "path.loss_localized").startswith("skipped: the loss is VLAN 1011")


def test_seed003_in_chinese() -> None:
    (f,) = findings(report(seed003(), "zh"), "vlan.no_reply")
    assert "VLAN 1011" in f.title and "多点抓包追踪" in f.summary


def test_arp_answered_tagged_but_reply_lost_inside_the_host_is_not_a_vlan_fault() -> None:
    loss = seed003(reply_at="trunk").loss()
    assert loss is not None and (loss.what, loss.direction, loss.after, loss.before) == (
        "arp",
        "reply",
        "node:trunk0",
        "node:tap1",
    )
    r = report(seed003(reply_at="trunk"))
    assert findings(r, "vlan.no_reply") == []
    (f,) = findings(r, "path.loss_localized")
    assert f.subject == "node:trunk0 -> node:tap1" and "answer is lost between" in f.summary


def test_resolved_next_hop_is_not_blamed_on_arp() -> None:
    """ARP answered everywhere but the probe never left: the sender (as before)."""
    (f,) = findings(report(seed003(reply_at="all")), "path.loss_localized")
    assert f.subject == "vm1:eth0 (sender)" and "(request)" in f.title


def router(arp_at_b: bool, b_answers: bool = False) -> TraceResult:
    """A -- R -- B: the probe reaches R and never leaves r1, R's ARP for B ..."""
    b = "10.61.2.2"
    asked = (seen(), seen() if b_answers else NOT_SEEN)
    return TraceResult(
        b,
        "A",
        "icmp",
        "1",
        [
            pt("A:eth0", "sender", True, nh="10.61.1.1"),
            pt("R:r0", "router-in", True, back="10.61.1.2"),
            pt("R:r1", "router-out", nh=b, arp={b: asked}),
            pt("B:eth0", "destination", back="10.61.2.1", arp={b: asked} if arp_at_b else {}),
        ],
        reply_received=False,
    )


def test_router_arp_reaches_b_unanswered_names_b_and_the_arp() -> None:
    (f,) = findings(report(router(arp_at_b=True)), "path.loss_localized")
    assert f.subject == "B:eth0"
    assert "(ARP request for 10.61.2.2, unanswered)" in f.title
    assert "never left R:r1" in f.summary and "reached B:eth0 (untagged)" in f.summary
    assert (
        f.remedy.now[0]
        == "ip netns exec R ip neigh show 10.61.2.2   # INCOMPLETE / FAILED: it does not resolve"
    )


def test_router_arp_lost_on_the_wire_names_the_hop() -> None:
    (f,) = findings(report(router(arp_at_b=False)), "path.loss_localized")
    assert f.subject == "R:r1 -> B:eth0" and "ARP request is lost between R:r1 and B:eth0" in f.summary


def test_no_arp_seen_at_all_keeps_the_old_verdict() -> None:
    t = router(arp_at_b=False)
    quiet = TraceResult(
        t.dest,
        "A",
        "icmp",
        "1",
        [*t.points[:2], pt("R:r1", "router-out", nh="10.61.2.2"), t.points[3]],
        False,
    )
    (f,) = findings(report(quiet), "path.loss_localized")
    assert f.subject == "R:r0 -> R:r1" and "(request)" in f.title


def test_reply_waiting_for_the_way_back_follows_bs_arp() -> None:
    """The request arrives; B's ARP for its gateway R is not answered: the reply never leaves B."""
    gw = "10.61.2.1"
    t = TraceResult(
        "10.61.2.2",
        "A",
        "icmp",
        "1",
        [
            pt("A:eth0", "sender", True, nh="10.61.1.1"),
            pt("R:r0", "router-in", True, back="10.61.1.2"),
            pt("R:r1", "router-out", True, nh="10.61.2.2", arp={gw: (seen(), NOT_SEEN)}),
            pt("B:eth0", "destination", True, back=gw, arp={gw: (seen(), NOT_SEEN)}),
        ],
        reply_received=False,
    )
    loss = t.loss()
    assert loss is not None and (loss.held, loss.egress, loss.target, loss.kind, loss.after) == (
        "reply",
        "B:eth0",
        gw,
        "unanswered",
        "R:r1",
    )
    (f,) = findings(report(t), "path.loss_localized")
    assert "the reply never left B:eth0" in f.summary


def vxlan(blocked: bool) -> TraceResult:
    """h1:vx0 -> h1:u0 (underlay, VNI 42) -> h2:u0 (the remote VTEP) -> h2:vx0."""
    return TraceResult(
        "10.80.0.2",
        "h1",
        "icmp",
        "1",
        [
            pt("h1:vx0", "sender", True, not blocked, nh="10.80.0.2"),
            pt("h1:u0", "router-out", True, not blocked, nh="10.70.0.2", tunnel=TUN),
            pt("h2:u0", "vtep", True, not blocked, tunnel=TUN),
            pt("h2:vx0", "destination", not blocked, not blocked, back="10.80.0.1"),
        ],
        reply_received=not blocked,
    )


def test_probe_lost_after_the_underlay_names_vni_and_port() -> None:
    (f,) = findings(report(vxlan(blocked=True)), "path.loss_localized")
    assert f.subject == "h2:u0 -> h2:vx0"
    assert "inside VXLAN VNI 42, UDP 4789, 10.70.0.1 > 10.70.0.2" in f.summary
    assert "[VXLAN VNI 42, UDP 4789, 10.70.0.1 > 10.70.0.2]" in f.evidence[0].excerpt
    assert findings(report(vxlan(blocked=False)), "path.loss_localized") == []


def test_probe_leaving_tagged_with_no_reply_is_vlan_no_reply() -> None:
    t = TraceResult(
        "10.99.11.1",
        "vm1",
        "icmp",
        "1",
        [
            pt("vm1:eth0", "sender", True, nh="10.99.11.1"),
            TracePoint("node", "eth1", "uplink", seen([1011]), NOT_SEEN),
        ],
        reply_received=False,
    )
    (f,) = findings(report(t), "vlan.no_reply")
    assert f.subject == "vlan 1011 on node:eth1"


@pytest.mark.parametrize("t", [seed003(), vxlan(True), router(True)], ids=["vlan", "vxlan", "router"])
def test_json_roundtrip_keeps_tags_tunnels_neighbours_and_the_loss(t: TraceResult) -> None:
    d = json.loads(json.dumps(t.to_json()))
    back = TraceResult.from_json(d)
    assert back == t and back.loss() == t.loss()
    assert d["loss"]["after"] == (t.loss().after if t.loss() else None)  # type: ignore[union-attr]


def test_report_carries_the_trace_with_its_loss() -> None:
    r = report(seed003())
    assert r.trace is not None and r.trace["loss"]["vlan"] == [1011]
    assert [p["iface"] for p in r.trace["points"]] == ["eth0", "tap1", "trunk0", "eth0"]
    assert json.loads(r.to_json())["trace"]["points"][2]["neighbours"][0]["request"]["vlan"] == [1011]
    assert r.capture is None


def test_trace_html_and_markdown_show_every_point_escaped() -> None:
    from netsleuth.report.render import render

    t = seed003()
    odd = TracePoint(
        "tor",
        'e"<b>\udcff'.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"),
        "destination",
        NOT_SEEN,
        NOT_SEEN,
    )
    t = TraceResult(t.dest, t.from_netns, t.proto, t.marker, [*t.points[:3], odd], False)
    html = render(report(t), "html")
    assert "<b>" not in html and "e&quot;&lt;b&gt;\\xff" in html
    assert "<td>node:trunk0</td><td>ovs-port</td>" in html
    assert "10.99.11.1: seen · vlan 1011 / NOT seen" in html
    md = render(report(t), "markdown")
    assert (
        "## The trace, point by point" in md
        and "Lost: the ARP for 10.99.11.1 (request), node:trunk0 -> tor:e" in md
    )


def test_the_chinese_trace_table_names_each_point_role_in_chinese() -> None:
    from netsleuth.report.render import render

    html = render(report(seed003(), "zh"), "html")
    assert "<td>node:trunk0</td><td>OVS 端口</td>" in html and "<td>vm1:eth0</td><td>发送方</td>" in html
    md = render(report(seed003(), "zh"), "markdown")
    table = md[md.index("| 抓包点 | 角色 |") : md.index("## 检查项")]
    assert "| tor:eth0 | 目的端 |" in table and "ovs-port" not in table
