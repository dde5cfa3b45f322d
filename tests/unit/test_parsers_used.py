"""Each output is parsed once, in parsers/, and every parser there is used: a public function or
class of a parsers module is imported by another netsleuth module or used in its own module (its
doctests do not count). Two parsers of one output leave one of them unused (issue 13)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import netsleuth

SRC = Path(netsleuth.__file__).parent


def _imported_from_parsers() -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for p in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("netsleuth.parsers."):
                out |= {(str(node.module).rsplit(".", 1)[1], a.name) for a in node.names}
    return out


def _used_in_own_module(name: str, text: str) -> bool:
    code = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith((">>>", "...")))
    return len(re.findall(rf"\b{re.escape(name)}\b", code)) > 1  # more than its definition


def test_every_parser_is_used() -> None:
    imported = _imported_from_parsers()
    unused = []
    for p in sorted((SRC / "parsers").glob("*.py")):
        text = p.read_text(encoding="utf-8")
        for node in ast.parse(text).body:
            if not isinstance(node, ast.FunctionDef | ast.ClassDef) or node.name.startswith("_"):
                continue
            if (p.stem, node.name) not in imported and not _used_in_own_module(node.name, text):
                unused.append(f"parsers/{p.name}: {node.name}")
    assert not unused, unused
