"""DHCP rules: the probe, dnsmasq logs (seed 002) and dhclient.conf (seed 000)."""

from __future__ import annotations

from pathlib import Path

from netsleuth.evidence.source import open_source
from netsleuth.results.probes import DhcpOffer, DhcpProbe, to_json
from tests.helpers import bundle, check, ev, findings, fixture, run, sos_tree

WHEN = "2026-02-27T22:05:00+00:00"


def test_probe_without_offer() -> None:
    r = run(bundle(ev("probe.dhcp", to_json(DhcpProbe("eth0", "fa:16:3e:00:00:01", 2, 4.0)), key="eth0")))
    (f,) = findings(r, "dhcp.no_offer")
    assert f.subject == "eth0" and f.severity == "critical"


def test_probe_with_offer_quiet() -> None:
    p = DhcpProbe("eth0", "fa:16:3e:00:00:01", 2, 4.0, [DhcpOffer("10.84.0.1", "10.84.0.58")])
    r = run(bundle(ev("probe.dhcp", to_json(p), key="eth0")), only={"dhcp.no_offer"})
    assert not r.findings and check(r, "dhcp.no_offer").startswith("pass")


def test_nothing_to_read_skips() -> None:
    r = run(bundle(), only={"dhcp.no_offer", "dhcp.pool_exhausted", "dhcp.renew_timeout_short"})
    assert all(c.status == "skipped" for c in r.checks)


def test_seed002_no_address_available_is_pool_exhausted() -> None:
    b = bundle(
        ev(
            "log.dnsmasq",
            fixture("probes/dnsmasq-seed002.log"),
            key="dnsmasq.log",
            source="/var/log/messages",
        ),
        collected_at=WHEN,
    )
    r = run(b, only={"dhcp.pool_exhausted", "dhcp.no_offer"})
    (f,) = findings(r, "dhcp.pool_exhausted")
    assert f.subject == "br100" and "fa:16:3e:78:44:84" in f.summary
    assert "no address available" in f.evidence[0].excerpt
    assert not findings(r, "dhcp.no_offer")  # the served client got its OFFER; the other is the pool


def test_discover_without_offer_in_log() -> None:
    b = bundle(
        ev("log.dnsmasq", fixture("probes/dnsmasq-no-offer.log"), key="dnsmasq.log"), collected_at=WHEN
    )
    (f,) = findings(run(b, only={"dhcp.no_offer"}), "dhcp.no_offer")
    assert f.subject == "fa:16:3e:11:22:33"


def test_old_pool_exhaustion_is_info() -> None:
    b = bundle(
        ev("log.dnsmasq", fixture("probes/dnsmasq-seed002.log"), key="dnsmasq.log"),
        collected_at="2026-06-01T00:00:00+00:00",
    )
    (f,) = findings(run(b, only={"dhcp.pool_exhausted"}), "dhcp.pool_exhausted")
    assert f.severity == "info"


def test_renew_timeout_short_with_qdhcp_namespaces_sos(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path / "sos",
        {
            "etc/dhcp/dhclient.conf": "send host-name = gethostname();\ntimeout 60;\n",
            "sos_commands/networking/ip_netns": "qdhcp-3a1f (id: 3)\nqdhcp-77b2 (id: 4)\nqrouter-9c0d (id: 5)\n",
        },
        {"ip netns": ("sos_commands/networking/ip_netns", 0)},
    )
    with open_source(root, None, False) as b:
        r = run(b, only={"dhcp.renew_timeout_short"})
    (f,) = findings(r, "dhcp.renew_timeout_short")
    assert "60 s" in f.title and "2 qdhcp" in f.summary
    assert any("timeout 300;" in p for p in f.remedy.persist)


def test_timeout_300_is_quiet() -> None:
    r = run(
        bundle(ev("etc.dhclient_conf", "timeout 300;\n"), ev("ip.netns", "qdhcp-1\n")),
        only={"dhcp.renew_timeout_short"},
    )
    assert not r.findings and check(r, "dhcp.renew_timeout_short").startswith("pass")
