"""`netsleuth trace` through a real userspace Open vSwitch (datapath_type=netdev), ovs-vswitchd
inside the lab namespace that holds the bridges' ports:

    A:eth0 ── S:pa ┐ br0 ── patch ── br1 ┌ S:pb ── B:eth0      (10.62.0.2 -> 10.62.0.3)
                   └ S:pc ── C:eth0 (10.62.0.4, not on the path)

The path is derived with the lab's `ovs.env` (OVS_RUNDIR...), nothing passed by --points."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netsleuth.capture.hostview import Host
from netsleuth.capture.trace import derive_path
from netsleuth.lab import Lab, LabUnavailable

pytestmark = pytest.mark.root
NETSLEUTH = [sys.executable, "-m", "netsleuth.cli"]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "capture"
DEST = "10.62.0.3"


class OvsLab:
    def __init__(self, lab: Lab, ovs: Any, ns: dict[str, str]) -> None:
        self.lab, self.ovs, self.ns = lab, ovs, ns

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, **self.ovs.env}

    def ofctl(self, *args: str) -> None:
        subprocess.run(["ovs-ofctl", *args], env=self.env, check=True, capture_output=True, timeout=10)

    def trace(self, *extra: str, timeout: float = 20) -> tuple[int, dict[str, Any], str]:
        out = subprocess.run(
            [*NETSLEUTH, "trace", DEST, "--from-netns", self.ns["a"], "--format", "json", *extra],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=self.env,
        )
        assert out.returncode in (0, 1, 2), out.stderr
        return out.returncode, json.loads(out.stdout), out.stderr


@pytest.fixture
def olab() -> Iterator[OvsLab]:
    try:
        with Lab("trace-ovs") as lab:
            a, s, b, c = (lab.netns(r) for r in ("a", "s", "b", "c"))
            for n in range(3):  # namespaces the path does not cross: never read
                lab.netns(f"idle{n}")
            lab.veth(s, "pa", a, "eth0", peer_addr="10.62.0.2/24")
            lab.veth(s, "pb", b, "eth0", peer_addr=f"{DEST}/24")
            lab.veth(s, "pc", c, "eth0", peer_addr="10.62.0.4/24")
            ovs = lab.ovs(netns=s)
            ovs.bridge("br0")
            ovs.bridge("br1")
            ovs.port("br0", "pa")
            ovs.port("br0", "pc")
            ovs.port("br1", "pb")
            ovs.vsctl(
                "add-port", "br0", "patch-01", "--", "set", "interface", "patch-01", "type=patch",
                "options:peer=patch-10", "--", "add-port", "br1", "patch-10", "--",
                "set", "interface", "patch-10", "type=patch", "options:peer=patch-01",
            )  # fmt: skip
            yield OvsLab(lab, ovs, {r: n.name for r, n in (("a", a), ("s", s), ("b", b), ("c", c))})
    except LabUnavailable as exc:
        pytest.skip(str(exc))


def test_path_through_ovs_patch_ports_derived_lazily(olab: OvsLab, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in olab.ovs.env.items():
        monkeypatch.setenv(k, v)
    host = Host()
    pts = derive_path(DEST, olab.ns["a"], host)
    a, s, b = olab.ns["a"], olab.ns["s"], olab.ns["b"]
    assert [(p.netns, p.iface, p.role, p.error) for p in pts] == [
        (a, "eth0", "sender", ""),
        (s, "pa", "ovs-port", ""),
        (s, "pb", "ovs-port", ""),
        (b, "eth0", "destination", ""),
    ]
    asked = " ".join(host.log)
    assert "idle" not in asked  # only the namespaces the path (and its bridge's ports) lead to
    assert sum(k.startswith("ovs-vsctl") for k in host.log) == 1
    c = olab.ns["c"]
    to_c = derive_path("10.62.0.4", a, host)  # the same bridge, the other port: no patch crossed
    assert [(p.netns, p.iface, p.role) for p in to_c] == [
        (a, "eth0", "sender"),
        (s, "pa", "ovs-port"),
        (s, "pc", "ovs-port"),
        (c, "eth0", "destination"),
    ]
    if os.environ.get("NETSLEUTH_RECORD"):  # refresh tests/fixtures/capture/ovs_patch_path.json
        FIXTURES.mkdir(parents=True, exist_ok=True)
        (FIXTURES / "ovs_patch_path.json").write_text(
            json.dumps({"dest": DEST, "from_netns": a, "ns": olab.ns, "commands": host.log}, indent=1) + "\n"
        )


def test_healthy_every_point_seen_both_ways(olab: OvsLab) -> None:
    t0 = time.monotonic()
    rc, rep, err = olab.trace()
    assert rc == 0 and rep["findings"] == [], (rep["findings"], err)
    (chk,) = [c for c in rep["checks"] if c["id"] == "path.loss_localized"]
    assert chk["status"] == "pass"
    _, text, _ = _text(olab)
    s = olab.ns["s"]
    for label in (f"{olab.ns['a']}:eth0", f"{s}:pa", f"{s}:pb", f"{olab.ns['b']}:eth0"):
        (line,) = [ln for ln in text.splitlines() if ln.startswith(label + " ")]
        assert "request seen" in line and "reply seen" in line, line
    assert time.monotonic() - t0 < 20


def _text(olab: OvsLab) -> tuple[int, str, str]:
    out = subprocess.run(
        [*NETSLEUTH, "trace", DEST, "--from-netns", olab.ns["a"]],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
        env=olab.env,
    )
    return out.returncode, out.stdout, out.stderr


def test_openflow_drop_of_requests_on_ingress_port_names_hop(olab: OvsLab) -> None:
    olab.ofctl("add-flow", "br0", "priority=100,in_port=pa,icmp,icmp_type=8,actions=drop")
    rc, rep, _ = olab.trace()
    s = olab.ns["s"]
    (f,) = [f for f in rep["findings"] if f["id"] == "path.loss_localized"]
    assert rc == 2
    assert f["subject"] == f"{s}:pa -> {s}:pb" and "(request)" in f["title"]


def test_openflow_drop_of_replies_on_far_bridge_names_hop_and_direction(olab: OvsLab) -> None:
    olab.ofctl("add-flow", "br1", "priority=100,in_port=pb,icmp,icmp_type=0,actions=drop")
    _, rep, _ = olab.trace()
    s = olab.ns["s"]
    (f,) = [f for f in rep["findings"] if f["id"] == "path.loss_localized"]
    assert f["subject"] == f"{s}:pb -> {s}:pa" and "(reply)" in f["title"]


def test_hung_ovsdb_does_not_hang_trace_and_is_reported(olab: OvsLab) -> None:
    pid = olab.ovs.pids["ovsdb-server"][0]
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        _, rep, err = olab.trace(timeout=15)
        took = time.monotonic() - t0
    finally:
        os.kill(pid, signal.SIGCONT)
    assert took < 12
    assert "ovs-vsctl did not answer" in err and "--points" in err
    (chk,) = [c for c in rep["checks"] if c["id"] == "path.loss_localized"]
    assert chk["status"] in ("pass", "fail")
    table = json.dumps(rep)
    assert "ovs-vsctl did not answer" in table  # the result's point table says why the path stops
