"""Faults between hosts, for real: four namespace hosts on a lab underlay bridge joined by a VXLAN
mesh (netsleuth.lab.vxlan_fleet), one bundle collected inside each (`ip netns exec hvN netsleuth
collect -o hvN.tar.gz`), then `netsleuth fleet diagnose` over the bundles.

The namespace hosts share the machine's UTS namespace, so every bundle claims the same hostname:
the fleet keeps them all and names them by their files (hv1..hv4)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from netsleuth.lab import Lab, LabUnavailable
from netsleuth.lab.scenario import settle
from netsleuth.lab.vxlan_fleet import UNDERLAY, FleetHost, VxlanFleetSpec, build_vxlan_fleet
from tests.integration.conftest import Row, netns_names, record

pytestmark = pytest.mark.root

DUP = f"{UNDERLAY}.50"
CASES: dict[str, tuple[VxlanFleetSpec, tuple[str, str] | None]] = {
    "healthy": (VxlanFleetSpec(), None),
    "reverse-missing": (
        VxlanFleetSpec(missing={("hv2", "hv1")}),
        ("fleet.tunnel_mesh_incomplete", "hv1->hv2"),
    ),
    "port-8472": (VxlanFleetSpec(ports={"hv4": 8472}), ("fleet.vxlan_port_mismatch", "hv4")),
    "mtu-1500": (VxlanFleetSpec(mtus={"hv3": 1500}), ("fleet.mtu_inconsistent", "hv3 vx0")),
    "duplicate-ip": (
        VxlanFleetSpec(extra={"hv2": [f"{DUP}/24"], "hv3": [f"{DUP}/24"]}),
        ("fleet.duplicate_ip", DUP),
    ),
}
# findings about the machine every namespace host shares, not about the hosts: its file systems
MACHINE_WIDE = {"host.disk_filling"}


def collect(h: FleetHost, out: Path) -> subprocess.CompletedProcess[str]:
    argv = [
        "ip",
        "netns",
        "exec",
        h.ns.name,
        sys.executable,
        "-m",
        "netsleuth.cli",
        "collect",
        "-q",
        "-o",
        str(out),
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def fleet_bundles(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path, float]]:
    """Build the case's fleet, collect one bundle per host, tear it all down; yield the bundles' dir."""
    name: str = request.param
    spec, _ = CASES[name]
    t0 = time.monotonic()
    lab = Lab(f"fleet-{name}")
    try:
        lab.__enter__()
    except LabUnavailable as exc:
        pytest.skip(str(exc))
    try:
        hosts = build_vxlan_fleet(lab, spec)
        settle(lab)
        with ThreadPoolExecutor(len(hosts)) as pool:
            done = list(pool.map(lambda h: collect(h, tmp_path / f"{h.name}.tar.gz"), hosts))
        for h, r in zip(hosts, done, strict=True):
            assert r.returncode == 0, f"collect in {h.name}: {r.stderr[-500:]}"
    finally:
        problems = lab.down()
        lab.__exit__(None, None, None)  # the signal handler back (down() again is a no-op)
    assert not problems, f"teardown problems: {problems}"
    assert not any(n.startswith(lab.prefix) for n in netns_names())
    yield name, tmp_path, t0


def fleet_diagnose(d: Path) -> tuple[int, dict[str, Any]]:
    p = subprocess.run(
        [sys.executable, "-m", "netsleuth.cli", "fleet", "diagnose", str(d), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert p.returncode in (0, 1, 2), f"fleet diagnose could not run (exit {p.returncode}): {p.stderr[-800:]}"
    rep: dict[str, Any] = json.loads(p.stdout)
    return p.returncode, rep


def loud(rep: dict[str, Any]) -> list[str]:
    own = [
        f"{h['name']}: {f['id']} {f['subject']}"
        for h in rep["hosts"]
        for f in (h["report"] or {}).get("findings", [])
        if f["severity"] != "info" and f["id"] not in MACHINE_WIDE
    ]
    return own + [f"{f['id']} {f['subject']}" for f in rep["findings"] if f["severity"] != "info"]


@pytest.mark.parametrize("fleet_bundles", list(CASES), indirect=True)
def test_fleet_diagnose_of_a_lab_fleet(fleet_bundles: tuple[str, Path, float]) -> None:
    name, d, t0 = fleet_bundles
    code, rep = fleet_diagnose(d)
    assert [(h["name"], h["status"]) for h in rep["hosts"]] == [(f"hv{i}", "ok") for i in range(1, 5)]
    found = sorted({f["id"] for f in rep["findings"]})
    _, expect = CASES[name]
    if expect is None:
        noisy = loud(rep)
        record(Row(f"fleet-{name}", "baseline", "fleet (bundles)", found, time.monotonic() - t0,
                   "ok: quiet" if not noisy else "FALSE ALARM: " + "; ".join(noisy)))  # fmt: skip
        assert not noisy
        assert len(rep["mesh"]["edges"]) == 6 and all(
            e["a_to_b"] and e["b_to_a"] for e in rep["mesh"]["edges"]
        )
        return
    rule_id, subject = expect
    hits = [f for f in rep["findings"] if f["id"] == rule_id and f["subject"] == subject]
    record(Row(f"fleet-{name}", rule_id, "fleet (bundles)", found, time.monotonic() - t0,
               f"ok: names {subject}" if hits else f"MISSED: {[(f['id'], f['subject']) for f in rep['findings']]}"))  # fmt: skip
    assert hits, rep["findings"]
    assert code >= (2 if hits[0]["severity"] == "critical" else 1)
    if rule_id == "fleet.duplicate_ip":
        assert hits[0]["hosts"] == ["hv2", "hv3"]
    else:
        others = [f for f in rep["findings"] if f["severity"] != "info" and f["id"] != rule_id]
        assert not others, others
