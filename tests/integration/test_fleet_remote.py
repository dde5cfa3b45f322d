"""The fleet end to end, for real: namespace hosts each running its own sshd, Ansible reaching
them from a controller namespace (`netsleuth fleet collect` copies the stdlib-only collector over
SSH, runs it, fetches each bundle), the mesh probe (`fleet probe`) and `fleet diagnose` of what
came back. Every scenario of netsleuth.lab.scenarios.fleet; the faults must be found naming the
right hosts, the healthy fleet must be quiet. Bad input: a refused key, a host without sshd, a
collector that hangs or fails."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipapp
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netsleuth.lab import Lab
from netsleuth.lab.fleet import FleetSpec, build_fleet
from netsleuth.lab.scenario import Vantage, settle
from netsleuth.lab.scenarios.fleet import FleetScenario, run_fleet
from netsleuth.remote.zipapp import build_zipapp
from tests.integration.conftest import FLEET_SCENARIOS, Row, build_and_tear_down, record

pytestmark = pytest.mark.root
MACHINE_WIDE = {"host.disk_filling"}  # the namespace hosts share the machine's file systems
CLI = [sys.executable, "-m", "netsleuth.cli"]


def usable(sc: FleetScenario | None = None) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    missing = (sc or FleetScenario()).missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    if not (Path(sys.executable).parent / "ansible-playbook").exists():
        pytest.skip("needs the fleet extra (ansible-core, ansible-runner)")


def listeners() -> list[str]:
    out = subprocess.run(["pgrep", "-af", "mesh-listen"], capture_output=True, text=True, check=False).stdout
    # the listener itself: python3 .../netsleuth-collect.pyz mesh-listen (not the ssh or timeout running it)
    return [
        ln for ln in out.splitlines() if "python" in Path(ln.split()[1]).name and "netsleuth-collect" in ln
    ]


def mesh_states() -> list[str]:
    return [str(p) for p in Path("/tmp").glob("netsleuth-mesh-*")]


@pytest.fixture
def fleet(request: pytest.FixtureRequest) -> Iterator[tuple[FleetScenario, Lab, Vantage, float]]:
    sc: FleetScenario = FLEET_SCENARIOS[request.param]()  # type: ignore[assignment]
    usable(sc)
    yield from build_and_tear_down(sc)  # type: ignore[misc]
    assert not listeners() and not mesh_states(), "a mesh listener was left behind"


def loud(rep: dict[str, Any]) -> list[str]:
    own = [
        f"{h['name']}: {f['id']} {f['subject']}"
        for h in rep["hosts"]
        for f in (h.get("report") or {}).get("findings", [])
        if f["severity"] != "info" and f["id"] not in MACHINE_WIDE
    ]
    return own + [f"{f['id']} {f['subject']}" for f in rep["findings"] if f["severity"] != "info"]


@pytest.mark.parametrize("fleet", sorted(FLEET_SCENARIOS), indirect=True)
def test_fleet_collect_probe_diagnose(fleet: tuple[FleetScenario, Lab, Vantage, float]) -> None:
    sc, _lab, vantage, t0 = fleet
    run = run_fleet(vantage)
    # ---- collect: every host over SSH, statuses as the scenario says --------------------------
    assert run.collect is not None and run.collect.returncode in (0, 1), run.collect.stderr[-800:]
    manifest = json.loads((Path(run.outdir) / "fleet-collect.json").read_text())
    statuses = {n: h["status"] for n, h in manifest["hosts"].items()}
    assert statuses == {f"hv{i}": sc.expect_status.get(f"hv{i}", "ok") for i in range(1, 5)}, manifest
    assert run.collect.returncode == (1 if sc.expect_status else 0)
    for name, h in manifest["hosts"].items():
        if h["status"] == "ok":  # each host's own hostname (sshd under unshare --uts), its own bundle
            from netsleuth.evidence.source import open_source

            bundle_path = Path(run.outdir) / h["bundle"]
            assert bundle_path.stat().st_mode & 0o777 == 0o600
            with open_source(bundle_path, None, False) as b:
                assert b.hostname == name
        else:
            assert h["bundle"] is None and h["message"]
    # ---- probe: the N x N matrix ------------------------------------------------------------------
    assert run.probe is not None and run.probe.returncode in (0, 1, 2), run.probe.stderr[-800:]
    mesh = json.loads((Path(run.outdir) / "mesh.json").read_text())
    cells = {(r["src"], r["dst"]): r for r in mesh["results"]}
    assert len(cells) == 12
    down = set(sc.expect_status)
    for (s, d), r in cells.items():
        if s in down or d in down:
            assert r["udp"] == "skipped" and r["detail"], r
        elif sc.name == "fleet-udp-4789-dropped" and d == "hv3":  # hv3's receive path drops it
            assert (r["icmp"], r["udp"]) == ("ok", "lost"), r
            assert r["udp_seen"] == {"left_src": True, "reached_dst_nic": True, "delivered": False}, r
        elif sc.name == "fleet-vtep-port-8472":
            assert r["icmp"] == "ok" and r["udp"] == "ok", (
                r
            )  # the underlay passes 4789: the fault is the port
        else:
            assert (r["icmp"], r["udp"], r["pmtu"]) == ("ok", "ok", 1500), r
            assert r["udp_seen"] == {"left_src": True, "reached_dst_nic": True, "delivered": True}, r
    # ---- diagnose: the bundles and the matrix -----------------------------------------------------
    assert run.diagnose is not None
    if run.diagnose.returncode == 64 and "No such command 'diagnose'" in run.diagnose.stderr:
        pytest.skip("fleet diagnose is not on this branch yet (i10-diagnose): collect and probe checked")
    assert run.diagnose.returncode in (0, 1, 2), run.diagnose.stderr[-800:]
    rep = json.loads(run.diagnose.stdout)
    found = sorted({f["id"] for f in rep["findings"]})
    elapsed = time.monotonic() - t0
    mode = "fleet (collect over SSH + probe)"
    listed = {h["name"]: h["status"] for h in rep["hosts"]}
    for name, status in sc.expect_status.items():
        assert listed.get(name) == status, rep["hosts"]
    if sc.expect is None:
        noisy = loud(rep)
        record(Row(sc.name, "baseline", mode, found, elapsed, "ok: quiet" if not noisy else "FALSE ALARM: " + "; ".join(noisy)))  # fmt: skip
        assert not noisy
        return
    hits = [
        f
        for f in rep["findings"]
        if f["id"] == sc.expect and any(s in f["subject"] for s in sc.expect_subject)
    ]
    others = [
        f"{f['id']} {f['subject']}"
        for f in rep["findings"]
        if f["severity"] != "info" and f["id"] != sc.expect
    ]
    verdict = (
        f"ok: names {hits[0]['subject']}"
        if hits
        else f"MISSED: {[(f['id'], f['subject']) for f in rep['findings']]}"
    )
    record(Row(sc.name, sc.expect, mode, found, elapsed, verdict))
    assert hits, rep["findings"]
    assert run.diagnose.returncode >= (2 if hits[0]["severity"] == "critical" else 1)
    if sc.expect == "fleet.duplicate_ip":
        assert hits[0]["hosts"] == ["hv2", "hv3"]
    else:
        assert not others, others


def hanging_collector(path: Path, body: str) -> Path:
    """A collector zipapp that does `body` instead of collecting (a hung or broken collector)."""
    src = path.parent / (path.stem + "-src")
    src.mkdir()
    (src / "__main__.py").write_text(body)
    zipapp.create_archive(src, path)
    return path


def test_bad_hosts_are_listed_with_the_reason_and_the_others_still_collected(tmp_path: Path) -> None:
    """A refused key (auth_failed), a host without sshd (unreachable), then a collector that hangs
    (timed_out, killed on the host) and one that fails (collector_error, with its message)."""
    usable()
    with Lab("fleet-bad-hosts") as lab:
        fl = build_fleet(lab, FleetSpec(no_sshd={"hv4"}, wrong_key={"hv3"}))
        settle(lab)
        env = {**os.environ, **fl.env}

        def collect(*extra: str, out: str) -> dict[str, Any]:
            argv = fl.argv(
                *CLI, "fleet", "collect", "-i", str(fl.inventory), "-o", str(tmp_path / out), *extra
            )
            p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
            assert p.returncode in (1, 3), p.stderr[-800:]
            doc: dict[str, Any] = json.loads((tmp_path / out / "fleet-collect.json").read_text())
            return doc

        doc = collect(out="normal")
        st = {n: (h["status"], h["message"]) for n, h in doc["hosts"].items()}
        assert [st[h][0] for h in ("hv1", "hv2", "hv3", "hv4")] == ["ok", "ok", "auth_failed", "unreachable"]
        assert "Permission denied (publickey)" in st["hv3"][1] and "Connection refused" in st["hv4"][1]
        assert sorted(p.name for p in (tmp_path / "normal").iterdir()) == [
            "fleet-collect.json",
            "hv1.tar.gz",
            "hv2.tar.gz",
        ]

        hang = hanging_collector(tmp_path / "hang.pyz", "import time\ntime.sleep(3600)\n")
        t = time.monotonic()
        doc = collect("--collector", str(hang), "--timeout", "5", "--limit", "hv1:hv2", out="hung")
        assert time.monotonic() - t < 60
        assert {n: h["status"] for n, h in doc["hosts"].items()} == {"hv1": "timed_out", "hv2": "timed_out"}
        assert doc["limit"] == "hv1:hv2"  # part of the inventory: fleet diagnose must not take it for all
        assert "did not finish within 5 s" in doc["hosts"]["hv1"]["message"]
        time.sleep(6)  # timeout's -k 5: killed by then
        hung = subprocess.run(
            ["pgrep", "-af", str(fl.dir / "remote-tmp")], capture_output=True, text=True, check=False
        )
        assert not hung.stdout.strip(), hung.stdout
        assert not list((fl.dir / "remote-tmp").glob("*")), "the copied collector was left on the host"

        bad = hanging_collector(
            tmp_path / "bad.pyz", "import sys\nsys.exit('netsleuth-collect: cannot write the bundle')\n"
        )
        doc = collect("--collector", str(bad), "--limit", "hv1", out="failed")
        h = doc["hosts"]["hv1"]
        assert h["status"] == "collector_error" and "cannot write the bundle" in h["message"], h


def test_the_zipapp_writes_the_bundle_netsleuth_collect_writes(tmp_path: Path) -> None:
    """One engine: inside one lab namespace host, `netsleuth collect` and the zipapp run by the
    distro's bare python3 write the same evidence names and statuses, and the same manifest keys."""
    usable()
    pyz = build_zipapp(tmp_path / "netsleuth-collect.pyz")
    with Lab("fleet-one-engine") as lab:
        fl = build_fleet(lab, FleetSpec())
        settle(lab)
        ns = fl.hosts[0].ns.name
        a, b = tmp_path / "collect.tar.gz", tmp_path / "zipapp.tar.gz"
        for argv in (
            [*CLI, "collect", "-q", "-o", str(a)],
            ["/usr/bin/python3", "-I", str(pyz), "collect", "-q", "-o", str(b)],
        ):
            p = subprocess.run(
                ["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=120, check=False
            )
            assert p.returncode == 0, p.stderr
    import tarfile

    def meta(path: Path) -> dict[str, Any]:
        with tarfile.open(path) as t:
            return json.loads(t.extractfile("netsleuth-bundle/meta.json").read())  # type: ignore[union-attr,no-any-return]

    ma, mb = meta(a), meta(b)
    assert sorted(ma) == sorted(mb)
    assert [sorted(r) for r in ma["evidence"]] == [sorted(r) for r in mb["evidence"]]
    ident = lambda m: {(r["name"], r["netns"], r["key"]): r["status"] for r in m["evidence"]}  # noqa: E731
    assert ident(ma) == ident(mb)
    assert (ma["hostname"], ma["kernel"], ma["namespaces"]) == (
        mb["hostname"],
        mb["kernel"],
        mb["namespaces"],
    )


def test_a_lab_login_runs_none_of_the_machines_dotfiles() -> None:
    """A command Ansible runs on a lab host gets the lab's own empty HOME: the `bash -c` sshd starts
    reads ~/.bashrc, and the machine's root dotfiles are not part of a lab host (a stale `pyenv
    rehash` lock in them once made every lab command wait 60 s, and a session killed mid-command
    left that lock in the machine's home)."""
    usable()
    with Lab("fleet-login-home") as lab:
        fl = build_fleet(lab, FleetSpec())
        settle(lab)
        ansible = str(Path(sys.executable).parent / "ansible")
        argv = fl.argv(ansible, "-i", str(fl.inventory), "hv1", "-m", "shell", "-a", 'echo "HOME=$HOME"')
        p = subprocess.run(
            argv, env={**os.environ, **fl.env}, capture_output=True, text=True, timeout=120, check=False
        )
        assert p.returncode == 0, p.stdout[-800:] + p.stderr[-800:]
        home = p.stdout.split("HOME=", 1)[1].split()[0]
        assert Path(home).is_relative_to(lab.dir) and not list(Path(home).iterdir()), p.stdout


def test_a_sender_whose_own_firewall_drops_the_probe_is_named(tmp_path: Path) -> None:
    """hv2's OUTPUT chain drops UDP 4789: its probes never reach its egress tap (left_src false),
    so the matrix blames hv2's send path, not the receivers; the reverse direction passes."""
    usable()
    with Lab("fleet-send-dropped") as lab:
        fl = build_fleet(lab, FleetSpec(drop_udp_out={"hv2": 4789}))
        settle(lab)
        out = tmp_path / "mesh.json"
        argv = fl.argv(*CLI, "fleet", "probe", "-i", str(fl.inventory), "-o", str(out), "--format", "json")
        p = subprocess.run(
            argv, env={**os.environ, **fl.env}, capture_output=True, text=True, timeout=300, check=False
        )
        assert p.returncode in (0, 1, 2), p.stderr[-800:]
    cells = {(r["src"], r["dst"]): r for r in json.loads(out.read_text())["results"]}
    for peer in ("hv1", "hv3", "hv4"):
        sent = cells[("hv2", peer)]
        assert (sent["icmp"], sent["udp"]) == ("ok", "lost"), sent
        assert sent["udp_seen"] == {"left_src": False, "reached_dst_nic": False, "delivered": False}, sent
        assert cells[(peer, "hv2")]["udp"] == "ok", cells[(peer, "hv2")]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_fleet_probe_leaves_no_listener_after_ctrl_c(tmp_path: Path, sig: int) -> None:
    usable()
    with Lab("fleet-probe-interrupted") as lab:
        fl = build_fleet(lab, FleetSpec())
        settle(lab)
        argv = fl.argv(*CLI, "fleet", "probe", "-i", str(fl.inventory), "--format", "json")
        p = subprocess.Popen(
            argv,
            env={**os.environ, **fl.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # a shell's background job ignores SIGINT, and so would its children: a terminal's Ctrl-C is the case
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and p.poll() is None:
                if len([s for s in mesh_states() if Path(s, "pid").exists()]) == 4:
                    break
                time.sleep(0.1)
            time.sleep(0.5)
            assert len(listeners()) == 4, "the listeners did not start"
            p.send_signal(sig)
            _out, err = p.communicate(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
        assert p.returncode == 130 and err.strip().count("\n") == 0 and "Traceback" not in err, err[-500:]
        assert not listeners() and not mesh_states()
