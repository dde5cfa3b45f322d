"""`netsleuth rules list|show`: the knowledge base, for people and for scripts."""

from __future__ import annotations

import json

import click

from netsleuth import completion
from netsleuth.messages import LANGS, default_lang


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
        click.echo(f"{row['id']:28} {row['severity']:8} seed {row['seed']:8} {row['description']}")


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
    for k, v in info.items():
        if v:
            click.echo(f"{k:12} {', '.join(v) if isinstance(v, list) else v}")
