"""Render a report as text (rich: colour on a terminal, plain when piped), JSON or Markdown."""

from __future__ import annotations

import io
import shutil

from rich.console import Console
from rich.table import Table
from rich.text import Text

from netsleuth.messages import ui
from netsleuth.report.measured import capture_rows, top_flows, trace_loss, trace_rows
from netsleuth.results.report import FindingOut, Report

SEV_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def render(report: Report, fmt: str, color: bool | None = None, verbose: bool = False) -> str:
    if fmt == "json":
        return report.to_json() + "\n"
    if fmt == "markdown":
        return markdown(report)
    if fmt == "html":
        return html(report)
    return text(report, color=color, verbose=verbose)


def _ns(f: FindingOut) -> str:
    return f" [netns {f.netns}]" if f.netns else ""


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
        con.print(Text(f"note: {note}", style="dim"))
    return buf.getvalue()


def _text_header(con: Console, report: Report) -> None:
    h = report.host
    con.print(
        Text(
            f"netsleuth {report.tool.version} — {h.hostname or '?'} ({h.kernel or '?'}) — {h.source}",
            style="bold",
        )
    )
    con.print(
        f"namespaces: {', '.join(report.namespaces)}   {len(report.checks)} checks, "
        f"{len(report.evidence)} pieces of evidence, analysed in {report.duration_s:.2f} s"
    )
    if not report.findings:
        con.print(Text(ui(report.lang, "no_findings"), style="green"))


def text_finding(con: Console, f: FindingOut, lang: str) -> None:
    """One finding: what, seen where, why, the fix now and the fix that lasts, the seed case."""
    con.print()
    style = "dim" if f.suppressed else SEV_STYLE.get(f.severity, "")
    con.print(Text(f"{f.severity.upper():8} {f.id}  {f.title}{_ns(f)}{_muted(f, lang)}", style=style))
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
        table.add_column("check")
        table.add_column("netns")
        table.add_column("status")
        table.add_column("reason", overflow="fold")
        for c in listed:
            table.add_row(c.id, c.netns or "host", c.status, c.reason)
        con.print(table)
    if skipped and not verbose:
        con.print(
            Text(f"{len(skipped)} checks skipped for want of evidence (-v lists them and why)", style="dim")
        )


def _text_evidence(con: Console, report: Report, verbose: bool) -> None:
    """Evidence that is not ok (-v: each piece and why; else a count per status)."""
    bad = [e for e in report.evidence if e.status != "ok"]
    if bad and verbose:
        table = Table(title=ui(report.lang, "evidence"))
        for col in ("name", "netns", "status", "s", "why"):
            table.add_column(col, overflow="fold")
        for ev in bad:
            table.add_row(
                ev.name + (f"[{ev.key}]" if ev.key else ""),
                ev.netns or "host",
                ev.status,
                f"{ev.duration_s:.2f}",
                ev.error,
            )
        con.print(table)
    elif bad:
        counts: dict[str, int] = {}
        for ev in bad:
            counts[ev.status] = counts.get(ev.status, 0) + 1
        con.print(
            Text(
                "evidence not ok: "
                + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
                + "  (-v lists them)",
                style="dim",
            )
        )


def markdown(report: Report) -> str:
    lang = report.lang
    h = report.host
    out = [
        f"# netsleuth report — {h.hostname}",
        "",
        f"- source: `{h.source}`",
        f"- kernel: `{h.kernel}`",
        f"- taken: {report.started_at}",
        f"- namespaces: {', '.join(report.namespaces)}",
        "",
    ]
    out += [f"## {ui(lang, 'findings')}", ""]
    if not report.findings:
        out += [ui(lang, "no_findings"), ""]
    for f in report.findings:
        out += [f"### {f.severity.upper()} `{f.id}` — {f.title}{_ns(f)}{_muted(f, lang)}", "", f.summary, ""]
        for e in f.evidence:
            out += [f"*{ui(lang, 'seen')}* — `{e.source}`", "", "```", e.excerpt, "```", ""]
        if f.why:
            out += [f"**{ui(lang, 'why')}**: {f.why}", ""]
        if f.remedy.now:
            out += [f"**{ui(lang, 'now')}**:", "", "```sh", *f.remedy.now, "```", ""]
        if f.remedy.persist:
            out += [f"**{ui(lang, 'persist')}**:", "", *(f"- `{p}`" for p in f.remedy.persist), ""]
        out += [f"{ui(lang, 'seed')}: {f.seed}", ""]
    out += _markdown_measured(report)
    out += [f"## {ui(lang, 'checks')}", "", "| check | netns | status | reason |", "|---|---|---|---|"]
    out += [
        f"| {c.id} | {c.netns or 'host'} | {c.status} | {c.reason.replace('|', '/')} |" for c in report.checks
    ]
    bad = [e for e in report.evidence if e.status != "ok"]
    if bad:
        out += [
            "",
            f"## {ui(lang, 'evidence')}",
            "",
            "| evidence | netns | status | why |",
            "|---|---|---|---|",
        ]
        out += [
            f"| {e.name}{'[' + e.key + ']' if e.key else ''} | {e.netns or 'host'} | {e.status} | "
            f"{e.error.replace('|', '/')} |"
            for e in bad
        ]
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


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    from html import escape as e

    th = "".join(f"<th>{e(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(c).replace(chr(10), '<br>')}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def _html_measured(report: Report) -> list[str]:
    from html import escape as e

    lang, out = report.lang, []
    if report.capture is not None:
        out.append(f"<h2>{e(ui(lang, 'capture'))}</h2>")
        out.append(_html_table(["", ""], [list(r) for r in capture_rows(report.capture, lang)]))
        head, flows = top_flows(report.capture, lang)
        if flows:
            out.append(f"<h3>{e(ui(lang, 'cap_top'))}</h3>" + _html_table(head, flows))
    if report.trace is not None:
        out.append(f"<h2>{e(ui(lang, 'trace'))}</h2><p>{e(trace_loss(report.trace, lang))}</p>")
        out.append(_html_table(*trace_rows(report.trace, lang)))
    return out


_SEV_COLOUR = {"critical": "#b00020", "warning": "#a15c00", "info": "#00639b"}


def html(report: Report) -> str:
    """A self-contained page (no script, no external resource), every value escaped."""
    from html import escape as e

    lang = report.lang
    h = report.host
    out = [
        "<!doctype html>",
        f'<html lang="{e(lang)}"><head><meta charset="utf-8"><title>netsleuth — {e(h.hostname)}</title>',
        "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}pre{background:#f4f4f4;padding:.5em;"
        "overflow-x:auto}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}table{border-collapse:collapse}"
        "</style></head><body>",
        f"<h1>netsleuth report — {e(h.hostname)}</h1>",
        f"<p>source <code>{e(h.source)}</code> · kernel <code>{e(h.kernel)}</code> · taken {e(report.started_at)} · "
        f"namespaces {e(', '.join(report.namespaces))}</p>",
        f"<h2>{e(ui(lang, 'findings'))}</h2>",
    ]
    if not report.findings:
        out.append(f"<p>{e(ui(lang, 'no_findings'))}</p>")
    for f in report.findings:
        out += html_finding(f, lang)
    out += _html_measured(report)
    out.append(
        f"<h2>{e(ui(lang, 'checks'))}</h2><table><tr><th>check</th><th>netns</th><th>status</th>"
        "<th>reason</th></tr>"
    )
    out += [
        f"<tr><td>{e(c.id)}</td><td>{e(c.netns or 'host')}</td><td>{e(c.status)}</td><td>{e(c.reason)}</td></tr>"
        for c in report.checks
    ]
    out.append("</table></body></html>")
    return "\n".join(out) + "\n"


def html_finding(f: FindingOut, lang: str, level: int = 3) -> list[str]:
    """One finding as HTML, every value escaped."""
    from html import escape as e

    out: list[str] = []
    colour = _SEV_COLOUR.get(f.severity, "#333")
    ns = f" [netns {e(f.netns)}]" if f.netns else ""
    out.append(
        f'<h{level}><span style="color:{colour}">{e(f.severity.upper())}</span> <code>{e(f.id)}</code> — '
        f"{e(f.title)}{ns}{e(_muted(f, lang))}</h{level}><p>{e(f.summary)}</p>"
    )
    for ev in f.evidence:
        out.append(
            f"<p><em>{e(ui(lang, 'seen'))}</em> — <code>{e(ev.source)}</code></p><pre>{e(ev.excerpt)}</pre>"
        )
    if f.why:
        out.append(f"<p><strong>{e(ui(lang, 'why'))}</strong>: {e(f.why)}</p>")
    if f.remedy.now:
        out.append(f"<p><strong>{e(ui(lang, 'now'))}</strong>:</p><pre>{e(chr(10).join(f.remedy.now))}</pre>")
    if f.remedy.persist:
        items = "".join(f"<li><code>{e(p)}</code></li>" for p in f.remedy.persist)
        out.append(f"<p><strong>{e(ui(lang, 'persist'))}</strong>:</p><ul>{items}</ul>")
    out.append(f"<p>{e(ui(lang, 'seed'))}: {e(f.seed)}</p>")
    return out
