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
from netsleuth.messages import catalogue
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
    quoted = [s.excerpt for s in f.seen] + [s.source for s in f.seen] + f.now + [f.subject]
    texts = [out.title, out.summary, out.why, out.remedy.notes]
    return [
        f"{f.id}: {run!r} in {text!r}"
        for text in texts
        for run in english_runs(text)
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
