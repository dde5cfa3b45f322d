"""diagnose for the monitors people run: a Nagios/Icinga plugin (one status line, perfdata, exit
0/1/2, UNKNOWN 3 for anything that stops it, usage errors included) and a node-problem-detector
custom plugin (exit 0 OK, 1 problem, 2 unknown; the message NPD keeps)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from netsleuth.evidence.bundle import write_bundle
from netsleuth.report.monitor import NPD_MAX_OUTPUT, nagios, npd
from netsleuth.results.report import FindingOut, HostRef, Remedy, Report, Tool
from tests.helpers import bundle, cli, ev, fixture

# Nagios plugin output: STATUS text | 'label'=value[UOM];[warn];[crit];[min];[max] ...
PERFDATA = re.compile(r"^(?:[A-Za-z_]+=[0-9.]+(?:s|%|B)?;[^;]*;[^;]*;[^;]*(?:;[^; ]*)? ?)+$")


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("b")
    made = {
        "critical": bundle(
            ev("ip.link", fixture("core/ns_host_fault.ip_link.json"), netns="nslfxh"),
            ev("ip.addr", fixture("core/ns_host_fault.ip_address.txt"), netns="nslfxh"),
            namespaces=["nslfxh"],
        ),
        "warning": bundle(
            ev("sysctl.net", "net.netfilter.nf_conntrack_count = 80\nnet.netfilter.nf_conntrack_max = 100\n")
        ),
        "healthy": bundle(ev("ip.link", fixture("core/ns_host_healthy.ip_link.json"))),
    }
    out = {}
    for name, b in made.items():
        out[name] = d / f"{name}.tar.gz"
        write_bundle(b, out[name])
    return out


@pytest.mark.parametrize(
    ("which", "state", "code"), [("critical", "CRITICAL", 2), ("warning", "WARNING", 1), ("healthy", "OK", 0)]
)
def test_nagios_status_line_with_perfdata_and_plugin_exit_code(
    bundles: dict[str, Path], which: str, state: str, code: int
) -> None:
    p = cli("diagnose", str(bundles[which]), "--format", "nagios")
    assert p.returncode == code, p.stderr
    assert p.stdout.count("\n") == 1, "one status line"
    status, _, perf = p.stdout.strip().partition(" | ")
    assert status.startswith(f"NETSLEUTH {state} - ")
    assert PERFDATA.match(perf), perf
    counts = dict(kv.split("=")[0:2] for kv in perf.split())
    assert counts["critical"].startswith("3" if which == "critical" else "0")
    assert counts["warning"].startswith("1" if which == "warning" else "0")
    if which == "critical":
        assert "mtu.mismatch uplink [nslfxh]" in status and "nic.no_carrier vethd [nslfxh]" in status
    if which == "healthy":
        assert "no fault at warning level or above" in status


def test_nagios_counts_suppressed_findings_apart(bundles: dict[str, Path], tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[suppress]]\nfinding = "conntrack.near_limit"\nreason = "batch job at night"\n')
    p = cli("diagnose", str(bundles["warning"]), "--format", "nagios", "--config", str(cfg))
    assert p.returncode == 0
    assert (
        p.stdout.startswith("NETSLEUTH OK - ")
        and "checks) (1 suppressed)" in p.stdout
        and "suppressed=1;" in p.stdout
    )


def test_nagios_in_chinese(bundles: dict[str, Path]) -> None:
    p = cli("diagnose", str(bundles["critical"]), "--format", "nagios", "--lang", "zh")
    assert p.stdout.startswith("NETSLEUTH CRITICAL - 3 个严重")


@pytest.mark.parametrize(
    "args",
    [
        ["diagnose", "--format", "nagios", "--no-such-option"],
        ["diagnose", "--format=nagios", "--timeout", "abc"],
        ["diagnose", "--format", "nagios", "--only", "no.such_rule"],
        ["diagnose", "/nonexistent/bundle.tar.gz", "--format", "nagios"],
    ],
)
def test_nagios_usage_errors_and_failures_are_unknown_3(args: list[str]) -> None:
    p = cli(*args)
    assert p.returncode == 3
    assert p.stdout.startswith("NETSLEUTH UNKNOWN - ") and p.stdout.count("\n") == 1
    assert "Traceback" not in p.stdout + p.stderr


def test_usage_errors_stay_64_outside_plugin_mode() -> None:
    assert cli("diagnose", "--no-such-option").returncode == 64
    assert cli("diagnose", "--format", "json", "--only", "no.such_rule").returncode == 64


@pytest.mark.parametrize(("which", "code"), [("critical", 1), ("warning", 1), ("healthy", 0)])
def test_npd_plugin_exit_codes_and_short_message(bundles: dict[str, Path], which: str, code: int) -> None:
    p = cli("diagnose", str(bundles[which]), "--format", "npd")
    assert p.returncode == code
    line = p.stdout.rstrip("\n")
    assert "\n" not in line and len(line.encode()) <= NPD_MAX_OUTPUT  # NPD keeps that many bytes
    if which == "critical":
        assert line.startswith("mtu.mismatch uplink [nslfxh]") and line.endswith("(+3)")
    if which == "healthy":
        assert line == "netsleuth: no network fault"


def _many(n: int, lang: str) -> Report:
    faults = [
        FindingOut(id="nic.no_carrier", severity="critical", title="t", summary="s", evidence=[],
                   remedy=Remedy(), seed="003", subject=f"veth{i}", netns="qrouter-0123456789")
        for i in range(n)
    ]  # fmt: skip
    return Report(tool=Tool(version="0"), host=HostRef(hostname="h", kernel="k", source="s"),
                  started_at="", duration_s=0.1, findings=faults, lang=lang)  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "more"),
    [("en", "veth4 [qrouter-0123456789] and 2 more"), ("zh", "[qrouter-0123456789] 等另外 2 个")],
)
def test_nagios_names_five_faults_then_says_how_many_more(lang: str, more: str) -> None:
    status = nagios(_many(7, lang)).partition(" | ")[0]
    assert more in status, status


def test_npd_message_cut_to_what_npd_keeps_in_bytes() -> None:
    text, code = npd(_many(7, "en"))
    line = text.rstrip("\n")
    assert code == 1 and len(line.encode()) <= NPD_MAX_OUTPUT and line.endswith("… (+7)"), line


def test_npd_unknown_is_2_for_usage_errors_and_failures() -> None:
    for args in (
        ["diagnose", "--format", "npd", "--bogus"],
        ["diagnose", "/nonexistent.tar.gz", "--format", "npd"],
    ):
        p = cli(*args)
        assert p.returncode == 2 and p.stdout.strip() and "Traceback" not in p.stdout + p.stderr


def test_real_program_in_nagios_mode_prints_unknown_on_stdout() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "netsleuth.cli", "diagnose", "--format", "nagios", "--bogus"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert p.returncode == 3 and p.stdout.startswith("NETSLEUTH UNKNOWN - No such option")
