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
