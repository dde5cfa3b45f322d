"""Run `netsleuth probe ...` inside a lab namespace and read its JSON report."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

NETSLEUTH = str(Path(sys.executable).with_name("netsleuth"))


def probe(ns: str, *args: str, timeout: float = 30) -> tuple[int, dict[str, Any]]:
    argv = ["ip", "netns", "exec", ns, NETSLEUTH, *args, "--format", "json"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert out.stdout, f"no report (rc {out.returncode}): {out.stderr}"
    return out.returncode, json.loads(out.stdout)


def ids(report: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for f in report["findings"]:
        found.setdefault(f["id"], []).append(f["subject"])
    return found


def have(tool: str) -> bool:
    return shutil.which(tool) is not None
