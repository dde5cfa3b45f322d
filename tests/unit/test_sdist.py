"""The source distribution carries what a distribution packager needs to run the suite from it:
every test with its fixtures, the docs, the benchmarks and the licence; the licence is declared
as an SPDX expression. Built without network (setuptools >= 77 from the dev extra)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _setuptools_is_recent() -> bool:
    from importlib.metadata import version

    return int(version("setuptools").split(".")[0]) >= 77


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not _setuptools_is_recent():
        pytest.skip("needs setuptools >= 77 (pip install -e '.[dev]')")
    out = tmp_path_factory.mktemp("sdist")
    build = "import sys; from setuptools.build_meta import build_sdist; print(build_sdist(sys.argv[1]))"
    proc = subprocess.run(
        [sys.executable, "-c", build, str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out / proc.stdout.split()[-1]


def _tree(*parts: str) -> set[str]:
    base = ROOT.joinpath(*parts)
    return {
        str(p.relative_to(ROOT))
        for p in base.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def test_sdist_holds_tests_fixtures_docs_bench_and_licence(sdist: Path) -> None:
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        info = tar.extractfile(f"{sdist.name.removesuffix('.tar.gz')}/PKG-INFO")
        assert info is not None
        pkg_info = info.read().decode()
    missing = (_tree("tests") | _tree("docs") | _tree("bench") | _tree("scripts")) - names
    assert not missing, sorted(missing)[:20]
    assert {
        "LICENSE",
        "README.md",
        "Makefile",
        "pyproject.toml",
        "tests/fixtures/seeds/seed001_conntrack_states.txt",
    } <= names
    assert "License-Expression: Apache-2.0" in pkg_info
    assert (
        "Apache License" in (ROOT / "LICENSE").read_text()
        and "Version 2.0, January 2004" in (ROOT / "LICENSE").read_text()
    )


def test_the_suite_runs_from_the_unpacked_sdist(sdist: Path, tmp_path: Path) -> None:
    with tarfile.open(sdist) as tar:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python >= 3.11.4
        tar.extractall(tmp_path, **safe)  # type: ignore[arg-type]
    (tree,) = tmp_path.iterdir()
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header"]
    collected = subprocess.run(
        [*run, "--collect-only", "tests"], cwd=tree, env=env, capture_output=True, text=True, timeout=300
    )
    assert collected.returncode == 0, collected.stdout[-2000:]
    proc = subprocess.run(
        [*run, "tests/unit/test_rules_core.py", "tests/unit/test_parsers_conntrack.py"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and " passed" in proc.stdout, proc.stdout[-2000:]
    assert (
        str(tree / "src")
        in subprocess.run(  # the sdist's own netsleuth was tested, not ours
            [sys.executable, "-c", "import netsleuth; print(netsleuth.__file__)"],
            env=env,
            capture_output=True,
            text=True,
        ).stdout
    )


def test_no_merge_leftovers_in_the_tree_a_packager_gets() -> None:
    """A conflict's backup (`*.orig`, `*.rej`) is not source: it would ship beside the module."""
    left = sorted(
        str(p.relative_to(ROOT))
        for part in ("src", "tests", "docs", "bench", "scripts")
        for p in (ROOT / part).rglob("*")
        if p.suffix in (".orig", ".rej")
    )
    assert not left, left
