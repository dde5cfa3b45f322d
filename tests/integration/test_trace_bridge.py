"""`netsleuth trace` across a Linux bridge in a middle namespace: the bridge's port toward the
destination is derived (a forwarded frame never shows on the bridge device itself).

    A:eth0 ── S:pa ┐ br0 (Linux) ┌ S:pb ── B:eth0      (10.63.0.2 -> 10.63.0.3)
                   └ S:pc ── C:eth0 (10.63.0.4)
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from netsleuth.lab import Lab, LabUnavailable

pytestmark = pytest.mark.root
NETSLEUTH = [sys.executable, "-m", "netsleuth.cli"]


@pytest.fixture
def blab() -> Iterator[dict[str, str]]:
    try:
        with Lab("trace-br") as lab:
            a, s, b, c = (lab.netns(r) for r in ("a", "s", "b", "c"))
            br = s.bridge("br0")
            lab.veth(s, "pa", a, "eth0", master=br, peer_addr="10.63.0.2/24")
            lab.veth(s, "pb", b, "eth0", master=br, peer_addr="10.63.0.3/24")
            lab.veth(s, "pc", c, "eth0", master=br, peer_addr="10.63.0.4/24")
            yield {"a": a.name, "s": s.name, "b": b.name}
    except LabUnavailable as exc:
        pytest.skip(str(exc))


def test_linux_bridge_egress_port_derived_and_seen_both_ways(blab: dict[str, str]) -> None:
    out = subprocess.run(
        [*NETSLEUTH, "trace", "10.63.0.3", "--from-netns", blab["a"]],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    rows = [ln.split()[0] for ln in out.stdout.splitlines() if "request " in ln and " reply " in ln]
    assert rows == [f"{blab['a']}:eth0", f"{blab['s']}:pa", f"{blab['s']}:pb", f"{blab['b']}:eth0"]
    assert all("NOT seen" not in ln for ln in out.stdout.splitlines() if "request " in ln)
    rep = json.loads(
        subprocess.run(
            [*NETSLEUTH, "trace", "10.63.0.3", "--from-netns", blab["a"], "--format", "json"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout
    )
    assert rep["findings"] == [] and rep["notes"] == []
