"""Triage ranking on real reports, the symptom list, and a scripted run on a sosreport."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from netsleuth.cli import app
from netsleuth.messages import message
from netsleuth.report.triage import rank, symptom, symptoms
from netsleuth.results.probes import DnsProbe, DnsQuery, DnsServer, to_json
from netsleuth.rules.base import all_rules
from tests.helpers import bundle, ev, fixture, run, sos_tree

SEED_SYMPTOMS = {
    "tcp_hangs_ping_ok",
    "name_ping_vs_nslookup",
    "vms_drop_packets",
    "dhcp_lost_after_restart",
    "public_ips_unreachable",
    "vxlan_one_way",
    "intermittent_between_services",
    "load_high_cpus_idle",
}


def test_every_seed_symptom_has_en_and_zh_text() -> None:
    assert {s.id for s in symptoms()} == SEED_SYMPTOMS
    for s in symptoms():
        en = message("en", f"triage.{s.id}", "title", {})
        zh = message("zh", f"triage.{s.id}", "title", {})
        assert en and zh and en != zh


def test_loopback_resolver_ranks_first_and_is_the_verdict() -> None:
    sym = symptom("name_ping_vs_nslookup")
    assert sym is not None
    probe = DnsProbe(
        "db.lab",
        False,
        [
            DnsServer("127.0.0.1", True, DnsQuery("udp", "timeout"), DnsQuery("tcp", "unreachable"), None),
            DnsServer(
                "114.114.114.114",
                False,
                DnsQuery("udp", "answer", 2.0, ["10.0.0.9"]),
                DnsQuery("tcp", "answer"),
                None,
            ),
        ],
    )
    b = bundle(
        ev("etc.resolv_conf", fixture("probes/resolv-vpn.conf")),
        ev("probe.dns", to_json(probe), key="db.lab"),
    )
    report = run(b, only=set(sym.causes))
    tri = rank(sym, report, [], "en")
    assert tri.verdict is not None and tri.verdict.id == "dns.loopback_resolver_dead"
    assert tri.causes[0].status == "found"
    statuses = {c.id: c.status for c in tri.causes}
    assert statuses["dns.udp53_blocked"] == "ruled_out"
    assert statuses["dns.resolv_overwritten"] in ("found", "not_checked")


def test_nothing_found_has_no_verdict_and_lists_what_was_not_checked() -> None:
    sym = symptom("vxlan_one_way")
    assert sym is not None
    tri = rank(sym, run(bundle(), only=set(sym.causes)), ["--peer: IP address of the far side"], "en")
    assert tri.verdict is None
    known = {r.id for r in all_rules()}
    assert all(
        c.status == ("not_checked" if c.id in known else "unknown")
        for c in tri.causes
        if c.status != "ruled_out"
    )


def test_scripted_triage_of_a_sosreport_json(tmp_path: Path) -> None:
    root = sos_tree(
        tmp_path / "sos",
        {
            "etc/dhcp/dhclient.conf": "timeout 60;\n",
            "var/log/messages": fixture("probes/dnsmasq-seed002.log"),
        },
    )
    res = CliRunner().invoke(
        app, ["triage", "dhcp_lost_after_restart", "--from", str(root), "--format", "json"]
    )
    out = json.loads(res.output)
    assert out["symptom"] == "dhcp_lost_after_restart"
    found = [c["id"] for c in out["causes"] if c["status"] == "found"]
    assert "dhcp.pool_exhausted" in found and "dhcp.renew_timeout_short" in found
    assert out["verdict"]["id"] in found
    assert res.exit_code == (2 if any(f["severity"] == "critical" for f in out["report"]["findings"]) else 1)


def test_unknown_symptom_is_a_usage_error() -> None:
    res = CliRunner().invoke(app, ["triage", "nope", "--format", "json"])
    assert res.exit_code != 0 and "unknown symptom" in res.output
