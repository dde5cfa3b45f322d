"""The rule index: what `rules list|show` and shell completion say of each rule, read from a small
JSON file instead of importing the rules (and with them every fact, parser and result type), so
that their start-up stays flat as rules are added. `scripts/gen-rules-doc.py` writes it from the
registry together with docs/rules.md; a unit test fails when it is not in step with the code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

INDEX = "index.json"  # beside this module


@dataclass(frozen=True)
class RuleEntry:
    id: str
    severity: str
    seed: str
    scope: str
    needs: tuple[str, ...]  # names of the fact types the rule needs
    optional: tuple[str, ...]
    doc: str  # the rule's own description (its docstring)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": self.severity,
            "seed": self.seed,
            "scope": self.scope,
            "needs": list(self.needs),
            "optional": list(self.optional),
            "doc": self.doc,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RuleEntry:
        return cls(
            id=str(d["id"]),
            severity=str(d["severity"]),
            seed=str(d["seed"]),
            scope=str(d["scope"]),
            needs=tuple(d.get("needs") or ()),
            optional=tuple(d.get("optional") or ()),
            doc=str(d.get("doc") or ""),
        )


@cache
def entries() -> tuple[RuleEntry, ...]:
    """Every rule of the index, in the registry's order."""
    text = resources.files("netsleuth.rules").joinpath(INDEX).read_text(encoding="utf-8")
    return tuple(RuleEntry.from_json(d) for d in json.loads(text))


def render(rules: list[RuleEntry]) -> str:
    """The index file's text for these rules."""
    return json.dumps([r.to_json() for r in rules], ensure_ascii=False, indent=1) + "\n"
