#!/usr/bin/env python3
"""Write docs/rules.md from the rule registry and the message catalogues (run after changing a rule)."""

from __future__ import annotations

import sys
from pathlib import Path

from netsleuth.commands.rulesdoc import render_rules_doc

target = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
if __name__ == "__main__":
    text = render_rules_doc()
    if "--check" in sys.argv[1:]:
        sys.exit(0 if target.is_file() and target.read_text(encoding="utf-8") == text else 1)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
