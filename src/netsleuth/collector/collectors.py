"""Collectors written in Python: stream what is too large to hold, tail logs, read the environment."""

import os
import subprocess
import time
from collections import Counter
from typing import Iterable, Iterator, List

from netsleuth.collector.model import DENIED, HOST, MISSING, OK, TIMEOUT, Record
from netsleuth.collector.process import kill_group
from netsleuth.collector.runner import ENV, in_netns

TAIL_BYTES = 8 * 1024 * 1024  # of each log file
TCP_STATES = frozenset(
    [
        "NONE",
        "SYN_SENT",
        "SYN_RECV",
        "ESTABLISHED",
        "FIN_WAIT",
        "CLOSE_WAIT",
        "LAST_ACK",
        "TIME_WAIT",
        "CLOSE",
        "SYN_SENT2",
    ]
)


def count_states(lines: Iterable[str]) -> "Counter[str]":
    """Count conntrack entries by TCP state (other protocols by name), one line at a time.

    Reads `/proc/net/nf_conntrack` or `conntrack -L` lines; memory stays bounded whatever
    the table size.

    >>> sorted(count_states([
    ...   "ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=22",
    ...   "ipv4     2 udp      17 29 src=10.0.0.1 dst=10.0.0.9 sport=5 dport=53 [UNREPLIED]",
    ...   "tcp      6 117 TIME_WAIT src=10.0.0.1 dst=10.0.0.3 sport=2 dport=80",
    ... ]).items())
    [('ESTABLISHED', 1), ('TIME_WAIT', 1), ('udp', 1)]
    """
    counts: "Counter[str]" = Counter()
    for line in lines:
        parts = line.split(None, 6)
        if len(parts) < 4:
            continue
        # /proc/net/nf_conntrack prefixes the L3 family: "ipv4 2 tcp 6 ..."
        if parts[0] in ("ipv4", "ipv6"):
            parts = parts[2:]
        proto = parts[0]
        if proto == "tcp" and len(parts) > 3 and parts[3] in TCP_STATES:
            counts[parts[3]] += 1
        else:
            counts[proto] += 1
    return counts


def format_histogram(counts: "Counter[str]") -> str:
    """The histogram as the seed prints it: `STATE COUNT` per line, largest first."""
    return "".join("{} {}\n".format(state, n) for state, n in counts.most_common())


def _lines_until(stream: Iterable[str], deadline: float) -> Iterator[str]:
    """The lines of a command's output; TimeoutError once the deadline has passed."""
    for line in stream:
        if time.monotonic() > deadline:
            raise TimeoutError
        yield line


def conntrack_states(name: str, timeout: float, netns: str = HOST) -> Record:
    """State histogram of the conntrack table, streamed: millions of entries never sit in memory.

    Reads /proc/net/nf_conntrack (`conntrack -L` when the proc file is absent) line by line.
    """
    start = time.monotonic()

    def done(counts: "Counter[str]", source: str) -> Record:
        return Record(name, OK, format_histogram(counts), source, time.monotonic() - start, netns)

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
                return Record(name, DENIED, source=source, error="{}: permission denied".format(source))
            return done(counts, source)
        try:
            proc = subprocess.Popen(
                in_netns(argv, netns),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env=ENV,
                universal_newlines=True,
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
            return Record(
                name, TIMEOUT, source=source, duration_s=time.monotonic() - start, netns=netns,
                error="table not read within {:g} s".format(timeout * 2),
            )  # fmt: skip
        rc = proc.wait()
        if rc != 0 and not counts:
            continue
        return done(counts, source)
    return Record(
        name, MISSING, source="/proc/net/nf_conntrack", netns=netns,
        error="no /proc/net/nf_conntrack and no conntrack tool (conntrack not loaded or not installed)",
    )  # fmt: skip


def tail(name: str, files: List[str], timeout: float, netns: str = HOST) -> List[Record]:
    """The last part of each log file that exists, keyed by its file name."""
    found: List[Record] = []
    for f in files:
        start = time.monotonic()
        base = os.path.basename(f)
        try:
            size = os.stat(f).st_size
            with open(f, "rb") as fh:
                if size > TAIL_BYTES:
                    fh.seek(size - TAIL_BYTES)
                    fh.readline()  # drop the partial first line
                data = fh.read()
        except FileNotFoundError:
            continue
        except PermissionError:
            found.append(Record(name, DENIED, source=f, key=base, error="{}: permission denied".format(f)))
            continue
        found.append(Record(name, OK, data.decode(errors="replace"), f, time.monotonic() - start, key=base))
    if not found:
        found.append(Record(name, MISSING, source=" ".join(files), error="none of these files exists"))
    return found


def environment(name: str, timeout: float, netns: str = HOST) -> Record:
    """umask and PATH of the user running netsleuth (seed 003: deploy scripts inherit them)."""
    umask = "unknown"
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    umask = line.split()[1]
    except OSError:
        pass
    text = "UMASK={}\nPATH={}\nUSER={}\n".format(
        umask, os.environ.get("PATH", ""), os.environ.get("USER", "")
    )
    return Record(name, OK, text, "environment of the netsleuth process")
