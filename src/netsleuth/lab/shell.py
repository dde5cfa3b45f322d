"""Run the lab's commands: bounded in time, inside a namespace when asked, failing loudly."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence

from netsleuth import process

DEFAULT_TIMEOUT = 10.0


class LabError(RuntimeError):
    """A lab step failed: names the command and what it printed."""


class LabUnavailable(LabError):
    """The lab cannot run here (not root, a tool or kernel feature missing): skip with this reason."""


def netns_argv(argv: Sequence[str], netns: str | None) -> list[str]:
    """`argv` as it runs inside network namespace `netns` (None: where we are)."""
    return ["ip", "netns", "exec", netns, *argv] if netns else list(argv)


def sh(
    argv: Sequence[str],
    *,
    netns: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command (inside `netns`), return its result; raise LabError on failure when `check`."""
    full = netns_argv(argv, netns)
    r = process.run(
        full,
        timeout,
        env={**os.environ, **(env or {}), "LC_ALL": "C"},
        input=input.encode() if input is not None else None,
    )
    if isinstance(r.failed, FileNotFoundError):
        raise LabUnavailable(f"{full[0]} is not installed") from r.failed
    if r.failed is not None:
        raise r.failed
    if r.rc is None:
        if check:
            raise LabError(f"`{' '.join(full)}` did not finish within {timeout:.0f} s")
        return subprocess.CompletedProcess(full, 124, "", "timeout")
    proc = subprocess.CompletedProcess(full, r.rc, r.text(), r.err_text())
    if check and proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise LabError(f"`{' '.join(full)}` failed ({proc.returncode}): {msg[-1] if msg else ''}")
    return proc


def proc_start_time(pid: int) -> int | None:
    """The start time (clock ticks since boot) of `pid`, so a reused pid is never mistaken for ours."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])
