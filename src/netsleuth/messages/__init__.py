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


@cache
def catalogue(lang: str) -> dict[str, dict[str, str]]:
    """Every messages/<lang>/*.toml merged (one file per rule family); a key defined twice is an error."""
    merged: dict[str, dict[str, str]] = {}
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
                return entry[field].format_map(_Safe(params)).strip()
    return ""


def ui(lang: str, key: str, **params: Any) -> str:
    """A user-interface string (headings, labels)."""
    return message(lang, "ui", key, params) or key
