"""Build the same Bundle the real sources build, from texts kept beside the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from netsleuth.analysis import analyse
from netsleuth.evidence.model import HOST, Bundle, Evidence, Status
from netsleuth.results.report import FindingOut, Report

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def ev(
    name: str,
    text: str = "",
    *,
    netns: str = HOST,
    key: str = "",
    later: str | None = None,
    interval_s: float | None = None,
    status: Status = Status.OK,
    source: str | None = None,
    error: str = "",
    duration_s: float = 0.01,
) -> Evidence:
    return Evidence(
        name,
        status,
        text=text,
        source=source or name,
        netns=netns,
        key=key,
        later=later,
        interval_s=interval_s if later is not None else None,
        error=error,
        duration_s=duration_s,
    )


def bundle(
    *items: Evidence,
    namespaces: list[str] | None = None,
    collected_at: str = "2026-11-21T10:00:00+00:00",
    kernel: str = "5.14.0-70.el9.x86_64",
) -> Bundle:
    b = Bundle(
        source="test",
        hostname="testhost",
        kernel=kernel,
        collected_at=collected_at,
        namespaces=namespaces or [HOST],
    )
    for it in items:
        b.add(it)
    return b


def run(b: Bundle, only: set[str] | None = None, lang: str = "en") -> Report:
    return analyse(b, lang, only)


def findings(report: Report, rule_id: str) -> list[FindingOut]:
    return [f for f in report.findings if f.id == rule_id]


def check(report: Report, rule_id: str, netns: str = HOST) -> str:
    """The status of one check (pass/fail/skipped/error) and its reason."""
    for c in report.checks:
        if c.id == rule_id and c.netns == netns:
            return f"{c.status}: {c.reason}"
    raise AssertionError(f"no check {rule_id} for netns {netns!r}")


def sos_tree(root: Path, files: dict[str, str], commands: dict[str, tuple[str, int]] | None = None) -> Path:
    """A sosreport-shaped directory: `files` by relative path; `commands` (exec -> (path, rc))
    go into sos_reports/manifest.json as sos 4.x writes it."""
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (root / "sos_commands").mkdir(exist_ok=True)
    if commands is not None:
        cmds = [{"exec": ex, "filepath": fp, "return_code": rc} for ex, (fp, rc) in commands.items()]
        manifest = {
            "version": "4.0",
            "start_time": "2026-11-21 10:00:00.000000",
            "components": {"report": {"plugins": {"test": {"commands": cmds, "files": []}}}},
        }
        (root / "sos_reports").mkdir(exist_ok=True)
        (root / "sos_reports" / "manifest.json").write_text(json.dumps(manifest))
    return root


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def cli(*args: str, env: Mapping[str, str | None] | None = None) -> Ran:
    """`netsleuth ARGS` in this process, through the same entry point as the installed command
    (`cli.main`: every failure mapped to its exit status and one line); `env` overrides variables
    (None unsets one)."""
    from netsleuth.cli import main

    with CliRunner().isolation(env=env) as (out, err, _mixed):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return Ran(code, out.getvalue().decode(), err.getvalue().decode())


_PEAK_WRAPPER = """
import os, sys
from netsleuth.cli import main
try:
    main(sys.argv[1:])
finally:  # the peak of this process since its exec: ru_maxrss would carry pytest's own from the fork
    with open(os.environ["NSL_PEAK_FILE"], "w") as fh:
        fh.write(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
"""


def cli_peak(*args: str, tmp: Path, timeout: float = 300) -> tuple[int, str, int]:
    """`netsleuth ARGS` in a new process: (exit status, stderr, peak RSS in MiB of that process)."""
    peak = tmp / "peak.kb"
    p = subprocess.run(
        [sys.executable, "-c", _PEAK_WRAPPER, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NSL_PEAK_FILE": str(peak)},
        check=False,
    )
    return p.returncode, p.stderr, int(peak.read_text()) // 1024
