"""Declared, checked dependencies: a fact provider declares the evidence it reads and the facts it
builds on (the store holds it to that), a rule's needs match its function's parameters, and the
rule id is written once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from netsleuth.analysis import probe_context, probe_rules
from netsleuth.config import THRESHOLDS_EVIDENCE
from netsleuth.evidence.catalogue import catalogue
from netsleuth.facts import load_all
from netsleuth.facts.fleet import FLEET_MESH, FLEET_MODEL
from netsleuth.facts.network import Links, Routes
from netsleuth.facts.store import PROVIDERS, FactStore, UndeclaredRead, provides
from netsleuth.results.capture import PCAP_SUMMARY, TRACE_RESULT
from netsleuth.results.probes import KINDS
from netsleuth.rules.base import REGISTRY, Finding, Severity, rule
from tests.helpers import bundle, ev, findings, fixture, run

# evidence netsleuth makes itself rather than collects: probe results, capture summaries, traces,
# the files the user hands over (`diagnose --with FILE`), the configured thresholds, and the fleet's
# model and mesh matrix
MADE_AT_RUN_TIME = {f"probe.{k}" for k in KINDS} | {
    PCAP_SUMMARY,
    TRACE_RESULT,
    "user.input",
    THRESHOLDS_EVIDENCE,
    FLEET_MODEL,
    FLEET_MESH,
}


def test_every_provider_reads_only_evidence_that_exists() -> None:
    load_all()
    known = set(catalogue()) | MADE_AT_RUN_TIME
    unknown = {p.fact.__name__: sorted(set(p.reads) - known) for p in PROVIDERS.values()}
    assert not {k: v for k, v in unknown.items() if v}
    assert all(p.reads or p.uses for p in PROVIDERS.values()), (
        "a fact comes from evidence, or from facts that do"
    )


def test_every_fact_a_provider_uses_has_a_provider() -> None:
    load_all()
    assert {u for p in PROVIDERS.values() for u in p.uses} <= set(PROVIDERS)


@dataclass
class _Sneaky:
    text: str


@dataclass
class _Leaning:
    links: Links


def test_reading_undeclared_evidence_or_using_an_undeclared_fact_is_a_bug_not_a_skip() -> None:
    @provides(_Sneaky, reads=("ip.link",))
    def _sneaky(fs: FactStore) -> _Sneaky:
        return _Sneaky(fs.require("ip.route").text)  # declared ip.link, reads ip.route

    @provides(_Leaning, reads=("ip.link",))
    def _leaning(fs: FactStore) -> _Leaning:
        return _Leaning(fs.get(Links))  # builds on Links without saying so

    try:
        fs = FactStore(bundle(ev("ip.link", fixture("nic/machine_ip_j_d_s_s_link.json")), ev("ip.route", "")))
        with pytest.raises(UndeclaredRead, match=r"reads ip\.route"):
            fs.get(_Sneaky)
        with pytest.raises(UndeclaredRead, match="uses Links"):
            fs.get(_Leaning)
        assert fs.get(Links).links  # the same reads, declared, are fine
    finally:
        del PROVIDERS[_Sneaky], PROVIDERS[_Leaning]


def test_a_rule_whose_parameters_differ_from_its_declared_needs_is_refused() -> None:
    def wrong_order(routes: Routes, links: Links) -> Iterator[Finding]:
        yield from ()

    def not_optional(links: Links, routes: Routes) -> Iterator[Finding]:
        yield from ()

    def one_too_many(links: Links, routes: Routes | None, extra: int) -> Iterator[Finding]:
        yield from ()

    for fn, why in (
        (wrong_order, "parameter routes"),
        (not_optional, r"Routes \| None"),
        (one_too_many, "3"),
    ):
        with pytest.raises(TypeError, match=why):
            rule("test.signature", needs=(Links,), optional=(Routes,), seed="-", severity=Severity.INFO)(fn)
    assert "test.signature" not in REGISTRY


def test_findings_carry_the_id_of_the_rule_that_made_them() -> None:
    b = bundle(ev("ip.link", fixture("core/ns_host_fault.ip_link.json")))
    found = findings(run(b, {"nic.no_carrier"}), "nic.no_carrier")
    assert found and {f.id for f in found} == {"nic.no_carrier"}


def test_a_probe_is_judged_by_exactly_the_rules_that_read_its_kind() -> None:
    ids = {k: {r.id for r in probe_rules({k})} for k in KINDS}
    assert ids["dns"] == {
        "dns.loopback_resolver_dead",
        "dns.udp53_blocked",
        "dns.server_unreachable",
        "dns.rotate_inconsistent",
        "dns.slow_reverse_lookup",
    }  # not dns.resolv_overwritten: it reads files only
    assert ids["mtu"] == {"mtu.path_blackhole", "nic.driver_trailer"}
    assert ids["arp"] == {"arp.duplicate_ip", "vlan.no_reply"}
    assert ids["dhcp"] == {"dhcp.no_offer"}
    assert ids["udp"] == ids["vxlan"] == ids["tcp"] == {"vxlan.udp_blocked"}
    assert ids["http"] == set()


def test_a_probe_report_reads_the_passive_evidence_its_rules_need_and_no_other_source() -> None:
    assert probe_context({"dns"}) == (
        "sockets.listen",
        "proc.net_sockets",
        "etc.resolv_conf",
        "etc.sshd_config",
    )
    # dhcp.no_offer and vlan.no_reply take a probe, a capture or a log/port list alike: a probe's
    # report judges the probe, not last month's dnsmasq log
    assert probe_context({"dhcp"}) == probe_context({"arp"}) == probe_context({"mtu"}) == ()


def test_providers_read_evidence_only_through_the_store() -> None:
    """The store checks every read against the declaration; reading the bundle directly would
    go round it (the bundle's own facts - scopes, hostname, when it was taken - are fine)."""
    facts = Path(load_all.__code__.co_filename).parent
    direct = [
        f"{p.name}:{n}: {line.strip()}"
        for p in sorted(facts.glob("*.py"))
        if p.name != "store.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"\.bundle\.(items|get|keyed)\b", line)
    ]
    assert not direct, "\n".join(direct)
