"""fleet collect / fleet probe without hosts: the inventory, how Ansible's words become statuses,
the mesh matrix from what senders and listeners saw, and the one-line errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from netsleuth.remote.ansible import (
    AUTH_FAILED,
    COLLECTOR_ERROR,
    OK,
    TIMED_OUT,
    UNREACHABLE,
    Host,
    Outcome,
    classify,
    inventory_hosts,
)
from netsleuth.remote.mesh import LISTEN, SEND, STOP, matrix
from tests.helpers import cli

needs_ansible = pytest.mark.skipif(
    not (Path(sys.executable).parent / "ansible-inventory").exists(),
    reason="needs the fleet extra (ansible-core)",
)


@needs_ansible
def test_inventory_hosts_and_their_addresses(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.ini"
    inv.write_text("[compute]\ncmp1 ansible_host=10.0.0.11\ncmp2\n[network]\nnet1 ansible_host=10.0.0.21\n")
    assert inventory_hosts(inv) == [
        Host("cmp1", "10.0.0.11"),
        Host("cmp2", "cmp2"),
        Host("net1", "10.0.0.21"),
    ]
    assert inventory_hosts(inv, "network") == [Host("net1", "10.0.0.21")]
    yml = tmp_path / "hosts.yml"
    yml.write_text("all:\n  children:\n    cmp:\n      hosts:\n        a: {ansible_host: 192.0.2.1}\n")
    assert inventory_hosts(yml) == [Host("a", "192.0.2.1")]


@needs_ansible
@pytest.mark.parametrize("cmd", ["collect", "probe"])
def test_an_inventory_that_does_not_parse_is_one_line_exit_3(tmp_path: Path, cmd: str) -> None:
    inv = tmp_path / "broken.ini"
    inv.write_text("[compute\ncmp1 ansible_host=\n")
    extra = ["-o", str(tmp_path / "out")] if cmd == "collect" else []
    r = cli("fleet", cmd, "-i", str(inv), *extra)
    assert r.returncode == 3, r.stderr
    assert r.stderr.count("\n") == 1 and "does not parse" in r.stderr and str(inv) in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()  # nothing written before the inventory is read


@needs_ansible
def test_an_inventory_without_hosts_is_one_line_exit_3(tmp_path: Path) -> None:
    inv = tmp_path / "empty.ini"
    inv.write_text("[compute]\n")
    r = cli("fleet", "collect", "-i", str(inv), "-o", str(tmp_path / "out"))
    assert r.returncode == 3 and r.stderr.count("\n") == 1 and "has no host" in r.stderr, r.stderr
    r = cli("fleet", "probe", "-i", str(inv))
    assert r.returncode == 3 and "needs two or more" in r.stderr, r.stderr


def test_a_missing_inventory_is_a_usage_error(tmp_path: Path) -> None:
    r = cli("fleet", "collect", "-i", str(tmp_path / "nope.ini"), "-o", str(tmp_path))
    assert r.returncode == 64 and "does not exist" in r.stderr


@pytest.mark.parametrize(
    ("event", "res", "status"),
    [
        # Ansible's own words, as ansible-core 2.19 says them (seen in the fleet lab)
        ("runner_on_unreachable", {"msg": "Task failed: Failed to connect to the host via ssh: ssh: connect to host 10.99.200.4 port 22: Connection refused", "unreachable": True}, UNREACHABLE),
        ("runner_on_unreachable", {"msg": "Task failed: Failed to connect to the host via ssh: root@10.99.200.3: Permission denied (publickey).", "unreachable": True}, AUTH_FAILED),
        ("runner_on_unreachable", {"msg": "Failed to connect to the host via ssh: ssh: connect to host 192.0.2.7 port 22: Connection timed out"}, UNREACHABLE),
        ("runner_on_failed", {"msg": "the collector did not finish within 5 s (killed)", "timed_out": True, "rc": 124}, TIMED_OUT),
        ("runner_on_failed", {"msg": "Task failed: Timed out after 65 second(s).", "timedout": {"period": 65}}, TIMED_OUT),
        ("runner_on_failed", {"msg": "the collector exited 3: netsleuth-collect: collect: [Errno 28] No space left on device", "rc": 3}, COLLECTOR_ERROR),
        ("runner_on_ok", {"msg": "ok", "rc": 0}, OK),
    ],
)  # fmt: skip
def test_ansible_messages_become_statuses(event: str, res: dict[str, object], status: str) -> None:
    out = classify(event, res)
    assert out.status == status
    assert out.message == " ".join(str(res["msg"]).split())


def _ok(doc: dict[str, object]) -> Outcome:
    return Outcome(OK, "ok", {"stdout": json.dumps(doc) + "\n"})


def test_the_matrix_names_where_a_one_way_udp_probe_stops() -> None:
    """Three hosts; c's firewall drops UDP to the port: seen at c's NIC, never past its INPUT chain."""
    hosts = [Host("a", "10.0.0.1"), Host("b", "10.0.0.2"), Host("c", "10.0.0.3")]
    seqs = {"b": [1000, 1001], "c": [2000, 2001]}

    def sent(me: str) -> Outcome:
        peers = [h.name for h in hosts if h.name != me]
        res = {p: {"address": "x", "icmp": "ok", "pmtu": 1500, "udp_sent": [i * 1000 + k for k in (0, 1)], "udp_left": [i * 1000 + k for k in (0, 1)], "detail": ""} for i, p in enumerate(peers, 1)}  # fmt: skip
        return _ok({"host": me, "port": 4789, "left_watched": True, "why": "", "results": res})

    def heard(me: str) -> Outcome:
        seen = {}
        for src in (h.name for h in hosts if h.name != me):
            peers = [h.name for h in hosts if h.name != src]
            i = peers.index(me) + 1
            got = [i * 1000, i * 1000 + 1]
            seen[src] = {"nic": got, "delivered": [] if me == "c" else got}
        return _ok({"port": 4789, "capture": {"nic": True, "delivered": True, "why": []}, "seen": seen})

    results = {
        LISTEN: {h.name: _ok({"pid": 1}) for h in hosts},
        SEND: {h.name: sent(h.name) for h in hosts},
        STOP: {h.name: heard(h.name) for h in hosts},
    }
    doc = matrix(hosts, 4789, results)
    assert doc["schema"] == "netsleuth.mesh/v1" and len(doc["results"]) == 6
    lost = [(r["src"], r["dst"]) for r in doc["results"] if r["udp"] != "ok"]
    assert lost == [("a", "c"), ("b", "c")]
    r = next(r for r in doc["results"] if (r["src"], r["dst"]) == ("a", "c"))
    assert r["udp_seen"] == {"left_src": True, "reached_dst_nic": True, "delivered": False}
    del seqs


def test_a_host_whose_listener_did_not_start_is_skipped_with_the_reason() -> None:
    hosts = [Host("a", "10.0.0.1"), Host("b", "10.0.0.2")]
    res = {"b": {"icmp": "ok", "pmtu": 1500, "udp_sent": [1000], "udp_left": [1000], "detail": ""}}
    results = {
        LISTEN: {"a": _ok({"pid": 1}), "b": Outcome(UNREACHABLE, "Connection refused")},
        SEND: {"a": _ok({"host": "a", "results": res})},
        STOP: {"a": _ok({"capture": {"nic": True, "delivered": True, "why": []}, "seen": {}})},
    }
    doc = matrix(hosts, 4789, results)
    ab = next(r for r in doc["results"] if (r["src"], r["dst"]) == ("a", "b"))
    assert (ab["icmp"], ab["udp"]) == (
        "ok",
        "skipped",
    ) and "b: listener: unreachable: Connection refused" in ab["detail"]
    ba = next(r for r in doc["results"] if (r["src"], r["dst"]) == ("b", "a"))
    assert ba["udp"] == "skipped" and "b: probing" in ba["detail"]


def test_collector_build_writes_a_runnable_zipapp(tmp_path: Path) -> None:
    out = tmp_path / "netsleuth-collect.pyz"
    r = cli("collector", "build", "-o", str(out))
    assert r.returncode == 0 and out.exists()
    import subprocess

    v = subprocess.run(
        [sys.executable, "-I", str(out), "--version"], capture_output=True, text=True, check=False
    )
    assert v.returncode == 0 and v.stdout.startswith("netsleuth-collect")
