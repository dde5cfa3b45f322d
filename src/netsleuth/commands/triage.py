"""`netsleuth triage [SYMPTOM]`: from a symptom to the checks that separate its causes, and a
verdict with the fix. Interactive on a terminal; fully scriptable with flags and --format json."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from netsleuth.messages import LANGS, default_lang, message, ui

if TYPE_CHECKING:
    from netsleuth.report.triage import Symptom, Triage
    from netsleuth.results.report import Report


def _ask(lang: str, key: str, interactive: bool) -> str:
    if not interactive:
        return ""
    return str(click.prompt(ui(lang, f"ask_{key}"), default="", show_default=False)).strip()


def _probes(sym: Symptom, inputs: dict[str, str]) -> list[tuple[str, Any]]:
    """Run the symptom's probes that the inputs allow; (kind, result or reason string)."""
    from netsleuth.probes.default import _tunnel_for, links, probe_vxlan
    from netsleuth.probes.dns import probe_dns

    root = os.geteuid() == 0
    out: list[tuple[str, Any]] = []
    peer, name, target, iface = (inputs.get(k, "") for k in ("peer", "name", "target", "iface"))
    for kind in sym.probes:
        try:
            if kind == "dns":
                out.append(("dns", probe_dns(name or None, timeout=1.5, use_ping=root)))
            elif kind == "mtu" and peer:
                from netsleuth.probes.mtu import probe_mtu

                out.append(
                    ("mtu", probe_mtu(peer, wait_s=0.5)) if root else ("mtu", "needs root (raw ICMP socket)")
                )
            elif kind == "vxlan" and peer and root:
                tunnel = _tunnel_for(peer, links())
                if tunnel is not None:
                    out.append(("vxlan", probe_vxlan(tunnel, peer)))
            elif kind == "arp" and peer:
                from netsleuth.probes.frames import NeedsRoot, probe_arp

                try:
                    out.append(("arp", probe_arp(peer, wait_s=1.0)))
                except NeedsRoot as exc:
                    out.append(("arp", f"needs root: {exc}"))
            elif kind == "tcp" and target:
                from netsleuth.probes.latency import probe_latency

                out.append(("tcp", probe_latency("tcp", target, count=10, interval_s=0.3)))
            elif kind == "dhcp" and iface:
                from netsleuth.probes.frames import NeedsRoot, probe_dhcp

                try:
                    out.append(("dhcp", probe_dhcp(iface)))
                except NeedsRoot as exc:
                    out.append(("dhcp", f"needs root: {exc}"))
        except (OSError, ValueError) as exc:
            out.append((kind, str(exc)))
    return out


@click.command("triage")
@click.argument("symptom_id", required=False, metavar="[SYMPTOM]")
@click.option("--list", "list_only", is_flag=True, help="List the symptoms and exit.")
@click.option("--peer", help="IP address of the far side (for MTU, ARP, VXLAN checks).")
@click.option("--name", help="Host name that fails to resolve.")
@click.option("--target", help="HOST:PORT of a service that fails now and then.")
@click.option("--iface", help="Interface to send a DHCP DISCOVER on.")
@click.option(
    "--from",
    "source",
    type=click.Path(path_type=Path, exists=True),
    help="Triage a bundle or sosreport instead of this host (passive checks only).",
)
@click.option("--no-probes", is_flag=True, help="Passive only: send nothing on the network.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--lang", type=click.Choice(LANGS), default=None)
def command(
    symptom_id: str | None,
    list_only: bool,
    peer: str | None,
    name: str | None,
    target: str | None,
    iface: str | None,
    source: Path | None,
    no_probes: bool,
    fmt: str,
    lang: str | None,
) -> None:
    """Symptom-driven guide: rank the catalogue's causes, run the checks that separate them, ask only
    for what it cannot find itself, end with a verdict and the fix."""
    from netsleuth.report.triage import rank, symptoms

    lang = lang or default_lang()
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and fmt == "text"
    syms = symptoms()
    if list_only or (symptom_id is None and not interactive):
        _list(syms, lang, fmt)
        if symptom_id is None and not list_only:
            raise click.UsageError("name a SYMPTOM (see `netsleuth triage --list`)")
        return
    sym = _choose(symptom_id, syms, lang)
    given = {"peer": peer or "", "name": name or "", "target": target or "", "iface": iface or ""}
    live = source is None and not no_probes
    asks = _ask_missing(sym, given, lang, interactive) if live else []
    t0 = time.monotonic()
    report = _diagnose(sym, source, given, live, lang)
    tri = rank(sym, report, asks, lang)
    if fmt == "json":
        _show_json(tri, sym, report, time.monotonic() - t0)
    else:
        _show_text(tri, sym, report, lang)
    sys.exit(report.exit_code())


def _list(syms: tuple[Symptom, ...], lang: str, fmt: str) -> None:
    rows = [{"id": s.id, "title": message(lang, f"triage.{s.id}", "title", {}), "seed": s.seed} for s in syms]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for i, r in enumerate(rows, 1):
            click.echo(f"{i}. {r['id']:32} {r['title']}")


def _choose(symptom_id: str | None, syms: tuple[Symptom, ...], lang: str) -> Symptom:
    """The symptom named (by id or number), or picked from the list on a terminal."""
    from netsleuth.report.triage import symptom

    if symptom_id is None:
        for i, s in enumerate(syms, 1):
            click.echo(f"{i}. {message(lang, f'triage.{s.id}', 'title', {})}")
        pick = click.prompt(ui(lang, "triage_pick"), type=click.IntRange(1, len(syms)))
        symptom_id = syms[pick - 1].id
    sym = (
        symptom(symptom_id)
        if not symptom_id.isdigit()
        else (syms[int(symptom_id) - 1] if 0 < int(symptom_id) <= len(syms) else None)
    )
    if sym is None:
        raise click.UsageError(f"unknown symptom {symptom_id!r} (see `netsleuth triage --list`)")
    return sym


def _ask_missing(sym: Symptom, given: dict[str, str], lang: str, interactive: bool) -> list[str]:
    """Ask (on a terminal) for the inputs the symptom's checks need; those still missing are
    returned as the options to pass next time."""
    asks: list[str] = []
    for key in sym.inputs:
        if not given[key]:
            given[key] = _ask(lang, key, interactive)
            if not given[key]:
                asks.append(f"--{key}: " + ui(lang, f"ask_{key}").split("(")[0].strip())
    return asks


def _diagnose(sym: Symptom, source: Path | None, given: dict[str, str], live: bool, lang: str) -> Report:
    """The symptom's causes checked on a bundle/sosreport, or on this host (with its probes when live)."""
    from netsleuth.analysis import analyse
    from netsleuth.probes import run

    if source is not None:
        from netsleuth.evidence.source import open_source

        with open_source(source, None, False) as bundle:
            return analyse(bundle, lang, set(sym.causes))
    from netsleuth.evidence.live import CollectOptions, collect

    bundle = collect(CollectOptions())
    if live:
        for kind, result in _probes(sym, given):
            if isinstance(result, str):
                bundle.add(run.skipped(kind, given.get("peer", "") or kind, result, "netsleuth triage"))
                continue
            bundle.add(run.evidence(kind, result, "netsleuth triage"))
    return analyse(bundle, lang, set(sym.causes))


def _show_json(tri: Triage, sym: Symptom, report: Report, duration_s: float) -> None:
    out = {
        "schema": "netsleuth.triage/v1",
        "symptom": tri.symptom,
        "title": tri.title,
        "seed": sym.seed,
        "causes": [dataclasses.asdict(c) for c in tri.causes],
        "asks": tri.asks,
        "verdict": dataclasses.asdict(tri.verdict) if tri.verdict else None,
        "duration_s": round(duration_s, 2),
        "report": json.loads(report.to_json()),
    }
    click.echo(json.dumps(out, ensure_ascii=False, indent=2))


def _show_text(tri: Triage, sym: Symptom, report: Report, lang: str) -> None:
    click.echo(f"{tri.title}  (seed {sym.seed})")
    click.echo(f"  {message(lang, f'triage.{sym.id}', 'why', {})}")
    click.echo(f"\n{ui(lang, 'triage_causes')}:")
    label = {
        "found": ui(lang, "triage_found"),
        "ruled_out": ui(lang, "triage_ruled_out"),
        "not_checked": ui(lang, "triage_not_checked"),
        "unknown": ui(lang, "triage_not_checked"),
    }
    for i, c in enumerate(tri.causes, 1):
        extra = f" — {c.reason}" if c.reason and c.status != "found" else ""
        click.echo(f"  {i}. [{label[c.status]}] {c.id}: {c.title}{extra}")
    for note in report.notes:
        click.echo(f"  · {note}")
    if tri.asks:
        click.echo(f"\n{ui(lang, 'triage_ask')}:")
        for a in tri.asks:
            click.echo(f"  {a}")
    click.echo(f"\n{ui(lang, 'triage_verdict')}: ", nl=False)
    if tri.verdict is None:
        click.echo(ui(lang, "triage_none"))
    else:
        click.echo(f"{tri.verdict.id} — {tri.verdict.title}")
        click.echo(f"  {tri.verdict.reason}")
        click.echo(f"{ui(lang, 'triage_fix')}:")
        for cmd in tri.verdict.fix:
            click.echo(f"  $ {cmd}")
