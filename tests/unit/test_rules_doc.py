"""docs/rules.md is generated from the code: regenerate and compare."""

from __future__ import annotations

from pathlib import Path

from netsleuth.commands.rulesdoc import render_index, render_rules_doc
from netsleuth.messages import catalogue
from netsleuth.rules.base import all_rules

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
INDEX = Path(__file__).resolve().parents[2] / "src" / "netsleuth" / "rules" / "index.json"


def test_rules_doc_is_in_step_with_the_code() -> None:
    assert DOC.is_file(), "docs/rules.md missing: run scripts/gen-rules-doc.py"
    assert DOC.read_text(encoding="utf-8") == render_rules_doc(), (
        "docs/rules.md is out of date: run `.venv/bin/python scripts/gen-rules-doc.py`"
    )


def test_the_rule_index_is_in_step_with_the_registry() -> None:
    # `rules list|show` and completion read the index instead of importing every rule
    assert INDEX.is_file(), "src/netsleuth/rules/index.json missing: run scripts/gen-rules-doc.py"
    assert INDEX.read_text(encoding="utf-8") == render_index(), (
        "src/netsleuth/rules/index.json is out of date: run `.venv/bin/python scripts/gen-rules-doc.py`"
    )


def test_every_rule_is_documented_with_english_and_chinese_text() -> None:
    text = render_rules_doc()
    for r in all_rules():
        assert f"\n## {r.id}\n" in text
    platform = [
        r.id
        for r in all_rules()
        if r.id.split(".")[0] in ("neutron", "firewall", "kernel", "host", "container")
        or r.id == "conntrack.timeouts_long"
    ]
    assert len(platform) == 9
    for rid in platform:
        for lang in ("en", "zh"):
            assert catalogue(lang)[rid]["title"] and catalogue(lang)[rid]["why"], (rid, lang)
