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


def _lang_of(name: str) -> str | None:
    """The catalogue language of a locale name (zh_CN.UTF-8 -> zh, en_GB -> en), None if none."""
    head = name.strip().lower().split(".")[0].split("@")[0].replace("-", "_").split("_")[0]
    return head if head in LANGS else None


def default_lang(env: dict[str, str] | None = None) -> str:
    """The language of the messages, as GNU gettext chooses it: the locale of messages is the first
    of LC_ALL, LC_MESSAGES, LANG that is set; unless that locale is C/POSIX, LANGUAGE (a colon-
    separated list of preferences, e.g. `zh_CN:en`) comes first and its first language netsleuth
    speaks wins; else the locale's language; English when nothing matches.

    >>> default_lang({"LANGUAGE": "fr:zh_CN:en", "LANG": "en_US.UTF-8"})
    'zh'
    >>> default_lang({"LANGUAGE": "zh_CN", "LC_ALL": "C"})    # gettext ignores LANGUAGE under C
    'en'
    >>> default_lang({"LC_MESSAGES": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"})
    'zh'
    >>> default_lang({"LANGUAGE": "fr", "LANG": "zh_CN.UTF-8"})  # no French: untranslated English
    'en'
    """
    environ = os.environ if env is None else env
    current = next((environ[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG") if environ.get(v)), "")
    if env is None and not current:
        current = locale.getlocale()[0] or ""
    is_c = current in ("", "C", "POSIX") or current.startswith(("C.", "POSIX."))
    prefs = environ.get("LANGUAGE", "")
    if prefs and not is_c:
        return next((lg for lg in map(_lang_of, prefs.split(":")) if lg), "en")
    return _lang_of(current) or "en"


@dataclass(frozen=True)
class Msg:
    """A piece of wording taken from the rule's message entry (key `key`), filled with `params`
    and rendered in the report's language: for params that are sentences, not values."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """{"msg": key, "params": {...}}: how a note is kept in a bundle (nested Msg params too)."""
        return {"msg": self.key, "params": {k: _jsonable(v) for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Msg:
        return cls(str(d["msg"]), {k: _revive(v) for k, v in dict(d.get("params") or {}).items()})


def _jsonable(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v.to_json() if isinstance(v, Msg) else v


def _revive(v: Any) -> Any:
    if isinstance(v, list):
        return [_revive(x) for x in v]
    return Msg.from_json(v) if isinstance(v, dict) and "msg" in v else v


Note = str | Msg  # a note of a bundle: plain text (from before wording was kept apart), or wording


def note_json(note: Note) -> Any:
    """A bundle note as JSON: a string stays a string.

    >>> note_json(Msg("in_netns", {"netns": "ns1", "note": Msg("probes_need_root")}))
    {'msg': 'in_netns', 'params': {'netns': 'ns1', 'note': {'msg': 'probes_need_root', 'params': {}}}}
    >>> note_of(note_json(Msg("peer_not_ip", {"peer": "x"}))) == Msg("peer_not_ip", {"peer": "x"})
    True
    """
    return note.to_json() if isinstance(note, Msg) else note


def note_of(value: Any) -> Note:
    """A bundle note read back from JSON."""
    return Msg.from_json(value) if isinstance(value, dict) and "msg" in value else str(value)


def render_note(lang: str, note: Note) -> str:
    """A note in `lang`: its wording from the catalogue's `notes` entry (nested Msg params first)."""
    if isinstance(note, str):
        return note
    params = {k: render_note(lang, v) if isinstance(v, Msg) else v for k, v in note.params.items()}
    return message(lang, "notes", note.key, params)


Reason = str | Msg  # why a check was skipped or evidence is not ok: plain text (a command's own
# stderr, a bundle from before), or wording of the catalogue's `reasons` entry


def reasons_of(*given: Reason | list[Reason]) -> list[Reason]:
    """Several reasons (each one, or a list of them) as one flat list."""
    return [r for g in given for r in (g if isinstance(g, list) else [g])]


def render_reason(lang: str, reason: Reason | list[Any] | tuple[Any, ...]) -> str:
    """A reason in `lang`: its wording from the `reasons` entry; a Msg param is a reason itself, a
    list param is reasons joined with the language's separator; plain text is shown as it is.

    >>> render_reason("en", Msg("not_collected", {"name": "ip.addr"}))
    'ip.addr: not collected'
    >>> render_reason("zh", [Msg("not_collected", {"name": "a"}), "b: exit 1"])
    'a：未收集；b: exit 1'
    """
    if isinstance(reason, list | tuple):
        return fragment(lang, "reasons", "list_sep", {}).join(render_reason(lang, r) for r in reason)
    if isinstance(reason, str):
        return reason
    params = {
        k: render_reason(lang, v) if isinstance(v, Msg | list | tuple) else v
        for k, v in reason.params.items()
    }
    return message(lang, "reasons", reason.key, params)


class _Safe(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def message(lang: str, rule_id: str, field: str, params: dict[str, Any]) -> str:
    """The text `field` (title, summary, why, or a Msg key) for a rule, in `lang` (falling back to
    English); wording shared by many rules (ages, rates) lives in the `common` entry."""
    return fragment(lang, rule_id, field, params).strip()


def fragment(lang: str, rule_id: str, field: str, params: dict[str, Any]) -> str:
    """`message`, its spaces kept: a piece of a sentence (" vlan 10") to fill into another."""
    for lg in (lang, "en"):
        for entry in (catalogue(lg).get(rule_id, {}), catalogue(lg).get("common", {})):
            if field in entry:
                text = entry[field]
                if isinstance(text, dict):  # plural forms, chosen by the param n
                    text = text.get(plural_form(lg, params.get("n")), text.get("other", ""))
                return text.format_map(_Safe(params))
    return ""


def ui(lang: str, key: str, **params: Any) -> str:
    """A user-interface string (headings, labels)."""
    return message(lang, "ui", key, params) or key


def ui_or(lang: str, key: str, fallback: str) -> str:
    """The user-interface string `key`, or `fallback` (a raw value shown as is) when it has none."""
    return message(lang, "ui", key, {}) or fallback
