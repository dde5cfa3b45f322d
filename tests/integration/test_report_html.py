"""The HTML report of a real lab fault, opened in headless Chromium the way the person it is handed
to would open it: the picture and the finding must be in the rendered page (the DOM Chromium built,
the pixels it drew), not only in the file. Names the kernel allows but HTML and SVG do not (quotes,
angle brackets, bytes that are not UTF-8) are made for real and must come out as text."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from netsleuth.lab import Lab, LabUnavailable
from netsleuth.report.drawing import LOST_COLOUR, SEV_COLOUR
from tests.integration.browser import Dom, dump_dom, pixels_of, screenshot

pytestmark = pytest.mark.root
NETSLEUTH = [sys.executable, "-m", "netsleuth.cli"]


@pytest.mark.parametrize("built", ["mtu-bridged-uplink"], indirect=True)
def test_the_html_of_a_real_fault_shows_the_finding_and_the_marked_picture_in_chromium(
    built,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    _sc, _lab, vantage, _t0 = built
    page, svg = tmp_path / "report.html", tmp_path / "picture.svg"
    proc = vantage.run("--format", "html", "-o", str(page), "--graph", str(svg), "-q")
    assert proc.returncode == 2, proc.stderr  # critical: the uplink's MTU
    dom = Dom(dump_dom(page))
    text = " ".join(dom.texts())
    assert "Critical: a fault stops traffic now" in text and "1 critical" in text
    assert {"findings", "picture", "checks", "f-1"} <= dom.ids
    assert "mtu.mismatch" in text and "MTU mismatch: vethc" in text
    drawn = " ".join(dom.svg_text)  # the picture, as Chromium parsed it: nodes with their words
    assert "uplink" in drawn and "⚠ mtu.mismatch" in drawn and "Linux bridge" in drawn
    assert "`" not in text  # message markup rendered, never shown
    assert dom.tags.count("details") >= 2  # why and evidence fold
    shot = screenshot(page, tmp_path / "report.png")
    assert pixels_of(shot, SEV_COLOUR["critical"]) > 200  # banner chip, finding's border, the node
    alone = screenshot(svg, tmp_path / "picture.png", 1000, 700)
    assert pixels_of(alone, SEV_COLOUR["critical"]) > 50  # the marked node's border, drawn


@pytest.mark.parametrize("built", ["mtu-bridged-uplink"], indirect=True)
def test_the_chinese_html_report_speaks_chinese_in_chromium(built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _sc, _lab, vantage, _t0 = built
    page = tmp_path / "report.html"
    vantage.run("--format", "html", "-o", str(page), "-q", "--lang", "zh")
    dom = Dom(dump_dom(page))
    text = " ".join(dom.texts())
    assert "严重：有故障正在中断流量" in text and "网络拓扑图" in text and "目录" in text
    assert "Linux 网桥" in " ".join(dom.svg_text)


@pytest.fixture
def weird_lab() -> Iterator[tuple[str, list[str]]]:
    """A namespace holding a bridge and veths whose names are legal for the kernel and hostile to
    HTML/SVG: quotes, angle brackets, an ampersand, UTF-8, and two bytes that are not UTF-8."""
    names = ['q"<b>é', "x>&y", b"\xff\xfeab".decode("latin-1"), "<i>'z"]
    try:
        with Lab("names") as lab:
            a = lab.netns("a")
            raw = [n.encode("latin-1") if n.startswith("\xff") else n.encode() for n in names]
            script = b"".join(
                [
                    b"link add name br<0> type bridge\n",
                    b"link set br<0> up\n",
                    b"link add name " + raw[0] + b" type veth peer name " + raw[1] + b"\n",
                    b"link add name " + raw[2] + b" type veth peer name " + raw[3] + b"\n",
                    *(b"link set " + r + b" master br<0> up\n" for r in raw[::2]),
                    *(b"link set " + r + b" up\n" for r in raw[1::2]),
                ]
            )
            r = subprocess.run(
                ["ip", "-n", a.name, "-batch", "-"], input=script, capture_output=True, check=False
            )
            if r.returncode != 0:
                pytest.skip(f"this kernel refuses such names: {r.stderr.decode(errors='replace')[-300:]}")
            seen = [n if not n.startswith("\xff") else "\ufffd\ufffdab" for n in names]
            yield a.name, [*seen, "br<0>"]
    except LabUnavailable as exc:
        pytest.skip(str(exc))


def test_hostile_interface_names_made_for_real_come_out_as_text(
    weird_lab: tuple[str, list[str]], tmp_path: Path
) -> None:
    ns, names = weird_lab
    page, svg = tmp_path / "report.html", tmp_path / "picture.svg"
    proc = subprocess.run(
        [
            *NETSLEUTH,
            "diagnose",
            "--no-probes",
            "--netns",
            ns,
            "--format",
            "html",
            "-o",
            str(page),
            "--graph",
            str(svg),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode in (0, 1, 2), proc.stderr
    root = ET.fromstring(svg.read_bytes())  # well-formed: no name broke out of its text
    drawn = " ".join(root.itertext())
    dom = Dom(dump_dom(page))
    for name in names:
        assert name in drawn, name
        assert name in " ".join(dom.svg_text), name
    assert "b" not in dom.tags and "i" not in dom.tags  # `q"<b>é` and `<i>'z` opened no element


@pytest.fixture
def bridge_with_a_drop() -> Iterator[dict[str, str]]:
    """A -- S:pa [br0] S:pb -- B, and S's bridge firewall drops what it would forward out of pb."""
    if subprocess.run(["which", "nft"], capture_output=True, check=False).returncode != 0:
        pytest.skip("needs nft")
    try:
        with Lab("trace-pic") as lab:
            a, s, b = (lab.netns(r) for r in ("a", "s", "b"))
            br = s.bridge("br0")
            lab.veth(s, "pa", a, "eth0", master=br, peer_addr="10.64.0.2/24")
            lab.veth(s, "pb", b, "eth0", master=br, peer_addr="10.64.0.3/24")
            b.run(["ping", "-c", "1", "-W", "2", "10.64.0.2"])  # neighbours known before the drop
            s.nft(
                'table bridge nsl {\n chain drops {\n  type filter hook forward priority 0;\n  oifname "pb" ip protocol icmp drop\n }\n}\n'
            )
            yield {"a": a.name, "s": s.name, "b": b.name}
    except LabUnavailable as exc:
        pytest.skip(str(exc))


def test_a_trace_html_draws_the_path_and_marks_where_the_probe_is_lost(
    bridge_with_a_drop: dict[str, str], tmp_path: Path
) -> None:
    page = tmp_path / "trace.html"
    proc = subprocess.run(
        [
            *NETSLEUTH,
            "trace",
            "10.64.0.3",
            "--from-netns",
            bridge_with_a_drop["a"],
            "--format",
            "html",
            "-o",
            str(page),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode in (1, 2), proc.stdout + proc.stderr
    dom = Dom(dump_dom(page))
    drawn = " ".join(dom.svg_text)
    assert "path.loss_localized" in " ".join(dom.texts())
    assert "trace 1: request ✓" in drawn and "request lost here" in drawn
    assert "pa" in drawn and "pb" in drawn and "Linux bridge" in drawn
    shot = screenshot(page, tmp_path / "trace.png")
    assert pixels_of(shot, LOST_COLOUR) > 30
