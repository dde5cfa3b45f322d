"""Render a fleet report: text (a host x finding table, then the cross-host findings), JSON
(`netsleuth.fleet/v1`) or one self-contained HTML page with the picture of the tunnel mesh."""

from __future__ import annotations

import io
import shutil
from html import escape

from rich.console import Console
from rich.table import Table
from rich.text import Text

from netsleuth.messages import ui, ui_or
from netsleuth.report.html import CSS, finding
from netsleuth.report.mesh_svg import mesh_svg
from netsleuth.report.render import SEV_STYLE, text_finding
from netsleuth.results.fleet import SEVERITY_RANK, FleetReport, HostEntry

FLEET_FORMATS = ("text", "json", "html")
MARK = {"critical": "C", "warning": "W", "info": "i"}


def render_fleet(report: FleetReport, fmt: str, color: bool | None = None, verbose: bool = False) -> str:
    if fmt == "json":
        return report.to_json() + "\n"
    if fmt == "html":
        return fleet_html(report)
    return fleet_text(report, color=color, verbose=verbose)


def _severities(report: FleetReport) -> dict[str, dict[str, str]]:
    """host -> finding id -> the worst severity of that id on that host (own and cross-host findings)."""
    out: dict[str, dict[str, str]] = {h.name: {} for h in report.hosts}

    def mark(host: str, fid: str, sev: str) -> None:
        cells = out.setdefault(host, {})
        if SEVERITY_RANK.get(sev, -1) > SEVERITY_RANK.get(cells.get(fid, ""), -1):
            cells[fid] = sev

    for h in report.hosts:
        for f in h.report.findings if h.report else []:
            mark(h.name, f.id, f.severity)
    for f in report.findings:
        for name in f.hosts:
            mark(name, f.id, f.severity)
    return out


def _columns(cells: dict[str, dict[str, str]]) -> list[str]:
    """Finding ids seen anywhere, worst first."""
    worst: dict[str, int] = {}
    for row in cells.values():
        for fid, sev in row.items():
            worst[fid] = max(worst.get(fid, -1), SEVERITY_RANK.get(sev, -1))
    return sorted(worst, key=lambda fid: (-worst[fid], fid))


def status(lang: str, name: str) -> str:
    """A host's status in the report's language (the status itself when it has no wording).

    >>> status("zh", "auth_failed"), status("en", "timed_out"), status("zh", "new_status")
    ('认证失败', 'timed_out', 'new_status')
    """
    return ui_or(lang, "fleet_st_" + name, name)


def _summary(report: FleetReport) -> str:
    return ui(
        report.lang,
        "fleet_summary",
        hosts=ui(report.lang, "fleet_n_hosts", n=len(report.hosts)),
        analysed=len(report.analysed()),
        cross=ui(report.lang, "fleet_n_cross", n=len(report.findings)),
        seconds=f"{report.duration_s:.1f}",
    )


def fleet_text(report: FleetReport, color: bool | None = None, verbose: bool = False) -> str:
    buf = io.StringIO()
    con = Console(
        file=buf,
        force_terminal=bool(color),
        no_color=not color,
        width=shutil.get_terminal_size((110, 40)).columns if color else 200,
        highlight=False,
        soft_wrap=not color,
    )
    lang = report.lang
    con.print(
        Text(
            f"{ui(lang, 'fleet_title')} — netsleuth {report.tool.version} — {_summary(report)}", style="bold"
        )
    )
    cells = _severities(report)
    ids = _columns(cells)
    table = Table(show_lines=False, expand=False, title=ui(lang, "fleet_hosts"))
    table.add_column(ui(lang, "fleet_host"))
    table.add_column(ui(lang, "fleet_status"))
    for n, _ in enumerate(ids, 1):
        table.add_column(str(n), justify="center")
    table.add_column("", overflow="fold")
    for h in report.hosts:
        row = cells.get(h.name, {})
        table.add_row(
            h.name,
            status(lang, h.status),
            *(Text(MARK[row[fid]], style=SEV_STYLE[row[fid]]) if fid in row else "." for fid in ids),
            h.message,
        )
    con.print(table)
    for n, fid in enumerate(ids, 1):
        con.print(Text(f"  {n:>2}  {fid}", style="dim"))
    if verbose:
        con.print()
        con.print(Text(ui(lang, "fleet_per_host"), style="bold"))
        for h in report.analysed():
            for f in h.report.findings if h.report else []:
                con.print(
                    Text(
                        f"  {h.name:20} {f.severity.upper():8} {f.id}  {f.title}",
                        style=SEV_STYLE.get(f.severity, ""),
                    )
                )
    con.print()
    con.print(Text(ui(lang, "fleet_cross"), style="bold"))
    loud = [f for f in report.findings if f.severity != "info"]
    if not loud:
        con.print(Text(ui(lang, "fleet_no_cross"), style="green"))
    for cross in report.findings:
        text_finding(con, cross, lang)
    errors = [c for c in report.checks if c.status == "error"]
    for c in errors + ([c for c in report.checks if c.status == "skipped"] if verbose else []):
        con.print(Text(f"{ui(lang, 'status_' + c.status)}: {c.id}: {c.reason}", style="dim"))
    for note in report.notes:
        con.print(Text(f"{ui(lang, 'note')}: {note}", style="dim"))
    return buf.getvalue()


def _host_row(lang: str, h: HostEntry, ids: list[str], row: dict[str, str]) -> str:
    e = escape
    found = " ".join(f'<span class="sev s-{e(row[fid])}">{e(fid)}</span>' for fid in ids if fid in row)
    return (
        f"<tr><td>{e(h.name)}</td><td>{e(status(lang, h.status))}</td><td>{e(h.hostname)}</td><td>{found}</td>"
        f"<td>{e(h.message)}</td></tr>"
    )


def fleet_html(report: FleetReport) -> str:
    """One self-contained page (no script, no external resource), every value escaped; each finding
    the single-host page's block (report/html.py), with its style and the catalogue's markup."""
    e = escape
    lang = report.lang
    cells = _severities(report)
    ids = _columns(cells)
    titles = {f.id: f.title for f in report.findings}
    out = [
        "<!doctype html>",
        f'<html lang="{e(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(ui(lang, 'fleet_title'))}</title>",
        f"<style>{CSS}figure{{margin:1em 0}}</style></head><body>",
        f"<header><div><h1>{e(ui(lang, 'fleet_title'))}</h1>",
        f"<p>netsleuth {e(report.tool.version)} · {e(report.started_at)} · {e(_summary(report))}</p></div></header>",
        "<main>",
        f"<h2>{e(ui(lang, 'fleet_mesh'))}</h2>",
    ]
    if report.mesh.edges:
        out += [
            f"<figure>{mesh_svg(report.mesh, titles)}",
            f"<figcaption>{e(ui(lang, 'fleet_legend'))}</figcaption></figure>",
        ]
    else:
        out.append(f"<p>{e(ui(lang, 'fleet_mesh_none'))}</p>")
    out.append(f"<h2>{e(ui(lang, 'fleet_cross'))}</h2>")
    if not [f for f in report.findings if f.severity != "info"]:
        out.append(f"<p>{e(ui(lang, 'fleet_no_cross'))}</p>")
    out += [finding(lang, f, f"x-{i}") for i, f in enumerate(report.findings, 1)]
    out += [
        f"<h2>{e(ui(lang, 'fleet_hosts'))}</h2>",
        f"<table><tr><th>{e(ui(lang, 'fleet_host'))}</th><th>{e(ui(lang, 'fleet_status'))}</th><th>{e(ui(lang, 'fleet_hostname'))}</th>"
        f"<th>{e(ui(lang, 'findings'))}</th><th></th></tr>",
        *(_host_row(lang, h, ids, cells.get(h.name, {})) for h in report.hosts),
        "</table>",
        f"<h2>{e(ui(lang, 'fleet_per_host'))}</h2>",
    ]
    for j, h in enumerate(report.analysed(), 1):
        findings = h.report.findings if h.report else []
        if not findings:
            continue
        out.append(
            f"<details><summary>{e(h.name)} — {e(ui(lang, 'fleet_n_findings', n=len(findings)))}</summary>"
        )
        out += [finding(lang, own, f"h{j}-{i}", level=4) for i, own in enumerate(findings, 1)]
        out.append("</details>")
    out += [f"<p><em>{e(ui(lang, 'note'))}: {e(n)}</em></p>" for n in report.notes]
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"
