"""Run a command bounded in time. Every part of netsleuth that runs a command comes through here:
the command leads its own process group, and when it overstays its timeout the whole group is
killed (a hung `ovs-ofctl` is evidence, never a hang of netsleuth).

>>> r = run(["sh", "-c", "echo out; echo err >&2; exit 3"], 5)
>>> (r.rc, r.out, r.err, r.timed_out, r.failed)
(3, b'out\\n', b'err\\n', False, None)
>>> run(["sleep", "5"], 0.2).timed_out
True
>>> isinstance(run(["nsl-no-such-program"], 1).failed, FileNotFoundError)
True
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Ran:
    """How a command ended."""

    argv: tuple[str, ...]
    rc: int | None  # None: it could not start (`failed`) or was killed at the timeout
    out: bytes
    err: bytes
    duration_s: float
    timed_out: bool = False
    failed: OSError | None = None  # why it could not start (FileNotFoundError: not installed)
    out_total: int = 0  # bytes the command wrote to stdout in all (`out` keeps at most `max_out`)

    @property
    def cut(self) -> bool:
        """The command wrote more than was kept."""
        return self.out_total > len(self.out)

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def text(self) -> str:
        return self.out.decode(errors="replace")

    def err_text(self) -> str:
        return self.err.decode(errors="replace")


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """Kill the command and everything it started (it leads its own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


MAX_OUT = 64 * 1024 * 1024  # bytes of stdout kept by default (the rest is read and dropped)
MAX_ERR = 64 * 1024


def run(
    argv: Sequence[str],
    timeout: float,
    *,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    max_out: int = MAX_OUT,
    max_err: int = MAX_ERR,
) -> Ran:
    """Run argv with stdin closed (or fed `input`), its output captured, for at most `timeout` s.

    At most `max_out` bytes of stdout and `max_err` of stderr are kept; the rest is read and
    dropped, so a command that prints a gigabyte costs no memory (`Ran.out_total` says how much
    it wrote)."""
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=None if env is None else dict(env),
        )
    except OSError as exc:
        return Ran(tuple(argv), None, b"", b"", time.monotonic() - start, failed=exc)
    try:
        out, err, total, timed_out = _exchange(proc, input, start + timeout, max_out, max_err)
        if timed_out:
            kill_group(proc)
            proc.wait()
            return Ran(tuple(argv), None, out, err, time.monotonic() - start, timed_out=True, out_total=total)
    except BaseException:  # interrupted: leave nothing running behind us
        kill_group(proc)
        proc.wait()
        raise
    finally:
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
    return Ran(tuple(argv), proc.returncode, out, err, time.monotonic() - start, out_total=total)


def _exchange(
    proc: subprocess.Popen[bytes], input: bytes | None, deadline: float, max_out: int, max_err: int
) -> tuple[bytes, bytes, int, bool]:
    """Feed `input`, read stdout and stderr until the command ends or the deadline passes, keeping
    at most max_out / max_err bytes: (out, err, bytes of stdout in all, timed out)."""
    assert proc.stdout is not None and proc.stderr is not None
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    kept = {out_fd: bytearray(), err_fd: bytearray()}
    caps = {out_fd: max_out, err_fd: max_err}
    total = 0
    pending = memoryview(input or b"")
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        sel.register(proc.stderr, selectors.EVENT_READ)
        if proc.stdin is not None:
            if pending:
                sel.register(proc.stdin, selectors.EVENT_WRITE)
            else:
                proc.stdin.close()
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                return bytes(kept[out_fd]), bytes(kept[err_fd]), total, True
            for key, _ in sel.select(left):
                if proc.stdin is not None and key.fileobj is proc.stdin:
                    try:
                        pending = pending[os.write(key.fd, pending[: 1 << 16]) :]
                    except BrokenPipeError:
                        pending = pending[:0]
                    if not pending:
                        sel.unregister(proc.stdin)
                        proc.stdin.close()
                    continue
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                if key.fd == out_fd:
                    total += len(chunk)
                room = caps[key.fd] - len(kept[key.fd])
                if room > 0:
                    kept[key.fd] += chunk[:room]
    try:
        proc.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return bytes(kept[out_fd]), bytes(kept[err_fd]), total, True
    return bytes(kept[out_fd]), bytes(kept[err_fd]), total, False
