"""No pile of processes: every command a cycle runs is killed with its process group at its
timeout, and watch is the reaper of what those commands leave behind (PR_SET_CHILD_SUBREAPER), so
a process that escaped its group (setsid) or did not die (stuck in the kernel) is still watch's
child. Before a cycle starts, what the last one left is killed; a cycle never starts while any of
it lives."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make orphaned descendants our children (Linux >= 3.4); False where it cannot be done."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _stat(pid: int) -> tuple[int, str, str] | None:
    """(parent pid, state, command) of a process."""
    try:  # not pathlib: it interns each part, and every new pid would stay interned for good
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            raw = fh.read()
    except OSError:
        return None
    comm = raw[raw.find("(") + 1 : raw.rfind(")")]
    rest = raw[raw.rfind(")") + 2 :].split()
    return int(rest[1]), rest[0], comm


def children(of: int | None = None) -> dict[int, str]:
    """Live (not zombie) children of a process: pid -> command name."""
    me = os.getpid() if of is None else of
    found: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        st = _stat(int(entry.name))
        if st is not None and st[0] == me:
            found[int(entry.name)] = st[2]
    return found


def _reap(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


class Guard:
    """Children that were there before watching began (the program that runs us in-process) are
    never touched; every other child is a leftover of a cycle."""

    def __init__(self) -> None:
        self.subreaper = become_subreaper()
        self.before = set(children())

    def leftovers(self) -> dict[int, str]:
        live = {}
        for pid, comm in children().items():
            if pid in self.before:
                continue
            st = _stat(pid)
            if st is not None and st[1] == "Z":
                _reap({pid})
                continue
            live[pid] = comm
        return live

    def clear(self, grace: float = 2.0) -> dict[int, str]:
        """Kill what the last cycle left (by pid, and its process group); wait up to `grace` s.
        Returns what is still alive (e.g. in uninterruptible sleep)."""
        left = self.leftovers()
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if os.getpgid(pid) == pid:
                    os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + grace
        while left and time.monotonic() < deadline:
            _reap(set(left))
            left = self.leftovers()
            if left:
                time.sleep(0.05)
        return left


class Memory:
    """A long-running process that stays small: few malloc arenas (each of a cycle's collection
    threads would otherwise get its own, and the resident size creeps up cycle after cycle), and
    what a cycle freed handed back to the system after it (glibc; elsewhere nothing is done)."""

    M_ARENA_MAX = -8

    def __init__(self) -> None:
        try:
            self.libc: ctypes.CDLL | None = ctypes.CDLL("libc.so.6", use_errno=True)
            self.libc.mallopt(self.M_ARENA_MAX, 2)
        except (OSError, AttributeError):
            self.libc = None

    def trim(self) -> None:
        import gc

        gc.collect()
        if self.libc is not None:
            with contextlib.suppress(AttributeError):
                self.libc.malloc_trim(0)
