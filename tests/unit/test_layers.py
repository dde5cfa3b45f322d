"""Imports run one way: each package imports only the layers docs/architecture.md's table allows.

Imports are read with `ast`, at the top of a module and inside functions alike (an import inside a
function is still a dependency, only a later one)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import netsleuth

SRC = Path(netsleuth.__file__).parent
DOC = Path(__file__).parents[2] / "docs" / "architecture.md"
EVERY = "every layer"


def layer_table() -> tuple[dict[str, str], dict[str, set[str]]]:
    """From the doc's "Layers" table: package/module -> layer, and layer -> layers it may import."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    layer_of: dict[str, str] = {}
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("layer", "") or set(cells[0]) <= {"-"}:
            continue
        layer, names, allowed = cells
        for name in re.findall(r"`([\w.]+)`", names.split("(")[0] + names.split(")")[-1]):
            layer_of[name] = layer
        rows[layer] = allowed
    may: dict[str, set[str]] = {}
    for layer, allowed in rows.items():
        if allowed == EVERY:
            may[layer] = set(rows)
        else:
            may[layer] = {a.strip() for a in allowed.split(",") if a.strip() not in ("", "—")} | {layer}
    assert set().union(*may.values()) <= set(rows), "a row allows a layer the table does not have"
    return layer_of, may


def module_name(path: Path) -> str:
    parts = ["netsleuth", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every netsleuth import in the file; `from netsleuth import x` names
    netsleuth.x when x is a module or package, else netsleuth itself."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "netsleuth"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "netsleuth":
                continue
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                is_module = (SRC.parent / sub.replace(".", "/")).with_suffix(".py").exists() or (
                    SRC.parent / sub.replace(".", "/")
                ).is_dir()
                out.append((node.lineno, sub if is_module else node.module))
        elif isinstance(node, ast.ImportFrom) and node.level:
            out.append((node.lineno, "relative import (write netsleuth.…)"))
    return out


def owner(module: str) -> str:
    """The table's name for a module: its package under netsleuth (or netsleuth itself)."""
    if not module.startswith("netsleuth"):
        return module
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "netsleuth"


def test_the_table_names_every_package_and_module() -> None:
    layer_of, _ = layer_table()
    found = {owner(module_name(p)) for p in SRC.rglob("*.py")}
    assert found - set(layer_of) == set(), "add these to the Layers table of docs/architecture.md"
    assert set(layer_of) - found == set(), "the Layers table names packages that do not exist"


def test_every_import_follows_the_layers() -> None:
    layer_of, may = layer_table()
    wrong: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        here = layer_of[owner(module_name(path))]
        for line, target in imported(path):
            there = layer_of.get(owner(target), "?")
            if there not in may[here]:
                wrong.append(f"{path.relative_to(SRC)}:{line}: {here} imports {target} ({there})")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_imports_inside_functions() -> None:
    probe = SRC / "rules" / "base.py"  # all_rules() imports netsleuth.rules inside the function
    inner = [m for _line, m in imported(probe) if m == "netsleuth.rules"]
    assert inner, "an import inside a function was not seen"


def test_no_module_imports_itself_through_others() -> None:
    """No circle of imports, not even one broken by an import inside a function (the lab's was:
    it typed its building blocks as Any)."""
    graph = {
        module_name(p): {m for _line, m in imported(p) if m != module_name(p)} for p in SRC.rglob("*.py")
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(m: str) -> None:  # Tarjan: strongly connected components
        index[m] = low[m] = len(index)
        stack.append(m)
        for n in graph.get(m, ()):
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            part = []
            while (n := stack.pop()) != m:
                part.append(n)
            if part:
                circles.append(sorted([m, *part]))

    for m in sorted(graph):
        if m not in index:
            visit(m)
    assert not circles, circles
