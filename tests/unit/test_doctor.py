"""`netsleuth doctor`: the tools come from the evidence catalogue (and the namespace batch, the lab
scenarios), what each feeds from the facts' providers and the rules' needs, what needs root from
the commands' help; a missing tool is named with what it feeds; exit 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from netsleuth.analysis import evidence_read
from netsleuth.cli import app
from netsleuth.commands.doctor import root_only, tools
from netsleuth.evidence.catalogue import catalogue
from netsleuth.rules.base import all_rules


def test_every_program_of_the_catalogue_is_listed_with_its_evidence() -> None:
    listed = {t.name: t for t in tools()}
    for spec in catalogue().values():
        for prog in spec.programs():
            assert spec.name in listed[prog].evidence
    assert "sh" not in listed  # a shell script names its programs (docker, find)
    assert {"docker", "find", "sysctl", "conntrack"} <= set(listed)


def test_each_tool_feeds_the_rules_whose_facts_read_its_evidence() -> None:
    listed = {t.name: t for t in tools()}
    ring = next(r for r in all_rules() if r.id == "nic.rx_ring_small")
    assert "ethtool.ring" in evidence_read(ring)
    assert "nic.rx_ring_small" in listed["ethtool"].rules  # reads Rings <- ethtool -g
    assert "conntrack.table_full" in listed["conntrack"].rules
    assert "mtu.mismatch" in listed["ip"].rules and "mtu.mismatch" not in listed["conntrack"].rules
    assert "lab dhcp-no-offer" in listed["dnsmasq"].also
    assert any("--netns" in use for use in listed["timeout"].also)


def test_what_needs_root_comes_from_the_commands_help() -> None:
    need = root_only(app)
    assert {"netsleuth probe arp", "netsleuth probe dhcp", "netsleuth trace", "netsleuth lab run"} <= set(
        need
    )
    assert "netsleuth diagnose --netns" in need
    assert not [
        c for c in need if c.startswith(("netsleuth doctor", "netsleuth rules", "netsleuth lab list"))
    ]


def test_missing_tools_are_named_and_doctor_still_exits_0(tmp_path: Path) -> None:
    (tmp_path / "ip").symlink_to("/usr/sbin/ip" if Path("/usr/sbin/ip").exists() else "/bin/true")
    env = {**os.environ, "PATH": str(tmp_path)}
    run = [sys.executable, "-m", "netsleuth.cli", "doctor"]
    proc = subprocess.run([*run, "--format", "json"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["schema"] == "netsleuth.doctor/v1" and report["python"]["ok"] is True
    by_name = {t["name"]: t for t in report["tools"]}
    assert by_name["ip"]["path"] == str(tmp_path / "ip")
    assert by_name["ethtool"]["path"] is None and "ethtool.ring" in by_name["ethtool"]["evidence"]
    text = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120)
    assert text.returncode == 0
    line = next(ln for ln in text.stdout.splitlines() if " ethtool " in ln)
    assert line.split()[0] == "MISSING"
    assert "nic.rx_ring_small" in text.stdout and "install-system-deps.sh" in text.stdout
    # a container engine that is not installed runs no containers: nothing of its is lost
    assert by_name["podman"]["path"] is None and by_name["podman"]["service"] is True
    assert by_name["ethtool"]["service"] is False
    assert by_name["dot"]["path"] is None and by_name["dot"]["service"] is False  # reads no evidence
    assert next(ln for ln in text.stdout.splitlines() if " dot " in ln).split()[0] == "MISSING"
    line = next(ln for ln in text.stdout.splitlines() if " podman " in ln)
    assert line.split()[0] == "absent", line
    (summary,) = [ln for ln in text.stdout.splitlines() if ln.startswith("System tools:")]
    missing = sum(1 for ln in text.stdout.splitlines() if ln.split()[:1] == ["MISSING"])
    assert f" {missing} missing, " in summary and "not on this host" in summary, summary


SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-system-deps.sh"


def _script_table() -> tuple[dict[str, tuple[str, str]], set[str]]:
    import re

    text = SCRIPT.read_text()
    table = {cmd: (apt, dnf) for cmd, apt, dnf in re.findall(r'\[([\w-]+)\]="([\w-]+)\|([\w-]+)"', text)}
    match = re.search(r"NOT_INSTALLED=\(([^)]*)\)", text)
    assert match
    return table, set(match.group(1).split())


def test_the_install_script_knows_every_tool_doctor_lists() -> None:
    table, not_installed = _script_table()
    unknown = {t.name for t in tools()} - set(table) - not_installed
    assert not unknown, f"scripts/install-system-deps.sh has no package for {sorted(unknown)}"


def test_the_install_script_names_packages_per_family(tmp_path: Path) -> None:
    for tool in ("bash", "cut", "sort"):  # what the script itself runs; every other tool is missing
        (tmp_path / tool).symlink_to(
            subprocess.check_output(["sh", "-c", f"command -v {tool}"], text=True).strip()
        )
    table, _ = _script_table()
    # tools installed in /usr/sbin or /sbin count as present (the script looks there too)
    missing = {c for c in table if not Path("/usr/sbin", c).exists() and not Path("/sbin", c).exists()} - {
        "bash"
    }
    for family, col in (("apt", 0), ("dnf", 1)):
        env = {"PATH": str(tmp_path), "NETSLEUTH_PKG_FAMILY": family, "NETSLEUTH_DEPS_DRY_RUN": "1"}
        out = subprocess.run(
            [str(tmp_path / "bash"), str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30
        )
        assert out.returncode == 0, out.stderr
        words = out.stdout.split()
        assert words[:2] == [family, "install"]
        assert set(words[2:]) == {table[c][col] for c in missing}


def test_the_log_scan_engine_is_named_and_a_slow_one_says_how_to_get_a_fast_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from netsleuth.commands.doctor import doctor_report, render_text
    from netsleuth.evidence import linescan

    report = doctor_report(app)
    assert report["log_scan"] == linescan.available() and report["log_scan"][-1] == "python"
    text = render_text(report, False)
    assert f"Log scan {', '.join(report['log_scan'])} " in text
    assert ("netsleuth[fast]" in text) == (report["log_scan"] == ["python"])
    monkeypatch.setattr(linescan, "available", lambda: ["python"])  # neither hyperscan nor ripgrep here
    slow = render_text(doctor_report(app), False)
    assert "Log scan python " in slow and "netsleuth[fast]" in slow and "ripgrep" in slow
