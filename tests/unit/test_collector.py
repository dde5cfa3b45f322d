"""The collector runs on production hosts as they are: standard library only, Python >= 3.6.

The floor is proved with vermin on its sources; the zipapp is built and run for real with the
distro's python3 (and with a Python 3.6 when this machine has one)."""

from __future__ import annotations

import ast
import glob
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import netsleuth
from netsleuth.evidence.catalogue import catalogue
from netsleuth.remote.zipapp import build_zipapp

SRC = Path(netsleuth.__file__).parent / "collector"
FLOOR = "3.6"


def vermin(*paths: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "vermin"
    if not exe.exists():
        pytest.skip("vermin is not installed (dev extra)")
    argv = [
        str(exe),
        f"-t={FLOOR}-",
        "--no-tips",
        "--violations",
        "--eval-annotations",
        "--no-parse-comments",
        *paths,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_the_collector_sources_need_no_more_than_python_3_6() -> None:
    r = vermin(*sorted(str(p) for p in SRC.glob("*.py")))
    assert r.returncode == 0, r.stdout + r.stderr


def test_vermin_would_see_a_newer_construct(tmp_path: Path) -> None:
    """The check above can fail: the constructs 3.6 lacks are found."""
    for i, code in enumerate(
        [
            "from __future__ import annotations\n",
            "import dataclasses\n",
            "if (n := 1):\n    pass\n",
            "import tomllib\n",
            "from enum import StrEnum\n",
            "import subprocess\nsubprocess.run(['true'], capture_output=True)\n",
        ]
    ):
        f = tmp_path / f"newer{i}.py"
        f.write_text(code)
        assert vermin(str(f)).returncode != 0, code


def pep604(tree: ast.AST) -> list[int]:
    """Lines of `X | Y` in annotations (vermin's own check of it also flags `os.O_WRONLY | os.O_CREAT`)."""
    found = []
    for node in ast.walk(tree):
        notes = []
        if isinstance(node, ast.FunctionDef):
            notes = [a.annotation for a in [*node.args.args, *node.args.kwonlyargs] if a.annotation] + [
                node.returns
            ]
        elif isinstance(node, ast.AnnAssign):
            notes = [node.annotation]
        found += [
            n.lineno for n in notes if n is not None and any(isinstance(x, ast.BinOp) for x in ast.walk(n))
        ]
    return found


def test_no_union_operator_in_the_collector_annotations() -> None:
    assert pep604(ast.parse("def f(x: int | None) -> str | None: ...\ny: int | str = 1\n")) == [1, 1, 2]
    assert {p.name: pep604(ast.parse(p.read_text())) for p in SRC.glob("*.py")} == {
        p.name: [] for p in SRC.glob("*.py")
    }


def test_the_collector_imports_only_the_standard_library_and_itself() -> None:
    stdlib = set(sys.stdlib_module_names)
    wrong = []
    for path in sorted(SRC.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or "." * node.level]
            for n in names:
                top = n.split(".")[0]
                if n.startswith("netsleuth.collector") or (top in stdlib and top != "netsleuth"):
                    continue
                wrong.append(f"{path.name}: {n}")
    assert not wrong


def _pythons() -> list[str]:
    found = [p for p in ("/usr/bin/python3",) if Path(p).exists()]
    old = sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.6*/bin/python3.6")))
    found += old[:1] or [p for p in [shutil.which("python3.6")] if p]
    return found


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_zipapp(tmp_path_factory.mktemp("zipapp") / "netsleuth-collect.pyz")


def test_the_zipapp_holds_only_the_collector_and_the_catalogue(pyz: Path) -> None:
    import zipfile

    with zipfile.ZipFile(pyz) as z:
        names = set(z.namelist())
        specs = json.loads(z.read("netsleuth/collector/catalogue.json"))["evidence"]
    assert names == {
        "__main__.py",
        "netsleuth/__init__.py",
        "netsleuth/collector/catalogue.json",
        *(f"netsleuth/collector/{p.name}" for p in SRC.glob("*.py")),
    }
    assert {s["name"] for s in specs} == set(catalogue())
    assert pyz.stat().st_mode & 0o777 == 0o755 and pyz.read_bytes().startswith(b"#!/usr/bin/env python3\n")


@pytest.mark.parametrize("python", _pythons() or ["none"])
def test_the_zipapp_collects_a_bundle_with_a_bare_python(python: str, pyz: Path, tmp_path: Path) -> None:
    """`python3 -I` (no site-packages, no netsleuth installed): the bundle netsleuth reads back."""
    if python == "none":
        pytest.skip("no python3 to run the zipapp with")
    out = tmp_path / "host.tar.gz"
    r = subprocess.run(
        [python, "-I", str(pyz), "collect", "-q", "--timeout", "3", "--interval", "0.2", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    with tarfile.open(out) as t:
        meta = json.loads(t.extractfile("netsleuth-bundle/meta.json").read())  # type: ignore[union-attr]
    assert meta["format"] == "netsleuth.bundle/v1" and meta["hostname"]
    names = {e["name"] for e in meta["evidence"]}
    plain = {n for n, s in catalogue().items() if not s.per and not s.name.startswith("probe.")}
    optional = {n for n, s in catalogue().items() if s.collector == "tail" or "*" in s.file}
    assert plain - names <= optional  # logs and globs: one piece per file that exists
    from netsleuth.evidence.source import open_source

    with open_source(out, None, False) as bundle:
        assert bundle.get("ip.link") is not None and bundle.get("ip.link").ok  # type: ignore[union-attr]


def test_the_zipapp_says_usage_and_bad_input_in_one_line(pyz: Path, tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, str(pyz), "collect"], capture_output=True, text=True, timeout=60, check=False
    )
    assert r.returncode == 64
    r = subprocess.run(
        [sys.executable, str(pyz), "collect", "-q", "-o", str(tmp_path / "no" / "dir" / "x.tar.gz")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 3 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
