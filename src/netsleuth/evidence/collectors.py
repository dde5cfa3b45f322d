"""Collectors written in Python: stream what is too large to hold, tail logs, read the environment."""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from netsleuth.evidence.model import HOST, Evidence, Status
from netsleuth.evidence.runner import ENV, in_netns, run
from netsleuth.parsers.conntrack import count_states, format_histogram
from netsleuth.process import kill_group

TAIL_BYTES = 8 * 1024 * 1024  # of each log file


def _lines_until(stream: Iterable[str], deadline: float) -> Iterator[str]:
    """The lines of a command's output; TimeoutError once the deadline has passed."""
    for line in stream:
        if time.monotonic() > deadline:
            raise TimeoutError
        yield line


def conntrack_states(name: str, timeout: float, netns: str = HOST) -> Evidence:
    """State histogram of the conntrack table, streamed: millions of entries never sit in memory.

    Reads /proc/net/nf_conntrack (`conntrack -L` when the proc file is absent) line by line.
    """
    start = time.monotonic()

    def done(counts: Counter[str], source: str) -> Evidence:
        return Evidence(
            name,
            Status.OK,
            text=format_histogram(counts),
            source=source,
            duration_s=time.monotonic() - start,
            netns=netns,
        )

    for argv, source in (
        (["cat", "/proc/net/nf_conntrack"], "/proc/net/nf_conntrack"),
        (["conntrack", "-L"], "conntrack -L"),
    ):
        if netns == HOST and argv[0] == "cat":
            try:
                with open(source, errors="replace") as fh:
                    counts = count_states(fh)
            except FileNotFoundError:
                continue
            except PermissionError:
                return Evidence(name, Status.DENIED, source=source, error=f"{source}: permission denied")
            return done(counts, source)
        try:
            proc = subprocess.Popen(
                in_netns(argv, netns),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env=ENV,
                text=True,
                errors="replace",
            )
        except FileNotFoundError:
            continue
        assert proc.stdout is not None
        deadline = start + timeout * 2  # a table of millions of entries takes a moment

        try:
            counts = count_states(_lines_until(proc.stdout, deadline))
        except TimeoutError:
            kill_group(proc)
            proc.wait()
            return Evidence(
                name,
                Status.TIMEOUT,
                source=source,
                duration_s=time.monotonic() - start,
                netns=netns,
                error=f"table not read within {timeout * 2:g} s",
            )
        rc = proc.wait()
        if rc != 0 and not counts:
            continue
        return done(counts, source)
    return Evidence(
        name,
        Status.MISSING,
        source="/proc/net/nf_conntrack",
        netns=netns,
        error="no /proc/net/nf_conntrack and no conntrack tool (conntrack not loaded or not installed)",
    )


def tail(name: str, files: list[str], timeout: float, netns: str = HOST) -> list[Evidence]:
    """The last part of each log file that exists, keyed by its file name."""
    found: list[Evidence] = []
    for f in files:
        start = time.monotonic()
        path = Path(f)
        try:
            size = path.stat().st_size
            with path.open("rb") as fh:
                if size > TAIL_BYTES:
                    fh.seek(size - TAIL_BYTES)
                    fh.readline()  # drop the partial first line
                data = fh.read()
        except FileNotFoundError:
            continue
        except PermissionError:
            found.append(
                Evidence(name, Status.DENIED, source=f, key=path.name, error=f"{f}: permission denied")
            )
            continue
        found.append(
            Evidence(
                name,
                Status.OK,
                text=data.decode(errors="replace"),
                source=f,
                key=path.name,
                duration_s=time.monotonic() - start,
            )
        )
    if not found:
        found.append(
            Evidence(name, Status.MISSING, source=" ".join(files), error="none of these files exists")
        )
    return found


def environment(name: str, timeout: float, netns: str = HOST) -> Evidence:
    """umask and PATH of the user running netsleuth (seed 003: deploy scripts inherit them)."""
    umask = "unknown"
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                umask = line.split()[1]
    except OSError:
        pass
    text = f"UMASK={umask}\nPATH={os.environ.get('PATH', '')}\nUSER={os.environ.get('USER', '')}\n"
    return Evidence(name, Status.OK, text=text, source="environment of the netsleuth process")


__all__ = ["conntrack_states", "environment", "run", "tail"]
