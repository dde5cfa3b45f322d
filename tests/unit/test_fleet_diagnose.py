"""`netsleuth fleet diagnose`: a directory of bundles, sosreports and `sos collect` archives in, one
report out; bad input from one host is listed with the reason and the others are still analysed."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from netsleuth.evidence.bundle import write_bundle
from netsleuth.fleet_analysis import FleetOptions, analyse_fleet
from tests.helpers import Ran, cli
from tests.unit.test_rules_fleet import HOSTS, HOTSOS, lab_host

ROOTS = HOTSOS / "roots"


def lab_dir(path: Path, **variants: dict[str, str]) -> Path:
    """The lab fleet as four bundles, as `ip netns exec hvN netsleuth collect -o hvN.tar.gz` writes them."""
    path.mkdir(parents=True, exist_ok=True)
    for h in HOSTS:
        write_bundle(lab_host(h, **variants.get(h, {})), path / f"{h}.tar.gz")
    return path


def need_roots() -> None:
    if not ROOTS.is_dir():
        pytest.skip(f"needs the hotsos data roots ({ROOTS})")


def report_of(p: Ran) -> dict[str, Any]:
    assert p.returncode in (0, 1, 2), p.stderr
    rep: dict[str, Any] = json.loads(p.stdout)
    return rep


def test_two_bundles_claiming_one_hostname_are_both_kept_named_by_file(tmp_path: Path) -> None:
    rep = report_of(cli("fleet", "diagnose", str(lab_dir(tmp_path / "f")), "--format", "json"))
    assert rep["schema"] == "netsleuth.fleet/v1"
    assert [h["name"] for h in rep["hosts"]] == list(HOSTS)
    assert {h["hostname"] for h in rep["hosts"]} == {"vm"}
    assert all(h["report"]["schema"] == "netsleuth.report/v1" for h in rep["hosts"])
    (note,) = [n for n in rep["notes"] if "claim the same hostname vm" in n]
    assert all(f"{h}.tar.gz" in note for h in HOSTS)
    assert {e["a"] for e in rep["mesh"]["edges"]} <= set(HOSTS) and len(rep["mesh"]["edges"]) == 6
    assert all(e["a_to_b"] and e["b_to_a"] and not e["findings"] for e in rep["mesh"]["edges"])


def test_fault_between_hosts_sets_the_exit_status(tmp_path: Path) -> None:
    d = lab_dir(tmp_path / "f", hv2={"fdb": "no_way_back"})
    p = cli("fleet", "diagnose", str(d))
    assert p.returncode == 2, p.stderr
    assert (
        "CRITICAL fleet.tunnel_mesh_incomplete  Tunnel hv1 -> hv2: hv2 has no tunnel back to hv1" in p.stdout
    )
    assert p.stdout.index("Hosts") < p.stdout.index("Cross-host findings")


def test_a_corrupt_bundle_is_listed_with_the_reason_and_the_others_analysed(tmp_path: Path) -> None:
    d = lab_dir(tmp_path / "f")
    good = (d / "hv3.tar.gz").read_bytes()
    (d / "hv3.tar.gz").write_bytes(good[: len(good) // 2])  # a transfer cut short
    (d / "notes.txt").write_text("not a host")
    rep = report_of(cli("fleet", "diagnose", str(d), "--format", "json"))
    status = {h["name"]: (h["status"], h["message"]) for h in rep["hosts"]}
    assert status["hv3"][0] == "unreadable" and "hv3.tar.gz" in status["hv3"][1]
    assert "truncated" in status["hv3"][1] or "corrupt" in status["hv3"][1]
    assert [s for n, (s, _) in status.items() if n != "hv3"] == ["ok"] * 3
    assert any("notes.txt" in n for n in rep["notes"])


def test_a_missing_input_among_others_is_listed_and_the_others_analysed(tmp_path: Path) -> None:
    d = lab_dir(tmp_path / "f")
    gone = tmp_path / "hv9.tar.gz"  # mistyped, or deleted since the shell expanded the glob
    rep = report_of(
        cli("fleet", "diagnose", *sorted(map(str, d.glob("*.tar.gz"))), str(gone), "--format", "json")
    )
    status = {h["name"]: (h["status"], h["message"]) for h in rep["hosts"]}
    (missing,) = [n for n, (s, _) in status.items() if s != "ok"]
    assert status[missing][0] == "unreadable" and "no such file" in status[missing][1], status
    assert str(gone) in status[missing][1] and len(status) == 5


def test_nothing_analysable_is_exit_3_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.tar.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    p = cli("fleet", "diagnose", str(bad))
    assert p.returncode == 3 and len(p.stderr.strip().splitlines()) == 1
    assert "no host could be analysed" in p.stderr and "Traceback" not in p.stderr
    assert p.stderr.count(str(bad)) == 1, p.stderr  # the file named once, not "x.tar.gz: x.tar.gz: ..."
    p = cli("fleet", "diagnose", str(tmp_path / "missing"))
    assert p.returncode == 3 and "no such file" in p.stderr
    assert cli("fleet", "diagnose").returncode == 64


def test_fleet_collect_manifest_names_hosts_and_lists_the_failed(tmp_path: Path) -> None:
    d = tmp_path / "f"
    d.mkdir()
    names = {"hv1": "compute-a", "hv2": "compute-b", "hv3": "compute-c"}
    for h, inv in names.items():
        write_bundle(lab_host(h), d / f"{inv}.tar.gz")
    hosts: dict[str, Any] = {
        inv: {
            "status": "ok",
            "message": "",
            "bundle": f"{inv}.tar.gz",
            "address": f"10.99.200.{i}",
            "duration_s": 3.1,
        }
        for i, inv in enumerate(names.values(), 1)
    }
    hosts["compute-d"] = {
        "status": "unreachable",
        "message": "Failed to connect to the host via ssh: connect to host 10.99.200.4 port 22: No route to host",
        "bundle": None,
        "address": "10.99.200.4",
        "duration_s": 10.0,
    }
    manifest = {
        "schema": "netsleuth.fleet-collect/v1",
        "started_at": "2026-11-21T10:00:00+00:00",
        "inventory": "inv.ini",
        "hosts": hosts,
    }
    (d / "fleet-collect.json").write_text(json.dumps(manifest))
    rep = report_of(cli("fleet", "diagnose", str(d), "--format", "json"))
    status = {h["name"]: h["status"] for h in rep["hosts"]}
    assert status == {"compute-a": "ok", "compute-b": "ok", "compute-c": "ok", "compute-d": "unreachable"}
    (d4,) = [h for h in rep["hosts"] if h["name"] == "compute-d"]
    assert "No route to host" in d4["message"] and d4["address"] == "10.99.200.4" and d4["report"] is None
    # the tunnels to the unreachable host's address are not reported as going nowhere
    assert not [f for f in rep["findings"] if f["id"] == "fleet.tunnel_mesh_incomplete"]
    assert not [n for n in rep["notes"] if "same hostname" in n]


def test_a_fleet_collected_with_limit_is_not_the_whole_inventory(tmp_path: Path) -> None:
    """`fleet collect --limit compute` leaves the network nodes out: a tunnel toward one of them is
    not a tunnel to nowhere (a false alarm, exit 2, before fleet-collect.json recorded the limit)."""
    from netsleuth.remote.collect import FleetCollect

    d = tmp_path / "f"
    d.mkdir()
    hosts: dict[str, Any] = {}
    for i, h in enumerate(HOSTS[:3], 1):  # hv4 (10.99.200.4) is outside the limit: not collected
        write_bundle(lab_host(h), d / f"{h}.tar.gz")
        hosts[h] = {"status": "ok", "message": "", "bundle": f"{h}.tar.gz", "address": f"10.99.200.{i}"}
    doc = FleetCollect("2026-11-21T10:00:00+00:00", "inv.ini", limit="hv1:hv2:hv3").to_dict()
    assert doc["limit"] == "hv1:hv2:hv3"

    def tunnels(limit: str | None) -> list[tuple[str, str]]:
        manifest = {**doc, "limit": limit, "hosts": hosts}
        (d / "fleet-collect.json").write_text(json.dumps(manifest))
        rep = report_of(cli("fleet", "diagnose", str(d), "--format", "json"))
        return sorted(
            (f["severity"], f["subject"])
            for f in rep["findings"]
            if f["id"] == "fleet.tunnel_mesh_incomplete"
        )

    whole = tunnels(None)  # the whole inventory: nobody has 10.99.200.4, the tunnels go nowhere
    assert whole and all(sev == "critical" and sub.endswith("->10.99.200.4") for sev, sub in whole), whole
    assert tunnels("hv1:hv2:hv3") == [("info", sub) for _, sub in whole]


def test_an_agent_list_or_mesh_that_cannot_serve_is_a_usage_error(tmp_path: Path) -> None:
    """Before: a truncated or wrong --with/--mesh file was skipped as "no agent list given", seen
    only with -v, and the exit status said nothing of it."""
    d = lab_dir(tmp_path / "f")
    bad = tmp_path / "agents.json"
    bad.write_text("Missing value auth-url required for auth plugin password\n")  # a failed CLI call
    mesh = tmp_path / "mesh.json"
    mesh.write_text('[{"ID": "x", "Agent Type": "L3 agent", "Alive": false}]')  # the wrong file
    for opt, path, what in (
        ("--with", bad, "openstack network agent list -f json"),
        ("--mesh", mesh, "netsleuth fleet probe"),
        ("--with", mesh, None),  # an agent list: accepted
    ):
        p = cli("fleet", "diagnose", str(d), opt, str(path))
        if what is None:
            assert p.returncode in (0, 1, 2), p.stderr
            continue
        assert p.returncode == 64 and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert f"{opt} {path}: not " in p.stderr and what in p.stderr and "Traceback" not in p.stderr


def test_a_broken_fleet_collect_json_does_not_lose_the_bundles(tmp_path: Path) -> None:
    """Before: exit 3, nothing analysed, because the manifest beside four good bundles was cut short."""
    d = lab_dir(tmp_path / "f")
    (d / "fleet-collect.json").write_text('{"schema": "netsleuth.fleet-collect/v1", "hosts": {')
    rep = report_of(cli("fleet", "diagnose", str(d), "--format", "json"))
    assert [h["status"] for h in rep["hosts"]] == ["ok"] * len(HOSTS)
    (note,) = [n for n in rep["notes"] if "fleet-collect.json" in n]
    assert "not readable JSON" in note and "hostnames" in note
    p = cli("fleet", "diagnose", str(d), "--lang", "zh")
    assert "说明: " in p.stdout and "主机按其主机名命名" in p.stdout


def test_parallel_and_serial_analysis_agree(tmp_path: Path) -> None:
    d = lab_dir(tmp_path / "f", hv4={"link": "port8472", "addr": "port8472"})
    one = analyse_fleet([d], FleetOptions(jobs=1))
    two = analyse_fleet([d], FleetOptions(jobs=2))
    key = [(f.id, f.subject) for f in one.findings]
    assert key == [(f.id, f.subject) for f in two.findings] == [("fleet.vxlan_port_mismatch", "hv4")]
    assert [h.name for h in one.hosts] == [h.name for h in two.hosts]


def _tar_dir(src: Path, arcname: str, mode: str = "w:xz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        tar.add(src, arcname=arcname)
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_a_sos_collect_archive_of_real_sosreports(tmp_path: Path) -> None:
    """The layout sos >= 4 writes: under one top directory each node's sosreport tarball, its
    checksum, sos_logs/ and the collector's sos_reports/manifest.json."""
    need_roots()
    top = "sos-collector-test-2026-11-21-abcde"
    archive = tmp_path / f"{top}.tar.xz"
    nodes = {"openstack": "compute4", "kubernetes": "juju-110cc2-k8stest-4"}
    with tarfile.open(archive, "w:xz") as tar:
        for root, host in nodes.items():
            name = f"sosreport-{host}-2026-11-21-xyz"
            data = _tar_dir(ROOTS / root, name)
            _add(tar, f"{top}/{name}.tar.xz", data)
            _add(tar, f"{top}/{name}.tar.xz.sha256", b"0" * 64)
        _add(tar, f"{top}/sos_logs/sos.log", b"collector log\n")
        collect_md = {
            "version": "4.5.6",
            "components": {"collect": {"nodes": {h: {"hostname": h} for h in nodes.values()}}},
        }
        _add(tar, f"{top}/sos_reports/manifest.json", json.dumps(collect_md).encode())
    rep = report_of(cli("fleet", "diagnose", str(archive), "--format", "json"))
    assert {(h["name"], h["status"]) for h in rep["hosts"]} == {(h, "ok") for h in nodes.values()}
    assert all(h["input"].startswith(f"{archive}!sosreport-") for h in rep["hosts"])
    assert all(h["report"]["host"]["source"].startswith("sosreport:") for h in rep["hosts"])


def test_several_real_sosreports_run_clean(tmp_path: Path) -> None:
    need_roots()
    roots = sorted(p for p in ROOTS.iterdir() if p.is_dir())
    assert len(roots) >= 3
    rep = report_of(cli("fleet", "diagnose", *map(str, roots), "--format", "json"))
    assert len(rep["hosts"]) == len(roots) and {h["status"] for h in rep["hosts"]} == {"ok"}
    errors = [c for h in rep["hosts"] for c in h["report"]["checks"] if c["status"] == "error"]
    errors += [c for c in rep["checks"] if c["status"] == "error"]
    assert not errors
    names = {h["name"] for h in rep["hosts"]}
    assert {"compute4", "juju-110cc2-k8stest-4"} <= names
    # OVS tunnels of compute4 and flannel's FDB remotes lead to peers that were not given
    far = {f["subject"] for f in rep["findings"] if f["id"] == "fleet.tunnel_mesh_incomplete"}
    assert far == {
        "compute4->10.0.0.114",
        "compute4->10.0.0.133",
        "juju-110cc2-k8stest-4->10.6.1.235",
        "juju-110cc2-k8stest-4->10.6.3.76",
    }
    assert {f["severity"] for f in rep["findings"]} == {"info"}
