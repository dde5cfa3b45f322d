"""diagnose --netns A --netns B from the default namespace: the default probes run inside A and B
(their own /etc/netns resolv.conf), their evidence lands in each namespace's scope and none in the
host scope; A's dead loopback resolver is found in A only."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.probe_helpers import NETSLEUTH, have, ids

pytestmark = pytest.mark.root


@pytest.fixture
def lab() -> Iterator[Any]:
    from netsleuth.lab import Lab, LabUnavailable

    if not have("dnsmasq"):
        pytest.skip("dnsmasq not installed")
    try:
        with Lab("probes-netns") as lab:
            yield lab
    except LabUnavailable as exc:
        pytest.skip(str(exc))


def test_probes_run_inside_each_namespace_into_its_scope(lab: Any) -> None:
    a, b, srv = lab.netns("a"), lab.netns("b"), lab.netns("srv")
    lab.veth(srv, "eth0", b, "eth0", addr="10.78.0.1/24", peer_addr="10.78.0.2/24")
    lab.dnsmasq(srv, "eth0", records={"db.lab": "10.78.0.9"})
    a.resolv_conf("nameserver 127.0.0.53\n")  # nothing listens there: a dead loopback resolver
    b.resolv_conf("nameserver 10.78.0.1\n")  # a healthy resolver
    argv = [NETSLEUTH, "diagnose", "--netns", a.name, "--netns", b.name, "--format", "json", "-q"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)
    assert out.stdout, out.stderr
    report = json.loads(out.stdout)
    probes = [e for e in report["evidence"] if e["name"].startswith("probe.")]
    assert {e["netns"] for e in probes} == {a.name, b.name}, probes
    assert not [e for e in probes if e["netns"] == ""]  # nothing probed from the default namespace
    dns = {e["netns"]: e for e in probes if e["name"] == "probe.dns"}
    assert dns[a.name]["status"] == "ok" and dns[b.name]["status"] == "ok"
    assert f"netns {a.name}" in dns[a.name]["source"]
    dead = [f for f in report["findings"] if f["id"] == "dns.loopback_resolver_dead"]
    assert [(f["netns"], f["subject"]) for f in dead] == [(a.name, "127.0.0.53")]
    # the probe (not just the socket list) is what the finding quotes in A
    assert any("netsleuth probe dns" in e["source"] for e in dead[0]["evidence"])
    assert not [f for f in report["findings"] if f["netns"] == b.name and f["id"].startswith("dns.")]
    assert "dns.server_unreachable" not in ids(report)
