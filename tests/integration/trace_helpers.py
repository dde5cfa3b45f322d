"""Run `netsleuth trace DEST --from-netns NS` (as root, from the default namespace: it enters the
namespaces it captures in) and read its JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

NETSLEUTH = [sys.executable, "-m", "netsleuth.cli"]


def trace(dest: str, sender: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """The exit status and the report; `env`: the lab's OVS environment (OVS_RUNDIR...)."""
    out = subprocess.run(
        [*NETSLEUTH, "trace", dest, "--from-netns", sender, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert out.returncode in (0, 1, 2), out.stderr
    return out.returncode, dict(json.loads(out.stdout))
