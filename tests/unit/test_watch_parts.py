"""watch's parts on real reports: transitions (raised, changed, cleared, never a repeat), the
flight recorder (0600, rotated by count and size), metrics as Prometheus scrapes them, events."""

from __future__ import annotations

import contextlib
import json
import stat
from pathlib import Path

import pytest

from netsleuth.config import parse
from netsleuth.evidence.model import Bundle
from netsleuth.results.report import Report
from netsleuth.watch.events import Event, EventWriter, finding_event, text_line
from netsleuth.watch.metrics import Snapshot, parse_listen, registry, write_textfile
from netsleuth.watch.recorder import Recorder, RecorderError
from netsleuth.watch.state import StateDir, Tracker
from tests.helpers import bundle, ev, run

NEAR = "net.netfilter.nf_conntrack_count = 80\nnet.netfilter.nf_conntrack_max = 100\n"
FULL = "net.netfilter.nf_conntrack_count = 99\nnet.netfilter.nf_conntrack_max = 100\n"
QUIET = "net.netfilter.nf_conntrack_count = 3\nnet.netfilter.nf_conntrack_max = 100\n"


def report_of(sysctl: str) -> Report:
    return run(bundle(ev("sysctl.net", sysctl)))


def test_transitions_not_repeats() -> None:
    t = Tracker()
    assert [(c.kind, c.finding.id) for c in t.update(report_of(NEAR), 0)] == [
        ("raised", "conntrack.near_limit")
    ]
    assert t.update(report_of(NEAR), 30) == []  # still there: nothing to say
    full = t.update(report_of(FULL), 60)
    assert sorted((c.kind, c.finding.id) for c in full) == [
        ("cleared", "conntrack.near_limit"),
        ("raised", "conntrack.table_full"),
    ]
    assert next(c for c in full if c.kind == "cleared").since == 0
    assert [c.kind for c in t.update(report_of(QUIET), 90)] == ["cleared"]
    assert t.active == {}


def test_suppressed_and_info_findings_are_never_raised() -> None:
    cfg = parse('[[suppress]]\nfinding = "conntrack.near_limit"\nreason = "known"\n')
    t = Tracker()
    assert t.update(cfg.apply(report_of(NEAR)), 0) == []


def test_active_findings_survive_a_restart(tmp_path: Path) -> None:
    t = Tracker()
    t.update(report_of(NEAR), 0)
    state = StateDir(tmp_path)
    state.save({"active": t.to_json()})
    assert stat.S_IMODE(state.path.stat().st_mode) == 0o600
    again = Tracker()
    again.restore(state.load()["active"])
    assert again.update(report_of(NEAR), 10) == []  # no second `raised` after a restart
    assert [c.kind for c in again.update(report_of(QUIET), 20)] == ["cleared"]


def test_recorder_keeps_0600_bundles_and_rotates_by_count_and_size(tmp_path: Path) -> None:
    b = bundle(ev("sysctl.net", FULL + "x" * 20000))
    rec = Recorder(tmp_path / "keep", max_count=3, max_bytes=10**9)
    kept = [rec.keep(b, "conntrack.table_full") for _ in range(5)]
    assert [p.name for p in rec.kept()] == [p.name for p in kept[-3:]]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in rec.kept())
    assert stat.S_IMODE((tmp_path / "keep").stat().st_mode) == 0o700
    size = kept[-1].stat().st_size
    rec.max_count, rec.max_bytes = 100, int(size * 1.5)
    newest = rec.keep(b, "conntrack.table_full")
    assert rec.kept() == [newest]  # the size limit leaves room for one; the newest is kept


def test_recorder_in_a_read_only_place_raises_for_an_event(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RecorderError):
        Recorder(blocker / "keep").keep(Bundle("live"), "x")


def test_metrics_as_prometheus_reads_them(tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    snap = Snapshot()
    rep = report_of(FULL)
    snap.record(rep, 1.25, 1700000000.0)
    write_textfile(tmp_path, registry(snap, with_process=False))
    text = (tmp_path / "netsleuth.prom").read_text()
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    finding = [s for s in fams["netsleuth_finding"].samples if s.labels["id"] == "conntrack.table_full"]
    assert finding and finding[0].value == 1 and finding[0].labels["severity"] == "critical"
    assert finding[0].labels["subject"] == "nf_conntrack" and finding[0].labels["netns"] == "host"
    assert fams["netsleuth_cycle_duration_seconds"].samples[0].value == 1.25
    assert fams["netsleuth_last_success_timestamp_seconds"].samples[0].value == 1700000000.0
    assert {s.labels["status"] for s in fams["netsleuth_check"].samples} >= {"fail", "skipped"}
    assert not [n for n in fams if n.startswith("process_")]  # node_exporter has its own
    assert not list((tmp_path).glob("*.tmp*")) and [p.name for p in tmp_path.iterdir()] == ["netsleuth.prom"]


def test_suppressed_findings_leave_the_alerting_gauge() -> None:
    from prometheus_client import generate_latest

    cfg = parse('[[suppress]]\nfinding = "conntrack.table_full"\nreason = "load test"\n')
    snap = Snapshot()
    snap.record(cfg.apply(report_of(FULL)), 1.0, 1.0)
    text = generate_latest(registry(snap, with_process=False)).decode()
    assert 'netsleuth_finding{id="conntrack.table_full"' not in text
    assert 'netsleuth_finding_suppressed{id="conntrack.table_full"' in text


def test_a_connection_left_open_does_not_stop_the_scrapes(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    import socket
    import time
    import urllib.request

    from netsleuth.watch.metrics import MetricsServer

    monkeypatch.setattr(MetricsServer, "SCRAPE_TIMEOUT_S", 0.5)
    snap = Snapshot()
    snap.record(report_of(FULL), 1.0, 1.0)
    server = MetricsServer("127.0.0.1", 0, registry(snap, with_process=False))
    try:
        with socket.create_connection(("127.0.0.1", server.port)):  # connected, says nothing
            url = f"http://127.0.0.1:{server.port}/metrics"
            with urllib.request.urlopen(url, timeout=5) as r:
                assert b'netsleuth_finding{id="conntrack.table_full"' in r.read()
            time.sleep(1.5)  # the idle one is dropped at its timeout, quietly
    finally:
        server.close()
    assert "Traceback" not in capfd.readouterr().err


def test_listen_address() -> None:
    assert parse_listen("127.0.0.1:9810") == ("127.0.0.1", 9810)
    for bad in ("9810", "127.0.0.1:", "127.0.0.1:99999", "host:port"):
        with pytest.raises(ValueError):
            parse_listen(bad)


def test_events_as_json_lines_and_text(tmp_path: Path) -> None:
    f = next(x for x in report_of(FULL).findings if x.id == "conntrack.table_full")
    out = tmp_path / "events.jsonl"
    w = EventWriter(out, "json", "en")
    w.write(finding_event("raised", f, "h1", bundle="/var/lib/netsleuth/bundles/b.tar.gz"))
    w.write(finding_event("cleared", f, "h1", duration_s=42.0))
    w.close()
    raised, cleared = (json.loads(line) for line in out.read_text().splitlines())
    assert raised["schema"] == "netsleuth.event/v1" and raised["event"] == "raised"
    assert {k: raised[k] for k in ("id", "subject", "netns", "severity", "host")} == {
        "id": "conntrack.table_full",
        "subject": "nf_conntrack",
        "netns": "",
        "severity": "critical",
        "host": "h1",
    }
    assert raised["evidence"] and raised["bundle"].endswith("b.tar.gz") and raised["time"].endswith("Z")
    assert cleared["event"] == "cleared" and cleared["duration_s"] == 42.0 and "bundle" not in cleared
    line = text_line(finding_event("raised", f, "h1", bundle="/k/b.tar.gz"), "en")
    assert " RAISED   CRITICAL conntrack.table_full nf_conntrack — " in line and line.endswith(
        "bundle of the moment: /k/b.tar.gz"
    )
    assert "消除" in text_line(finding_event("cleared", f, "h1", duration_s=3), "zh")
    assert "ERROR" in text_line(Event("error", fields={"message": "disk full"}), "en")


GUARDED = """
import time
from netsleuth import process
from netsleuth.watch.children import Guard
g = Guard()
r = process.run(["sh", "-c", "setsid sleep {token} </dev/null >/dev/null 2>&1 & exec sleep {token}"], 0.5)
time.sleep(0.3)
print(r.timed_out, g.subreaper, len(g.leftovers()), len(g.clear()), len(g.leftovers()))
"""


def test_what_escaped_its_process_group_is_reaped_and_killed_before_the_next_cycle() -> None:
    import os
    import signal
    import subprocess
    import sys

    token = f"300.{os.getpid()}"
    try:
        r = subprocess.run(
            [sys.executable, "-c", GUARDED.format(token=token)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        # timed out; the escaped `sleep` became watch's child (subreaper), was found and killed
        assert r.stdout.split() == ["True", "True", "1", "0", "0"], r.stderr
    finally:
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and _has(entry.name, token):
                with contextlib.suppress(OSError):
                    os.kill(int(entry.name), signal.SIGKILL)
    left = [e.name for e in os.scandir("/proc") if e.name.isdigit() and _has(e.name, token)]
    assert left == []


def _has(pid: str, token: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return token.encode() in fh.read()
    except OSError:
        return False


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--listen", "9810"], 64, "ADDR:PORT expected"),
        (["--peer", "10.0.0.1"], 64, "--peer needs --probes"),
        (["--netns", "nsl-no-such-namespace"], 3, "no network namespace named"),
        (["--config", "/nonexistent/netsleuth.toml"], 3, "no such file"),
        (["--interval", "0.1"], 64, "0.1"),
        (["--events", "/nonexistent/netsleuth/e.jsonl"], 3, "cannot write events to"),
        (["--textfile", "/nonexistent/textfile_collector"], 3, "cannot write metrics to"),
    ],
)
def test_watch_refuses_what_it_cannot_do_before_watching(
    tmp_path: Path, args: list[str], code: int, words: str
) -> None:
    from tests.helpers import cli

    p = cli("watch", "--cycles", "1", "--events", str(tmp_path / "e.jsonl"), *args)
    assert p.returncode == code and words in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert not (tmp_path / "e.jsonl").exists()
