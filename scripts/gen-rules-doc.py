#!/usr/bin/env python3
"""Write docs/rules.md and the rule index (src/netsleuth/rules/index.json) from the rule registry
and the message catalogues (run after changing a rule)."""

from __future__ import annotations

import sys
from pathlib import Path

from netsleuth.commands.rulesdoc import render_index, render_rules_doc

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    ROOT / "docs" / "rules.md": render_rules_doc,
    ROOT / "src" / "netsleuth" / "rules" / "index.json": render_index,
}
if __name__ == "__main__":
    texts = {target: make() for target, make in TARGETS.items()}
    if "--check" in sys.argv[1:]:
        sys.exit(0 if all(t.is_file() and t.read_text(encoding="utf-8") == x for t, x in texts.items()) else 1)
    for target, text in texts.items():
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
