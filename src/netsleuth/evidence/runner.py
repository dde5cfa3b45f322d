"""Run one command or read one file, bounded in time, and record how it went as Evidence.

The running is the collector's (netsleuth.collector.runner: what runs on production hosts too);
this module hands its records over as Evidence."""

from __future__ import annotations

from netsleuth.collector import runner as _runner
from netsleuth.collector.model import Record
from netsleuth.collector.runner import DENIED_MARKERS, ENV, MAX_OUTPUT, MAX_STDERR, in_netns
from netsleuth.evidence.collector_words import words_of
from netsleuth.evidence.model import HOST, Evidence, Status

__all__ = [
    "DENIED_MARKERS",
    "ENV",
    "MAX_OUTPUT",
    "MAX_STDERR",
    "classify",
    "evidence_of",
    "in_netns",
    "read_file",
    "run",
]


def evidence_of(rec: Record) -> Evidence:
    """A collector's record as Evidence."""
    return Evidence(
        rec.name,
        Status(rec.status),
        text=rec.text,
        source=rec.source,
        duration_s=rec.duration_s,
        netns=rec.netns,
        key=rec.key,
        rc=rec.rc,
        error=rec.error,
        why=words_of(rec.error) if rec.status != "ok" else None,
        later=rec.later,
        interval_s=rec.interval_s,
    )


def record_of(ev: Evidence) -> Record:
    """Evidence as the collector's record (what a bundle stores of it)."""
    text = ev.content()  # says in `error` when it was cut, so read it first
    return Record(
        ev.name,
        ev.status.value,
        text,
        ev.source,
        ev.duration_s,
        ev.netns,
        ev.key,
        ev.rc,
        ev.error,
        ev.later,
        ev.interval_s,
    )


def classify(rc: int, stderr: str, tool: str) -> tuple[Status, str]:
    """Status of a finished command from its exit code and error text."""
    status, error = _runner.classify(rc, stderr, tool)
    return Status(status), error


def run(name: str, argv: list[str], timeout: float, netns: str = HOST, key: str = "") -> Evidence:
    """Run argv (inside netns) with a timeout; a timeout kills the whole process group. At most
    MAX_OUTPUT bytes of output are kept (a command that prints a gigabyte costs no memory)."""
    return evidence_of(_runner.run(name, argv, timeout, netns, key))


def read_file(name: str, path: str, timeout: float, netns: str = HOST, key: str = "") -> Evidence:
    """Read a file; inside another namespace through `ip netns exec cat` (its /etc/netns, /proc/net)."""
    return evidence_of(_runner.read_file(name, path, timeout, netns, key))
