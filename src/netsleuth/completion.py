"""Shell completion (click's: `eval "$(_NETSLEUTH_COMPLETE=bash_source netsleuth)"`): rule ids,
lab scenarios and network namespaces, besides the commands and options click completes itself."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click
from click import Context, Parameter
from click.shell_completion import CompletionItem

NETNS_DIR = "/run/netns"  # where `ip netns add` mounts named namespaces (`ip netns list` reads it)


def rule_ids(ctx: Context, param: Parameter, incomplete: str) -> list[CompletionItem]:
    """`rules show ID`, `--only ID`: every rule id, with its one-line description."""
    from netsleuth.rules.index import entries

    return [
        CompletionItem(r.id, help=r.doc.splitlines()[0] if r.doc else None)
        for r in entries()
        if r.id.startswith(incomplete)
    ]


def scenarios(ctx: Context, param: Parameter, incomplete: str) -> list[CompletionItem]:
    """`lab run|up NAME`: every scenario, with what it builds."""
    from netsleuth.lab.scenario import all_scenarios

    return [
        CompletionItem(name, help=cls.summary())
        for name, cls in sorted(all_scenarios().items())
        if name.startswith(incomplete)
    ]


def running_scenarios(ctx: Context, param: Parameter, incomplete: str) -> list[CompletionItem]:
    """`lab down NAME`: the scenarios that have a lab up on this machine."""
    from netsleuth.lab import Lab

    names = sorted({str(r.get("scenario", "")) for r in Lab.runs()} - {""})
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


def namespaces(ctx: Context, param: Parameter, incomplete: str) -> list[CompletionItem]:
    """`--netns NAME`, `--from-netns NAME`: the named network namespaces of this host."""
    try:
        names = sorted(os.listdir(NETNS_DIR))
    except OSError:
        return []
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


def only_option() -> Callable[[Any], Any]:
    """`--only RULE` (repeatable), completing rule ids: diagnose, pcap."""
    return click.option(
        "--only",
        multiple=True,
        metavar="RULE",
        shell_complete=rule_ids,
        help="Run only these rule ids (repeatable).",
    )
