"""Collection must not change the host: commands that make the kernel load a module (conntrack,
iptables, nft, ss) run only when it is loaded; otherwise their evidence is `missing`, with why.
Open vSwitch in a container is reached through `docker exec` (the exec plumbing, with a stand-in
`docker` executable: no container engine runs on the test machine)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from netsleuth.collector.kmods import KernelModules, kernel_modules
from netsleuth.evidence import live, runner
from netsleuth.evidence.catalogue import spec
from netsleuth.evidence.live import CollectOptions, collect, collect_spec
from netsleuth.evidence.model import HOST, Status
from netsleuth.parsers.docker import SAMPLE_PS

NONE_LOADED = KernelModules(True, frozenset())
GATED = ("conntrack.stats", "iptables.save", "iptables.list", "nft.ruleset", "sockets.listen")


def _tool(folder: Path, name: str, script: str) -> Path:
    p = folder / name
    p.write_text("#!/bin/sh\n" + script)
    p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return p


@pytest.fixture
def fakebin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH of stand-ins that record that they ran (and the shell tools they need)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("conntrack", "iptables", "iptables-save", "nft", "ss"):
        _tool(folder, tool, f'echo "$0 $*" >> {tmp_path}/ran\necho "cpu=0 found=0 drop=0"\n')
    monkeypatch.setitem(runner.ENV, "PATH", str(folder))
    return folder


def test_loaded_modules_from_proc_sys_and_builtin(tmp_path: Path) -> None:
    proc = tmp_path / "modules"
    proc.write_text("nf_conntrack 172032 1 nf_conntrack_netlink, Live 0x0\nnf-tables 1 0 - Live 0x0\n")
    sysmod = tmp_path / "sys"
    (sysmod / "tcp_diag").mkdir(parents=True)
    mods = kernel_modules(proc, sysmod, tmp_path / "none")
    assert {"nf_conntrack", "nf_tables", "tcp_diag"} <= mods.loaded and mods.loadable
    assert mods.allows(("tcp_diag udp_diag",)).startswith(
        "kernel modules tcp_diag and udp_diag are not loaded"
    )
    assert not kernel_modules(tmp_path / "absent").loadable  # no module support: nothing can be loaded


@pytest.mark.parametrize("name", GATED)
def test_a_command_that_would_load_a_module_is_not_run(tmp_path: Path, fakebin: Path, name: str) -> None:
    [ev] = collect_spec(spec(name), 2.0, HOST, mods=NONE_LOADED)
    assert ev.status is Status.MISSING and ev.error.startswith("not run: kernel module")
    assert "change the host" in ev.error
    assert not (tmp_path / "ran").exists()
    loaded = KernelModules(True, frozenset({"nf_conntrack_netlink", "ip_tables", "iptable_filter",
                                            "nf_tables", "nfnetlink", "tcp_diag", "udp_diag"}))  # fmt: skip
    [ev] = collect_spec(spec(name), 2.0, HOST, mods=loaded)
    assert (tmp_path / "ran").read_text().split()[0].endswith(spec(name).tool)  # loaded: it runs


def test_a_whole_collection_leaves_unloaded_modules_unloaded(
    tmp_path: Path, fakebin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "kernel_modules", lambda: NONE_LOADED)
    b = collect(CollectOptions(timeout=2.0, interval=0.0))
    for name in GATED:
        ev = b.get(name)
        assert ev is not None and ev.status is Status.MISSING and "not run" in ev.error, (name, ev)
    assert not (tmp_path / "ran").exists()
    socks = b.keyed("proc.net_sockets")  # the kernel's socket tables stand in for `ss`
    assert {ev.key for ev in socks if ev.ok} >= {"tcp", "udp"}


def test_ovs_tools_run_in_the_container_that_owns_them(tmp_path: Path, fakebin: Path) -> None:
    """No ovs-vsctl on the host; kolla's openvswitch_vswitchd container has it."""
    show = 'b1c0\n    Bridge br-int\n    ovs_version: "3.1.0"\n'
    (tmp_path / "ps.txt").write_text(SAMPLE_PS)
    script = f"""case "$1" in
ps) while IFS= read -r line; do echo "$line"; done < {tmp_path}/ps.txt ;;
exec) shift; echo "$*" >> {tmp_path}/exec; shift
  case "$1 $3" in
  "ovs-vsctl show") printf '{show}' ;;
  "ovs-vsctl list-br") echo br-int ;;
  *) echo "$1: unix:/run/openvswitch/ovs-vswitchd.mgmt: connection failed" >&2; exit 1 ;;
  esac ;;
esac
"""
    _tool(fakebin, "docker", script)
    b = collect(CollectOptions(timeout=2.0, interval=0.0))
    vsctl = b.get("ovs.vsctl_show")
    assert vsctl is not None and vsctl.ok and vsctl.text == show
    assert vsctl.source == "docker exec openvswitch_vswitchd ovs-vsctl --timeout=2 show"
    flows = b.get("ovs.dump_flows", key="br-int")  # expanded from list-br, through the container too
    assert flows is not None and flows.source.startswith("docker exec openvswitch_vswitchd ovs-ofctl")
    ran = (tmp_path / "exec").read_text().splitlines()
    assert "openvswitch_vswitchd ovs-vsctl --timeout=2 show" in ran
    assert all(line.split()[1].startswith("ovs-") for line in ran)  # only the OVS tools go inside


def test_no_container_runs_ovs_then_it_is_not_installed(tmp_path: Path, fakebin: Path) -> None:
    _tool(fakebin, "docker", "echo 'CONTAINER ID   IMAGE   COMMAND   CREATED   STATUS   PORTS   NAMES'\n")
    b = collect(CollectOptions(timeout=2.0, interval=0.0))
    vsctl = b.get("ovs.vsctl_show")
    assert vsctl is not None and vsctl.status is Status.MISSING and vsctl.error.endswith("not installed")
    assert os.environ.get("PATH") != str(fakebin)  # the test's own environment is untouched
