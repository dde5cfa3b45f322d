"""Render a report as text (rich: colour on a terminal, plain when piped), JSON, Markdown or HTML
(report/html.py), every word of it in the report's language."""

from __future__ import annotations

import io
import shutil

from rich.console import Console
from rich.table import Table
from rich.text import Text

from netsleuth.messages import fragment, ui
from netsleuth.report.measured import capture_rows, top_flows, trace_loss, trace_rows
from netsleuth.report.picture import Picture
from netsleuth.results.report import FindingOut, Report

SEV_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def render(
    report: Report,
    fmt: str,
    color: bool | None = None,
    verbose: bool = False,
    picture: Picture | None = None,
) -> str:
    """The report in `fmt`; HTML embeds the topology `picture` when given."""
    if fmt == "json":
        return report.to_json() + "\n"
    if fmt == "markdown":
        return markdown(report)
    if fmt == "html":
        from netsleuth.report.html import html

        return html(report, picture)
    return text(report, color=color, verbose=verbose)


def _ns(f: FindingOut, lang: str) -> str:
    return f" [{ui(lang, 'netns')} {f.netns}]" if f.netns else ""


def _sev(lang: str, severity: str) -> str:
    return ui(lang, f"sev_{severity}")


def _muted(f: FindingOut, lang: str) -> str:
    """The mark of a finding silenced by the configuration (shown, never counted)."""
    return f" ({ui(lang, 'suppressed')}: {f.suppressed.reason})" if f.suppressed else ""


def text(report: Report, color: bool | None = None, verbose: bool = False, width: int | None = None) -> str:
    """On a terminal: wrapped to its width, in colour. Piped: one line per line, for grep."""
    buf = io.StringIO()
    con = Console(
        file=buf,
        force_terminal=bool(color),
        no_color=not color,
        width=width or (shutil.get_terminal_size((110, 40)).columns if color else 200),
        highlight=False,
        soft_wrap=not color,
    )
    _text_header(con, report)
    for f in report.findings:
        text_finding(con, f, report.lang)
    _text_capture(con, report)
    _text_checks(con, report, verbose)
    _text_evidence(con, report, verbose)
    for note in report.notes:
        con.print(Text(f"{ui(report.lang, 'note')}: {note}", style="dim"))
    return buf.getvalue()


def _text_header(con: Console, report: Report) -> None:
    h = report.host
    con.print(
        Text(
            f"netsleuth {report.tool.version} — {h.hostname or '?'} ({h.kernel or '?'}) — {h.source}",
            style="bold",
        )
    )
    lang = report.lang
    counts = ui(
        lang,
        "text_counts",
        checks=ui(lang, "n_checks", n=len(report.checks)),
        pieces=ui(lang, "n_pieces", n=len(report.evidence)),
        seconds=f"{report.duration_s:.2f}",
    )
    con.print(f"{ui(lang, 'text_namespaces', names=', '.join(report.namespaces))}   {counts}")
    if not report.findings:
        con.print(Text(ui(report.lang, "no_findings"), style="green"))


def text_finding(con: Console, f: FindingOut, lang: str) -> None:
    """One finding: what, seen where, why, the fix now and the fix that lasts, the seed case."""
    con.print()
    style = "dim" if f.suppressed else SEV_STYLE.get(f.severity, "")
    con.print(
        Text(f"{_sev(lang, f.severity):8} {f.id}  {f.title}{_ns(f, lang)}{_muted(f, lang)}", style=style)
    )
    con.print(f"  {f.summary}")
    if f.evidence:
        con.print(Text(f"  {ui(lang, 'seen')}:", style="bold"))
        for e in f.evidence:
            con.print(Text(f"    {e.source}", style="dim"))
            for line in e.excerpt.splitlines()[:12]:
                con.print(Text(f"      {line}"))
    if f.why:
        con.print(Text(f"  {ui(lang, 'why')}: ", style="bold") + Text(f.why))
    if f.remedy.now:
        con.print(Text(f"  {ui(lang, 'now')}:", style="bold"))
        for cmd in f.remedy.now:
            con.print(Text(f"    $ {cmd}", style="green"))
    if f.remedy.persist:
        con.print(Text(f"  {ui(lang, 'persist')}:", style="bold"))
        for cmd in f.remedy.persist:
            con.print(Text(f"    {cmd}"))
    if f.remedy.notes:
        con.print(f"  {f.remedy.notes}")
    con.print(Text(f"  {ui(lang, 'seed')}: {f.seed}", style="dim"))


def _text_capture(con: Console, report: Report) -> None:
    """What a capture measured, whether or not a rule fired."""
    lang = report.lang
    if report.capture is not None:
        con.print()
        con.print(Text(ui(lang, "capture"), style="bold"))
        for label, value in capture_rows(report.capture, lang):
            con.print(Text(f"  {label}: {value}"))
        head, flows = top_flows(report.capture, lang)
        if flows:
            con.print(Text(f"  {ui(lang, 'cap_top')}:", style="bold"))
            for row in flows:
                con.print(
                    Text(
                        "    "
                        + f"{row[0]}  "
                        + ", ".join(f"{h} {v}" for h, v in zip(head[1:], row[1:], strict=True))
                    )
                )


def _text_checks(con: Console, report: Report, verbose: bool) -> None:
    """Checks that crashed (always) and those skipped (-v: each with why; else how many)."""
    lang = report.lang
    errors = [c for c in report.checks if c.status == "error"]
    skipped = [c for c in report.checks if c.status == "skipped"]
    listed = errors + (skipped if verbose else [])
    if listed:
        con.print()
        table = Table(title=f"{ui(lang, 'skipped')} / {ui(lang, 'errors')}", show_lines=False, expand=False)
        table.add_column(ui(lang, "col_check"))
        table.add_column(ui(lang, "col_netns"))
        table.add_column(ui(lang, "col_status"))
        table.add_column(ui(lang, "col_reason"), overflow="fold")
        for c in listed:
            table.add_row(c.id, c.netns or "host", ui(lang, f"status_{c.status}"), c.reason)
        con.print(table)
    if skipped and not verbose:
        con.print(Text(ui(lang, "checks_skipped", n=len(skipped)), style="dim"))


def _text_evidence(con: Console, report: Report, verbose: bool) -> None:
    """Evidence that is not ok (-v: each piece and why; else a count per status)."""
    lang = report.lang
    bad = [e for e in report.evidence if e.status != "ok"]
    if bad and verbose:
        table = Table(title=ui(lang, "evidence_not_ok"))
        for col in ("col_evidence", "col_netns", "col_status", "col_seconds", "col_why"):
            table.add_column(ui(lang, col), overflow="fold")
        for ev in bad:
            table.add_row(
                ev.name + (f"[{ev.key}]" if ev.key else ""),
                ev.netns or "host",
                ui(lang, f"ev_{ev.status}"),
                f"{ev.duration_s:.2f}",
                ev.error,
            )
        con.print(table)
    elif bad:
        counts: dict[str, int] = {}
        for ev in bad:
            counts[ev.status] = counts.get(ev.status, 0) + 1
        listed = fragment(lang, "ui", "comma", {}).join(
            ui(lang, "evidence_count", n=n, status=ui(lang, f"ev_{s}")) for s, n in sorted(counts.items())
        )
        con.print(Text(ui(lang, "evidence_bad", counts=listed), style="dim"))


def markdown(report: Report) -> str:
    lang = report.lang
    h = report.host
    out = [
        f"# {ui(lang, 'report_title', host=h.hostname)}",
        "",
        f"- {ui(lang, 'source')}: `{h.source}`",
        f"- {ui(lang, 'kernel')}: `{h.kernel}`",
        f"- {ui(lang, 'taken')}: {report.started_at}",
        f"- {ui(lang, 'namespaces')}: {', '.join(report.namespaces)}",
        "",
    ]
    out += [f"## {ui(lang, 'findings')}", ""]
    if not report.findings:
        out += [ui(lang, "no_findings"), ""]
    for f in report.findings:
        out += [
            f"### {_sev(lang, f.severity)} `{f.id}` — {f.title}{_ns(f, lang)}{_muted(f, lang)}",
            "",
            f.summary,
            "",
        ]
        for e in f.evidence:
            out += [f"*{ui(lang, 'seen')}* — `{e.source}`", "", "```", e.excerpt, "```", ""]
        if f.why:
            out += [f"**{ui(lang, 'why')}**: {f.why}", ""]
        if f.remedy.now:
            out += [f"**{ui(lang, 'now')}**:", "", "```sh", *f.remedy.now, "```", ""]
        if f.remedy.persist:
            out += [f"**{ui(lang, 'persist')}**:", "", *(f"- `{p}`" for p in f.remedy.persist), ""]
        if f.remedy.notes:
            out += [f"**{ui(lang, 'remedy_notes')}**: {f.remedy.notes}", ""]
        out += [f"{ui(lang, 'seed')}: {f.seed}", ""]
    out += _markdown_measured(report)
    cols = " | ".join(ui(lang, k) for k in ("col_check", "col_netns", "col_status", "col_reason"))
    out += [f"## {ui(lang, 'checks')}", "", f"| {cols} |", "|---|---|---|---|"]
    out += [
        f"| {c.id} | {c.netns or 'host'} | {ui(lang, 'status_' + c.status)} | {c.reason.replace('|', '/')} |"
        for c in report.checks
    ]
    bad = [e for e in report.evidence if e.status != "ok"]
    if bad:
        cols = " | ".join(ui(lang, k) for k in ("col_evidence", "col_netns", "col_status", "col_why"))
        out += ["", f"## {ui(lang, 'evidence_not_ok')}", "", f"| {cols} |", "|---|---|---|---|"]
        out += [
            f"| {e.name}{'[' + e.key + ']' if e.key else ''} | {e.netns or 'host'} | {ui(lang, 'ev_' + e.status)} | "
            f"{e.error.replace('|', '/')} |"
            for e in bad
        ]
    if report.notes:
        out += ["", f"## {ui(lang, 'notes')}", "", *(f"- {n}" for n in report.notes)]
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", "<br>")


def _markdown_table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(_cell(c) for c in r) + " |" for r in rows),
        "",
    ]


def _markdown_measured(report: Report) -> list[str]:
    lang, out = report.lang, []
    if report.capture is not None:
        out += [f"## {ui(lang, 'capture')}", ""]
        out += _markdown_table(["", ""], [list(r) for r in capture_rows(report.capture, lang)])
        head, flows = top_flows(report.capture, lang)
        if flows:
            out += [f"### {ui(lang, 'cap_top')}", "", *_markdown_table(head, flows)]
    if report.trace is not None:
        out += [f"## {ui(lang, 'trace')}", "", trace_loss(report.trace, lang), ""]
        out += _markdown_table(*trace_rows(report.trace, lang))
    return out
