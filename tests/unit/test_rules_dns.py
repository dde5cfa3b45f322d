"""DNS rules on probe evidence and passive files: fault, healthy and missing cases."""

from __future__ import annotations

from pathlib import Path

from netsleuth.evidence.source import open_source
from netsleuth.results.probes import DnsProbe, DnsQuery, DnsServer, to_json
from tests.helpers import bundle, check, ev, findings, fixture, run, sos_tree

ANSWER = DnsQuery("udp", "answer", 3.0, ["10.100.53.15"])
TCP_OK = DnsQuery("tcp", "answer", 4.0, ["10.100.53.15"])
TIMEOUT = DnsQuery("udp", "timeout", error="no answer in 2 s")
TCP_TIMEOUT = DnsQuery("tcp", "timeout", error="no answer in 2 s")
REFUSED = DnsQuery("tcp", "unreachable", error="connection refused (nothing listens on port 53)")


def dns(*servers: DnsServer, rotate: bool = False) -> object:
    return ev(
        "probe.dns",
        to_json(DnsProbe("youku.tddl.tbsite.net", rotate, list(servers))),
        key="youku.tddl.tbsite.net",
    )


def test_udp53_blocked_when_tcp_answers() -> None:
    r = run(bundle(dns(DnsServer("114.114.114.114", False, TIMEOUT, TCP_OK, None))))
    (f,) = findings(r, "dns.udp53_blocked")
    assert f.subject == "114.114.114.114" and "udp: timeout" in f.evidence[0].excerpt


def test_udp53_blocked_when_only_ping_answers() -> None:
    r = run(bundle(dns(DnsServer("10.0.0.53", False, TIMEOUT, TCP_TIMEOUT, True))))
    assert [f.subject for f in findings(r, "dns.udp53_blocked")] == ["10.0.0.53"]
    assert not findings(r, "dns.server_unreachable")


def test_server_unreachable_when_nothing_answers() -> None:
    r = run(bundle(dns(DnsServer("10.0.0.53", False, TIMEOUT, TCP_TIMEOUT, False))))
    assert [f.subject for f in findings(r, "dns.server_unreachable")] == ["10.0.0.53"]
    assert not findings(r, "dns.udp53_blocked")


def test_healthy_server_quiet() -> None:
    r = run(bundle(dns(DnsServer("10.0.0.53", False, ANSWER, TCP_OK, None))))
    assert not r.findings
    assert check(r, "dns.udp53_blocked").startswith("pass")


def test_loopback_dead_from_probe_seed003() -> None:
    b = bundle(
        ev("etc.resolv_conf", fixture("probes/resolv-vpn.conf"), source="/etc/resolv.conf"),
        dns(
            DnsServer("127.0.0.1", True, TIMEOUT, REFUSED, None),
            DnsServer("114.114.114.114", False, ANSWER, TCP_OK, None),
        ),
    )
    r = run(b)
    (f,) = findings(r, "dns.loopback_resolver_dead")
    assert f.subject == "127.0.0.1" and "114.114.114.114" in f.summary
    assert not findings(r, "dns.server_unreachable")


def test_loopback_alive_is_quiet() -> None:
    b = bundle(
        ev("etc.resolv_conf", "nameserver 127.0.0.53\n"),
        ev(
            "sockets.listen",
            'udp   UNCONN 0      0      127.0.0.53%lo:53        0.0.0.0:*    users:(("systemd-resolve",pid=612,fd=13))',
        ),
    )
    r = run(b, only={"dns.loopback_resolver_dead"})
    assert not r.findings and check(r, "dns.loopback_resolver_dead").startswith("pass")


def test_loopback_missing_evidence_skips() -> None:
    r = run(bundle(ev("etc.resolv_conf", "nameserver 127.0.0.1\n")), only={"dns.loopback_resolver_dead"})
    assert check(r, "dns.loopback_resolver_dead").startswith("skipped")
    r = run(bundle(), only={"dns.udp53_blocked"})
    assert check(r, "dns.udp53_blocked").startswith("skipped: no DNS probe (probe.dns) and no capture")


def test_rotate_with_disagreeing_servers() -> None:
    b = bundle(
        ev("etc.resolv_conf", "nameserver 10.0.0.1\nnameserver 10.0.0.2\noptions rotate\n"),
        dns(
            DnsServer("10.0.0.1", False, ANSWER, TCP_OK, None),
            DnsServer("10.0.0.2", False, DnsQuery("udp", "nxdomain", 2.0), TCP_OK, None),
            rotate=True,
        ),
    )
    (f,) = findings(run(b), "dns.rotate_inconsistent")
    assert "10.0.0.2" in f.summary
    assert f.subject == "10.0.0.2"  # the server that disagrees, not resolv.conf


def test_rotate_names_the_failing_server() -> None:
    b = bundle(
        ev("etc.resolv_conf", "options rotate\nnameserver 10.0.0.1\nnameserver 10.0.0.2\n"),
        dns(
            DnsServer("10.0.0.1", False, ANSWER, TCP_OK, None),
            DnsServer("10.0.0.2", False, TIMEOUT, TCP_TIMEOUT, True),
            rotate=True,
        ),
    )
    (f,) = findings(run(b), "dns.rotate_inconsistent")
    assert f.subject == "10.0.0.2" and "failing: 10.0.0.2" in f.summary


def test_rotate_majority_names_the_odd_server() -> None:
    other = DnsQuery("udp", "answer", 2.0, addresses=["10.9.9.9"])
    b = bundle(
        dns(
            DnsServer(
                "10.0.0.1", False, DnsQuery("udp", "answer", 2.0, addresses=["10.9.9.9"]), TCP_OK, None
            ),
            DnsServer("10.0.0.2", False, ANSWER, TCP_OK, None),
            DnsServer("10.0.0.3", False, other, TCP_OK, None),
            rotate=True,
        )
    )
    (f,) = findings(run(b), "dns.rotate_inconsistent")
    assert f.subject == "10.0.0.2"


def test_no_rotate_no_finding() -> None:
    b = bundle(
        dns(
            DnsServer("10.0.0.1", False, ANSWER, TCP_OK, None),
            DnsServer("10.0.0.2", False, DnsQuery("udp", "nxdomain"), TCP_OK, None),
        )
    )
    assert not findings(run(b), "dns.rotate_inconsistent")


def test_sosreport_passive_loopback_dead_overwritten_and_usedns(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path / "sos",
        {
            "etc/resolv.conf": fixture("probes/resolv-vpn.conf"),
            "etc/sysconfig/network-scripts/ifcfg-eth0": fixture("probes/ifcfg-eth0"),
            "etc/ssh/sshd_config": "Port 22\nUseDNS yes\n",
            "sos_commands/networking/netstat_-W_-neopa": fixture("probes/netstat-neopa.txt"),
        },
        {"netstat -W -neopa": ("sos_commands/networking/netstat_-W_-neopa", 0)},
    )
    with open_source(root, None, False) as b:
        r = run(b)
    assert [f.subject for f in findings(r, "dns.loopback_resolver_dead")] == ["127.0.0.1"]
    (ow,) = findings(r, "dns.resolv_overwritten")
    assert any("Generated by NetworkManager" in e.excerpt for e in ow.evidence)
    assert any("BOOTPROTO=dhcp" in e.excerpt for e in ow.evidence)
    assert [f.subject for f in findings(r, "dns.slow_reverse_lookup")] == ["sshd"]


def test_peerdns_no_keeps_resolv_conf() -> None:
    b = bundle(
        ev("etc.resolv_conf", "nameserver 10.0.0.1\n"),
        ev("etc.ifcfg", "BOOTPROTO=dhcp\nPEERDNS=no\n", key="ifcfg-eth0"),
    )
    r = run(b, only={"dns.resolv_overwritten"})
    assert not r.findings and check(r, "dns.resolv_overwritten").startswith("pass")
