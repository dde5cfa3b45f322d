"""watch's metrics for Prometheus: served on `/metrics` (`--listen ADDR:PORT`) and written in
node_exporter's textfile-collector format (`--textfile DIR`, atomically: a temporary file renamed
over `netsleuth.prom`).

- `netsleuth_finding{id,severity,subject,netns} 1` for each finding of the last cycle that is not
  suppressed (the gauge to alert on); `netsleuth_finding_suppressed{...} 1` for the others
- `netsleuth_check{id,netns,status} 1` per check; `netsleuth_evidence{status}` pieces per status
- `netsleuth_evidence_timeouts_total{name}` commands that timed out since watch started
- `netsleuth_cycle_duration_seconds`, `netsleuth_cycles_total`, `netsleuth_cycles_skipped_total`,
  `netsleuth_errors_total{what}`, `netsleuth_last_success_timestamp_seconds`
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netsleuth.errors import NetsleuthError
from netsleuth.results.report import Report

TEXTFILE = "netsleuth.prom"


@dataclass
class Snapshot:
    """What the metrics say: the last cycle's report and watch's running totals."""

    report: Report | None = None
    cycle_duration_s: float = 0.0
    last_success: float = 0.0
    cycles: int = 0
    skipped: int = 0
    timeouts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, report: Report, duration_s: float, finished: float) -> None:
        with self.lock:
            self.report = report
            self.cycle_duration_s = duration_s
            self.last_success = finished
            self.cycles += 1
            for ev in report.evidence:
                if ev.status == "timeout":
                    self.timeouts[ev.name] += 1


class WatchCollector:
    """A prometheus_client collector that renders the snapshot at each scrape (no stale series:
    a cleared finding's gauge is gone at the next scrape)."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def describe(self) -> list[Any]:
        return []  # rendered at scrape time; nothing to check at registration

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        s = self.snap
        with s.lock:
            rep = s.report
            labels = ["id", "severity", "subject", "netns"]
            finding = GaugeMetricFamily(
                "netsleuth_finding",
                "A finding of the last cycle (not suppressed): alert on it.",
                labels=labels,
            )
            muted = GaugeMetricFamily(
                "netsleuth_finding_suppressed", "A finding silenced by the configuration.", labels=labels
            )
            check = GaugeMetricFamily(
                "netsleuth_check",
                "Each check of the last cycle, by status.",
                labels=["id", "netns", "status"],
            )
            evidence = GaugeMetricFamily(
                "netsleuth_evidence", "Pieces of evidence of the last cycle, by status.", labels=["status"]
            )
            if rep is not None:
                for f in rep.findings:
                    values = [f.id, f.severity, f.subject, f.netns or "host"]
                    (muted if f.suppressed else finding).add_metric(values, 1)
                for c in rep.checks:
                    check.add_metric([c.id, c.netns or "host", c.status], 1)
                for status, n in sorted(Counter(e.status for e in rep.evidence).items()):
                    evidence.add_metric([status], n)
            yield from (finding, muted, check, evidence)
            timeouts = CounterMetricFamily(
                "netsleuth_evidence_timeouts",
                "Commands killed at their timeout since watch started.",
                labels=["name"],
            )
            for name, n in sorted(s.timeouts.items()):
                timeouts.add_metric([name], n)
            yield timeouts
            errors = CounterMetricFamily(
                "netsleuth_errors",
                "Problems watch met and went on (state, recorder, textfile, config).",
                labels=["what"],
            )
            for what, n in sorted(s.errors.items()):
                errors.add_metric([what], n)
            yield errors
            yield GaugeMetricFamily(
                "netsleuth_cycle_duration_seconds", "How long the last cycle took.", value=s.cycle_duration_s
            )
            yield CounterMetricFamily("netsleuth_cycles", "Cycles completed.", value=s.cycles)
            yield CounterMetricFamily(
                "netsleuth_cycles_skipped",
                "Cycles not started: the last one's processes still lived.",
                value=s.skipped,
            )
            yield GaugeMetricFamily(
                "netsleuth_last_success_timestamp_seconds",
                "When the last cycle completed (Unix time).",
                value=s.last_success,
            )


def registry(snap: Snapshot, with_process: bool) -> Any:
    """A registry of watch's metrics (and, for /metrics, the process's own: CPU, memory, files)."""
    from prometheus_client import CollectorRegistry, ProcessCollector

    reg = CollectorRegistry(auto_describe=False)
    reg.register(WatchCollector(snap))
    if with_process:
        ProcessCollector(registry=reg)
    return reg


def write_textfile(folder: Path, reg: Any) -> Path:
    """node_exporter's textfile collector reads `*.prom`: written to a temporary name, renamed."""
    from prometheus_client import write_to_textfile

    path = folder / TEXTFILE
    write_to_textfile(str(path), reg)
    return path


def parse_listen(value: str) -> tuple[str, int]:
    """`ADDR:PORT` (`[v6]:PORT` for IPv6).

    >>> parse_listen("127.0.0.1:9810"), parse_listen("[::1]:9810")
    (('127.0.0.1', 9810), ('::1', 9810))
    """
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen {value!r}: ADDR:PORT expected, e.g. 127.0.0.1:9810")
    return host, int(port)


class MetricsServer:
    """/metrics over HTTP in a thread; each connection in its own thread, dropped when it says
    nothing for `SCRAPE_TIMEOUT_S` (a connection left open, a port scanner, must not stop
    Prometheus' scrapes). A port that cannot be had is one line and exit 3."""

    SCRAPE_TIMEOUT_S = 10.0

    def __init__(self, host: str, port: int, reg: Any) -> None:
        import socket
        import sys
        from socketserver import ThreadingMixIn
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        from prometheus_client import make_wsgi_app

        class Quiet(WSGIRequestHandler):
            timeout = self.SCRAPE_TIMEOUT_S

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingMixIn, WSGIServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                if isinstance(sys.exc_info()[1], OSError):
                    return  # a client that said nothing in time or went away: nothing to tell
                super().handle_error(request, client_address)

        try:
            self.httpd = make_server(host, port, make_wsgi_app(reg), Server, handler_class=Quiet)
        except OSError as exc:
            raise NetsleuthError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="metrics", daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
