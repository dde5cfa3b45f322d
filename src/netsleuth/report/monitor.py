"""Reports for the monitoring people already run: a Nagios/Icinga plugin's status line with
perfdata, and a node-problem-detector custom plugin's message. Both count only the findings that
are not suppressed, and exit with the codes their monitor expects."""

from __future__ import annotations

from netsleuth.exitcode import ExitCode
from netsleuth.messages import message
from netsleuth.results.report import FindingOut, Report

NAGIOS_STATES = {ExitCode.OK: "OK", ExitCode.WARNING: "WARNING", ExitCode.CRITICAL: "CRITICAL"}
NAGIOS_UNKNOWN = 3  # the plugin convention's UNKNOWN: netsleuth could not run, or a usage error
NPD_OK, NPD_PROBLEM, NPD_UNKNOWN = 0, 1, 2  # node-problem-detector's OK, NonOK, Unknown
NPD_MAX_OUTPUT = 80  # NPD's default max_output_length: what it keeps of the first line
SHOWN = 5  # findings named in a Nagios status line


def _words(lang: str, key: str, **params: object) -> str:
    return message(lang, "monitor", key, dict(params))


def _name(f: FindingOut) -> str:
    ns = f" [{f.netns}]" if f.netns else ""
    return f"{f.id} {f.subject}{ns}".strip()


def _faults(report: Report) -> list[FindingOut]:
    return [f for f in report.counted() if f.severity in ("critical", "warning")]


def perfdata(report: Report) -> str:
    """Counts a monitoring system can graph: findings per severity, suppressed, checks that could
    not run, evidence that timed out, and how long the analysis took.

    >>> from netsleuth.results.report import HostRef, Tool
    >>> perfdata(Report(tool=Tool(version="0"), host=HostRef(hostname="h", kernel="k", source="s"),
    ...                 started_at="", duration_s=0.5))
    'critical=0;;;0 warning=0;;;0 info=0;;;0 suppressed=0;;;0 checks_error=0;;;0 checks_skipped=0;;;0 evidence_timeout=0;;;0 duration=0.5s;;;0'
    """
    counted = report.counted()
    values = {
        "critical": sum(f.severity == "critical" for f in counted),
        "warning": sum(f.severity == "warning" for f in counted),
        "info": sum(f.severity == "info" for f in counted),
        "suppressed": len(report.findings) - len(counted),
        "checks_error": sum(c.status == "error" for c in report.checks),
        "checks_skipped": sum(c.status == "skipped" for c in report.checks),
        "evidence_timeout": sum(e.status == "timeout" for e in report.evidence),
    }
    parts = [f"{k}={v};;;0" for k, v in values.items()]
    parts.append(f"duration={report.duration_s:g}s;;;0")
    return " ".join(parts)


def nagios(report: Report) -> str:
    """One status line, `NETSLEUTH CRITICAL - ... | perfdata`."""
    code = report.exit_code()
    faults = _faults(report)
    lang = report.lang
    if not faults:
        summary = _words(lang, "ok", checks=len(report.checks))
    else:
        crit = sum(f.severity == "critical" for f in faults)
        named = ", ".join(_name(f) for f in faults[:SHOWN])
        more = " " + _words(lang, "more", n=len(faults) - SHOWN) if len(faults) > SHOWN else ""
        summary = _words(lang, "faults", critical=crit, warning=len(faults) - crit, named=named) + more
    suppressed = len(report.findings) - len(report.counted())
    if suppressed:  # the wording's leading space is stripped by message(): put it back
        summary += " " + _words(lang, "suppressed", n=suppressed)
    return f"NETSLEUTH {NAGIOS_STATES[code]} - {' '.join(summary.split())} | {perfdata(report)}\n"


def nagios_unknown(why: str) -> str:
    return f"NETSLEUTH UNKNOWN - {' '.join(why.split())}\n"


def npd(report: Report) -> tuple[str, int]:
    """node-problem-detector's custom plugin: a short message and its status (0 OK, 1 problem)."""
    faults = _faults(report)
    if not faults:
        return _words(report.lang, "npd_ok") + "\n", NPD_OK
    text = "; ".join(_name(f) for f in faults)
    if len(text.encode()) > NPD_MAX_OUTPUT:  # NPD cuts its plugins' output by bytes, not characters
        tail = f"… (+{len(faults)})"
        room = NPD_MAX_OUTPUT - len(tail.encode())
        text = text.encode()[:room].decode(errors="ignore").rstrip("; ") + tail
    return text + "\n", NPD_PROBLEM
