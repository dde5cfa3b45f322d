"""Every word in the report's language: the language chosen as GNU gettext chooses it, plural
forms, notes kept as wording in bundles, probe summaries and verdicts, remedy comments, the kernel
drop note of a trace."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from netsleuth.capture.evidence import trace_evidence
from netsleuth.evidence.bundle import write_bundle
from netsleuth.evidence.model import Status
from netsleuth.evidence.source import open_source
from netsleuth.messages import Msg, default_lang, message, render_note
from netsleuth.report.render import render
from netsleuth.results.capture import Sighting, TracePoint, TraceResult
from netsleuth.results.notes import latency_verdict, probe_notes
from netsleuth.results.probes import LatencyProbe, SelfHealth
from tests.helpers import bundle, cli, ev, findings, fixture, run

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    ("env", "lang"),
    [
        ({"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}, "zh"),  # LANGUAGE first
        ({"LANGUAGE": "de:zh", "LC_ALL": "en_GB.UTF-8"}, "zh"),  # its first language we speak
        ({"LANGUAGE": "zh_CN", "LC_ALL": "C"}, "en"),  # the C locale: gettext ignores LANGUAGE
        ({"LANGUAGE": "zh_CN", "LANG": "C.UTF-8"}, "en"),
        ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),  # LC_ALL over LANG
        ({"LC_MESSAGES": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_MESSAGES over LANG
        ({"LANG": "zh_TW.UTF-8"}, "zh"),
        ({}, "en"),
    ],
)
def test_the_language_is_chosen_as_gettext_chooses_it(env: dict[str, str], lang: str) -> None:
    assert default_lang(env) == lang


def test_the_cli_speaks_the_language_of_language(tmp_path: Path) -> None:
    src = tmp_path / "b.tar.gz"
    write_bundle(bundle(ev("ip.link", fixture("core/ns_host_fault.ip_link.json"))), src)
    unset = {"LC_ALL": None, "LC_MESSAGES": None}
    zh = cli(
        "diagnose",
        str(src),
        "--format",
        "markdown",
        env={**unset, "LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"},
    )
    assert "# netsleuth 诊断报告" in zh.stdout and "## 检查项" in zh.stdout
    en = cli("diagnose", str(src), "--format", "markdown", env={**unset, "LANGUAGE": "zh_CN", "LANG": "C"})
    assert "# netsleuth report" in en.stdout


def test_english_counts_take_the_plural_and_chinese_has_none() -> None:
    assert message("en", "ui", "checks_skipped", {"n": 1}).startswith("1 check skipped")
    assert message("en", "ui", "checks_skipped", {"n": 3}).startswith("3 checks skipped")
    assert message("en", "ui", "n_pieces", {"n": 1}) == "1 piece of evidence"
    assert message("zh", "ui", "n_pieces", {"n": 1}) == "1 份证据"


def test_the_text_report_counts_in_words_of_its_language() -> None:
    b = bundle(ev("ip.link", fixture("core/ns_host_fault.ip_link.json")))
    en = render(run(b), "text")
    assert re.search(r"\d+ checks, 1 piece of evidence, analysed in", en)
    assert re.search(r"\d+ checks skipped for want of evidence", en)
    zh = render(run(b, lang="zh"), "text")
    assert "命名空间：host" in zh and "1 份证据" in zh and "因缺少证据而跳过" in zh
    assert "namespaces:" not in zh and "evidence not ok" not in zh and "checks skipped" not in zh


def test_notes_are_kept_as_wording_in_a_bundle_and_read_in_the_report_language(tmp_path: Path) -> None:
    b = bundle(ev("ip.link", status=Status.MISSING, error="ip: not found"))
    b.notes += [
        Msg("sos_no_manifest"),
        Msg("in_netns", {"netns": "ns1", "note": Msg("probes_need_root")}),
        "plain",
    ]
    write_bundle(b, tmp_path / "b.tar.gz")
    with open_source(tmp_path / "b.tar.gz", None, False) as back:
        assert back.notes == b.notes
        zh = run(back, lang="zh").notes
    assert (
        zh[0].startswith("没有可用的 sos_reports/manifest.json")
        and zh[1].startswith("[ns1] 探测：")
        and zh[2] == "plain"
    )
    assert render_note("en", back.notes[1]) == (
        "[ns1] probes: ARP duplicate-address detection and VXLAN checks skipped — they need root"
    )


def _latency(ok: int, errors: dict[str, int], steal: float = 0.0) -> LatencyProbe:
    return LatencyProbe("10.0.0.9:443", "tcp", 5, ok, errors, 1.0, 2.0, 3.0, 4.0, SelfHealth(steal, 5.0, 0.0))


def test_probe_summaries_and_latency_verdicts_are_worded_in_the_report_language() -> None:
    for r in (
        _latency(5, {}),
        _latency(0, {"refused": 5}),
        _latency(2, {"timeout": 3}),
        _latency(5, {}, 40.0),
    ):
        en, zh = probe_notes("en", r), probe_notes("zh", r)
        assert len(en) == len(zh) == 2 and en[1].startswith("verdict: ")
        assert zh[1].startswith("结论：") and CJK.search(zh[0])
    assert "look at the application" in latency_verdict("en", _latency(5, {}))
    assert "应用问题" in latency_verdict("zh", _latency(0, {"refused": 5}))
    assert "网络问题" in latency_verdict("zh", _latency(2, {"timeout": 3}))
    assert "换一台机器" in latency_verdict("zh", _latency(5, {}, 40.0))


def test_a_probe_evidence_becomes_a_note_in_the_language_of_the_report() -> None:
    from netsleuth.probes.run import evidence

    item = evidence("tcp", _latency(2, {"timeout": 3}), "netsleuth probe tcp")
    b = bundle(ev(item.name, item.text, key=item.key, source=item.source))
    assert run(b, lang="zh").notes[0].startswith("tcp 探测 10.0.0.9:443：2/5 次成功")
    assert run(b).notes == [
        "probe tcp 10.0.0.9:443: 2/5 ok, loss 60.0%, p50 1.0 ms, p90 2.0 ms, p99 3.0 ms, max 4.0 ms; "
        "errors: timeout 3; own health: steal 0.0%, worst wake-up delay 5.0 ms, clock drift 0.0 s",
        "verdict: attempts time out or reset: a network problem (or an overloaded peer) — check the path in both "
        "directions",
    ]


def test_remedy_comments_are_in_the_report_language() -> None:
    b = bundle(ev("ip.link", fixture("core/ns_host_fault.ip_link.json")))
    (en,) = findings(run(b, {"mtu.mismatch"}), "mtu.mismatch")
    (zh,) = findings(run(b, {"mtu.mismatch"}, lang="zh"), "mtu.mismatch")
    assert en.remedy.now[0].endswith("   # or lower vethc to 1350")
    assert zh.remedy.now[0].endswith("   # 或者把 vethc 降到 1350")
    assert en.remedy.now[0].split("   # ")[0] == zh.remedy.now[0].split("   # ")[0]  # the command itself


def test_the_kernel_drop_note_of_a_trace_is_in_the_report_language() -> None:
    pts = [TracePoint("A", "eth0", "sender", Sighting(True, 1.0, 1), Sighting(False))]
    note = Msg("drops_need_root")
    t = TraceResult(
        "10.2.0.2",
        "A",
        "icmp",
        "1",
        pts,
        False,
        drops_note="kernel drop reasons need root (tracefs)",
        drops_why=note,
    )
    assert TraceResult.from_json(json.loads(json.dumps(t.to_json()))) == t
    e = trace_evidence(t)
    b = bundle(ev(e.name, e.text, key=e.key, source=e.source))
    (zh,) = findings(run(b, {"path.loss_localized"}, lang="zh"), "path.loss_localized")
    assert "读取内核丢包原因需要 root 权限" in zh.summary
    (en,) = findings(run(b, {"path.loss_localized"}), "path.loss_localized")
    assert "kernel drop reasons need root (tracefs)" in en.summary
