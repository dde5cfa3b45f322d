"""`netsleuth rules list|show`: the knowledge base, for people and for scripts."""

from __future__ import annotations

import json
from typing import Any

import click

from netsleuth import completion
from netsleuth.messages import LANGS, default_lang, ui, ui_or
from netsleuth.report.drawing import width as columns

DOC_LANG = "en"  # the language of a rule's docstring (its description)


def pad(text: str, width: int) -> str:
    """`text` padded to `width` terminal columns (a CJK character takes two).

    >>> pad("id", 6) + "|", pad("编号", 6) + "|"
    ('id    |', '编号  |')
    """
    return text + " " * max(0, width - columns(text))


def worded(lang: str, key: str, value: Any) -> str:
    """A field's value as the text output prints it: a severity or scope in `lang`, a list joined.

    >>> worded("zh", "severity", "critical"), worded("zh", "scope", "netns"), worded("en", "needs", ["A", "B"])
    ('严重', '网络命名空间', 'A, B')
    """
    if key in ("severity", "scope"):
        return ui_or(lang, f"rules_{'sev' if key == 'severity' else key}_{value}", str(value))
    return ", ".join(value) if isinstance(value, list) else str(value)


def description(info: dict[str, Any], lang: str) -> str:
    """What a rule is about in `lang`: its docstring in English, its catalogue title otherwise."""
    return str(info["description"] if lang == DOC_LANG else info["title"] or info["description"])


@click.group("rules")
def command() -> None:
    """The knowledge base: one rule per fault id."""


@command.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--lang", type=click.Choice(LANGS), default=None, help="en or zh (default: from the locale)")
def rules_list(fmt: str, lang: str | None) -> None:
    """List every rule: id, severity, seed case and title."""
    from netsleuth.commands.rulesdoc import rule_info
    from netsleuth.rules.index import entries

    lang = lang or default_lang()
    rows = [rule_info(r, lang) for r in entries()]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        seed = pad(ui(lang, "rules_seed_n", seed=row["seed"]), 13)
        sev = worded(lang, "severity", row["severity"])
        click.echo(f"{pad(row['id'], 28)} {pad(sev, 8)} {seed} {description(row, lang)}")


@command.command("show")
@click.argument("rule_id", shell_complete=completion.rule_ids)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--lang", type=click.Choice(LANGS), default=None, help="en or zh (default: from the locale)")
def rules_show(rule_id: str, fmt: str, lang: str | None) -> None:
    """Show one rule: what it needs, what it says, where it comes from."""
    from netsleuth.commands.rulesdoc import rule_info
    from netsleuth.rules.index import entries

    lang = lang or default_lang()
    rules = {r.id: r for r in entries()}
    found = rules.get(rule_id)
    if found is None:
        close = [r for r in rules if rule_id.split(".")[0] in r]
        hint = f"; ids of that family: {', '.join(close)}" if close else ""
        raise click.UsageError(f"unknown rule id {rule_id!r} (see `netsleuth rules list`){hint}")
    info = rule_info(found, lang)
    if fmt == "json":
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    if lang != DOC_LANG:
        del info["description"]  # the docstring is English; the title says it in `lang`
    for k, v in info.items():
        if v:
            click.echo(f"{pad(ui(lang, 'rules_' + k), 12)} {worded(lang, k, v)}")
