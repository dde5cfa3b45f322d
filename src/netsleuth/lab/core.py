"""A lab run: a run id, a name prefix, and an undo journal kept on disk so any process can tear it
down. The building blocks (blocks.py, ovs.py, dnsmasq.py) act on a LabRun; `netsleuth.lab.Lab`
adds the methods that make them.

Every building block writes how to undo itself to the journal *before* it acts
(/run/netsleuth-lab/<run_id>/state.json), so a crashed or interrupted run leaves a journal that
`Lab.attach(run_id).down()` (or `netsleuth lab down`) replays. `down` is idempotent.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Protocol, Self

from netsleuth.lab.shell import LabError, LabUnavailable, netns_argv, proc_start_time, sh

ROOT = Path("/run/netsleuth-lab")
NAME_PREFIX = "nsl"  # every namespace the lab makes starts with it (or qdhcp-/qrouter- + it)
IFNAMSIZ = 15
_OURS = re.compile(r"^(?:(?:qdhcp|qrouter|snat|fip)-)?nsl([0-9a-f]{4})-")


def require_root() -> None:
    """Raise LabUnavailable unless we can make namespaces."""
    if os.geteuid() != 0:
        raise LabUnavailable("the lab needs root (network namespaces, veth, OVS)")
    if shutil.which("ip") is None:
        raise LabUnavailable("iproute2 (`ip`) is not installed")


def check_ifname(name: str) -> str:
    if not name or len(name) > IFNAMSIZ or "/" in name or " " in name:
        raise LabError(f"bad interface name {name!r} (1-{IFNAMSIZ} characters, no / or space)")
    return name


def run_id_of(netns: str) -> str | None:
    """The lab run a namespace belongs to, from its name (None: not ours)."""
    m = _OURS.match(netns)
    return m.group(1) if m else None


def _alive(pid: int, start: int | None) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it when it is our child
    now = proc_start_time(pid)
    if now is None or (start is not None and now != start):
        return False
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def kill_pid(pid: int, start: int | None, grace: float = 2.0) -> None:
    """Stop one process we started (resumed first if we paused it); never a reused pid."""
    if not _alive(pid, start):
        return
    for sig in (signal.SIGCONT, signal.SIGTERM):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _alive(pid, start):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(40):
        if not _alive(pid, start):
            return
        time.sleep(0.05)


def _delete_netns(name: str) -> None:
    pids = sh(["ip", "netns", "pids", name], check=False, timeout=5).stdout.split()
    for p in pids:
        if p.isdigit():
            kill_pid(int(p), proc_start_time(int(p)), grace=1.0)
    sh(["ip", "netns", "del", name], check=False, timeout=10)
    shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)


def undo(step: dict[str, Any]) -> None:
    """Undo one journal step; a step whose object is already gone is a no-op."""
    kind = step["kind"]
    if kind == "pid":
        kill_pid(int(step["pid"]), step.get("start"))
    elif kind == "netns":
        _delete_netns(str(step["name"]))
    elif kind == "sysctl":
        Path("/proc/sys", str(step["key"]).replace(".", "/")).write_text(str(step["value"]) + "\n")
    elif kind == "path":
        p = Path(step["path"])
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    elif kind == "umount":
        sh(["umount", "-l", str(step["path"])], check=False)
    else:
        raise LabError(f"unknown undo step {kind!r}")


class Named(Protocol):
    """Anything with a name: a lab namespace (blocks.Netns)."""

    @property
    def name(self) -> str: ...


class LabRun:
    """A set of namespaces, links and processes built for one scenario; torn down on exit."""

    def __init__(self, scenario: str = "adhoc", run_id: str | None = None, *, keep: bool = False) -> None:
        self.run_id = run_id or secrets.token_hex(2)
        self.prefix = f"{NAME_PREFIX}{self.run_id}"
        self.scenario = scenario
        self.dir = ROOT / self.run_id
        self.keep = keep  # True: leave it running on a clean exit (`netsleuth lab up`)
        self.info: dict[str, Any] = {}  # what `lab up` prints: vantage, env ...
        self._steps: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._old_term: Any = None

    # ---- journal -------------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.dir / "state.json"

    def _save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        state = {
            "run_id": self.run_id,
            "scenario": self.scenario,
            "owner_pid": os.getpid(),
            "created": time.time(),
            "info": self.info,
            "undo": self._steps,
        }
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self.state_file)

    def journal(self, **step: Any) -> None:
        """Record how to undo the next action, before doing it."""
        with self._lock:
            self._steps.append(step)
            self._save()

    def note(self, **info: Any) -> None:
        """Remember something for `lab up` / another process (vantage, env ...)."""
        self.info.update(info)
        self._save()

    @classmethod
    def attach(cls, run_id: str) -> Self:
        """The lab of another process (or of a crashed one), from its journal."""
        lab = cls(run_id=run_id)
        try:
            state = json.loads(lab.state_file.read_text())
        except (OSError, ValueError):
            return lab  # no journal: `down` still cleans what carries our prefix
        lab.scenario = str(state.get("scenario", "adhoc"))
        lab.info = dict(state.get("info", {}))
        lab._steps = list(state.get("undo", []))
        return lab

    @staticmethod
    def runs() -> list[dict[str, Any]]:
        """Journals of every lab on this machine (running, kept by `lab up`, or crashed)."""
        out = []
        for f in sorted(ROOT.glob("*/state.json")):
            with contextlib.suppress(OSError, ValueError):
                out.append(json.loads(f.read_text()))
        return out

    @staticmethod
    def leftover_run_ids() -> set[str]:
        """Run ids found in journals, in namespace names and in /etc/netns (crashed runs too)."""
        ids = {p.name for p in ROOT.glob("*") if p.is_dir()}
        names = sh(["ip", "netns", "list"], check=False).stdout.split("\n")
        etc = [p.name for p in Path("/etc/netns").glob("*")] if Path("/etc/netns").is_dir() else []
        for n in [ln.split()[0] for ln in names if ln.strip()] + etc:
            rid = run_id_of(n)
            if rid:
                ids.add(rid)
        return ids

    # ---- life cycle ----------------------------------------------------------------------
    def __enter__(self) -> Self:
        require_root()
        self._save()
        if threading.current_thread() is threading.main_thread():
            self._old_term = signal.signal(signal.SIGTERM, self._on_term)
        return self

    def _on_term(self, signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if et is not None or not self.keep:
                self.down()
        finally:
            if self._old_term is not None:
                signal.signal(signal.SIGTERM, self._old_term)
                self._old_term = None

    def down(self) -> list[str]:
        """Undo everything (journal in reverse, then anything left with our prefix). Idempotent.
        Returns the problems met (empty: all clean)."""
        problems: list[str] = []
        main = threading.current_thread() is threading.main_thread()
        blocked = {signal.SIGINT, signal.SIGTERM}
        if main:
            signal.pthread_sigmask(signal.SIG_BLOCK, blocked)  # a second Ctrl-C must not stop cleanup
        try:
            for step in reversed(self._steps):
                try:
                    undo(step)
                except (OSError, LabError, subprocess.SubprocessError, ValueError) as exc:
                    problems.append(f"{step}: {exc}")
            listed = sh(["ip", "netns", "list"], check=False).stdout.splitlines()
            for ln in listed:
                name = ln.split()[0] if ln.strip() else ""
                if name and run_id_of(name) == self.run_id:
                    _delete_netns(name)
            for p in Path("/etc/netns").glob("*") if Path("/etc/netns").is_dir() else []:
                if run_id_of(p.name) == self.run_id:
                    shutil.rmtree(p, ignore_errors=True)
            self._steps = []
            shutil.rmtree(self.dir, ignore_errors=True)
        finally:
            if main:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)
        return problems

    def sysctl(self, key: str, value: str | int) -> str:
        """Set a GLOBAL sysctl (e.g. net.netfilter.nf_conntrack_max); `down` restores the old value."""
        path = Path("/proc/sys", key.replace(".", "/"))
        try:
            old = path.read_text().strip()
        except OSError as exc:
            raise LabUnavailable(f"sysctl {key} is not available here: {exc.strerror}") from exc
        self.journal(kind="sysctl", key=key, value=old)
        path.write_text(f"{value}\n")
        return old

    def spawn(
        self,
        argv: Sequence[str],
        *,
        netns: Named | str | None = None,
        log: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a background process (inside `netns`), stopped by pid on `down`."""
        full = netns_argv(argv, netns if netns is None or isinstance(netns, str) else netns.name)
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
        try:
            proc = subprocess.Popen(
                full,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        finally:
            if log and not isinstance(out, int):
                out.close()
        self.journal(kind="pid", pid=proc.pid, start=proc_start_time(proc.pid), what=argv[0])
        return proc

    def path(self, *parts: str) -> Path:
        """A private path under the lab's run directory (removed on `down`)."""
        p = self.dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def namespaces(self) -> Iterator[str]:
        for step in self._steps:
            if step["kind"] == "netns":
                yield str(step["name"])


@contextlib.contextmanager
def global_sysctl(key: str, value: str | int) -> Iterator[str]:
    """Set a global sysctl for the duration of a block; the old value comes back in `finally`."""
    path = Path("/proc/sys", key.replace(".", "/"))
    old = path.read_text().strip()
    try:
        path.write_text(f"{value}\n")
        yield old
    finally:
        path.write_text(old + "\n")
