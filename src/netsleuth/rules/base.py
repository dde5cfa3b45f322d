"""Rules: one small unit per fault id, declaring the facts it needs, returning findings."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, get_type_hints

from netsleuth.messages import Msg, Reason, render_reason


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"critical": 2, "warning": 1, "info": 0}[self.value]


@dataclass(frozen=True)
class Seen:
    """Evidence quoted by a finding: where it comes from and the exact lines."""

    source: str
    excerpt: str


@dataclass(frozen=True)
class Cmd:
    """A command of a remedy with a comment in words: `command   # comment`, the comment worded in
    the report's language from the rule's message entry (or [common]) `comment.key`."""

    command: str
    comment: Msg


# a line of a remedy: a command, a command with a worded comment, or an instruction in words (Msg)
RemedyLine = str | Cmd | Msg


@dataclass
class Finding:
    """What a rule found. Title, summary and explanation come from the message catalogue,
    keyed by the rule id and filled with `params`; commands are built by the rule with the
    real names in them. The runner fills in the rule's id, its namespace and (when the finding
    names none) the rule's seed."""

    severity: Severity
    subject: str  # the object at fault: interface, bridge, daemon, sysctl
    params: dict[str, Any] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    now: Sequence[RemedyLine] = field(default_factory=list)
    persist: Sequence[RemedyLine] = field(default_factory=list)
    netns: str = ""
    seed: str = ""
    id: str = ""
    hosts: list[str] = field(default_factory=list)  # fleet rules: the hosts it names
    links: list[tuple[str, str]] = field(default_factory=list)  # fleet rules: (from, to) host pairs


Scope = Literal["netns", "host", "fleet"]
RuleFn = Callable[..., Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    fn: RuleFn
    needs: tuple[type, ...]
    optional: tuple[type, ...]
    seed: str
    scope: Scope
    severity: Severity

    @property
    def doc(self) -> str:
        return (self.fn.__doc__ or "").strip()


REGISTRY: dict[str, Rule] = {}


def rule(
    id: str,
    *,
    needs: Iterable[type],
    optional: Iterable[type] = (),
    seed: str,
    severity: Severity,
    scope: Scope = "netns",
) -> Callable[[RuleFn], RuleFn]:
    """Declare a rule: the fault id it finds, the facts it needs (all available, else the
    rule is skipped with the reason) and optional facts (passed as None when unavailable).
    `scope="host"` rules run once per host; "netns" rules once per analysed namespace; "fleet"
    rules once per fleet, on the FleetModel (`netsleuth fleet diagnose`), never on one host."""

    def deco(fn: RuleFn) -> RuleFn:
        if id in REGISTRY:
            raise ValueError(f"rule {id} registered twice")
        r = Rule(id, fn, tuple(needs), tuple(optional), seed, scope, severity)
        _check_signature(r)
        REGISTRY[id] = r
        return fn

    return deco


def _check_signature(r: Rule) -> None:
    """The function takes the `needs` facts, then the `optional` ones (`X | None`), in that order,
    and nothing else: what the rule declares is what it reads."""
    hints = get_type_hints(r.fn)
    params = list(inspect.signature(r.fn).parameters)
    declared = [(t, False) for t in r.needs] + [(t, True) for t in r.optional]
    if len(params) != len(declared):
        raise TypeError(
            f"rule {r.id}: {len(params)} parameters, but needs + optional declare {len(declared)}"
        )
    for name, (fact, optional) in zip(params, declared, strict=True):
        hint = hints.get(name)
        if hint != (fact | None if optional else fact):
            want = f"{fact.__name__} | None" if optional else fact.__name__
            raise TypeError(f"rule {r.id}: parameter {name} is {hint}, where the declaration says {want}")


def all_rules() -> list[Rule]:
    from netsleuth.rules import load_all

    load_all()
    return sorted(REGISTRY.values(), key=lambda r: r.id)


class Skip(Exception):
    """Raised by a rule whose optional facts turned out all unavailable: skipped, with the reason
    (wording of the `reasons` catalogue entry, or plain text); str() is the English."""

    def __init__(self, reason: Reason | list[Reason]) -> None:
        super().__init__(render_reason("en", reason))
        self.reason: Reason | list[Reason] = reason
