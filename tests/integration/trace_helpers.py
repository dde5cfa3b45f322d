"""Run `netsleuth trace DEST --from-netns NS` (as root, from the default namespace: it enters the
namespaces it captures in) and read its JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

NETSLEUTH = [sys.executable, "-m", "netsleuth.cli"]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "capture"


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


def derive_and_record(
    dest: str, sender: str, name: str, ns: dict[str, str], env: dict[str, str]
) -> list[Any]:
    """The path `trace` derives (in-process, with the lab's OVS environment); with
    NETSLEUTH_RECORD=1 also kept as tests/fixtures/capture/NAME.json for the unit tests to replay."""
    from netsleuth.capture.hostview import Host
    from netsleuth.capture.trace import derive_path

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        host = Host()
        points = derive_path(dest, sender, host)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if os.environ.get("NETSLEUTH_RECORD"):
        path = FIXTURES / f"{name}.json"
        record = {"dest": dest, "from_netns": sender, "ns": ns, "commands": host.log}
        path.write_text(json.dumps(record, indent=1) + "\n")
    return points
