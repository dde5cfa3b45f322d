"""Run one command or read one file, bounded in time, and record how it went as Evidence."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from netsleuth.evidence.model import HOST, MAX_TEXT, Evidence, Status

MAX_OUTPUT = MAX_TEXT  # bytes kept of one command's output (the rest is read and dropped)
MAX_STDERR = 64 * 1024
DENIED_MARKERS = ("permission denied", "operation not permitted", "must be root", "need to be root")
ENV = {**os.environ, "LC_ALL": "C", "LANG": "C"}


def in_netns(argv: list[str], netns: str) -> list[str]:
    """Prefix a command so that it runs inside network namespace `netns` (HOST: as is)."""
    return argv if netns == HOST else ["ip", "netns", "exec", netns, *argv]


def classify(rc: int, stderr: str, tool: str) -> tuple[Status, str]:
    """Status of a finished command from its exit code and error text."""
    first = next((ln.strip() for ln in stderr.splitlines() if ln.strip()), "")
    if rc == 0:
        return Status.OK, first
    low = stderr.lower()
    if rc in (126, 127) and ("no such file" in low or "not found" in low):
        return Status.MISSING, f"{tool}: not installed"
    if any(m in low for m in DENIED_MARKERS):
        return Status.DENIED, first or f"{tool}: permission denied"
    return Status.ERROR, first or f"{tool}: exit status {rc}"


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """Kill the command and everything it started (it leads its own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def communicate(proc: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, bytes, int, bool]:
    """Read a command's stdout and stderr until it ends or `timeout` passes, keeping at most
    MAX_OUTPUT / MAX_STDERR bytes (the rest is read and dropped, so a command that prints a
    gigabyte costs no memory): (out, err, bytes of stdout in all, timed out)."""
    import selectors

    assert proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + timeout
    kept: dict[int, bytearray] = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    caps = {proc.stdout.fileno(): MAX_OUTPUT, proc.stderr.fileno(): MAX_STDERR}
    total = 0
    with selectors.DefaultSelector() as sel:
        for pipe in (proc.stdout, proc.stderr):
            sel.register(pipe, selectors.EVENT_READ)
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                return bytes(kept[proc.stdout.fileno()]), bytes(kept[proc.stderr.fileno()]), total, True
            for key, _ in sel.select(left):
                fd = key.fd
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                if fd == proc.stdout.fileno():
                    total += len(chunk)
                room = caps[fd] - len(kept[fd])
                if room > 0:
                    kept[fd] += chunk[:room]
    try:
        proc.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return bytes(kept[proc.stdout.fileno()]), bytes(kept[proc.stderr.fileno()]), total, True
    return bytes(kept[proc.stdout.fileno()]), bytes(kept[proc.stderr.fileno()]), total, False


def _cut_note(total: int) -> str:
    return f"output cut at {MAX_OUTPUT >> 20} MiB of {total / 2**20:.0f} MiB" if total > MAX_OUTPUT else ""


def run(name: str, argv: list[str], timeout: float, netns: str = HOST, key: str = "") -> Evidence:
    """Run argv (inside netns) with a timeout; a timeout kills the whole process group."""
    full = in_netns(argv, netns)
    source = " ".join(argv)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            full,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=ENV,
        )
    except FileNotFoundError:
        return Evidence(
            name, Status.MISSING, source=source, netns=netns, key=key, error=f"{full[0]}: not installed"
        )
    except PermissionError as exc:
        return Evidence(name, Status.DENIED, source=source, netns=netns, key=key, error=str(exc))
    try:
        out, err, total, timed_out = communicate(proc, timeout)
    finally:
        if proc.poll() is None:
            kill_group(proc)
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    if timed_out:
        return Evidence(
            name,
            Status.TIMEOUT,
            text=out.decode(errors="replace"),
            source=source,
            duration_s=time.monotonic() - start,
            netns=netns,
            key=key,
            error=f"no answer within {timeout:g} s (killed)",
        )
    stderr = err.decode(errors="replace")
    status, error = classify(proc.returncode, stderr, argv[0])
    note = _cut_note(total)
    error = error if status is not Status.OK else ""
    return Evidence(
        name,
        status,
        text=out.decode(errors="replace"),
        source=source,
        duration_s=time.monotonic() - start,
        netns=netns,
        key=key,
        rc=proc.returncode,
        error=f"{error}; {note}" if error and note else error or note,
    )


def read_file(name: str, path: str, timeout: float, netns: str = HOST, key: str = "") -> Evidence:
    """Read a file; inside another namespace through `ip netns exec cat` (its /etc/netns, /proc/net)."""
    if netns != HOST:
        ev = run(name, ["cat", path], timeout, netns, key)
        if ev.status is Status.ERROR and "no such file" in ev.error.lower():
            ev.status, ev.error = Status.MISSING, f"{path}: no such file"
        ev.source = path
        return ev
    start = time.monotonic()
    try:
        with Path(path).open("rb") as fh:
            data = fh.read(MAX_TEXT + 1)
        text = data[:MAX_TEXT].decode(errors="replace")
    except FileNotFoundError:
        return Evidence(
            name, Status.MISSING, source=path, netns=netns, key=key, error=f"{path}: no such file"
        )
    except PermissionError:
        return Evidence(
            name, Status.DENIED, source=path, netns=netns, key=key, error=f"{path}: permission denied"
        )
    except OSError as exc:
        return Evidence(name, Status.ERROR, source=path, netns=netns, key=key, error=str(exc))
    note = f"only the first {MAX_TEXT >> 20} MiB read" if len(data) > MAX_TEXT else ""
    return Evidence(
        name,
        Status.OK,
        text=text,
        source=path,
        duration_s=time.monotonic() - start,
        netns=netns,
        key=key,
        error=note,
    )
