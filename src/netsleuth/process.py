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


def run(
    argv: Sequence[str],
    timeout: float,
    *,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
) -> Ran:
    """Run argv with stdin closed (or fed `input`), its output captured, for at most `timeout` s."""
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
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        return Ran(tuple(argv), None, out, err, time.monotonic() - start, timed_out=True)
    except BaseException:  # interrupted: leave nothing running behind us
        kill_group(proc)
        proc.wait()
        raise
    return Ran(tuple(argv), proc.returncode, out, err, time.monotonic() - start)
