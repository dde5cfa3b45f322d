"""Faults that come and go, caught by `netsleuth watch` for real: a conntrack table that fills for
about ten seconds and drains (seed 001), a link that flaps (seed 003), dnsmasq restarted while a
client renews its lease (the renewal lost, seed 000). For each: `raised` then `cleared`, a bundle
of the moment in which `diagnose` finds the fault, and the finding on /metrics while it lasts; one
of them scraped by a real Prometheus server and read back through its HTTP API. A healthy lab
host watched for minutes raises nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from netsleuth.lab import Dnsmasq, Lab, LabUnavailable
from netsleuth.lab.blocks import Netns
from netsleuth.lab.core import global_sysctl, kill_pid
from netsleuth.lab.scenario import all_scenarios, up
from netsleuth.lab.scenarios.conntrack import tracked_pair
from netsleuth.lab.scenarios.dhcp import dhclient_once
from netsleuth.lab.shell import proc_start_time
from tests.integration.watch_helpers import Watch, diagnose_bundle, finding, free_port, metrics

pytestmark = pytest.mark.root

STAND_IN = "#!/usr/bin/python3\n# lab stand-in for an OpenStack agent\nimport time\ntime.sleep(86400)\n"
# UDP to many ports for `seconds`: every packet a new conntrack entry (the table of 64 stays full)
BURST = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    for port in range(20000, 20200):
        try:
            s.sendto(b"x", (sys.argv[1], port))
        except OSError:
            pass
    time.sleep(0.2)
"""


@pytest.fixture
def lab() -> Iterator[Lab]:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    try:
        with Lab("watch-transient") as lab:
            yield lab
    except LabUnavailable as exc:
        pytest.skip(str(exc))


def check_bundle(raised: dict[str, object], fault: str, *extra: str) -> None:
    """The bundle named by the raised event exists, is 0600, and diagnose finds the fault in it."""
    path = str(raised.get("bundle") or "")
    assert path and Path(path).is_file(), f"the raised event names no bundle: {raised}"
    assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600
    rep = diagnose_bundle(path, *extra)
    assert fault in {f["id"] for f in rep["findings"] if f["severity"] in ("warning", "critical")}, [
        (f["id"], f["severity"]) for f in rep["findings"]
    ]


def gauge(text: str, fault: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith(f'netsleuth_finding{{id="{fault}"')]


def test_conntrack_table_that_fills_and_drains(lab: Lab, tmp_path: Path) -> None:
    srv, cli = tracked_pair(lab)
    srv.sysctl("net.netfilter.nf_conntrack_udp_timeout", 8)  # entries go 8 s after the last packet
    for chain, way in (("PREROUTING", "-i"), ("OUTPUT", "-o")):  # /metrics on loopback stays reachable
        srv.iptables("-t", "raw", "-A", chain, way, "lo", "-j", "CT", "--notrack")
    port = free_port()
    w = Watch(
        tmp_path,
        "--interval",
        "2",
        "--keep",
        str(tmp_path / "keep"),
        "--listen",
        f"127.0.0.1:{port}",
        inside=srv.name,
    )
    try:
        w.wait_cycles(2, 60)
        assert not [e for e in w.events() if finding("conntrack.table_full", "raised")(e)], (
            "raised before the fault"
        )
        with global_sysctl("net.netfilter.nf_conntrack_max", 64):
            burst = subprocess.Popen(
                ["ip", "netns", "exec", cli.name, sys.executable, "-c", BURST, "10.99.3.1", "10"]
            )
            try:
                raised = w.wait_for(
                    finding("conntrack.table_full", "raised"), 40, "raised conntrack.table_full"
                )
                assert raised["severity"] == "critical" and raised["subject"] == "nf_conntrack"
                assert raised["evidence"], "the raised event quotes its evidence"
                assert gauge(metrics(f"http://127.0.0.1:{port}/metrics", srv.name), "conntrack.table_full")
                burst.wait(30)
            finally:
                if burst.poll() is None:
                    burst.kill()
                    burst.wait()
            cleared = w.wait_for(
                finding("conntrack.table_full", "cleared"), 60, "cleared conntrack.table_full"
            )
        assert cleared["time"] >= raised["time"]
        assert not gauge(metrics(f"http://127.0.0.1:{port}/metrics", srv.name), "conntrack.table_full")
        check_bundle(raised, "conntrack.table_full")
    finally:
        rc = w.stop()
    assert rc == 0 and w.events()[-1]["event"] == "stopped" and w.events()[-1]["why"] == "SIGTERM"


def test_link_that_flaps(lab: Lab, tmp_path: Path) -> None:
    host, ctr = lab.netns("host"), lab.netns("ctr")
    br = host.bridge("br0", addr="10.99.2.1/24")
    lab.veth(host, "vethc", ctr, "eth0", master=br, peer_addr="10.99.2.2/24")
    port = free_port()
    w = Watch(
        tmp_path,
        "--interval",
        "2",
        "--keep",
        str(tmp_path / "keep"),
        "--listen",
        f"127.0.0.1:{port}",
        inside=host.name,
    )
    try:
        w.wait_cycles(2, 60)
        ctr.down("eth0")  # the far end goes away: vethc, a bridge port, loses its carrier
        try:
            raised = w.wait_for(finding("nic.no_carrier", "raised", "vethc"), 30, "raised nic.no_carrier")
            assert raised["severity"] == "critical" and raised["netns"] == ""
            assert gauge(metrics(f"http://127.0.0.1:{port}/metrics", host.name), "nic.no_carrier")
            time.sleep(6)
        finally:
            ctr.up("eth0")
        w.wait_for(finding("nic.no_carrier", "cleared", "vethc"), 30, "cleared nic.no_carrier")
        # the flap is raised once and cleared once (the machine's own findings, e.g. its disk
        # filling while other tests write, may come and go meanwhile: they are not this test's)
        raises = [(e["id"], e["subject"]) for e in w.events() if e["event"] == "raised"]
        assert raises.count(("nic.no_carrier", "vethc")) == 1, raises
        check_bundle(raised, "nic.no_carrier")
    finally:
        assert w.stop() == 0


def _node(lab: Lab) -> tuple[Netns, Netns, Netns]:
    """A Neutron-like network node (its DHCP agent, dnsmasq in qdhcp-) and an instance on br-int."""
    net_id = str(uuid.UUID(int=0x5EED1100 + int(lab.run_id, 16)))
    node, vm = lab.netns("node"), lab.netns("vm")
    qdhcp = lab.netns("qdhcp", f"qdhcp-{lab.prefix}-{net_id[:18]}")
    node.bridge("br-int")
    lab.veth(node, "tapd1", qdhcp, "ns-d1", master="br-int", peer_addr="10.99.21.2/24")
    lab.veth(node, "tapvm", vm, "eth0", master="br-int")
    exe = lab.path("bin", "neutron-dhcp-agent")
    exe.write_text(STAND_IN)
    exe.chmod(0o755)
    lab.spawn([str(exe), "--config-file", "/etc/neutron/neutron.conf"])
    return node, qdhcp, vm


def _dnsmasq(lab: Lab, qdhcp: Netns) -> Dnsmasq:
    """Like Neutron's: the network id (the namespace's suffix) is in its command line."""
    return lab.dnsmasq(
        qdhcp,
        "ns-d1",
        dhcp_range="10.99.21.100,10.99.21.150,255.255.255.0,1h",
        dns=False,
        tag=f"dhcp-{qdhcp.name[6:]}",
    )


def _prometheus(tmp: Path, target: str, port: int) -> subprocess.Popen[bytes]:
    conf = tmp / "prometheus.yml"
    conf.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: netsleuth\n    static_configs:\n      - targets: ['{target}']\n"
    )
    (tmp / "tsdb").mkdir()
    log = (tmp / "prometheus.log").open("wb")
    return subprocess.Popen(
        [
            "prometheus", f"--config.file={conf}", f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
        ],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip


def _query(port: int, expr: str) -> list[dict[str, object]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as r:
        doc = json.loads(r.read())
    assert doc["status"] == "success", doc
    return list(doc["data"]["result"])


def _wait_query(port: int, expr: str, timeout: float) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = _query(port, expr)
        except OSError:
            found = []
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"Prometheus has no series for {expr} within {timeout:g} s")


def test_dnsmasq_restarted_while_a_client_renews_scraped_by_prometheus(lab: Lab, tmp_path: Path) -> None:
    if shutil.which("prometheus") is None or shutil.which("dhclient") is None:
        pytest.skip("needs prometheus and dhclient (scripts/install-system-deps.sh)")
    node, qdhcp, vm = _node(lab)
    dns = _dnsmasq(lab, qdhcp)
    assert dhclient_once(lab, vm), "the instance gets its first lease"
    # a node that renews patiently (seed 000's fix) in its own view of /etc: no other warning
    conf = lab.path("dhclient.conf")
    conf.write_text("timeout 300;\n")
    wrap = [
        "unshare", "--mount", "--propagation", "private", "sh", "-c",
        f'[ ! -e /etc/dhcp/dhclient.conf ] || mount --bind {conf} /etc/dhcp/dhclient.conf; exec "$@"', "lab-mnt",
    ]  # fmt: skip
    wport, pport = free_port(), free_port()
    w = Watch(
        tmp_path, "--interval", "2", "--netns", node.name, "--netns", qdhcp.name, "--keep", str(tmp_path / "keep"),
        "--listen", f"127.0.0.1:{wport}", wrap=wrap,
    )  # fmt: skip
    prom = _prometheus(tmp_path, f"127.0.0.1:{wport}", pport)
    prom_start = proc_start_time(prom.pid)
    try:
        w.wait_cycles(2, 60)
        assert not [e for e in w.events() if finding("neutron.agent_down", "raised")(e)], (
            "raised before the fault"
        )
        _wait_query(pport, "netsleuth_cycles_total", 60)
        dns.stop()  # the DHCP agent restarts: its dnsmasq is gone for a while ...
        raised = w.wait_for(
            finding("neutron.agent_down", "raised", qdhcp.name), 30, "raised neutron.agent_down"
        )
        assert not dhclient_once(lab, vm), "... and the instance's renewal in that window is lost (seed 000)"
        series = _wait_query(
            pport, f'netsleuth_finding{{id="neutron.agent_down",subject="{qdhcp.name}"}} == 1', 30
        )
        assert series[0]["metric"]["severity"] == "critical"  # type: ignore[index]
        dns = _dnsmasq(lab, qdhcp)
        w.wait_for(finding("neutron.agent_down", "cleared", qdhcp.name), 30, "cleared neutron.agent_down")
        assert dhclient_once(lab, vm), "renewing works again once dnsmasq is back"
        time.sleep(3)  # a scrape after the clear
        assert not _query(pport, f'netsleuth_finding{{id="neutron.agent_down",subject="{qdhcp.name}"}}')
        assert _query(pport, 'max_over_time(netsleuth_finding{id="neutron.agent_down"}[10m]) == 1')
        check_bundle(raised, "neutron.agent_down")
    finally:
        kill_pid(prom.pid, prom_start)
        assert w.stop() == 0


def test_a_healthy_lab_host_watched_for_minutes_raises_nothing(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    sc = all_scenarios()["baseline-linux-bridge"]()
    try:
        lab, vantage = up(sc)
    except LabUnavailable as exc:
        pytest.skip(str(exc))
    try:
        inside = vantage.inside or vantage.netns[0]
        # the lab host is healthy; the machine's root file system is not the lab's: other test
        # runs on this machine write files of gigabytes, which host.disk_filling rightly sees
        cfg = tmp_path / "config.toml"
        cfg.write_text(
            '[[suppress]]\nfinding = "host.disk_filling"\n'
            'reason = "the test machine\'s disk, shared with other test runs"\n'
        )
        w = Watch(tmp_path, "--interval", "5", "--probes", "--config", str(cfg), inside=inside)
        try:
            time.sleep(150)
            assert w.cycles() >= 20, f"only {w.cycles()} cycles in 150 s"
        finally:
            assert w.stop() == 0
        loud = [e for e in w.events() if e["event"] in ("raised", "changed", "error", "skipped")]
        assert not loud, loud
    finally:
        lab.down()


def test_watch_stops_cleanly_on_sigterm_mid_cycle(lab: Lab, tmp_path: Path) -> None:
    host = lab.netns("host")
    w = Watch(tmp_path, "--interval", "1", inside=host.name)
    try:
        w.wait_cycles(1, 60)
        w.signal(signal.SIGTERM)
        assert w.proc.wait(20) == 0
    finally:
        w.kill()
    assert w.events()[-1]["event"] == "stopped"
