"""The report as one self-contained HTML page that can be handed over: a summary banner (verdict,
counts by severity, host, source, time, version), a table of contents, each finding with its why
and evidence in collapsible sections, the topology picture, the checks coloured by status, the
evidence that is not ok, and the notes. No script, no external resource; every value escaped;
message markup (`code`) rendered."""

from __future__ import annotations

import re
from html import escape

from netsleuth.messages import fragment, ui
from netsleuth.report.drawing import KIND_FILL, LOST_COLOUR, SEV_COLOUR, SEV_FILL, TRACE_COLOUR
from netsleuth.report.measured import capture_rows, top_flows, trace_loss, trace_rows
from netsleuth.report.picture import Picture
from netsleuth.results.report import Check, EvidenceStatus, FindingOut, Report

SEVERITIES = ("critical", "warning", "info")

CSS = (
    "body{{font-family:system-ui,sans-serif;margin:0;color:#212121;line-height:1.45}}"
    "main,nav,header>div{{max-width:80em;margin:0 auto;padding:0 1.2em}}"
    "header{{padding:1em 0;border-bottom:4px solid #9e9e9e;background:#f5f5f5}}"
    "header.v-critical{{border-color:{critical};background:{critical_fill}}}"
    "header.v-warning{{border-color:{warning};background:{warning_fill}}}"
    "header.v-ok{{border-color:#2e7d32;background:#e8f5e9}}"
    "header h1{{margin:.2em 0;font-size:1.5em}}.verdict{{font-size:1.25em;font-weight:bold}}"
    "header dl{{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;margin:.6em 0 0}}"
    "header dt{{color:#555}}header dd{{margin:0}}"
    ".count{{display:inline-block;padding:.1em .6em;margin:.2em .3em .2em 0;border-radius:1em;"
    "color:#fff;font-weight:bold}}"
    ".c-critical{{background:{critical}}}.c-warning{{background:{warning}}}.c-info{{background:{info}}}"
    "nav{{margin:1em auto}}nav ol{{margin:.2em 0}}"
    "h2{{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}}"
    "article{{border-left:6px solid #9e9e9e;padding:.1em 1em .6em;margin:1em 0;background:#fcfcfc}}"
    "article.s-critical{{border-color:{critical}}}article.s-warning{{border-color:{warning}}}"
    "article.s-info{{border-color:{info}}}"
    ".sev{{font-weight:bold}}.sev.s-critical{{color:{critical}}}.sev.s-warning{{color:{warning}}}"
    ".sev.s-info{{color:{info}}}"
    "details{{margin:.4em 0}}summary{{cursor:pointer;font-weight:bold}}"
    "pre{{background:#f4f4f4;padding:.5em;overflow-x:auto;white-space:pre-wrap;word-break:break-all}}"
    "code{{background:#f0f0f0;padding:0 .2em;border-radius:3px}}"
    "table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:.2em .5em;"
    "text-align:left;vertical-align:top}}th{{background:#eee}}"
    "tr.st-pass{{background:#e8f5e9}}tr.st-fail{{background:#fde7ea}}tr.st-error{{background:#fff1dc}}"
    "tr.st-skipped{{background:#f5f5f5;color:#555}}"
    ".picture{{overflow:auto;border:1px solid #ddd;background:#fff;max-height:90vh}}"
    ".legend span.sw{{display:inline-block;width:1em;height:1em;vertical-align:middle;margin:0 .3em;"
    "border:2px solid #555}}"
    ".muted{{color:#666}}footer{{max-width:80em;margin:2em auto;padding:0 1.2em;color:#666}}"
).format(
    critical=SEV_COLOUR["critical"],
    warning=SEV_COLOUR["warning"],
    info=SEV_COLOUR["info"],
    critical_fill=SEV_FILL["critical"],
    warning_fill=SEV_FILL["warning"],
)

_CODE = re.compile(r"`([^`\n]+)`")


def markup(text: str) -> str:
    """Escape, then render the catalogue's markup: `code` -> <code>code</code>.

    >>> markup("run `ip -d link` <now> & 'then'")
    'run <code>ip -d link</code> &lt;now&gt; &amp; &#x27;then&#x27;'
    """
    return _CODE.sub(r"<code>\1</code>", escape(text))


def verdict(report: Report) -> str:
    """critical | warning | ok: the worst finding at warning level or above (a suppressed one does
    not count)."""
    sevs = {f.severity for f in report.counted()}
    return "critical" if "critical" in sevs else "warning" if "warning" in sevs else "ok"


def counts(report: Report) -> dict[str, int]:
    return {s: sum(1 for f in report.counted() if f.severity == s) for s in SEVERITIES}


def html(report: Report, picture: Picture | None = None) -> str:
    lang = report.lang
    e = escape
    h = report.host
    v = verdict(report)
    bad = [ev for ev in report.evidence if ev.status != "ok"]
    out = [
        "<!doctype html>",
        f'<html lang="{e(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>netsleuth — {e(h.hostname or '?')} — {e(ui(lang, 'verdict_' + v))}</title>"
        f"<style>{CSS}</style></head><body>",
        _banner(report, v),
        _toc(report, picture is not None, bool(bad)),
        "<main>",
        _findings(report),
    ]
    if picture is not None:
        out.append(_picture(report, picture))
    out += _measured(report)
    out += [_checks(report), _evidence(lang, bad), _notes(report), "</main>"]
    out.append(
        f"<footer>{e(ui(lang, 'generated', version=report.tool.version, time=report.started_at))}</footer>"
        "</body></html>"
    )
    return "\n".join(out) + "\n"


def _banner(report: Report, v: str) -> str:
    lang = report.lang
    e = escape
    h = report.host
    chips = "".join(
        f'<span class="count c-{s}">{e(ui(lang, "count_" + s, n=n))}</span>'
        for s, n in counts(report).items()
    )
    rows = [
        (ui(lang, "host"), f"{h.hostname or '?'} ({h.kernel or '?'})"),
        (ui(lang, "source"), h.source),
        (ui(lang, "taken"), report.started_at),
        (ui(lang, "namespaces"), ", ".join(report.namespaces)),
        (ui(lang, "version"), f"netsleuth {report.tool.version}"),
    ]
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(val)}</dd>" for k, val in rows)
    return (
        f'<header class="v-{v}" id="top"><div><h1>{e(ui(lang, "report_title", host=h.hostname or "?"))}</h1>'
        f'<div class="verdict">{e(ui(lang, "verdict_" + v))}</div><div>{chips}</div><dl>{dl}</dl></div></header>'
    )


def _toc(report: Report, has_picture: bool, has_bad: bool) -> str:
    lang = report.lang
    e = escape
    items = [
        f'<li><a href="#f-{i}"><span class="sev s-{e(f.severity)}">{e(ui(lang, "sev_" + f.severity))}</span> '
        f"<code>{e(f.id)}</code> {markup(f.title)}</a>"
        + (f" <span class='muted'>({e(ui(lang, 'suppressed'))})</span>" if f.suppressed else "")
        + "</li>"
        for i, f in enumerate(report.findings, 1)
    ]
    sub = f"<ol>{''.join(items)}</ol>" if items else ""
    parts = [f'<li><a href="#findings">{e(ui(lang, "findings"))}</a>{sub}</li>']
    if has_picture:
        parts.append(f'<li><a href="#picture">{e(ui(lang, "picture"))}</a></li>')
    if report.capture is not None:
        parts.append(f'<li><a href="#capture">{e(ui(lang, "capture"))}</a></li>')
    if report.trace is not None:
        parts.append(f'<li><a href="#trace">{e(ui(lang, "trace"))}</a></li>')
    parts.append(f'<li><a href="#checks">{e(ui(lang, "checks"))}</a></li>')
    if has_bad:
        parts.append(f'<li><a href="#evidence">{e(ui(lang, "evidence_not_ok"))}</a></li>')
    if report.notes:
        parts.append(f'<li><a href="#notes">{e(ui(lang, "notes"))}</a></li>')
    return f"<nav><h2>{e(ui(lang, 'contents'))}</h2><ol>{''.join(parts)}</ol></nav>"


def finding(lang: str, f: FindingOut, anchor: str = "", level: int = 3) -> str:
    """One finding as an <article> (this page's and the fleet page's): its heading at `level`,
    what, why, seen where, the fix now and the one that lasts, the seed case; `anchor` its id."""
    e = escape
    ns = f" <span class='muted'>[{e(ui(lang, 'netns'))} {e(f.netns)}]</span>" if f.netns else ""
    ident = f' id="{e(anchor)}"' if anchor else ""
    out = [
        f'<article{ident} class="s-{e(f.severity)}"><h{level}><span class="sev s-{e(f.severity)}">'
        f"{e(ui(lang, 'sev_' + f.severity))}</span> <code>{e(f.id)}</code> — {markup(f.title)}{ns}"
        f"{_muted(lang, f)}</h{level}>",
        f"<p>{markup(f.summary)}</p>",
    ]
    if f.why:
        out.append(f"<details open><summary>{e(ui(lang, 'why'))}</summary><p>{markup(f.why)}</p></details>")
    if f.evidence:
        body = "".join(f"<p><code>{e(ev.source)}</code></p><pre>{e(ev.excerpt)}</pre>" for ev in f.evidence)
        out.append(f"<details open><summary>{e(ui(lang, 'seen'))}</summary>{body}</details>")
    if f.remedy.now:
        out.append(f"<p><strong>{e(ui(lang, 'now'))}</strong></p><pre>{e(chr(10).join(f.remedy.now))}</pre>")
    if f.remedy.persist:
        items = "".join(f"<li>{markup(p)}</li>" for p in f.remedy.persist)
        out.append(f"<p><strong>{e(ui(lang, 'persist'))}</strong></p><ul>{items}</ul>")
    if f.remedy.notes:
        out.append(f"<p><strong>{e(ui(lang, 'remedy_notes'))}</strong>: {markup(f.remedy.notes)}</p>")
    if f.references:
        refs = " ".join(f"<code>{e(r)}</code>" for r in f.references)
        out.append(f"<p class='muted'>{e(ui(lang, 'references'))}: {refs}</p>")
    out.append(f"<p class='muted'>{e(ui(lang, 'seed'))}: {e(f.seed)}</p></article>")
    return "\n".join(out)


def _muted(lang: str, f: FindingOut) -> str:
    """The mark of a finding the configuration silences (shown, never counted)."""
    if not f.suppressed:
        return ""
    return f" <span class='muted'>({escape(ui(lang, 'suppressed'))}: {markup(f.suppressed.reason)})</span>"


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head) if any(head) else ""
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c).replace(chr(10), '<br>')}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table>{f'<tr>{th}</tr>' if th else ''}{body}</table>"


def _measured(report: Report) -> list[str]:
    """What a capture measured and the trace point by point, when the report holds them."""
    lang, e, out = report.lang, escape, []
    if report.capture is not None:
        out.append(f'<section id="capture"><h2>{e(ui(lang, "capture"))}</h2>')
        out.append(_table(["", ""], [list(r) for r in capture_rows(report.capture, lang)]))
        head, flows = top_flows(report.capture, lang)
        if flows:
            out.append(f"<h3>{e(ui(lang, 'cap_top'))}</h3>" + _table(head, flows))
        out.append("</section>")
    if report.trace is not None:
        out.append(
            f'<section id="trace"><h2>{e(ui(lang, "trace"))}</h2><p>{e(trace_loss(report.trace, lang))}</p>'
        )
        out.append(_table(*trace_rows(report.trace, lang)) + "</section>")
    return out


def _findings(report: Report) -> str:
    lang = report.lang
    out = [f'<section id="findings"><h2>{escape(ui(lang, "findings"))}</h2>']
    if not report.findings:
        out.append(f"<p>{escape(ui(lang, 'no_findings'))}</p>")
    out += [finding(lang, f, f"f-{i}") for i, f in enumerate(report.findings, 1)]
    out.append("</section>")
    return "\n".join(out)


def _picture(report: Report, pic: Picture) -> str:
    lang = report.lang
    e = escape
    swatches = [
        (SEV_COLOUR["critical"], SEV_FILL["critical"], ui(lang, "sev_critical")),
        (SEV_COLOUR["warning"], SEV_FILL["warning"], ui(lang, "sev_warning")),
        (SEV_COLOUR["info"], SEV_FILL["info"], ui(lang, "sev_info")),
        (TRACE_COLOUR, "#fff", ui(lang, "legend_trace")),
        (LOST_COLOUR, "#fff", ui(lang, "legend_lost")),
        ("#555", KIND_FILL["group"], ui(lang, "legend_group")),
    ]
    legend = "".join(
        f'<span class="sw" style="border-color:{c};background:{fill}"></span>{e(label)} '
        for c, fill, label in swatches
    )
    notes = "".join(f"<li>{markup(n)}</li>" for n in [*pic.view.missing, *pic.notes])
    return (
        f'<section id="picture"><h2>{e(ui(lang, "picture"))}</h2>'
        f'<p class="legend">{legend}</p>'
        f'<div class="picture">{pic.svg}</div>'
        + (f"<ul class='muted'>{notes}</ul>" if notes else "")
        + "</section>"
    )


def _checks(report: Report) -> str:
    lang = report.lang
    e = escape
    heads = "".join(
        f"<th>{e(ui(lang, k))}</th>" for k in ("col_check", "col_netns", "col_status", "col_reason")
    )

    def row(c: Check) -> str:
        return (
            f'<tr class="st-{e(c.status)}"><td><code>{e(c.id)}</code></td><td>{e(c.netns or "host")}</td>'
            f"<td>{e(ui(lang, 'status_' + c.status))}</td><td>{markup(c.reason)}</td></tr>"
        )

    order = ("fail", "error", "skipped", "pass")
    tally = fragment(lang, "ui", "comma", {}).join(
        ui(lang, "tally_" + s, n=sum(1 for c in report.checks if c.status == s)) for s in order
    )
    ranked = sorted(report.checks, key=lambda c: order.index(c.status) if c.status in order else 0)
    loud = [c for c in ranked if c.status in ("fail", "error")]
    out = [f'<section id="checks"><h2>{e(ui(lang, "checks"))}</h2><p>{e(tally)}</p>']
    if loud:
        out.append(f"<table><tr>{heads}</tr>{''.join(row(c) for c in loud)}</table>")
    out.append(
        f"<details{' open' if len(ranked) <= 60 else ''}><summary>{e(ui(lang, 'all_checks', n=len(ranked)))}</summary>"
        f"<table><tr>{heads}</tr>{''.join(row(c) for c in ranked)}</table></details></section>"
    )
    return "".join(out)


def _evidence(lang: str, bad: list[EvidenceStatus]) -> str:
    if not bad:
        return ""
    e = escape
    heads = "".join(
        f"<th>{e(ui(lang, k))}</th>"
        for k in ("col_evidence", "col_netns", "col_status", "col_seconds", "col_why")
    )
    rows = "".join(
        f"<tr><td><code>{e(ev.name)}{'[' + e(ev.key) + ']' if ev.key else ''}</code></td>"
        f"<td>{e(ev.netns or 'host')}</td><td>{e(ui(lang, 'ev_' + ev.status))}</td>"
        f"<td>{ev.duration_s:.2f}</td><td>{markup(ev.error)}</td></tr>"
        for ev in bad
    )
    return (
        f'<section id="evidence"><h2>{e(ui(lang, "evidence_not_ok"))}</h2>'
        f"<table><tr>{heads}</tr>{rows}</table></section>"
    )


def _notes(report: Report) -> str:
    if not report.notes:
        return ""
    items = "".join(f"<li>{markup(n)}</li>" for n in report.notes)
    return f'<section id="notes"><h2>{escape(ui(report.lang, "notes"))}</h2><ul>{items}</ul></section>'
