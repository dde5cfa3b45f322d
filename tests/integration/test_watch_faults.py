"""watch when things go wrong around it, for real, inside lab namespaces: a command that hangs every
cycle (a timeout, never a pile of processes), the state directory full or read-only (an event, and
watching goes on), a log replaced or truncated (read from its start, no duplicate event), the
metrics port taken (one line, exit 3), a configuration reloaded on SIGHUP (a bad one is an event
and the last good one stays)."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netsleuth.lab import Lab, LabUnavailable
from netsleuth.lab.blocks import Netns
from netsleuth.lab.core import kill_pid
from netsleuth.lab.shell import proc_start_time
from tests.integration.watch_helpers import Watch, finding, free_port, metrics

pytestmark = pytest.mark.root


@pytest.fixture
def lab() -> Iterator[Lab]:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    try:
        with Lab("watch-faults") as lab:
            yield lab
    except LabUnavailable as exc:
        pytest.skip(str(exc))


def dead_port(lab: Lab) -> Netns:
    """A bridge port whose far end is down: nic.no_carrier, critical, for as long as it lasts."""
    host, gone = lab.netns("host"), lab.netns("gone")
    br = host.bridge("br0", addr="10.99.2.1/24")
    lab.veth(host, "vethp", gone, "eth0", master=br, peer_addr="10.99.2.3/24", peer_up=False)
    return host


def _ours(token: str) -> list[int]:
    """Processes left by the hanging tool of this test (found by the token in their command line)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmd = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            except OSError:
                continue
            if token.encode() in cmd:
                found.append(int(entry.name))
    return found


def test_a_command_that_hangs_every_cycle_is_a_timeout_never_a_pile_of_processes(
    lab: Lab, tmp_path: Path
) -> None:
    host = lab.netns("host")
    token = f"3600.{os.getpid()}{int(time.time()) % 1000}"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    hang = bin_dir / "ovs-vsctl"  # hangs, and leaves a process that escaped its group (setsid)
    hang.write_text(f"#!/bin/sh\nsetsid sleep {token} </dev/null >/dev/null 2>&1 &\nexec sleep {token}\n")
    hang.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"}
    port = free_port()
    w = Watch(
        tmp_path,
        "--interval",
        "1",
        "--timeout",
        "1",
        "--listen",
        f"127.0.0.1:{port}",
        inside=host.name,
        env=env,
    )
    most = 0
    try:
        deadline = time.monotonic() + 90
        while w.cycles() < 6 and time.monotonic() < deadline and w.proc.poll() is None:
            most = max(most, len(_ours(token)))
            time.sleep(0.2)
        assert w.cycles() >= 6, w.stderr.read_text()[-800:]
        text = metrics(f"http://127.0.0.1:{port}/metrics", host.name)
        timeouts = [
            ln
            for ln in text.splitlines()
            if ln.startswith('netsleuth_evidence_timeouts_total{name="ovs.vsctl_show"}')
        ]
        assert timeouts and float(timeouts[0].split()[-1]) >= 5, timeouts
        assert "netsleuth_cycles_skipped_total 0.0" in text
    finally:
        assert w.stop() == 0
        left = _ours(token)
        for pid in left:
            kill_pid(pid, proc_start_time(pid))
    # six ovs-vsctl commands a cycle, each a hung process and an escaped one: without the reaper
    # they would pile up cycle after cycle; with it, at most one cycle's worth lives at a time
    assert 0 < most <= 12, most
    assert left == [], "watch left processes behind"


def _private_tmpfs(folder: Path, *opts: str, fill: bool = False) -> list[str]:
    """A command prefix: a private mount namespace where `folder` is a tiny tmpfs (full, or read-only)."""
    mount = f"mount -t tmpfs -o size=64k{''.join(',' + o for o in opts)} tmpfs {folder}"
    filler = f" && (head -c 200000 /dev/zero > {folder}/fill 2>/dev/null; true)" if fill else ""
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        f'{mount}{filler} && exec "$@"',
        "lab-mnt",
    ]


def test_state_directory_full_then_freed_is_an_event_and_watching_goes_on(lab: Lab, tmp_path: Path) -> None:
    host = dead_port(lab)
    state = tmp_path / "state"
    state.mkdir()
    w = Watch(
        tmp_path,
        "--interval",
        "1",
        "--state-dir",
        str(state),
        inside=host.name,
        wrap=_private_tmpfs(state, fill=True),
    )
    try:
        raised = w.wait_for(finding("nic.no_carrier", "raised", "vethp"), 60, "raised nic.no_carrier")
        assert "bundle" not in raised  # no room to keep it ...
        # the state is written after the cycle's events: its error may follow the raised event
        w.wait_for(lambda e: e["event"] == "error" and e["what"] == "state", 30, "error state")
        errors = [e for e in w.events() if e["event"] == "error"]
        assert {e["what"] for e in errors} >= {"state", "recorder"}, errors  # ... and both said
        assert any("No space left" in e["message"] for e in errors)
        w.wait_cycles(4, 30)
        assert len([e for e in w.events() if e["event"] == "error" and e["what"] == "state"]) == 1, (
            "said once"
        )
        (Path(f"/proc/{w.proc.pid}/root") / str(state).lstrip("/") / "fill").unlink()  # room again
        w.wait_for(lambda e: e["event"] == "recovered" and e["what"] == "state", 20, "recovered state")
    finally:
        assert w.stop() == 0


def test_state_directory_read_only_is_an_event_and_watching_goes_on(lab: Lab, tmp_path: Path) -> None:
    host = lab.netns("host")
    state = tmp_path / "state"
    state.mkdir()
    w = Watch(
        tmp_path,
        "--interval",
        "1",
        "--state-dir",
        str(state),
        inside=host.name,
        wrap=_private_tmpfs(state, "ro"),
    )
    try:
        err = w.wait_for(lambda e: e["event"] == "error" and e["what"] == "state", 60, "error state")
        assert "Read-only file system" in err["message"]
        w.wait_cycles(3, 30)
    finally:
        assert w.stop() == 0


def _no_address(mac: str) -> str:
    stamp = time.strftime("%b %d %H:%M:%S", time.gmtime())
    return f"{stamp} node dnsmasq-dhcp[4242]: DHCPDISCOVER(tap1) {mac} no address available\n"


def test_a_log_replaced_or_truncated_is_read_from_its_start_without_duplicate_events(
    lab: Lab, tmp_path: Path
) -> None:
    host = lab.netns("host")
    varlog = tmp_path / "varlog"
    varlog.mkdir()
    log = varlog / "dnsmasq.log"
    log.write_text("Nov 01 00:00:00 node dnsmasq[4242]: started, version 2.89 (an old line)\n")
    wrap = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        f'mount --bind {varlog} /var/log && exec "$@"',
        "lab-mnt",
    ]
    w = Watch(tmp_path, "--interval", "1", inside=host.name, wrap=wrap)

    def raised() -> list[dict[str, object]]:
        return [e for e in w.events() if e["event"] == "raised" and e["id"] == "dhcp.pool_exhausted"]

    try:
        w.wait_cycles(2, 60)
        assert raised() == [], "the lines before watch began are not new"
        with log.open("a") as fh:
            fh.write(_no_address("fa:16:3e:00:00:01") + _no_address("fa:16:3e:00:00:02"))
        w.wait_for(finding("dhcp.pool_exhausted", "raised"), 20, "raised dhcp.pool_exhausted")
        w.wait_for(finding("dhcp.pool_exhausted", "cleared"), 20, "cleared dhcp.pool_exhausted")
        copy = varlog / "dnsmasq.log.new"  # the same content under a new inode (an editor, cp + mv)
        shutil.copy(log, copy)
        os.replace(copy, log)
        n = w.cycles()
        w.wait_cycles(n + 3, 30)
        assert len(raised()) == 1, "content already read is not read again"
        log.write_text(_no_address("fa:16:3e:00:00:03"))  # truncated, one new line
        w.wait_for(lambda e: len(raised()) == 2, 20, "raised again after the truncation")
        n = w.cycles()
        w.wait_cycles(n + 3, 30)
        assert len(raised()) == 2
    finally:
        assert w.stop() == 0


def test_the_metrics_port_taken_is_one_line_and_exit_3(lab: Lab, tmp_path: Path) -> None:
    host = lab.netns("host")
    port = free_port()
    first = Watch(tmp_path, "--interval", "5", "--listen", f"127.0.0.1:{port}", inside=host.name)
    try:
        first.wait_cycles(1, 60)
        second = Watch(tmp_path, "--interval", "5", "--listen", f"127.0.0.1:{port}", inside=host.name)
        try:
            assert second.proc.wait(30) == 3
        finally:
            second.kill()
        err = second.stderr.read_text()
        assert err.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err
        assert second.events() == []
    finally:
        assert first.stop() == 0


def test_sighup_reloads_the_configuration_and_keeps_the_last_good_one(lab: Lab, tmp_path: Path) -> None:
    host = dead_port(lab)
    cfg = tmp_path / "config.toml"
    cfg.write_text("[watch]\nkeep_count = 5\n")
    w = Watch(tmp_path, "--interval", "1", "--config", str(cfg), inside=host.name)
    try:
        w.wait_for(finding("nic.no_carrier", "raised", "vethp"), 60, "raised nic.no_carrier")
        cfg.write_text(
            '[[suppress]]\nfinding = "nic.no_carrier:vethp"\nreason = "spare port, cable on order"\n'
        )
        w.signal(signal.SIGHUP)
        w.wait_for(lambda e: e["event"] == "reloaded", 20, "reloaded")
        w.wait_for(finding("nic.no_carrier", "cleared", "vethp"), 20, "cleared by the suppression")
        cfg.write_text('[[suppress]]\nfinding = "nic.no_carrier:vethp"\nreasn = "typo"\n')
        w.signal(signal.SIGHUP)
        err = w.wait_for(lambda e: e["event"] == "error" and e["what"] == "config", 20, "error config")
        assert "suppress[1].reasn" in err["message"]
        n = w.cycles()
        w.wait_cycles(n + 3, 30)
        assert len([e for e in w.events() if e["event"] == "raised"]) == 1, (
            "the last good configuration stays"
        )
    finally:
        assert w.stop() == 0
