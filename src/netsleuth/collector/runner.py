"""Run one command or read one file, bounded in time, and record how it went."""

import os
import time
from typing import IO, Iterator, List, Tuple

from netsleuth.collector import process
from netsleuth.collector.model import DENIED, ERROR, HOST, MAX_TEXT, MISSING, OK, TIMEOUT, Record

MAX_OUTPUT = MAX_TEXT  # bytes kept of one command's output
MAX_STDERR = 64 * 1024
DENIED_MARKERS = ("permission denied", "operation not permitted", "must be root", "need to be root")
ENV = dict(os.environ, LC_ALL="C", LANG="C")


def in_netns(argv: List[str], netns: str) -> List[str]:
    """Prefix a command so that it runs inside network namespace `netns` (HOST: as is)."""
    return argv if netns == HOST else ["ip", "netns", "exec", netns, *list(argv)]


def classify(rc: int, stderr: str, tool: str) -> Tuple[str, str]:
    """Status of a finished command from its exit code and error text."""
    first = next((ln.strip() for ln in stderr.splitlines() if ln.strip()), "")
    if rc == 0:
        return OK, first
    low = stderr.lower()
    if rc in (126, 127) and ("no such file" in low or "not found" in low):
        return MISSING, "{}: not installed".format(tool)
    if any(m in low for m in DENIED_MARKERS):
        return DENIED, first or "{}: permission denied".format(tool)
    return ERROR, first or "{}: exit status {}".format(tool, rc)


def _cut_note(r: process.Ran) -> str:
    return "output cut at {} MiB of {:.0f} MiB".format(MAX_OUTPUT >> 20, r.out_total / 2**20) if r.cut else ""


def run(name: str, argv: List[str], timeout: float, netns: str = HOST, key: str = "") -> Record:
    """Run argv (inside netns) with a timeout; a timeout kills the whole process group. At most
    MAX_OUTPUT bytes of output are kept (a command that prints a gigabyte costs no memory)."""
    full = in_netns(argv, netns)
    source = " ".join(argv)
    r = process.run(full, timeout, env=ENV, max_out=MAX_OUTPUT, max_err=MAX_STDERR)
    if isinstance(r.failed, FileNotFoundError):
        return Record(
            name, MISSING, source=source, netns=netns, key=key, error="{}: not installed".format(full[0])
        )
    if r.failed is not None:
        status = DENIED if isinstance(r.failed, PermissionError) else ERROR
        return Record(name, status, source=source, netns=netns, key=key, error=str(r.failed))
    text = r.text()
    if r.rc is None:
        error = "no answer within {:g} s (killed)".format(timeout)
        return Record(name, TIMEOUT, text, source, r.duration_s, netns, key, error=error)
    status, error = classify(r.rc, r.err_text(), argv[0])
    note = _cut_note(r)
    error = error if status != OK else ""
    error = "{}; {}".format(error, note) if error and note else error or note
    return Record(name, status, text, source, r.duration_s, netns, key, r.rc, error)


READ_BLOCK = 1024 * 1024  # bytes asked of the kernel at once


def blocks_upto(fh: IO[bytes], limit: int, block: int = READ_BLOCK) -> Iterator[bytes]:
    """At most `limit` bytes of `fh`, a block at a time: never all in one read, as a /proc/sys
    file answers a read of 4 MiB or more with ENOMEM (the kernel's buffer for it is one kmalloc)."""
    left = limit
    while left > 0:
        chunk = fh.read(min(block, left))
        if not chunk:
            return
        yield chunk
        left -= len(chunk)


def read_file(name: str, path: str, timeout: float, netns: str = HOST, key: str = "") -> Record:
    """Read a file; inside another namespace through `ip netns exec cat` (its /etc/netns, /proc/net)."""
    if netns != HOST:
        rec = run(name, ["cat", path], timeout, netns, key)
        if rec.status == ERROR and "no such file" in rec.error.lower():
            rec.status, rec.error = MISSING, "{}: no such file".format(path)
        rec.source = path
        return rec
    start = time.monotonic()
    try:
        with open(path, "rb") as fh:
            data = b"".join(blocks_upto(fh, MAX_TEXT + 1))
        text = data[:MAX_TEXT].decode(errors="replace")
    except FileNotFoundError:
        return Record(name, MISSING, source=path, netns=netns, key=key, error="{}: no such file".format(path))
    except PermissionError:
        return Record(
            name, DENIED, source=path, netns=netns, key=key, error="{}: permission denied".format(path)
        )
    except OSError as exc:
        return Record(name, ERROR, source=path, netns=netns, key=key, error=str(exc))
    note = "only the first {} MiB read".format(MAX_TEXT >> 20) if len(data) > MAX_TEXT else ""
    return Record(name, OK, text, path, time.monotonic() - start, netns, key, error=note)
