"""The lab's building blocks on this machine: they make what they say, and always clean up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netsleuth.lab import Lab, LabError, global_sysctl, sh
from netsleuth.lab.core import ROOT
from tests.integration.conftest import netns_names

pytestmark = pytest.mark.root

CT_MAX = "net.netfilter.nf_conntrack_max"


def _ct_max() -> str:
    return Path("/proc/sys/net/netfilter/nf_conntrack_max").read_text().strip()


def test_veth_across_namespaces_with_mtu_bridge_and_addresses() -> None:
    with Lab("blocks") as lab:
        a, b = lab.netns("a"), lab.netns("b")
        br = a.bridge("br0", addr="10.97.0.1/24")
        lab.veth(a, "vethb", b, "eth0", mtu=1400, peer_mtu=1500, master=br, peer_addr="10.97.0.2/24")
        links = {ln["ifname"]: ln for ln in json.loads(a.run(["ip", "-j", "link"]).stdout)}
        assert links["vethb"]["mtu"] == 1400 and links["vethb"]["master"] == "br0"
        peer = json.loads(b.run(["ip", "-j", "link", "show", "eth0"]).stdout)[0]
        assert peer["mtu"] == 1500 and "UP" in peer["flags"]
        b.run(["ping", "-c", "1", "-W", "2", "10.97.0.1"])
        names = [a.name, b.name]
        assert all(n.startswith("nsl") for n in names)
        assert "vethb" not in sh(["ip", "-j", "link"]).stdout  # the default namespace is untouched
    assert not set(names) & set(netns_names())


def test_vxlan_without_dev_takes_an_mtu_the_kernel_refuses_with_dev() -> None:
    with Lab("blocks") as lab:
        a, b = lab.netns("a"), lab.netns("b")
        lab.veth(a, "eth0", b, "eth0", addr="10.97.1.1/24", peer_addr="10.97.1.2/24")
        with pytest.raises(LabError):
            a.vxlan("vxdev", 5, local="10.97.1.1", remote="10.97.1.2", dev="eth0", mtu=1500)
        a.vxlan("vx0", 6, local="10.97.1.1", remote="10.97.1.2", mtu=1500, df_set=True)
        info = json.loads(a.run(["ip", "-d", "-j", "link", "show", "vx0"]).stdout)[0]
        assert info["mtu"] == 1500 and info["linkinfo"]["info_data"]["df"] == "set"


def test_interface_names_longer_than_the_kernel_allows_are_refused() -> None:
    with Lab("blocks") as lab:
        a = lab.netns("a")
        with pytest.raises(LabError, match="15"):
            a.bridge("a-very-long-bridge")


def test_down_on_exception_restores_global_sysctl_and_removes_everything() -> None:
    before = _ct_max()
    with pytest.raises(RuntimeError), Lab("blocks") as lab:
        ns = lab.netns("a")
        ns.resolv_conf("nameserver 10.97.0.1\n")
        lab.sysctl(CT_MAX, 12345)
        assert _ct_max() == "12345"
        raise RuntimeError("boom")
    assert _ct_max() == before
    assert ns.name not in netns_names()
    assert not Path("/etc/netns", ns.name).exists()
    assert not lab.dir.exists()
    assert lab.down() == []  # idempotent


def test_global_sysctl_context_restores_in_finally() -> None:
    before = _ct_max()
    with pytest.raises(KeyError), global_sysctl(CT_MAX, 23456):
        assert _ct_max() == "23456"
        raise KeyError("x")
    assert _ct_max() == before


def test_ovs_userspace_instance_pause_and_stop() -> None:
    with Lab("blocks") as lab:
        node = lab.netns("node")
        ovs = lab.ovs(netns=node)
        ovs.bridge("br-int")
        assert "br-int" in ovs.vsctl("list-br")
        ovs.pause_vswitchd()
        hung = sh(["ovs-ofctl", "-t", "1", "dump-flows", "br-int"], env=ovs.env, check=False, timeout=5)
        assert hung.returncode != 0  # ovs-vswitchd does not answer ...
        assert "br-int" in ovs.vsctl("show")  # ... while ovsdb-server does
        ovs.resume_vswitchd()
        pids = [p for p, _ in ovs.pids.values()]
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_a_killed_process_leaves_a_journal_that_down_replays() -> None:
    before = _ct_max()
    code = (
        "from netsleuth.lab import Lab\n"
        "lab = Lab('crash').__enter__()\n"
        "lab.netns('a'); lab.sysctl('net.netfilter.nf_conntrack_max', 34567)\n"
        "lab.spawn(['sleep', '300'], netns=lab.netns('b'))\n"
        "print(lab.run_id, flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        os.kill(proc.pid, signal.SIGKILL)  # a crash: no clean-up of its own
        proc.wait(5)
        assert _ct_max() == "34567"
        assert run_id in Lab.leftover_run_ids()
        state = json.loads((ROOT / run_id / "state.json").read_text())
        sleeper = next(s for s in state["undo"] if s["kind"] == "pid")["pid"]
        assert Lab.attach(run_id).down() == []
        assert _ct_max() == before
        assert not [n for n in netns_names() if f"nsl{run_id}-" in n]
        time.sleep(0.1)
        assert not Path(f"/proc/{sleeper}").exists() or " Z " in Path(f"/proc/{sleeper}/stat").read_text()
        assert Lab.attach(run_id).down() == []  # again: nothing left, no error
    finally:
        if _ct_max() != before:
            Path("/proc/sys/net/netfilter/nf_conntrack_max").write_text(before)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_tears_the_lab_down(sig: signal.Signals) -> None:
    code = (
        "from netsleuth.lab import Lab\n"
        "import time\n"
        "with Lab('interrupted') as lab:\n"
        "    lab.netns('a')\n"
        "    print(lab.run_id, flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert any(f"nsl{run_id}-" in n for n in netns_names())
    proc.send_signal(sig)
    proc.wait(15)
    assert not any(f"nsl{run_id}-" in n for n in netns_names())
    assert not (ROOT / run_id).exists()
