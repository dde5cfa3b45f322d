"""The fleet report's formats: the text table, the JSON contract, and the HTML page with the mesh
picture, escaped, and looked at in a real headless browser (Debian's chromium)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from netsleuth.evidence.bundle import write_bundle
from netsleuth.fleet_analysis import FleetOptions, analyse_fleet
from netsleuth.report.fleet_render import render_fleet
from netsleuth.results.fleet import FleetReport, HostEntry
from netsleuth.results.report import Check, FindingOut
from tests.integration.browser import dump_dom, png_pixels, screenshot
from tests.unit.test_fleet_diagnose import lab_dir
from tests.unit.test_rules_fleet import lab_host

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def no_way_back(tmp_path: Path, lang: str = "en") -> FleetReport:
    return analyse_fleet(
        [lab_dir(tmp_path / "f", hv2={"fdb": "no_way_back"})], FleetOptions(lang=lang, jobs=1)
    )


def test_text_is_a_host_by_finding_table_then_the_cross_host_findings(tmp_path: Path) -> None:
    out = render_fleet(no_way_back(tmp_path), "text")
    lines = out.splitlines()
    rows = {ln.split()[1]: ln for ln in lines if ln.startswith("│ hv")}
    assert set(rows) == {"hv1", "hv2", "hv3", "hv4"}
    # column 1 is the cross-host finding; it marks the two hosts it names, critical
    assert "   1  fleet.tunnel_mesh_incomplete" in out
    assert "│ C " in rows["hv1"] and "│ C " in rows["hv2"] and "│ C " not in rows["hv3"]
    assert out.index("Cross-host findings") > out.index("fleet.tunnel_mesh_incomplete")
    assert "\x1b[" not in out


def test_chinese_fleet_report(tmp_path: Path) -> None:
    out = render_fleet(no_way_back(tmp_path, "zh"), "text")
    assert "跨主机发现" in out and "hv2 没有回到 hv1 的隧道" in out and "按文件名命名" in out


def test_chinese_host_table_words_statuses_and_prefixes(tmp_path: Path) -> None:
    """The host table's statuses, the hostname header and the error/skipped/note prefixes are
    worded in the report's language, in text and HTML."""
    rep = no_way_back(tmp_path, "zh")
    rep.hosts.append(HostEntry(name="hv9", status="auth_failed", message="Permission denied (publickey)"))
    rep.checks.append(Check(id="fleet.clock_skew", status="error", reason="ValueError: x"))
    text = render_fleet(rep, "text", verbose=True)
    (row,) = [ln for ln in text.splitlines() if ln.startswith("│ hv9")]
    assert "认证失败" in row and "auth_failed" not in row
    assert all(" 正常 " in ln for ln in text.splitlines() if ln.startswith("│ hv1"))
    assert "出错: fleet.clock_skew: ValueError: x" in text and "已跳过: fleet.agent_down" in text
    assert "说明: " in text
    assert not [w for w in ("error:", "skipped:", "note:") if w in text]
    page = render_fleet(rep, "html")
    assert "<th>主机名</th>" in page and "<td>认证失败</td>" in page and "<em>说明: " in page
    assert "hostname" not in page and "auth_failed" not in page and "note:" not in page


def test_fleet_counts_choose_their_plural_form(tmp_path: Path) -> None:
    rep = no_way_back(tmp_path)
    assert "4 hosts, 4 analysed, 1 cross-host finding, in " in render_fleet(rep, "text")
    hv1 = rep.hosts[0]
    assert hv1.report is not None
    hv1.report.findings.append(FindingOut.model_validate(rep.findings[0].model_dump()))
    assert "<summary>hv1 — 1 finding</summary>" in render_fleet(rep, "html")
    zh = rep.model_copy(update={"lang": "zh"})
    assert "4 台主机，已分析 4 台，跨主机发现 1 条" in render_fleet(zh, "text")
    assert "<summary>hv1 — 1 条发现</summary>" in render_fleet(zh, "html")


def test_a_listed_bundle_not_given_is_said_in_the_report_language(tmp_path: Path) -> None:
    d = lab_dir(tmp_path / "f")
    hosts = {"hv9": {"status": "ok", "message": "", "bundle": "hv9.tar.gz", "address": "10.99.200.9"}}
    manifest = {"schema": "netsleuth.fleet-collect/v1", "started_at": "", "inventory": "i", "hosts": hosts}
    (d / "fleet-collect.json").write_text(json.dumps(manifest))
    for lang, said in (
        ("en", "bundle hv9.tar.gz listed in fleet-collect.json was not given"),
        ("zh", "fleet-collect.json 列出的 bundle hv9.tar.gz 没有提供"),
    ):
        rep = analyse_fleet([d], FleetOptions(lang=lang, jobs=1))
        (hv9,) = [h for h in rep.hosts if h.name == "hv9"]
        assert (hv9.status, hv9.message) == ("unreadable", said)
        assert said in render_fleet(rep, "text")


def test_json_round_trips_the_schema(tmp_path: Path) -> None:
    rep = no_way_back(tmp_path)
    again = FleetReport.model_validate_json(render_fleet(rep, "json"))
    assert again.schema_ == "netsleuth.fleet/v1" and again.exit_code() == 2
    assert [(x.src, x.dst) for x in again.findings[0].links] == [("hv1", "hv2")]
    (edge,) = [e for e in again.mesh.edges if (e.a, e.b) == ("hv1", "hv2")]
    assert edge.a_to_b and not edge.b_to_a and edge.findings == ["fleet.tunnel_mesh_incomplete"]


def test_html_escapes_every_name(tmp_path: Path) -> None:
    d = tmp_path / "f"
    d.mkdir()
    evil = '<script>alert("x")</script>'
    for h in ("hv1", "hv2"):
        b = lab_host(h, fdb="no_way_back") if h == "hv2" else lab_host(h)
        b.hostname = evil + h
        write_bundle(b, d / f"{h}.tar.gz")
    page = render_fleet(analyse_fleet([d], FleetOptions(jobs=1)), "html")
    assert "<script" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;hv1" in page
    assert "<svg" in page and page.count("<svg") == 1


def test_html_renders_each_finding_as_the_single_host_page_does_markup_and_all(tmp_path: Path) -> None:
    """Cross-host and per-host findings are the single-host page's block (its style included), the
    catalogue's `code` rendered; a host's own findings keep their heading under the host."""
    from netsleuth.messages import message
    from netsleuth.report.html import CSS

    rep = no_way_back(tmp_path)
    cross = rep.findings[0]
    title = message("en", "dns.rotate_inconsistent", "title", {})
    assert "`options rotate`" in title
    own = FindingOut.model_validate(cross.model_dump() | {"id": "dns.rotate_inconsistent", "title": title})
    hv1 = rep.hosts[0]
    assert hv1.report is not None
    hv1.report.findings.append(own)
    page = render_fleet(rep, "html")
    assert CSS in page
    assert '<article id="x-1" class="s-critical"><h3>' in page
    assert "<code>fleet.tunnel_mesh_incomplete</code>" in page
    assert '<h4><span class="sev s-critical">CRITICAL</span> <code>dns.rotate_inconsistent</code> — ' in page
    assert "<code>options rotate</code> spreads lookups" in page and "`options rotate`" not in page


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (scripts/install-system-deps.sh)")
def test_the_mesh_picture_in_a_real_browser(tmp_path: Path) -> None:
    page = tmp_path / "fleet.html"
    page.write_text(render_fleet(no_way_back(tmp_path), "html"))
    dom = dump_dom(page)
    # the browser parsed the picture: the broken edge, its finding's id on it, every host a node
    assert '<g class="edge broken">' in dom and ">fleet.tunnel_mesh_incomplete</text>" in dom
    assert dom.count('<g class="node">') == 4
    assert "Tunnel hv1 -&gt; hv2: hv2 has no tunnel back to hv1" in dom
    shot = screenshot(page, tmp_path / "fleet.png", width=1000, height=1200)
    width, _height, rows = png_pixels(shot.read_bytes())  # RGB rows
    red = sum(
        1
        for row in rows
        for x in range(width)
        if row[x * 3] > 180 and row[x * 3 + 1] < 60 and row[x * 3 + 2] < 60
    )
    assert red > 200, f"the red edge of the one-way tunnel is not drawn ({red} red pixels)"
