"""Run one command or read one file, bounded in time, and record how it went as Evidence."""

from __future__ import annotations

import os
import time
from pathlib import Path

from netsleuth import process
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


def _cut_note(r: process.Ran) -> str:
    return f"output cut at {MAX_OUTPUT >> 20} MiB of {r.out_total / 2**20:.0f} MiB" if r.cut else ""


def run(name: str, argv: list[str], timeout: float, netns: str = HOST, key: str = "") -> Evidence:
    """Run argv (inside netns) with a timeout; a timeout kills the whole process group. At most
    MAX_OUTPUT bytes of output are kept (a command that prints a gigabyte costs no memory)."""
    full = in_netns(argv, netns)
    source = " ".join(argv)
    r = process.run(full, timeout, env=ENV, max_out=MAX_OUTPUT, max_err=MAX_STDERR)
    if isinstance(r.failed, FileNotFoundError):
        return Evidence(
            name, Status.MISSING, source=source, netns=netns, key=key, error=f"{full[0]}: not installed"
        )
    if r.failed is not None:
        status = Status.DENIED if isinstance(r.failed, PermissionError) else Status.ERROR
        return Evidence(name, status, source=source, netns=netns, key=key, error=str(r.failed))
    if r.rc is None:
        return Evidence(
            name,
            Status.TIMEOUT,
            text=r.text(),
            source=source,
            duration_s=r.duration_s,
            netns=netns,
            key=key,
            error=f"no answer within {timeout:g} s (killed)",
        )
    status, error = classify(r.rc, r.err_text(), argv[0])
    note = _cut_note(r)
    error = error if status is not Status.OK else ""
    return Evidence(
        name,
        status,
        text=r.text(),
        source=source,
        duration_s=r.duration_s,
        netns=netns,
        key=key,
        rc=r.rc,
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
