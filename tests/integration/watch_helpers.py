"""Running `netsleuth watch` for real in the tests: a process started by pid inside a lab namespace
(or looking into lab namespaces), its events read back from its --events file, stopped by SIGTERM
and, whatever happens, killed by pid."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Event = dict[str, Any]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Watch:
    """One `netsleuth watch` process."""

    def __init__(
        self,
        tmp: Path,
        *args: str,
        inside: str | None = None,
        wrap: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.events_file = tmp / f"events-{time.monotonic_ns()}.jsonl"
        self.textfile = tmp / "textfile"
        self.textfile.mkdir(exist_ok=True)
        argv = [
            sys.executable, "-m", "netsleuth.cli", "watch",
            "--events", str(self.events_file), "--textfile", str(self.textfile), *args,
        ]  # fmt: skip
        if inside:
            argv = ["ip", "netns", "exec", inside, *argv]
        self.stderr = tmp / f"watch-{time.monotonic_ns()}.err"
        with self.stderr.open("wb") as err:
            self.proc = subprocess.Popen(
                [*wrap, *argv],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
                env={**os.environ, **(env or {}), "NO_COLOR": "1"},
            )

    def events(self) -> list[Event]:
        try:
            text = self.events_file.read_text()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def wait_for(self, pred: Callable[[Event], bool], timeout: float, what: str) -> Event:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ev in self.events():
                if pred(ev):
                    return ev
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        raise AssertionError(
            f"no event {what} within {timeout:g} s (watch rc {self.proc.poll()}); "
            f"events: {[e['event'] + ' ' + e.get('id', e.get('message', '')) for e in self.events()]}; "
            f"stderr: {self.stderr.read_text()[-800:]}"
        )

    def cycles(self) -> int:
        """Cycles completed, from the textfile it writes after each."""
        try:
            text = (self.textfile / "netsleuth.prom").read_text()
        except FileNotFoundError:
            return 0
        for line in text.splitlines():
            if line.startswith("netsleuth_cycles_total "):
                return int(float(line.split()[1]))
        return 0

    def wait_cycles(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.cycles() >= n:
                return
            time.sleep(0.2)
        raise AssertionError(
            f"{self.cycles()} cycles, not {n}, within {timeout:g} s: {self.stderr.read_text()[-800:]}"
        )

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, sig)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, and the exit status; killed (by pid, with its group) if it does not end."""
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.wait()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


def finding(event_id: str, kind: str, subject: str | None = None) -> Callable[[Event], bool]:
    def pred(ev: Event) -> bool:
        return (
            ev["event"] == kind and ev.get("id") == event_id and (subject is None or subject in ev["subject"])
        )

    return pred


def metrics(url: str, netns: str | None = None) -> str:
    """The text of a /metrics page (fetched inside `netns` when watch listens there)."""
    if netns is None:
        with urllib.request.urlopen(url, timeout=5) as r:
            return str(r.read().decode())
    code = f"import urllib.request,sys;sys.stdout.write(urllib.request.urlopen({url!r},timeout=5).read().decode())"
    r = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    return r.stdout


def diagnose_bundle(path: str, *extra: str) -> dict[str, Any]:
    r = subprocess.run(
        [sys.executable, "-m", "netsleuth.cli", "diagnose", path, "--format", "json", *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode in (0, 1, 2), r.stderr
    rep: dict[str, Any] = json.loads(r.stdout)
    return rep
