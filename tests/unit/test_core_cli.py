"""The CLI contract: formats, exit statuses, one-line errors, no tracebacks. In process (the same
entry point as the installed command); one test runs the real program."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from netsleuth.evidence.bundle import write_bundle
from netsleuth.evidence.model import Status
from tests.helpers import bundle, cli, ev, fixture, sos_tree


@pytest.fixture(scope="module")
def critical_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    b = bundle(
        ev("ip.link", fixture("core/ns_host_fault.ip_link.json"), netns="nslfxh"),
        ev("ip.addr", fixture("core/ns_host_fault.ip_address.txt"), netns="nslfxh"),
        ev("ovs.vsctl_show", status=Status.MISSING, error="ovs-vsctl: not installed"),
        namespaces=["nslfxh"],
    )
    path = tmp_path_factory.mktemp("b") / "host.tar.gz"
    write_bundle(b, path)
    return path


def test_json_report_follows_schema_v1_and_exit_2_on_critical(critical_bundle: Path) -> None:
    p = cli("diagnose", str(critical_bundle), "--format", "json")
    assert p.returncode == 2, p.stderr
    r = json.loads(p.stdout)
    assert r["schema"] == "netsleuth.report/v1"
    assert set(r) >= {"schema", "tool", "host", "started_at", "duration_s", "findings", "checks", "evidence"}
    assert set(r["tool"]) >= {"name", "version"} and set(r["host"]) >= {"hostname", "kernel", "source"}
    f = r["findings"][0]
    assert set(f) >= {"id", "severity", "title", "summary", "evidence", "remedy", "references", "seed"}
    assert set(f["remedy"]) >= {"now", "persist", "notes"}
    assert all(set(e) >= {"source", "excerpt"} for e in f["evidence"])
    assert {c["status"] for c in r["checks"]} <= {"pass", "fail", "skipped", "error"}
    assert {e["status"] for e in r["evidence"]} <= {"ok", "timeout", "missing", "denied", "error"}
    assert all(isinstance(e["duration_s"], float | int) for e in r["evidence"])


def test_text_piped_has_no_colour_and_markdown_and_output_file(critical_bundle: Path, tmp_path: Path) -> None:
    p = cli("diagnose", str(critical_bundle))
    assert p.returncode == 2 and "\x1b[" not in p.stdout and "CRITICAL mtu.mismatch" in p.stdout
    out = tmp_path / "r.md"
    p = cli("diagnose", str(critical_bundle), "--format", "markdown", "-o", str(out))
    assert p.returncode == 2 and p.stdout == ""
    assert out.read_text().startswith("# netsleuth report") and "`mtu.mismatch`" in out.read_text()


def test_lang_zh_and_from_locale(critical_bundle: Path) -> None:
    p = cli("diagnose", str(critical_bundle), "--lang", "zh")
    assert "MTU 不一致" in p.stdout
    env = {"LANG": "zh_CN.UTF-8", "LC_ALL": None, "LC_MESSAGES": None}
    assert "MTU 不一致" in cli("diagnose", str(critical_bundle), env=env).stdout


@pytest.mark.parametrize(
    "args",
    [
        ["diagnose", "--format", "yaml"],
        ["diagnose", "--bogus"],
        ["nosuchcommand"],
        ["rules", "show", "no.such_rule"],
        ["diagnose", "--only", "no.such_rule", "/dev/null"],
    ],
)
def test_usage_errors_exit_64_in_one_line(args: list[str]) -> None:
    p = cli(*args)
    assert p.returncode == 64, (p.returncode, p.stderr)
    assert p.stderr.startswith("netsleuth: ") and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_the_installed_program_fails_in_one_line_without_a_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "customer.tar.xz"
    junk.write_bytes(b"\xfd7zXZ\x00\x00 truncated")
    p = subprocess.run(
        [sys.executable, "-m", "netsleuth.cli", "diagnose", str(junk)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert p.returncode == 3, p.stderr
    assert p.stderr.startswith("netsleuth: ") and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_namespace_the_source_does_not_have_exits_3_in_one_line(
    critical_bundle: Path, tmp_path: Path
) -> None:
    sos = sos_tree(tmp_path / "sos", {"sos_commands/networking/ip_netns": "qdhcp-1 (id: 0)\n"})
    for source in ([], [str(sos)], [str(critical_bundle)]):  # live, sosreport, bundle
        p = cli("diagnose", *source, "--netns", "nsl-does-not-exist-42", "--no-probes")
        assert p.returncode == 3, (source, p.returncode, p.stdout[-300:], p.stderr)
        assert p.stderr.startswith("netsleuth: ") and p.stderr.count("\n") == 1
        assert "nsl-does-not-exist-42" in p.stderr and "No fault" not in p.stdout


def test_bad_source_exits_3_in_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "customer.tar.xz"
    junk.write_bytes(b"\xfd7zXZ\x00\x00 truncated")
    for src in (junk, tmp_path / "missing.tar.gz", tmp_path):
        p = cli("diagnose", str(src))
        assert p.returncode == 3, (src, p.stderr)
        assert (
            p.stderr.startswith("netsleuth: ") and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
        )


def test_rules_list_and_show_json() -> None:
    rows = json.loads(cli("rules", "list", "--format", "json").stdout)
    assert {"conntrack.table_full", "ovs.vswitchd_unresponsive", "nic.no_carrier", "mtu.mismatch"} <= {
        r["id"] for r in rows
    }
    info = json.loads(cli("rules", "show", "mtu.mismatch", "--format", "json").stdout)
    assert info["id"] == "mtu.mismatch" and "Links" in info["needs"]


def test_rules_list_and_show_speak_the_report_language() -> None:
    """In zh, severities, scopes, the seed and the labels are Chinese, and the English docstring
    gives way to the catalogue's title; English keeps its words (and the docstring)."""
    out = cli("rules", "list", "--lang", "zh").stdout
    row = next(ln for ln in out.splitlines() if ln.startswith("dns.rotate_inconsistent "))
    assert row.split()[1:4] == ["警告", "案例", "003"] and row.endswith(
        "`options rotate` 让解析轮流落到结果不一致的服务器上"
    )
    assert not [w for w in (" critical ", " warning ", " info ", " seed ", "Two MAC addresses") if w in out]
    show = cli("rules", "show", "dns.rotate_inconsistent", "--lang", "zh").stdout
    labels = [ln.split()[0] for ln in show.splitlines()]
    assert labels == [
        "编号",
        "严重程度",
        "来源案例",
        "检查范围",
        "需要",
        "可选",
        "标题",
        "摘要",
        "原因",
        "说明",
    ]
    assert "严重程度     警告\n" in show and "检查范围     网络命名空间\n" in show
    assert "with servers that disagree" not in show  # the English docstring
    en = cli("rules", "show", "dns.rotate_inconsistent", "--lang", "en").stdout
    assert "severity     warning\n" in en and "description  `options rotate` with servers that disagree" in en


def test_live_passive_diagnosis_of_this_host_runs_and_reports_every_evidence() -> None:
    p = cli("diagnose", "--no-probes", "--format", "json", "--timeout", "2", "--interval", "0.2")
    assert p.returncode in (0, 1, 2), p.stderr
    r = json.loads(p.stdout)
    names = {e["name"] for e in r["evidence"]}
    assert {"ip.link", "ip.addr", "sysctl.net", "kernel.dmesg", "ps", "ovs.vsctl_show"} <= names
    link = next(e for e in r["evidence"] if e["name"] == "ip.link")
    assert link["status"] == "ok"


def test_html_report_is_one_escaped_page(critical_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    p = cli("diagnose", str(critical_bundle), "--format", "html", "-o", str(out))
    page = out.read_text()
    assert p.returncode == 2 and page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "<code>mtu.mismatch</code>" in page and "<script" not in page
    assert "&lt;NO-CARRIER" in page or "&lt;BROADCAST" in page  # excerpts are escaped, not markup


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["probe", "dhcp", "nslnoiface0"], 64),
        (["probe", "arp", "10.0.0.1", "--iface", "nslnoiface0"], 64),
        (["listen", "udp", "4789", "--token", "short"], 64),
        (["lab", "up", "no-such-scenario"], 64),
        (["triage", "no_such_symptom", "--no-probes"], 64),
    ],
)
def test_other_commands_bad_input_one_line_no_traceback(args: list[str], code: int) -> None:
    p = cli(*args)
    assert p.returncode == code, (p.returncode, p.stderr)
    assert p.stderr.startswith("netsleuth: ") and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_garbage_capture_file_exits_3(tmp_path: Path) -> None:
    junk = tmp_path / "x.pcap"
    junk.write_bytes(b"garbage, not a capture\n")
    p = cli("pcap", str(junk))
    assert p.returncode == 3 and p.stderr.count("\n") == 1 and "not a pcap" in p.stderr


def test_html_renders_the_markup_of_evidence_that_is_not_ok(tmp_path: Path) -> None:
    """`not in this sosreport (looked for `ip -6 route show table all`)`: code, not backticks."""
    from netsleuth.evidence.bundle import write_bundle
    from netsleuth.evidence.model import Status
    from tests.helpers import bundle, ev

    why = "not in this sosreport (looked for `ip -6 route show table all`) <&>"
    src, out = tmp_path / "b.tar.gz", tmp_path / "r.html"
    write_bundle(bundle(ev("ip.route6", status=Status.MISSING, error=why)), src)
    cli("diagnose", str(src), "--format", "html", "-o", str(out))
    page = out.read_text()
    section = page[page.index('<section id="evidence">') :]
    assert "(looked for <code>ip -6 route show table all</code>) &lt;&amp;&gt;" in section
    assert "`" not in section
