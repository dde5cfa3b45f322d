"""The topology picture, from real outputs kept as fixtures: what it draws, what it marks, how it
groups, what it says is missing, and that every name is escaped whatever the kernel allowed."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from netsleuth.analysis import analyse_facts
from netsleuth.evidence.model import Bundle, Status
from netsleuth.facts.topology import Topology
from netsleuth.report import picture as pic_mod
from netsleuth.report.picture import lost_hop, report_picture
from netsleuth.report.render import render
from netsleuth.results.capture import TraceResult
from netsleuth.results.report import FindingOut, Remedy
from tests.helpers import bundle, cli, ev, fixture

H, C = "nslfxh", "nslfxc"
T = "core/ovs_tunnel/"


def _ns_bundle(state: str = "fault") -> Bundle:
    """Two lab namespaces (real `ip -j -d -s -s link`): a bridge with a 1350 uplink and veths whose
    other ends live in the container namespace."""
    return bundle(
        ev("ip.link", fixture(f"core/ns_host_{state}.ip_link.json"), netns=H),
        ev("ip.link", fixture(f"core/ns_ctr_{state}.ip_link.json"), netns=C),
        ev("ip.netns_ids", fixture("core/ns_host.netns_ids.txt"), netns=H),
        ev("ip.netns_ids", fixture("core/ns_ctr.netns_ids.txt"), netns=C),
        namespaces=[H, C],
    )


def _ovs_bundle() -> Bundle:
    """Neutron's br-int/br-tun (userspace OVS): a VM port tagged 1, a patch pair, a VXLAN port."""
    return bundle(
        ev("ip.link", fixture(T + "ip_link.json")),
        ev("ip.route", fixture(T + "ip_route.json")),
        ev("ovs.vsctl_show", fixture(T + "vsctl_show.txt")),
        ev("ovs.bridge", fixture(T + "list_bridge.json")),
        ev("ovs.port", fixture(T + "list_port.json")),
        ev("ovs.interface", fixture(T + "list_interface.json")),
    )


def _picture(b: Bundle, lang: str = "en", layout: bool = True) -> pic_mod.Picture:
    report, facts = analyse_facts(b, lang)
    return report_picture(facts, report, layout)


def _node(p: pic_mod.Picture, name: str) -> pic_mod.DrawNode:
    found = [n for n in p.view.nodes if n.lines[0] == name]
    assert len(found) == 1, f"{name}: {[n.lines[0] for n in p.view.nodes]}"
    return found[0]


def _edges(p: pic_mod.Picture, a: str, b: str) -> list[pic_mod.DrawEdge]:
    ia, ib = _node(p, a).id, _node(p, b).id
    return [e for e in p.view.edges if {e.a, e.b} == {ia, ib}]


def test_namespaces_bridge_ports_and_veth_pairs_across_namespaces_with_mtu_and_state() -> None:
    p = _picture(_ns_bundle())
    assert set(p.view.namespaces) == {H, C}
    br = _node(p, "br0")
    assert br.netns == H and "Linux bridge" in br.lines[1] and "MTU 1350 · up" in br.lines
    assert [e.kind for e in _edges(p, "br0", "vethc")] == ["port"]
    vethd = _node(p, "vethd")
    assert "MTU 1500 · no carrier" in vethd.lines or "MTU 1500 · down" in vethd.lines
    # vethc (host side) and eth0 (container side) are one veth pair across the two namespaces
    ctr_eth0 = [n for n in p.view.nodes if n.lines[0] == "eth0" and n.netns == C]
    assert len(ctr_eth0) == 1
    assert any(
        {e.a, e.b} == {_node(p, "vethc").id, ctr_eth0[0].id} and e.kind == "veth" for e in p.view.edges
    )


def test_the_object_a_finding_names_is_drawn_in_its_severity_colour_with_the_finding_id() -> None:
    p = _picture(_ns_bundle())
    uplink = _node(p, "uplink")
    assert uplink.severity == "critical" and "mtu.mismatch" in uplink.findings
    assert "⚠ mtu.mismatch" in uplink.lines
    assert re.search(r'uplink\\n.*mtu\.mismatch.*color="#b00020"', p.dot)
    assert "mtu.mismatch" in p.svg and "#b00020" in p.svg
    healthy = _picture(_ns_bundle("healthy"))
    assert not any(n.severity for n in healthy.view.nodes)


def test_ovs_bridges_with_tagged_ports_patch_pair_and_tunnel_over_its_underlay() -> None:
    p = _picture(_ovs_bundle())
    br_int, br_tun = _node(p, "br-int"), _node(p, "br-tun")
    assert "OVS bridge" in br_int.lines[1] and "OVS bridge" in br_tun.lines[1]
    # the bridges' own internal ports are the bridges, not extra nodes
    assert [n.lines[0] for n in p.view.nodes].count("br-int") == 1
    assert [e.label for e in _edges(p, "br-int", "qvo1a2b3c4d-5e")] == ["tag 1"]
    assert [e.label for e in _edges(p, "br-int", "br-tun")] == ["patch patch-int ↔ patch-tun"]
    tunnel = _node(p, "vxlan-0a4d0102")
    assert "to 10.77.1.2:4789" in tunnel.lines[1]
    assert [e.kind for e in _edges(p, "eth1", "vxlan-0a4d0102")] == ["underlay"]
    assert [e.kind for e in _edges(p, "qvb1a2b3c4d-5e", "qvo1a2b3c4d-5e")] == ["veth"]
    # the VM port's MTU leaves no room for the tunnel's headers: marked
    assert _node(p, "qvo1a2b3c4d-5e").findings == ["mtu.mismatch"]


def _many_ports(count: int, odd_mtu: int | None = None) -> list[dict[str, object]]:
    """The real `uplink` entry of the lab capture (a veth on br0 whose peer is in another
    namespace), as `count` ports of a compute node's bridge: tap0..tapN."""
    links = json.loads(fixture("core/ns_host_fault.ip_link.json"))
    br = next(d for d in links if d["ifname"] == "br0")
    port = next(d for d in links if d["ifname"] == "uplink")
    out: list[dict[str, object]] = [br]
    for i in range(count):
        d = json.loads(json.dumps(port))
        d["ifname"], d["ifindex"] = f"tap{i}a1b2c3d4-e5", 100 + i
        if odd_mtu is not None and i == 7:
            d["mtu"] = odd_mtu
        out.append(d)
    return out


def test_many_alike_ports_of_one_bridge_are_one_node_with_a_count_and_the_odd_one_stays() -> None:
    b = bundle(ev("ip.link", json.dumps(_many_ports(300, odd_mtu=1400))))
    p = _picture(b)
    groups = [n for n in p.view.nodes if n.kind == "group"]
    assert len(groups) == 1 and groups[0].count == 298
    assert groups[0].lines[0] == "tap… ×298" and groups[0].lines[2] == "MTU 1350 · up"
    odd = _node(p, "tap7a1b2c3d4-e5")  # MTU 1400 on a 1350 bridge: not like the others
    assert odd.lines[2] == "MTU 1400 · up"
    named = _node(p, "tap0a1b2c3d4-e5")  # mtu.mismatch names the first port too small for tap7's frames
    assert named.findings == ["mtu.mismatch"]
    assert sorted(n.lines[0] for n in p.view.nodes if n.count == 1 and n.kind != "stub") == [
        "br0",
        "tap0a1b2c3d4-e5",
        "tap7a1b2c3d4-e5",
    ]
    assert any("300 veth peers lie in namespaces that were not analysed" in m for m in p.view.missing)


def test_a_port_named_by_a_finding_is_never_hidden_in_a_group() -> None:
    b = bundle(ev("ip.link", json.dumps(_many_ports(40))))
    topo = analyse_facts(b)[1].get(Topology)
    one = [
        FindingOut(
            id="nic.no_carrier",
            severity="warning",
            title="t",
            summary="s",
            evidence=[],
            remedy=Remedy(),
            seed="003",
            subject="tap12a1b2c3d4-e5",
        )
    ]
    p = pic_mod.picture(topo, one, "en")
    assert _node(p, "tap12a1b2c3d4-e5").severity == "warning"
    assert [n.count for n in p.view.nodes if n.kind == "group"] == [39]


def test_a_namespace_whose_interfaces_are_missing_is_said_and_the_rest_is_drawn() -> None:
    b = bundle(
        ev("ip.link", fixture("core/ns_host_fault.ip_link.json"), netns=H),
        ev("ip.link", status=Status.TIMEOUT, netns=C, error="timed out after 2 s"),
        ev("ip.addr", status=Status.TIMEOUT, netns=C, error="timed out after 2 s"),
        namespaces=[H, C],
    )
    p = _picture(b)
    assert _node(p, "br0")
    assert any(f"Interfaces of {C} unknown" in m and "timeout" in m for m in p.view.missing)
    assert any("veth peers lie in namespaces that were not analysed" in m for m in p.view.missing)
    assert f"Interfaces of {C} unknown" in p.svg


def test_with_nothing_known_the_picture_says_so_instead_of_failing() -> None:
    b = bundle(ev("ip.link", status=Status.DENIED, error="permission denied"))
    p = _picture(b)
    assert p.view.nodes == [] and any(m.startswith("Nothing to draw") for m in p.view.missing)
    assert "Nothing to draw" in p.svg


def test_without_graphviz_the_builtin_layout_draws_the_same_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pic_mod.shutil, "which", lambda name: None)
    p = _picture(_ns_bundle())
    assert p.engine == "builtin" and any("graphviz" in n for n in p.notes)
    root = ET.fromstring(p.svg)
    texts = "".join(root.itertext())
    assert "uplink" in texts and "⚠ mtu.mismatch" in texts
    html = render(analyse_facts(_ns_bundle())[0], "html", picture=p)
    assert "graphviz" in html and "<svg" in html


def test_a_failing_dot_falls_back_to_the_builtin_layout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'Error: syntax error' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(pic_mod.shutil, "which", lambda name: str(fake))
    p = _picture(_ns_bundle())
    assert p.engine == "builtin" and p.notes == [
        "graphviz `dot` failed: the picture uses netsleuth's simple layout."
    ]


WEIRD = ['q"<b>é', "x>&y", "\ufffd\ufffdab", "a\\nb"]


def _weird_bundle() -> Bundle:
    """Names the kernel accepts (checked on the test machine: quotes, angle brackets, `&`, UTF-8,
    and bytes that are not UTF-8, which `ip -j` prints raw and netsleuth reads as U+FFFD)."""
    links = json.loads(fixture("core/ns_host_fault.ip_link.json"))
    for d, name in zip(
        [x for x in links if x["ifname"] in ("br0", "uplink", "vethc", "vethd")], WEIRD, strict=True
    ):
        old = d["ifname"]
        for x in links:
            if x.get("master") == old:
                x["master"] = name
        d["ifname"] = name
    return bundle(ev("ip.link", json.dumps(links)))


@pytest.mark.parametrize("layout", [True, False])
def test_names_with_quotes_angle_brackets_and_non_ascii_are_escaped_in_svg(layout: bool) -> None:
    p = _picture(_weird_bundle(), layout=layout)
    root = ET.fromstring(p.svg)  # well-formed XML: nothing leaked out of its text
    texts = list(root.itertext())
    for name in WEIRD:
        assert any(name in t for t in texts), name
    assert not root.findall(".//{http://www.w3.org/2000/svg}b")


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_names_with_quotes_angle_brackets_and_non_ascii_are_escaped_in_html() -> None:
    b = _weird_bundle()
    report, facts = analyse_facts(b)
    page = render(report, "html", picture=report_picture(facts, report))
    parsed = _Elements()
    parsed.feed(page)
    assert "b" not in parsed.tags  # `q"<b>é` did not open a <b> element
    text = "".join(parsed.text)
    for name in WEIRD:
        assert name in text, name


def _trace(points: list[tuple[str, str, bool, bool]], reply: bool) -> TraceResult:
    return TraceResult.from_json(
        {
            "dest": "10.63.0.3",
            "from_netns": "nsla",
            "proto": "icmp",
            "marker": "1",
            "reply_received": reply,
            "points": [
                {"netns": ns, "iface": i, "role": "point", "request": {"seen": q}, "reply": {"seen": r}}
                for ns, i, q, r in points
            ],
        }
    )


def test_the_hop_where_the_probe_is_lost() -> None:
    lost = _trace([("a", "eth0", True, False), ("s", "pa", True, False), ("s", "pb", False, False)], False)
    assert lost_hop(lost) == (1, 2, "request")
    no_reply = _trace([("a", "eth0", True, False), ("s", "pa", True, False)], False)
    assert lost_hop(no_reply) == (1, None, "no-reply")
    reply_lost = _trace([("a", "eth0", True, False), ("s", "pa", True, True)], False)
    assert lost_hop(reply_lost) == (1, 0, "reply")
    fine = _trace([("a", "eth0", True, True), ("s", "pa", True, True)], True)
    assert lost_hop(fine) is None


def test_a_trace_is_drawn_on_the_picture_with_the_lost_hop_marked() -> None:
    from netsleuth.capture.evidence import trace_evidence

    trace = _trace([(H, "vethc", True, False), (H, "br0", True, False), (H, "uplink", False, False)], False)
    b = _ns_bundle()
    b.add(trace_evidence(trace))
    p = _picture(b)
    assert _node(p, "vethc").lines[-1] == "trace 1: request ✓ reply ✗"
    assert _node(p, "uplink").trace == "lost" or _node(p, "uplink").severity
    lost = [e for e in p.view.edges if e.trace == "lost"]
    assert [(e.a, e.b, e.label) for e in lost] == [
        (_node(p, "br0").id, _node(p, "uplink").id, "✗ request lost here")
    ]
    assert "#d50000" in p.dot and "request lost here" in p.svg


def test_picture_words_follow_the_report_language() -> None:
    p = _picture(_ns_bundle(), "zh")
    assert "Linux 网桥" in _node(p, "br0").lines[1]
    assert all(re.search(r"[\u4e00-\u9fff]", line) for line in p.view.legend)


def test_graph_writes_svg_or_dot_alone_and_refuses_other_names(tmp_path: Path) -> None:
    src = tmp_path / "b.tar.gz"
    from netsleuth.evidence.bundle import write_bundle

    write_bundle(_ns_bundle(), src)
    svg, dot = tmp_path / "p.svg", tmp_path / "p.dot"
    r = cli("diagnose", str(src), "--all-netns", "--graph", str(svg), "--format", "json")
    assert r.returncode == 2 and json.loads(r.stdout)["findings"]
    root = ET.fromstring(svg.read_bytes())
    assert root.tag.endswith("svg") and "uplink" in "".join(root.itertext())
    r = cli("diagnose", str(src), "--all-netns", "--graph", str(dot), "-q")
    assert dot.read_text().startswith("digraph netsleuth {") and "mtu.mismatch" in dot.read_text()
    r = cli("diagnose", str(src), "--graph", str(tmp_path / "p.png"))
    assert r.returncode == 64 and ".svg or .dot" in r.stderr


HOTSOS = Path(__file__).resolve().parents[2] / ".." / "shared" / "external" / "hotsos-data" / "roots"


def test_a_real_sosreport_of_a_neutron_compute_node_is_drawn_from_ovs_vsctl_show() -> None:
    """hotsos's compute4 (DVR, OVS 2.13): its sosreport keeps `ovs-vsctl show` but no `list port`;
    the picture still has the bridges' ports, tags, patch pairs, and tunnels over their underlay,
    and the internal ports Neutron moved into the router namespaces."""
    root = HOTSOS / "openstack"
    if not root.is_dir():
        pytest.skip(f"needs the hotsos data roots at {root}")
    from netsleuth.evidence.source import open_source

    with open_source(root, None, True) as b:
        p = _picture(b)
    assert [e.label for e in _edges(p, "br-int", "br-tun")] == ["patch patch-int ↔ patch-tun"]
    assert [e.label for e in _edges(p, "br-int", "br-data")] == ["patch int-br-data ↔ phy-br-data"]
    assert [e.label for e in _edges(p, "br-int", "tap0e778df8-ca")] == ["tag 3"]
    assert [e.kind for e in _edges(p, "br-ens3", "vxlan-0a000085")] == ["underlay"]
    qr = _node(p, "qr-3a70b31c-3f")
    assert qr.netns.startswith("qrouter-") and qr.kind == "ovs-port" and "internal" in qr.lines[1]
    assert not any(n.lines[0] in ("patch-int", "patch-tun") for n in p.view.nodes)  # a line, not nodes


def test_when_the_next_hop_does_not_resolve_the_picture_marks_where_the_arp_goes_missing() -> None:
    """Seed 003: the probe never leaves, its ARP leaves the uplink tagged 1011 and nothing comes
    back. The picture says so at the uplink, as the trace concludes; never "never left the sender"."""
    from netsleuth.capture.evidence import trace_evidence

    gw, asked, unseen = "10.99.11.1", {"seen": True, "vlan": []}, {"seen": False}

    def point(iface: str, role: str, vlan: list[int], next_hop: str = "") -> dict[str, object]:
        arp = {"target": gw, "request": {**asked, "vlan": vlan}, "reply": unseen}
        return {
            "netns": H,
            "iface": iface,
            "role": role,
            "request": unseen,
            "reply": unseen,
            "next_hop": next_hop,
            "neighbours": [arp],
        }

    pts = [point("vethc", "sender", [], gw), point("br0", "bridge", []), point("uplink", "uplink", [1011])]
    trace = TraceResult.from_json(
        {
            "dest": "10.99.12.7",
            "from_netns": H,
            "proto": "icmp",
            "marker": "1",
            "reply_received": False,
            "points": pts,
        }
    )
    assert lost_hop(trace) == (2, None, "arp-no-reply")
    for lang, words in (
        (
            "en",
            (
                "ARP for 10.99.11.1 left, no reply came back",
                "ARP for 10.99.11.1: request ✓ reply ✗ · vlan 1011",
            ),
        ),
        (
            "zh",
            ("找 10.99.11.1 的 ARP 已发出，没有应答返回", "找 10.99.11.1 的 ARP：请求 ✓ 应答 ✗ · vlan 1011"),
        ),
    ):
        b = _ns_bundle()
        b.add(trace_evidence(trace))
        p = _picture(b, lang)
        (lost,) = [e for e in p.view.edges if e.trace == "lost"]
        assert lost.a == _node(p, "uplink").id and lost.label == "✗ " + words[0]
        assert words[1] in _node(p, "uplink").lines
        assert not any("never left" in e.label or "从未离开" in e.label for e in p.view.edges)


def test_a_suppressed_finding_is_named_muted_in_the_picture_never_in_its_severity_colour(
    tmp_path: Path,
) -> None:
    """The banner of a report whose only fault is suppressed says "no fault": the picture must not
    draw that fault in red. It names it, marked as suppressed, in the report's language."""
    from netsleuth.evidence.bundle import write_bundle

    src, cfg = tmp_path / "b.tar.gz", tmp_path / "c.toml"
    write_bundle(_ns_bundle(), src)
    cfg.write_text(
        '[[suppress]]\nfinding = "mtu.mismatch"\nreason = "uplink replaced Tuesday"\n'
        '[[suppress]]\nfinding = "nic.no_carrier"\nreason = "spare port"\n'
    )
    for lang, mark in (("en", "⚠ mtu.mismatch (suppressed)"), ("zh", "⚠ mtu.mismatch（已屏蔽）")):
        svg = tmp_path / f"p.{lang}.svg"
        r = cli(
            "diagnose",
            str(src),
            "--all-netns",
            "--config",
            str(cfg),
            "--graph",
            str(svg),
            "-q",
            "--lang",
            lang,
        )
        assert r.returncode == 0, r.stderr
        drawn = "".join(ET.fromstring(svg.read_bytes()).itertext())
        assert mark in drawn and "#b00020" not in svg.read_text()
    page = tmp_path / "r.html"
    cli(
        "diagnose",
        str(src),
        "--all-netns",
        "--config",
        str(cfg),
        "--format",
        "html",
        "-o",
        str(page),
        "--lang",
        "zh",
    )
    toc = page.read_text().split("<nav>")[1].split("</nav>")[0]
    assert toc.count("(已屏蔽)") == 2  # the contents say it too, as the finding does


def test_every_word_of_the_picture_lies_inside_it_as_chromium_draws_it(tmp_path: Path) -> None:
    """dot measures text a little narrower than a browser draws it: on a narrow picture the end of
    the legend's widest line was cut off ("… dotted green OVS patch, dashe"). Chromium measures
    every text of the standalone SVG and says which ones end past the picture's right edge."""
    from tests.integration.browser import dump_dom

    p = _picture(_ns_bundle("healthy"))
    if p.engine != "dot":
        pytest.skip("needs graphviz dot (scripts/install-system-deps.sh)")
    page = tmp_path / "p.html"
    page.write_text(
        "<!doctype html><html><body>"
        + pic_mod.standalone_svg(p).split("?>", 1)[1]
        + "<pre id='out'></pre><script>"
        "const svg=document.querySelector('svg'), w=svg.viewBox.baseVal.x+svg.viewBox.baseVal.width, o=[];"
        "for (const t of svg.querySelectorAll('text')) { const b=t.getBBox();"
        " const m=svg.getScreenCTM().inverse().multiply(t.getScreenCTM()), right=(b.x+b.width)*m.a+m.e;"
        " if (right > w + 0.5) o.push(t.textContent + ' @' + right.toFixed(1) + '>' + w); }"
        "document.getElementById('out').textContent='CUT:'+o.join(' | ')+':END';"
        "</script></body></html>",
        encoding="utf-8",
    )
    dom = dump_dom(page)
    assert "CUT::END" in dom, dom[dom.index("CUT:") : dom.index(":END")]
