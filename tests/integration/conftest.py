"""The lab suite's shared set-up: build a scenario, diagnose it for real, judge, record accuracy.

Every scenario run is recorded (scenario, expected id, found ids, live/offline, seconds, verdict)
and docs/accuracy.md is written at the end of the session when any lab scenario ran: the rows of
this session replace theirs, the rows of scenarios it did not run are kept (a run of one test file
must not cut the table down to its own rows).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from netsleuth.lab import Lab, LabUnavailable
from netsleuth.lab.scenario import Scenario, Vantage, all_scenarios, up

ROOT = Path(__file__).resolve().parents[2]
ACCURACY = ROOT / "docs" / "accuracy.md"
SCENARIOS = {n: c for n, c in all_scenarios().items() if not c.fleet}  # fleets: test_fleet_remote.py
FLEET_SCENARIOS = {n: c for n, c in all_scenarios().items() if c.fleet}
FAULTS = sorted(n for n, c in SCENARIOS.items() if c.expect)
BASELINES = sorted(n for n, c in SCENARIOS.items() if not c.expect)


@dataclass
class Row:
    scenario: str
    expect: str
    mode: str  # live | offline (sos) | offline (bundle)
    found: list[str] = field(default_factory=list)
    seconds: float = 0.0
    verdict: str = ""


_ROWS: list[Row] = []
_STARTED = time.monotonic()


def registered_rules() -> set[str]:
    """Rule ids the installed netsleuth knows (as the CLI reports them)."""
    r = subprocess.run(
        [sys.executable, "-m", "netsleuth.cli", "rules", "list", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, f"`netsleuth rules list` failed: {r.stderr[-500:]}"
    return {row["id"] for row in json.loads(r.stdout)}


@pytest.fixture(scope="session")
def rules() -> set[str]:
    return registered_rules()


def report_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON report of a finished `netsleuth diagnose`; a crash is a failure, never a pass."""
    why = f"diagnose could not run (exit {proc.returncode}): {proc.stderr[-800:]}"
    assert proc.returncode in (0, 1, 2), why
    try:
        rep: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(why)
    return rep


def verdict(sc: type[Scenario], rep: dict[str, Any]) -> tuple[bool, str]:
    from netsleuth.commands.lab import judge

    return judge(sc.expect, tuple(sc.expect_subject), rep["findings"])


def loud(rep: dict[str, Any]) -> list[str]:
    return [
        f"{f['id']} {f['severity']} {f.get('subject', '')} {f.get('netns', '')}"
        for f in rep["findings"]
        if f["severity"] in ("warning", "critical")
    ]


def record(row: Row) -> None:
    _ROWS.append(row)


def skip_unusable(sc: Scenario, rules: set[str]) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    missing = sc.missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    if sc.expect and sc.expect not in rules:
        record(Row(sc.name, sc.expect, "live", verdict="skipped: rule not implemented"))
        pytest.skip(f"rule not implemented: {sc.expect}")


@pytest.fixture
def built(request: pytest.FixtureRequest, rules: set[str]) -> Iterator[tuple[Scenario, Lab, Vantage, float]]:
    """Build the scenario named by the test's parameter; always torn down (also after failures)."""
    sc = SCENARIOS[request.param]()
    skip_unusable(sc, rules)
    yield from build_and_tear_down(sc)


def build_and_tear_down(sc: Scenario) -> Iterator[tuple[Scenario, Lab, Vantage, float]]:
    """Build `sc`, yield it, tear it down (also after a failure) and check nothing is left."""
    t0 = time.monotonic()
    try:
        lab, vantage = up(sc)
    except LabUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield sc, lab, vantage, t0
    finally:
        problems = lab.down()
        assert not problems, f"teardown problems: {problems}"
        assert not any(n.startswith(lab.prefix) or f"-{lab.prefix}-" in n for n in netns_names())


def netns_names() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    return [ln.split()[0] for ln in out.splitlines() if ln.strip()]


def sos_capture(lab: Lab, dest: Path, env: dict[str, str] | None = None, inside: str | None = None) -> Path:
    """A real `sos report` of this machine, limited to the lab's namespaces; returns its directory.

    `env`: where the lab's Open vSwitch lives (OVS_RUNDIR, OVS_LOGDIR: sos's openvswitch plugin
    follows them). `inside`: run sos inside that namespace, as if it were a host of its own. On a
    kernel without module support (no /proc/modules: nothing can be loaded, this machine) sos is
    allowed to run the commands it guards by loaded modules (`iptables -vnxL`, `nft`, `ss`)."""
    if shutil.which("sos") is None:
        pytest.skip("needs sos")
    dest.mkdir(parents=True, exist_ok=True)
    pattern = "none-netsleuth-lab" if inside else f"{lab.prefix}* *-{lab.prefix}-*"
    argv = [
        "sos", "report", "--batch", "--quiet", "--tmp-dir", str(dest), "--build",
        "-o", "networking,kernel,host,openvswitch,process",
        "-k", "networking.ethtool_namespaces=off",
        "-k", f"networking.namespace_pattern={pattern}",
    ]  # fmt: skip
    if not Path("/proc/modules").exists():
        argv.append("--allow-system-changes")
    if inside:
        argv = ["ip", "netns", "exec", inside, *argv]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False,
                       env={**os.environ, **(env or {})})  # fmt: skip
    assert r.returncode == 0, f"sos report failed: {r.stderr[-800:]}{r.stdout[-800:]}"
    dirs = [p for p in dest.iterdir() if p.is_dir() and p.name.startswith("sosreport")]
    assert dirs, f"no sosreport directory in {dest}: {r.stdout[-500:]}"
    return dirs[0]


def offline(
    source: Path, vantage: Vantage, *extra: str, host_wide: bool = False
) -> subprocess.CompletedProcess[str]:
    """Diagnose a capture from the vantage's namespaces; `host_wide` evidence (the kernel log, whose
    `netns N` inodes a sosreport cannot map to names) needs the host scope too: --all-netns."""
    argv = [sys.executable, "-m", "netsleuth.cli", "diagnose", str(source), "--format", "json"]
    if host_wide:
        argv.append("--all-netns")
    for n in [] if host_wide else vantage.netns:
        argv += ["--netns", n]
    return subprocess.run(argv + list(extra), capture_output=True, text=True, timeout=120, check=False)


def _earlier_rows(ran: set[tuple[str, str]]) -> list[Row]:
    """The table's rows of what this session did not run, as written (a scenario's row goes only
    when a run writes it again: the header says how many rows were kept)."""
    if not ACCURACY.exists():
        return []
    rows: list[Row] = []
    for line in ACCURACY.read_text().splitlines()[2:]:
        cells = line.strip().removeprefix("| ").removesuffix(" |").split(" | ")
        if not line.startswith("| ") or len(cells) != 6 or cells[0] == "scenario":
            continue  # prose, the header, its rule
        scenario, expect, found, mode, seconds, verdict = cells
        if (scenario, mode) not in ran:
            ids = [] if found == "—" else found.split(", ")
            rows.append(Row(scenario, expect, mode, ids, float(seconds), verdict))
    return rows


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _ROWS:
        return
    total = time.monotonic() - _STARTED
    kept = _earlier_rows({(r.scenario, r.mode) for r in _ROWS})
    lines = [
        "# Lab accuracy",
        "",
        "Written by the integration suite (`tests/integration/test_lab_*.py`) from real faults built by",
        "`netsleuth lab` on this machine, diagnosed live and from real `sos report` captures / bundles.",
        f"Last run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, {os.cpu_count()} CPUs, "
        f"kernel {os.uname().release}. Total time of the lab tests: {total:.0f} s"
        + (f"; {len(kept)} rows kept from earlier runs (scenarios this run did not build)." if kept else "."),
        "",
        "| scenario | expected id | found ids | mode | seconds | verdict |",
        "|---|---|---|---|---|---|",
    ]
    rows = _ROWS + kept
    for r in sorted(rows, key=lambda r: (r.scenario, r.mode)):
        found = ", ".join(sorted(set(r.found))) or "—"
        lines.append(f"| {r.scenario} | {r.expect} | {found} | {r.mode} | {r.seconds:.1f} | {r.verdict} |")
    detected = [r for r in rows if r.expect != "baseline" and r.verdict.startswith("ok")]
    tried = [r for r in rows if r.expect != "baseline" and not r.verdict.startswith("skipped")]
    quiet = [r for r in rows if r.expect == "baseline"]
    lines += [
        "",
        f"Faults detected: {len(detected)} of {len(tried)} runs with a registered rule "
        f"({sum(1 for r in rows if r.verdict.startswith('skipped'))} skipped: rule not implemented yet). "
        f"Baseline runs: {len(quiet)}, false alarms: {sum(1 for r in quiet if not r.verdict.startswith('ok'))}.",
        "",
    ]
    ACCURACY.parent.mkdir(exist_ok=True)
    ACCURACY.write_text("\n".join(lines))
