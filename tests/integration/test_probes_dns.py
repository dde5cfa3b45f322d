"""probe dns against real resolvers in namespaces: dnsmasq behind an iptables drop of UDP 53,
a loopback resolver with nothing listening, and a healthy path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.probe_helpers import have, ids, probe

pytestmark = pytest.mark.root


@pytest.fixture
def lab() -> Iterator[object]:
    from netsleuth.lab import Lab, LabUnavailable

    if not have("dnsmasq"):
        pytest.skip("dnsmasq not installed")
    try:
        with Lab("probes-dns") as lab:
            yield lab
    except LabUnavailable as exc:
        pytest.skip(str(exc))


def _pair(lab: object) -> tuple[object, object]:
    srv = lab.netns("srv")  # type: ignore[attr-defined]
    cli = lab.netns("cli")  # type: ignore[attr-defined]
    lab.veth(srv, "eth0", cli, "eth0", addr="10.77.0.1/24", peer_addr="10.77.0.2/24")  # type: ignore[attr-defined]
    lab.dnsmasq(srv, "eth0", records={"db.lab": "10.77.0.9"})  # type: ignore[attr-defined]
    return srv, cli


def test_healthy_server_answers_over_udp_and_tcp(lab: object) -> None:
    _srv, cli = _pair(lab)
    cli.resolv_conf("nameserver 10.77.0.1\n")
    rc, report = probe(cli.name, "probe", "dns", "db.lab")
    assert rc == 0, report["findings"]
    assert not ids(report)
    assert "10.77.0.1 udp answer 10.77.0.9 / tcp answer" in report["notes"][0]


def test_udp53_dropped_is_udp53_blocked(lab: object) -> None:
    srv, cli = _pair(lab)
    srv.iptables("-A", "INPUT", "-p", "udp", "--dport", "53", "-j", "DROP")
    cli.resolv_conf("nameserver 10.77.0.1\n")
    rc, report = probe(cli.name, "probe", "dns", "db.lab", "--timeout", "1")
    assert rc == 2
    assert ids(report) == {"dns.udp53_blocked": ["10.77.0.1"]}


def test_loopback_resolver_with_nothing_listening(lab: object) -> None:
    _srv, cli = _pair(lab)
    cli.resolv_conf("nameserver 127.0.0.1\nnameserver 10.77.0.1\n")
    rc, report = probe(cli.name, "probe", "dns", "db.lab", "--timeout", "1")
    assert rc == 2
    assert ids(report) == {"dns.loopback_resolver_dead": ["127.0.0.1"]}


def test_server_without_host_is_unreachable(lab: object) -> None:
    _srv, cli = _pair(lab)
    cli.resolv_conf("nameserver 10.77.0.44\n")
    _rc, report = probe(cli.name, "probe", "dns", "db.lab", "--timeout", "1")
    assert ids(report) == {"dns.server_unreachable": ["10.77.0.44"]}
