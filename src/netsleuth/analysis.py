"""One analysis path: a bundle (live, netsleuth bundle or sosreport) -> facts -> rules -> report."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from netsleuth import __version__
from netsleuth.errors import clip
from netsleuth.evidence.catalogue import catalogue
from netsleuth.evidence.model import HOST, Bundle
from netsleuth.facts import load_all as load_facts
from netsleuth.facts.probes import ArpProbes, DhcpProbes, DnsProbes, EchoProbes, LatencyProbes, MtuProbes
from netsleuth.facts.store import PROVIDERS, FactStore, Unavailable
from netsleuth.messages import Msg, Reason, message, render_note, render_reason
from netsleuth.results.capture import PCAP_SUMMARY, TRACE_RESULT, PcapSummary, TraceResult
from netsleuth.results.notes import probe_notes as notes_of
from netsleuth.results.report import (
    SCHEMA,
    Check,
    EvidenceExcerpt,
    EvidenceStatus,
    FindingOut,
    HostRef,
    Remedy,
    Report,
    Tool,
)
from netsleuth.rules.base import Cmd, Finding, RemedyLine, Rule, Severity, Skip, all_rules


def run_rule(rule: Rule, fs: FactStore, lang: str = "en") -> tuple[list[Finding], Check]:
    """Run one rule on one scope's facts; a missing fact skips it, a crash is an error, never a pass.
    The reason of a skip is worded in `lang`."""
    args: list[Any] = []
    missing: list[Reason | list[Reason]] = []
    try:
        for fact in rule.needs:
            try:
                args.append(fs.get(fact))
            except Unavailable as exc:
                missing.append(exc.reason)
        if missing:
            reason = clip(render_reason(lang, missing))
            return [], Check(id=rule.id, status="skipped", reason=reason, netns=fs.netns)
        opts = [fs.maybe(fact) for fact in rule.optional]
        found = list(rule.fn(*args, *opts))
    except Skip as exc:
        return [], Check(
            id=rule.id, status="skipped", reason=clip(render_reason(lang, exc.reason)), netns=fs.netns
        )
    except MemoryError:
        raise
    except Exception as exc:  # a rule bug, or a fact that broke, must not stop the other rules
        reason = clip(f"{type(exc).__name__}: {exc}")
        return [], Check(id=rule.id, status="error", reason=reason, netns=fs.netns)
    for f in found:
        f.id = rule.id
        f.netns = fs.netns
        f.seed = f.seed or rule.seed
    failing = [f for f in found if f.severity is not Severity.INFO]
    status = "fail" if failing else "pass"
    reason = "; ".join(sorted({f.subject for f in found})) if found else ""
    return found, Check(id=rule.id, status=status, reason=reason, netns=fs.netns)


MAX_EXCERPT_LINES = 40
MAX_EXCERPT_LINE = 500


def excerpt(text: str) -> str:
    """A finding's quoted evidence, bounded: at most 40 lines of at most 500 characters.

    >>> excerpt("a\\n" * 3)
    'a\\na\\na\\n'
    >>> excerpt("\\n".join(str(i) for i in range(45))).splitlines()[-1]
    '… (5 more lines)'
    """
    lines = text.splitlines()
    if len(lines) <= MAX_EXCERPT_LINES and all(len(ln) <= MAX_EXCERPT_LINE for ln in lines):
        return text
    kept = [clip(ln, MAX_EXCERPT_LINE) for ln in lines[:MAX_EXCERPT_LINES]]
    if len(lines) > MAX_EXCERPT_LINES:
        kept.append(f"… ({len(lines) - MAX_EXCERPT_LINES} more lines)")
    return "\n".join(kept)


def _resolve(rule_id: str, lang: str, value: Any) -> Any:
    """A Msg param becomes its wording in `lang` (its own params resolved first)."""
    if isinstance(value, Msg):
        inner = {k: _resolve(rule_id, lang, v) for k, v in value.params.items()}
        return message(lang, rule_id, value.key, inner)
    return value


def remedy_line(rule_id: str, lang: str, line: RemedyLine) -> str:
    """A remedy line in `lang`: a command as written, its comment and any instruction in words
    from the catalogue."""
    if isinstance(line, Cmd):
        return f"{line.command}   # {_resolve(rule_id, lang, line.comment)}"
    if isinstance(line, Msg):
        return str(_resolve(rule_id, lang, line))
    return line


def render_finding(f: Finding, lang: str) -> FindingOut:
    params = {"subject": f.subject, "netns": f.netns or "host"}
    params |= {k: _resolve(f.id, lang, v) for k, v in f.params.items()}
    return FindingOut(
        id=f.id,
        severity=f.severity.value,
        title=message(lang, f.id, "title", params),
        summary=message(lang, f.id, "summary", params),
        why=message(lang, f.id, "why", params),
        evidence=[EvidenceExcerpt(source=clip(s.source), excerpt=excerpt(s.excerpt)) for s in f.seen],
        remedy=Remedy(
            now=[remedy_line(f.id, lang, x) for x in f.now],
            persist=[remedy_line(f.id, lang, x) for x in f.persist],
            notes=message(lang, f.id, "notes", params),
        ),
        references=[ref for ref in message(lang, f.id, "references", params).split() if ref],
        seed=f.seed,
        subject=f.subject,
        netns=f.netns,
    )


def _measured(bundle: Bundle) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The capture summary and the trace result the bundle holds (the first of each), as the
    report shows them; one that cannot be read is left out (its rules say why)."""
    out: list[dict[str, Any] | None] = []
    for name, kind in ((PCAP_SUMMARY, PcapSummary), (TRACE_RESULT, TraceResult)):
        ev = next((e for e in bundle.items if e.name == name and e.ok), None)
        try:
            out.append(kind.from_json(json.loads(ev.content())).to_json() if ev is not None else None)
        except (ValueError, KeyError, TypeError):
            out.append(None)
    return out[0], out[1]


def analyse(
    bundle: Bundle,
    lang: str = "en",
    only: set[str] | None = None,
    *,
    then: Callable[[FactStore], None] | None = None,
) -> Report:
    """Run every rule (or `only` these) over every analysed scope of the bundle (fleet rules run on a
    fleet, not here). `then` is given the first scope's facts once the rules ran (the fleet
    summarises a host from them)."""
    return analyse_facts(bundle, lang, only, then=then)[0]


def analyse_facts(
    bundle: Bundle,
    lang: str = "en",
    only: set[str] | None = None,
    *,
    then: Callable[[FactStore], None] | None = None,
) -> tuple[Report, FactStore]:
    """`analyse`, and the facts it was judged on (to draw the picture from the same facts)."""
    load_facts()
    t0 = time.monotonic()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    scopes = bundle.scopes()
    first = FactStore(bundle, scopes[0])
    stores = {ns: first.scope(ns) for ns in scopes}  # one registry: cross-namespace facts built once
    findings: list[Finding] = []
    checks: list[Check] = []
    for rule in all_rules():
        if (only is not None and rule.id not in only) or rule.scope == "fleet":
            continue
        targets = [scopes[0] if HOST not in scopes else HOST] if rule.scope == "host" else scopes
        for ns in targets:
            found, check = run_rule(rule, stores[ns], lang)
            findings += found
            checks.append(check)
    findings.sort(key=lambda f: (-f.severity.rank, f.id, f.netns, f.subject))
    if then is not None:
        then(first)
    capture, trace = _measured(bundle)
    report = Report(
        schema=SCHEMA,
        tool=Tool(version=__version__),
        host=HostRef(hostname=bundle.hostname, kernel=bundle.kernel, source=bundle.source),
        started_at=bundle.collected_at or started,
        duration_s=round(time.monotonic() - t0, 3),
        namespaces=[ns or "host" for ns in scopes],
        findings=[render_finding(f, lang) for f in findings],
        checks=checks,
        evidence=[
            EvidenceStatus(
                name=ev.name,
                status=ev.status.value,
                duration_s=round(ev.duration_s, 3),
                netns=ev.netns,
                key=ev.key,
                source=clip(ev.source),
                error=clip(render_reason(lang, ev.why) if ev.why is not None else ev.error),
            )
            for ev in bundle.items
        ],
        notes=[clip(render_note(lang, n)) for n in bundle.notes] + probe_notes(stores, lang),
        lang=lang,
        capture=capture,
        trace=trace,
    )
    return report, first


PROBE_FACTS = (MtuProbes, DnsProbes, DhcpProbes, ArpProbes, EchoProbes, LatencyProbes)


def probe_notes(stores: dict[str, FactStore], lang: str) -> list[str]:
    """What each probe of each analysed namespace measured, in `lang` (a namespace's own probes
    prefixed with its name when several were analysed)."""
    out: list[str] = []
    for ns, fs in stores.items():
        for fact in PROBE_FACTS:
            found: Any = fs.maybe(fact)
            for result, _ev in found.items if found is not None else []:
                for line in notes_of(lang, result):
                    out.append(
                        render_note(lang, Msg("in_netns", {"netns": ns, "note": line})) if ns else line
                    )
    return out


def evidence_read(rule: Rule) -> set[str]:
    """Every evidence name the rule's facts are built from, through the facts they build on."""
    load_facts()
    seen: set[type] = set()
    names: set[str] = set()
    todo = [*rule.needs, *rule.optional]
    while todo:
        fact = todo.pop()
        if fact not in seen and fact in PROVIDERS:
            seen.add(fact)
            names |= set(PROVIDERS[fact].reads)
            todo += PROVIDERS[fact].uses
    return names


def probe_rules(kinds: set[str]) -> list[Rule]:
    """The rules that read these kinds of probe result (`probe.<kind>`)."""
    wanted = {f"probe.{k}" for k in kinds}
    return [r for r in all_rules() if evidence_read(r) & wanted]


def probe_context(kinds: set[str]) -> tuple[str, ...]:
    """The passive evidence a probe's report is judged with: what its rules read besides probes,
    for the rules that need some input (a DNS probe's resolv.conf, listening sockets, sshd's
    UseDNS). A rule that needs nothing takes any one of several sources (a probe, a capture, a
    log): a probe's report judges the probe alone, not a log of last month."""
    read = {n for r in probe_rules(kinds) if r.needs for n in evidence_read(r)}
    return tuple(n for n in catalogue() if n in read)


def probe_report(bundle: Bundle, kinds: set[str], lang: str) -> Report:
    """The report of a probe run: the rules that read those kinds of probe, nothing else."""
    return analyse(bundle, lang, {r.id for r in probe_rules(kinds)})
