"""`netsleuth --version` and `rules list` start fast because they import only what they use: no
dnspython, pydantic, rich, jc or dpkt. (The time itself is measured in bench/startup.py;
this test checks the cause, which does not depend on how busy the machine is.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("dns", "pydantic", "pydantic_core", "rich", "jc", "dpkt")

_RUN = """
import json, sys
sys.argv = ["netsleuth", *json.loads(sys.argv[1])]
from netsleuth.cli import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""


def _modules_after(*args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", _RUN, json.dumps(args)], capture_output=True, text=True, timeout=60
    )
    line = proc.stderr.rsplit("MODULES ", 1)[-1]
    return set(json.loads(line))


@pytest.mark.parametrize("args", [("--version",), ("rules", "list"), ("rules", "show", "mtu.mismatch")])
def test_start_up_imports_no_heavy_library(args: tuple[str, ...]) -> None:
    mods = _modules_after(*args)
    assert "netsleuth.cli" in mods  # the command really ran
    heavy = sorted(m for m in mods if m.split(".")[0] in HEAVY)
    assert heavy == [], f"`netsleuth {' '.join(args)}` imports {heavy}"


@pytest.mark.parametrize("args", [("--version",), ("rules", "list"), ("rules", "show", "mtu.mismatch")])
def test_start_up_imports_no_rule_family_fact_or_parser(args: tuple[str, ...]) -> None:
    """`rules list|show` read the rule index (rules/index.json), not the rules: their start-up does
    not grow with every rule, fact and parser added."""
    mods = _modules_after(*args)
    assert "netsleuth.cli" in mods
    heavy = [m for m in mods if m.startswith(("netsleuth.rules.", "netsleuth.facts", "netsleuth.parsers"))]
    assert heavy in ([], ["netsleuth.rules.index"]), heavy


@pytest.mark.parametrize("args", [("--version",), ("rules", "list")])
def test_start_up_runs_no_command_so_imports_no_process_or_statistics_module(args: tuple[str, ...]) -> None:
    """Neither command runs a process or takes a median: subprocess (with selectors and signal)
    and statistics (with decimal and fractions) are imported where used, not at load time."""
    mods = _modules_after(*args)
    assert "netsleuth.cli" in mods
    assert sorted(mods & {"subprocess", "statistics"}) == [], f"`netsleuth {' '.join(args)}`"
