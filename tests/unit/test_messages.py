"""Every rule speaks both languages: title, summary and explanation in English and Chinese."""

from __future__ import annotations

import re
import string

import pytest

from netsleuth.messages import catalogue
from netsleuth.rules.base import all_rules

CJK = re.compile(r"[\u4e00-\u9fff]")
RULES = [r.id for r in all_rules()]


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("rule_id", RULES)
def test_rule_has_english_and_chinese_text(rule_id: str) -> None:
    en, zh = catalogue("en").get(rule_id, {}), catalogue("zh").get(rule_id, {})
    for field in ("title", "summary", "why"):
        assert en.get(field), f"{rule_id}: no English {field}"
        assert zh.get(field) and CJK.search(zh[field]), f"{rule_id}: no Chinese {field}"
        # a placeholder only the Chinese text uses would print as {name}
        extra = _fields(zh[field]) - _fields(en[field])
        assert extra <= {"subject", "netns"}, f"{rule_id}.{field}: {extra}"


# message files that hold the report's own words rather than a rules module's findings
NOT_RULES = {
    "chrome": "the renderers' headings, labels and counts",
    "picture": "the topology picture (report/picture.py)",
    "common": "wording many rules share through Msg params",
    "notes": "the report's notes: probe summaries and verdicts, what a source could not give",
    "reasons": "why a check was skipped and why evidence is not ok (facts/, rules/, evidence/)",
    "triage": "the triage guide (report/triage.py)",
    "measured": "what a capture measured and a trace point by point (report/measured.py)",
    "fleet_report": "the fleet report's headings and labels (report/fleet_render.py)",
    "watch": "watch's events and the monitoring outputs (watch/, report/monitor.py)",
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_each_message_file_is_named_after_the_rules_module_it_serves(lang: str) -> None:
    import tomllib
    from importlib import resources

    by_module: dict[str, set[str]] = {}
    for r in all_rules():
        by_module.setdefault(r.fn.__module__.rsplit(".", 1)[-1], set()).add(r.id)
    folder = resources.files("netsleuth.messages").joinpath(lang)
    files = {e.name.removesuffix(".toml"): e for e in folder.iterdir() if e.name.endswith(".toml")}
    for stem, entry in files.items():
        keys = set(tomllib.loads(entry.read_text(encoding="utf-8")))
        if stem in NOT_RULES:
            assert not keys & set(RULES), f"messages/{lang}/{stem}.toml holds rule messages"
        else:
            assert keys == by_module.get(stem), (
                f"messages/{lang}/{stem}.toml: not the rules of rules/{stem}.py"
            )
    assert set(by_module) <= set(files), f"rules modules without a messages/{lang} file"


def test_every_reason_is_worded_in_both_languages_with_the_same_params() -> None:
    en, zh = catalogue("en")["reasons"], catalogue("zh")["reasons"]
    assert set(en) == set(zh)
    for key, text in en.items():
        assert isinstance(text, str) and isinstance(zh[key], str)
        assert _fields(zh[key]) == _fields(text), key
        words = re.sub(r"\{\w+\}", "", zh[key])
        assert CJK.search(words) or not re.search(r"[a-z]{2}", words), f"reasons.{key}: no Chinese"
