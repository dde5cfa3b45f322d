"""A capture taken with tcpdump inside a lab namespace while a real fault is present (two
namespaces holding one IP on a bridge), read by `netsleuth pcap`: arp.duplicate_ip names the IP
and both MACs, with the capture as the evidence source."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.probe_helpers import NETSLEUTH, have

pytestmark = pytest.mark.root


@pytest.fixture
def lab() -> Iterator[Any]:
    from netsleuth.lab import Lab, LabUnavailable

    if not have("tcpdump"):
        pytest.skip("tcpdump not installed")
    try:
        with Lab("probes-pcap") as lab:
            yield lab
    except LabUnavailable as exc:
        pytest.skip(str(exc))


def _mac(ns: Any, dev: str) -> str:
    out = ns.run(["ip", "-j", "link", "show", dev]).stdout
    return str(json.loads(out)[0]["address"])


def _capture(lab: Any, cli: Any, path: Path, ping_to: str) -> None:
    dump = subprocess.Popen(
        ["ip", "netns", "exec", cli.name, "tcpdump", "-i", "eth0", "-U", "-w", str(path), "arp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)  # tcpdump opens its socket
        cli.run(["ping", "-c", "2", "-W", "1", ping_to], check=False)
        time.sleep(0.5)
    finally:
        dump.send_signal(signal.SIGINT)
        dump.wait(timeout=10)


def _pcap(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [NETSLEUTH, "pcap", str(path), "--format", "json", "--only", "arp.duplicate_ip"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.stdout, out.stderr
    return dict(json.loads(out.stdout))


def _bridge(lab: Any, dup: bool) -> tuple[Any, list[str]]:
    sw, cli = lab.netns("sw"), lab.netns("cli")
    br = sw.bridge("br0")
    lab.veth(sw, "p-cli", cli, "eth0", master=br, peer_addr="10.79.0.2/24")
    macs = []
    for role in ("h1", "h2") if dup else ("h1",):
        h = lab.netns(role)
        lab.veth(sw, f"p-{role}", h, "eth0", master=br, peer_addr="10.79.0.7/24")
        h.sysctl("net.ipv4.conf.all.arp_ignore", 0)
        macs.append(_mac(h, "eth0"))
    return cli, macs


def test_tcpdump_capture_of_two_hosts_holding_one_ip(lab: Any, tmp_path: Path) -> None:
    cli, macs = _bridge(lab, dup=True)
    path = tmp_path / "dup.pcap"
    _capture(lab, cli, path, "10.79.0.7")
    r = _pcap(path)
    (f,) = [x for x in r["findings"] if x["id"] == "arp.duplicate_ip"]
    assert f["subject"] == "10.79.0.7"
    assert f["evidence"][0]["source"] == "netsleuth pcap dup.pcap"
    for mac in macs:
        assert f"{mac} 10.79.0.7" in f["evidence"][0]["excerpt"]


def test_tcpdump_capture_of_one_holder_is_quiet(lab: Any, tmp_path: Path) -> None:
    cli, _macs = _bridge(lab, dup=False)
    path = tmp_path / "ok.pcap"
    _capture(lab, cli, path, "10.79.0.7")
    r = _pcap(path)
    assert not r["findings"]
    assert [c["status"] for c in r["checks"]] == ["pass"]
