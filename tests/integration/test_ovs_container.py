"""Open vSwitch in a container (kolla-ansible, TripleO), live: the host has no OVS tools; netsleuth
runs them inside the container that owns them. A real ovsdb-server (private run directory) answers;
the container engine is a stand-in `docker` (none runs on the test machine) whose `exec` runs the
real tool against that server, so the route, the bound (`--timeout`) and the answers are real."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.root

PS = """CONTAINER ID   IMAGE                                                 COMMAND                  CREATED       STATUS                 PORTS     NAMES
b9f4f1b8ac0e   quay.io/openstack.kolla/openvswitch-db-server:zed     "dumb-init --single-…"   4 hours ago   Up 4 hours (healthy)             openvswitch_db
"""


@pytest.fixture
def ovsdb(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    for tool in ("ovsdb-tool", "ovsdb-server", "ovs-vsctl"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} (openvswitch-switch)")
    run = tmp_path / "run"
    run.mkdir()
    db = run / "conf.db"
    subprocess.run(["ovsdb-tool", "create", str(db), "/usr/share/openvswitch/vswitch.ovsschema"], check=True)
    server = subprocess.Popen(
        ["ovsdb-server", str(db), f"--remote=punix:{run}/db.sock", f"--unixctl={run}/ovsdb-server.ctl",
         f"--log-file={run}/ovsdb-server.log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        env = {**os.environ, "OVS_RUNDIR": str(run)}
        for _ in range(100):
            if (run / "db.sock").exists():
                break
            time.sleep(0.05)
        subprocess.run(["ovs-vsctl", "--timeout=5", "--no-wait", "init"], env=env, check=True)
        subprocess.run(["ovs-vsctl", "--timeout=5", "--no-wait", "add-br", "br-ctr"], env=env, check=True)
        yield run, server
    finally:
        server.kill()  # ours, by pid
        server.wait()


def _container_path(tmp_path: Path, run: Path) -> Path:
    """A PATH with no OVS tool: a stand-in `docker` (whose exec runs the real tool against our
    server, as the container's own tools would) and `ps`."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (tmp_path / "ps.txt").write_text(PS)
    real = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    docker = folder / "docker"
    docker.write_text(f"""#!/bin/sh
case "$1" in
ps) while IFS= read -r line; do echo "$line"; done < {tmp_path}/ps.txt ;;
exec) shift 2; echo "$*" >> {tmp_path}/exec; exec {shutil.which("env")} PATH={real} OVS_RUNDIR={run} "$@" ;;
*) exit 2 ;;
esac
""")
    docker.chmod(docker.stat().st_mode | stat.S_IXUSR)
    (folder / "ps").symlink_to(shutil.which("ps") or "/bin/ps")
    return folder


def _diagnose(path: Path) -> dict:  # type: ignore[type-arg]
    p = subprocess.run(
        [sys.executable, "-m", "netsleuth.cli", "diagnose", "--no-probes", "--format", "json", "--interval", "0",
         "--only", "ovs.ovsdb_unreachable", "--only", "ovs.interface_error"],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "PATH": str(path)},
    )  # fmt: skip
    assert p.returncode in (0, 1, 2), p.stderr
    return json.loads(p.stdout)  # type: ignore[no-any-return]


def _evidence(rep: dict, name: str) -> dict:  # type: ignore[type-arg]
    return next(e for e in rep["evidence"] if e["name"] == name)


def test_ovs_commands_run_inside_the_container_against_a_real_ovsdb(
    tmp_path: Path, ovsdb: tuple[Path, subprocess.Popen[bytes]]
) -> None:
    run, server = ovsdb
    path = _container_path(tmp_path, run)
    rep = _diagnose(path)
    show = _evidence(rep, "ovs.vsctl_show")
    assert (
        show["status"] == "ok" and show["source"] == "docker exec openvswitch_db ovs-vsctl --timeout=2 show"
    )
    assert _evidence(rep, "ovs.list_br")["status"] == "ok"
    checks = {c["id"]: c["status"] for c in rep["checks"]}
    assert checks["ovs.ovsdb_unreachable"] == "pass"  # the database answered, through the container
    ran = (tmp_path / "exec").read_text().splitlines()
    assert "ovs-vsctl --timeout=2 list-br" in ran and all(r.split()[0].startswith("ovs-") for r in ran)

    server.kill()  # now the database is gone: the answer through the container says so
    server.wait()
    gone = _evidence(_diagnose(path), "ovs.vsctl_show")
    assert gone["status"] == "error" and "database connection failed" in gone["error"]
    assert gone["source"].startswith("docker exec openvswitch_db ovs-vsctl")
