"""`netsleuth watch`: a passive diagnosis every `interval` seconds, each bounded, that says when a
fault comes and when it goes, keeps the evidence of the moment, and feeds the monitoring.

A cycle: clear what the last one left running (children.py) -> collect, incremental where cheap
(cycle.py) -> probes if asked -> analyse with the configuration's thresholds and suppressions ->
compare with the faults active before: `raised` / `changed` / `cleared` events, a bundle kept when
a fault is raised -> metrics, textfile, state. SIGTERM (and Ctrl-C) end it after the current
step; SIGHUP reloads the configuration (a bad one is an event, the last good one stays).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from netsleuth import __version__
from netsleuth.analysis import analyse
from netsleuth.config import Config
from netsleuth.config import load as load_config
from netsleuth.errors import NetsleuthError
from netsleuth.evidence.model import HOST, Bundle
from netsleuth.facts.settings import add_settings
from netsleuth.messages import message
from netsleuth.results.report import Report
from netsleuth.watch.children import Guard, Memory
from netsleuth.watch.cycle import CycleCollector
from netsleuth.watch.events import Event, EventWriter, finding_event
from netsleuth.watch.metrics import MetricsServer, Snapshot, registry, write_textfile
from netsleuth.watch.recorder import Recorder, RecorderError
from netsleuth.watch.state import Change, StateDir, Tracker

MIN_INTERVAL = 1.0


@dataclass
class WatchOptions:
    scopes: Callable[[], tuple[str, ...]]  # the namespaces to look at, asked each cycle
    interval: float | None = None  # None: the configuration's, else 30 s
    timeout: float = 2.0
    probes: bool = False
    peers: tuple[str, ...] = ()
    events: Path | None = None  # None: stdout
    fmt: str = "json"  # json | text
    lang: str = "en"
    keep: Path | None = None
    state_dir: Path | None = None
    listen: tuple[str, int] | None = None
    textfile: Path | None = None
    config_path: Path | None = None
    known_rule: Callable[[str], bool] | None = None
    lookback_s: float = 0.0
    cycles: int | None = None  # stop after this many (tests, benchmarks); None: until told


@dataclass
class _Flags:
    reload: bool = False
    why: str = ""  # why watching ends: the signal's name, "cycles"


class Watcher:
    def __init__(self, opts: WatchOptions, config: Config) -> None:
        self.opts = opts
        self.config = config
        self.flags = _Flags()
        self.events = EventWriter(opts.events, opts.fmt, opts.lang)
        self.collector = CycleCollector(opts.timeout, opts.lookback_s)
        self.tracker = Tracker()
        self.snap = Snapshot()
        self.guard = Guard()
        self.memory = Memory()
        self.state = StateDir(opts.state_dir) if opts.state_dir else None
        keep = opts.keep or (opts.state_dir / "bundles" if opts.state_dir else None)
        self.recorder = Recorder(keep) if keep else None
        self._apply_keep_limits()
        self.server: MetricsServer | None = None
        self._textfile_reg: Any = None
        self._problems: dict[str, str] = {}  # what -> message, while it lasts (said once)
        self.hostname = ""

    # ---- set-up ---------------------------------------------------------------------------
    def _apply_keep_limits(self) -> None:
        if self.recorder is not None:
            self.recorder.max_count = self.config.watch.keep_count
            self.recorder.max_bytes = int(self.config.watch.keep_mb * 1024 * 1024)

    @property
    def interval(self) -> float:
        return max(MIN_INTERVAL, self.opts.interval or self.config.watch.interval or 30.0)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.flags.reload = True
        else:
            self.flags.why = signal.Signals(signum).name

    def _install_signals(self) -> dict[int, Any]:
        old: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                old[sig] = signal.signal(sig, self._on_signal)
        return old

    def _restore(self) -> None:
        if self.state is None:
            return
        saved = self.state.load()
        self.collector.kernel.restore(saved.get("kernel", {}))
        self.collector.logs.restore(saved.get("logs", {}))
        self.tracker.restore(saved.get("active", []))

    # ---- problems: said once when they start, and when they are over -------------------------
    def problem(self, what: str, key: str, **params: Any) -> None:
        text = message(self.opts.lang, "watch", key, params) or key
        with self.snap.lock:  # a scrape may be reading the counters
            self.snap.errors[what] += 1
        if self._problems.get(what) != text:
            self._problems[what] = text
            self.events.write(Event("error", fields={"what": what, "message": text}))

    def resolved(self, what: str) -> None:
        self._problems.pop(what, None)

    # ---- the loop ---------------------------------------------------------------------------
    def run(self) -> int:
        if self.opts.listen is not None:
            self.server = MetricsServer(*self.opts.listen, registry(self.snap, with_process=True))
        try:
            self._check_textfile()
            self.events.open()  # one that cannot be opened: exit 3 now, not months of silence
        except NetsleuthError:
            if self.server is not None:
                self.server.close()
            raise
        if self.opts.textfile is not None:
            self._textfile_reg = registry(self.snap, with_process=False)
        old = self._install_signals()
        self._restore()
        self.events.write(
            Event(
                "started",
                fields={
                    "version": __version__,
                    "interval": self.interval,
                    "scopes": list(self.opts.scopes()),
                    "config": str(self.config.path or ""),
                    "metrics": f"{self.opts.listen[0]}:{self.server.port}"
                    if self.server and self.opts.listen
                    else "",
                },
            )
        )
        done = 0
        try:
            while not self.flags.why:
                start = time.monotonic()
                if self.flags.reload:
                    self._reload()
                try:
                    self.cycle()
                    self.resolved("cycle_error")
                except Exception as exc:  # a bug of ours: said, and the next cycle tries again
                    self.problem("cycle_error", "cycle_failed", why=f"{type(exc).__name__}: {exc}")
                done += 1
                if self.opts.cycles is not None and done >= self.opts.cycles:
                    self.flags.why = "cycles"
                    break
                self._sleep_until(start + self.interval)
        finally:
            self.guard.clear()  # nothing of ours outlives us
            self.events.write(Event("stopped", fields={"why": self.flags.why or "error", "cycles": done}))
            self._save_state()
            self.collector.close()
            if self.server is not None:
                self.server.close()
            self.events.close()
            for sig, handler in old.items():
                signal.signal(sig, handler)
        return 130 if self.flags.why == "SIGINT" else 0

    def _sleep_until(self, when: float) -> None:
        """Sleep in short steps: a signal is acted on within half a second."""
        while not self.flags.why:
            left = when - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.5))
            if self.flags.reload and not self.flags.why:
                self._reload()

    def _reload(self) -> None:
        self.flags.reload = False
        try:
            self.config = load_config(self.opts.config_path, self.opts.known_rule)
        except NetsleuthError as exc:
            self.problem("config", "config_failed", why=str(exc))
            return
        self.resolved("config")
        self._apply_keep_limits()
        self.events.write(Event("reloaded", fields={"config": str(self.config.path or "")}))

    # ---- one cycle --------------------------------------------------------------------------
    def cycle(self) -> Report | None:
        left = self.guard.clear()
        if left:
            with self.snap.lock:
                self.snap.skipped += 1
            which = ", ".join(f"{pid} {comm}" for pid, comm in sorted(left.items())[:5])
            self.problem("cycle", "cycle_leftovers", n=len(left), which=which)
            return None
        self.resolved("cycle")
        t0 = time.monotonic()
        bundle = self.collector.collect(self.opts.scopes())
        self.hostname = bundle.hostname
        add_settings(bundle, self.config)
        if self.opts.probes:
            self._probe(bundle)
        report = self.config.apply(analyse(bundle, self.opts.lang))
        changes = self.tracker.update(report)
        kept = self._keep(bundle, changes)
        for ch in changes:
            self._say(ch, kept if ch.kind == "raised" else None)
        self.snap.record(report, time.monotonic() - t0, time.time())
        self._write_textfile()
        self._save_state()
        del bundle
        self.memory.trim()
        return report

    def _probe(self, bundle: Bundle) -> None:
        from netsleuth.probes.default import add_netns_probes, add_probes

        if bundle.scopes() == [HOST]:
            add_probes(bundle, self.opts.peers)
        else:
            add_netns_probes(bundle, bundle.scopes(), self.opts.peers)

    def _keep(self, bundle: Bundle, changes: list[Change]) -> str | None:
        raised = [ch.finding.id for ch in changes if ch.kind == "raised"]
        if not raised or self.recorder is None:
            return None
        try:
            path = self.recorder.keep(bundle, raised[0])
        except RecorderError as exc:
            self.problem("recorder", "recorder_failed", path=self.recorder.folder, why=str(exc))
            return None
        self.resolved("recorder")
        return str(path)

    def _say(self, ch: Change, bundle: str | None) -> None:
        extra: dict[str, Any] = {}
        if ch.kind == "cleared":
            extra["duration_s"] = round(time.time() - ch.since, 1)
        elif ch.kind == "changed":
            extra["was"] = ch.was
        self.events.write(finding_event(ch.kind, ch.finding, self.hostname, bundle=bundle, **extra))

    def _check_textfile(self) -> None:
        """A textfile directory mistyped or not made: exit 3 at start. One that goes away later is
        a problem reported as an event, and watching goes on."""
        folder = self.opts.textfile
        if folder is None:
            return
        if not folder.is_dir():
            raise NetsleuthError(f"cannot write metrics to {folder}: no such directory")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise NetsleuthError(f"cannot write metrics to {folder}: permission denied")

    def _write_textfile(self) -> None:
        if self.opts.textfile is None:
            return
        try:
            write_textfile(self.opts.textfile, self._textfile_reg)
        except OSError as exc:
            self.problem("textfile", "textfile_failed", path=self.opts.textfile, why=exc.strerror or str(exc))
            return
        self.resolved("textfile")

    def _save_state(self) -> None:
        if self.state is None:
            return
        doc = {
            "kernel": self.collector.kernel.state(),
            "logs": self.collector.logs.state(),
            "active": self.tracker.to_json(),
            "saved_at": time.time(),
        }
        try:
            self.state.save(doc)
        except OSError as exc:
            self.problem("state", "state_failed", path=self.state.folder, why=exc.strerror or str(exc))
            return
        if "state" in self._problems:
            self.events.write(
                Event(
                    "recovered",
                    fields={
                        "what": "state",
                        "message": message(
                            self.opts.lang, "watch", "state_recovered", {"path": self.state.folder}
                        ),
                    },
                )
            )
        self.resolved("state")
