"""`netsleuth rules list|show`: the knowledge base, for people and for scripts."""

from __future__ import annotations

import click

from netsleuth.messages import LANGS, default_lang


@click.group("rules")
def command() -> None:
    """The knowledge base: one rule per fault id."""


@command.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--lang", type=click.Choice(LANGS), default=None)
def rules_list(fmt: str, lang: str | None) -> None:
    """List every rule: id, severity, seed case and title."""
    import json

    from netsleuth.messages import message
    from netsleuth.rules.base import all_rules

    lang = lang or default_lang()
    rows = [
        {
            "id": r.id,
            "severity": r.severity.value,
            "seed": r.seed,
            "scope": r.scope,
            "title": message(lang, r.id, "title", {}),
            "description": r.doc,
        }
        for r in all_rules()
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['id']:28} {row['severity']:8} seed {row['seed']:8} {row['description']}")


@command.command("show")
@click.argument("rule_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--lang", type=click.Choice(LANGS), default=None)
def rules_show(rule_id: str, fmt: str, lang: str | None) -> None:
    """Show one rule: what it needs, what it says, where it comes from."""
    import json

    from netsleuth.messages import message
    from netsleuth.rules.base import all_rules

    lang = lang or default_lang()
    found = {r.id: r for r in all_rules()}.get(rule_id)
    if found is None:
        raise click.UsageError(f"unknown rule id {rule_id!r} (see `netsleuth rules list`)")
    info = {
        "id": found.id,
        "severity": found.severity.value,
        "seed": found.seed,
        "scope": found.scope,
        "needs": [t.__name__ for t in found.needs],
        "optional": [t.__name__ for t in found.optional],
        "description": found.doc,
        "title": message(lang, found.id, "title", {}),
        "why": message(lang, found.id, "why", {}),
        "notes": message(lang, found.id, "notes", {}),
    }
    if fmt == "json":
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    for k, v in info.items():
        click.echo(f"{k:12} {', '.join(v) if isinstance(v, list) else v}")
