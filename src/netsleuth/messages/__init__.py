"""Message catalogues (en, zh): titles, summaries and explanations of findings, keyed by rule id."""

from __future__ import annotations

import locale
import os
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

LANGS = ("en", "zh")


# A text is a string, or a table of plural forms chosen by the param `n`: {one = "...", other = "..."}
Text = str | dict[str, str]


def plural_form(lang: str, n: Any) -> str:
    """The CLDR plural category of `n` in `lang`: English has one/other, Chinese only other.

    >>> [plural_form("en", n) for n in (0, 1, 2)], plural_form("zh", 1)
    (['other', 'one', 'other'], 'other')
    """
    if lang == "en" and isinstance(n, int) and not isinstance(n, bool) and n == 1:
        return "one"
    return "other"


@cache
def catalogue(lang: str) -> dict[str, dict[str, Text]]:
    """Every messages/<lang>/*.toml merged (one file per rule module, chrome and notes in their
    own); a key defined twice is an error."""
    merged: dict[str, dict[str, Text]] = {}
    folder = resources.files("netsleuth.messages").joinpath(lang)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        for key, value in tomllib.loads(entry.read_text(encoding="utf-8")).items():
            if key in merged and key != "ui":
                raise ValueError(f"messages/{lang}/{entry.name}: {key} is defined twice")
            merged.setdefault(key, {}).update(value)
    return merged


def default_lang() -> str:
    """From the locale: LANG=zh_CN.UTF-8 gives Chinese."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        val = os.environ.get(var, "")
        if val:
            return "zh" if val.lower().startswith("zh") else "en"
    loc = locale.getlocale()[0] or ""
    return "zh" if loc.lower().startswith("zh") else "en"


@dataclass(frozen=True)
class Msg:
    """A piece of wording taken from the rule's message entry (key `key`), filled with `params`
    and rendered in the report's language: for params that are sentences, not values."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


class _Safe(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def message(lang: str, rule_id: str, field: str, params: dict[str, Any]) -> str:
    """The text `field` (title, summary, why, or a Msg key) for a rule, in `lang` (falling back to
    English); wording shared by many rules (ages, rates) lives in the `common` entry."""
    for lg in (lang, "en"):
        for entry in (catalogue(lg).get(rule_id, {}), catalogue(lg).get("common", {})):
            if field in entry:
                text = entry[field]
                if isinstance(text, dict):  # plural forms, chosen by the param n
                    text = text.get(plural_form(lg, params.get("n")), text.get("other", ""))
                return text.format_map(_Safe(params)).strip()
    return ""


def ui(lang: str, key: str, **params: Any) -> str:
    """A user-interface string (headings, labels)."""
    return message(lang, "ui", key, params) or key
