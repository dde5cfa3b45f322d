"""Chinese reports carry no English wording composed in code.

Every rule's findings, produced from the real fixtures by the rule tests' own builders, are
rendered in Chinese; a run of two or more English words in a title, summary, explanation or note
is a fault unless it is written in the Chinese catalogue itself (a quoted log line, a term), or is
quoted evidence, a command, or a name. An English sentence passed as a param (instead of a
`Msg`) fails here."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any
from unittest.mock import patch

import pytest

from netsleuth import analysis
from netsleuth.messages import Msg, catalogue
from netsleuth.rules.base import Finding, all_rules
from tests.unit import (
    test_capture_pcap,
    test_rules_core,
    test_rules_dhcp,
    test_rules_dns,
    test_rules_fleet,
    test_rules_l2,
    test_rules_nic,
    test_rules_ovs,
    test_rules_pcap_l2,
    test_rules_platform,
    test_rules_vlan_passive,
)

BUILDERS: tuple[ModuleType, ...] = (
    test_capture_pcap,
    test_rules_core,
    test_rules_dhcp,
    test_rules_dns,
    test_rules_fleet,
    test_rules_l2,
    test_rules_nic,
    test_rules_ovs,
    test_rules_pcap_l2,
    test_rules_platform,
    test_rules_vlan_passive,
)
FIELDS = ("title", "summary", "why", "notes")
# lower-case words that are standard terms or names of things, not wording
TERMS = {"agent", "bond", "echo", "open", "vswitch", "ring", "veth", "vxlan", "datapath", "netns"}
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")
_PUNCT = "()[]{}'\"`,.;:!?"


def english_runs(text: str) -> Iterator[str]:
    """Runs of 2+ English words, as written (identifiers, numbers and upper-case terms break a run).

    >>> list(english_runs("eth0（port of br0）已启用，NO-CARRIER：请检查 the cable / switch port"))
    ['port of', 'the cable / switch port']
    >>> list(english_runs("bond bond2：成员 eth1 was full, not now"))
    ['was full, not now']
    """
    for chunk in _CJK.split(text):
        run: list[re.Match[str]] = []
        for m in [*re.finditer(r"\S+", chunk), None]:
            if m is not None and m.group() == "/":
                continue  # "a / b" reads as one phrase
            core = m.group().strip(_PUNCT) if m is not None else ""
            if re.fullmatch(r"[A-Za-z]{2,}", core) and not core.isupper() and core.lower() not in TERMS:
                run.append(m)  # type: ignore[arg-type]
                continue
            if len(run) >= 2:
                yield chunk[run[0].start() : run[-1].end()].strip(_PUNCT)
            run = []


def _produced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Finding]]:
    got: dict[str, list[Finding]] = {}
    render = analysis.render_finding

    def keep(f: Finding, lang: str) -> Any:
        got.setdefault(f.id, []).append(f)
        return render(f, lang)

    with patch.object(analysis, "render_finding", keep):
        for module in BUILDERS:
            for name, fn in sorted(vars(module).items()):
                if not name.startswith("test_") or not inspect.isfunction(fn):
                    continue
                params = set(inspect.signature(fn).parameters)
                if params - {"tmp_path"} or hasattr(fn, "pytestmark"):
                    continue
                fn(**({"tmp_path": tmp_path_factory.mktemp(name)} if params else {}))
    return got


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Finding]]:
    return _produced(tmp_path_factory)


def _leaks(f: Finding) -> list[str]:
    out = analysis.render_finding(f, "zh")
    written = " ".join(str(v) for v in catalogue("zh").get(f.id, {}).values())
    commands = [
        x if isinstance(x, str) else x.command for x in [*f.now, *f.persist] if not isinstance(x, Msg)
    ]
    quoted = [s.excerpt for s in f.seen] + [s.source for s in f.seen] + commands + [f.subject]
    texts = [out.title, out.summary, out.why, out.remedy.notes]
    # a remedy's comments and instructions are words: a command's comment is a Cmd, never `  # ...` in code
    texts += [line.split("   # ", 1)[-1] for line in [*out.remedy.now, *out.remedy.persist]]
    composed = [c for c in commands if re.search(r"\s#\s", c)]
    return [f"{f.id}: a comment written in code: {c!r}" for c in composed] + [
        f"{f.id}: {run!r} in {text!r}"
        for text in texts
        for run in english_runs(_CODE_SPAN.sub(" ", text))
        if run not in written and not any(run in q for q in quoted)
    ]


def test_every_rule_has_a_finding_rendered_in_chinese(produced: dict[str, list[Finding]]) -> None:
    missing = sorted({r.id for r in all_rules()} - set(produced))
    assert not missing, f"no unit test produces a finding of {missing}: add one so its Chinese is checked"


@pytest.mark.parametrize("rule_id", sorted({r.id for r in all_rules()}))
def test_chinese_rendering_has_no_composed_english(rule_id: str, produced: dict[str, list[Finding]]) -> None:
    leaks = [leak for f in produced.get(rule_id, []) for leak in _leaks(f)]
    assert not leaks, "\n".join(leaks)


def test_the_check_catches_an_english_sentence_passed_as_a_param(produced: dict[str, list[Finding]]) -> None:
    f = produced["conntrack.table_full"][0]
    bad = Finding(f.severity, subject=f.subject, params={**f.params, "state": "was full recently"}, id=f.id)
    assert _leaks(bad) and "was full recently" in _leaks(bad)[0]
    assert not _leaks(f)


# --- the whole rendered report ---------------------------------------------------------------------
#
# Every report the rule tests build is analysed again in Chinese and rendered as text, Markdown and
# HTML (with its picture). What is left once the quoted material is taken out must be Chinese, or
# written in the Chinese catalogue itself. Quoted material: evidence excerpts and their sources,
# the commands of a remedy (not their comments), `code` spans, names (subjects, namespaces, the
# host), ids; and what a command or the program itself said, kept as it was written: a command's
# own stderr (an evidence error netsleuth did not compose), and the reason of a check in error (a
# rule's crash). Everything else — headings, labels, counts, verdicts, notes, the reasons of
# skipped checks, the errors of evidence that is not ok, remedy comments and instructions, the
# picture's words and legend — is the report's language.


def _stderr(bundle: Any) -> list[str]:
    """What commands said themselves: the errors of the bundle's evidence netsleuth did not word."""
    return [ev.error for ev in bundle.items if ev.error and ev.why is None]


def _bundles(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Any, set[str] | None]]:
    got: list[tuple[Any, set[str] | None]] = []
    real = analysis.analyse_facts

    def keep(bundle: Any, lang: str = "en", only: set[str] | None = None, **kw: Any) -> Any:
        got.append((bundle, only))
        return real(bundle, lang, only, **kw)

    with patch.object(analysis, "analyse_facts", keep):
        _produced(tmp_path_factory)
    return got


@pytest.fixture(scope="module")
def zh_reports(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Any, Any, list[str]]]:
    from netsleuth.report.picture import report_picture

    out = []
    for bundle, only in _bundles(tmp_path_factory):
        report, facts = analysis.analyse_facts(bundle, "zh", only)
        out.append((report, report_picture(facts, report, layout=False), _stderr(bundle)))
    return out


_CODE_SPAN = re.compile(r"`[^`\n]*`")
# named exemption: the exception text a parser raised, quoted in "could not parse the evidence (…)"
# and "could not be built from the evidence (…)" (the parser's own diagnostic, like a stderr)
_EXCEPTION = re.compile(r"(?<=无法解析证据（)[^）]*|(?<=无法从证据构建（)[^）]*")


def _quoted(report: Any) -> list[str]:
    q = [report.host.hostname, report.host.kernel, report.host.source, report.started_at, *report.namespaces]
    for f in report.findings:
        q += [f.id, f.subject, f.netns, f.seed, *f.references]
        q += [e.excerpt for e in f.evidence] + [line for e in f.evidence for line in e.excerpt.splitlines()]
        q += [e.source for e in f.evidence]
        remedy = [*f.remedy.now, *f.remedy.persist]
        q += [line.split("   # ")[0] for line in remedy if "   # " in line]
        q += [line for line in remedy if not _CJK.search(line)]  # a command (words are a Msg: translated)
    for c in report.checks:
        q += [c.id, c.netns] + ([c.reason] if c.status == "error" else [])
    for e in report.evidence:
        q += [e.name, e.key, e.netns, e.source, f"{e.name}[{e.key}]"]
    q += [piece for s in q for piece in _CODE_SPAN.split(s)]  # as HTML shows it: `code` apart
    return sorted({s.strip() for s in q if s.strip()}, key=len, reverse=True)


def _html_text(page: str) -> str:
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.skip = 0
            self.parts: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("style", "code", "pre"):
                self.skip += 1
            self.parts.append("\n")

        def handle_endtag(self, tag: str) -> None:
            if tag in ("style", "code", "pre"):
                self.skip -= 1
            self.parts.append("\n")

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.parts.append(data)

    t = Text()
    t.feed(page)
    return "".join(t.parts)


def _whole_report_leaks(report: Any, pic: Any, stderr: list[str] = []) -> list[str]:  # noqa: B006
    from netsleuth.report.render import render

    written = " ".join(str(v) for entry in catalogue("zh").values() for v in entry.values())
    quoted = sorted({*_quoted(report), *pic.view.quoted, *stderr}, key=len, reverse=True)
    leaks: list[str] = []
    for fmt in ("text", "markdown", "html"):
        page = render(report, fmt, picture=pic)
        body = _html_text(page) if fmt == "html" else page
        for q in quoted:
            body = body.replace(q, "\n")
        body = _CODE_SPAN.sub("\n", body)
        body = _EXCEPTION.sub("\n", body)
        for line in body.splitlines():
            leaks += [
                f"{fmt}: {run!r} in {line.strip()!r}"
                for run in english_runs(line)
                if run not in written and not any(run in q for q in quoted)
            ]
    return sorted(set(leaks))


def test_the_whole_chinese_report_has_no_english_chrome(zh_reports: list[tuple[Any, Any, list[str]]]) -> None:
    assert len(zh_reports) > 100  # every rule test's bundle
    leaks = sorted(
        {leak for report, pic, err in zh_reports for leak in _whole_report_leaks(report, pic, err)}
    )
    assert not leaks, "\n".join(leaks[:60])


def test_the_whole_report_check_catches_english_chrome(zh_reports: list[tuple[Any, Any, list[str]]]) -> None:
    report, pic, err = next((r, p, e) for r, p, e in zh_reports if r.findings)
    assert not _whole_report_leaks(report, pic, err)
    bad = report.model_copy(update={"notes": [*report.notes, "checks skipped for want of evidence"]})
    assert any("checks skipped for want of evidence" in leak for leak in _whole_report_leaks(bad, pic))


def test_the_check_catches_a_remedy_comment_written_in_code(produced: dict[str, list[Finding]]) -> None:
    f = produced["mtu.mismatch"][0]
    assert not _leaks(f)
    bad = Finding(
        f.severity,
        subject=f.subject,
        params=f.params,
        now=["ip link set dev x mtu 1400   # or lower y"],
        id=f.id,
    )
    assert any("a comment written in code" in leak for leak in _leaks(bad))


def test_the_whole_report_check_catches_an_english_reason(
    zh_reports: list[tuple[Any, Any, list[str]]],
) -> None:
    report, pic, err = next(
        (r, p, e) for r, p, e in zh_reports if any(c.status == "skipped" for c in r.checks)
    )
    assert not _whole_report_leaks(report, pic, err)
    checks = [
        c.model_copy(update={"reason": "not in this sosreport (looked for `ip -d address`)"})
        if c.status == "skipped"
        else c
        for c in report.checks
    ]
    bad = report.model_copy(update={"checks": checks})
    assert any("not in this sosreport" in leak for leak in _whole_report_leaks(bad, pic, err))
