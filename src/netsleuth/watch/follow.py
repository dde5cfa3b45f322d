"""Read only what is new since the last cycle: kernel messages from /dev/kmsg (or the journal's
cursor, or `dmesg` filtered by time), and log files from the offset where the last cycle stopped.

A log file is followed by its path: when the file at that path is another one (rotated, replaced)
or shorter than where we stopped (truncated), it is read from its start, unless its first bytes
are those we saw (the same content moved back into place): then it goes on from where it was, so
no line is counted twice. Only whole lines are taken; a line still being written is read the
next cycle.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from netsleuth import process
from netsleuth.evidence.model import Evidence, Status
from netsleuth.parsers.kernlog import parse_line
from netsleuth.parsers.ovs import parse_ovs_log

HEAD = 1024  # bytes of a file's start that identify its content
MAX_READ = 8 * 1024 * 1024  # bytes of one log read in one cycle (more: the newest part, said so)
KMSG = "/dev/kmsg"
# a syslog line written by the kernel (rsyslog's copy of what /dev/kmsg already gave)
_KERNEL_LINE = re.compile(
    r"^(?:\d{4}-\d\d-\d\dT\S+|[A-Z][a-z]{2}\s+\d{1,2}\s+\d\d:\d\d:\d\d)\s+\S+\s+kernel:\s"
)


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def uptime_s() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


@dataclass
class Mark:
    """Where the last cycle stopped in one file, and how to recognise that file again."""

    inode: int
    dev: int
    offset: int
    head_len: int
    head: str


def _kmsg_text(record: bytes) -> tuple[int, int, str] | None:
    r"""(sequence, microseconds since boot, message) of one /dev/kmsg record.

    >>> _kmsg_text(b"6,1234,5000123,-;nf_conntrack: table full, dropping packet\n SUBSYSTEM=net\n")
    (1234, 5000123, 'nf_conntrack: table full, dropping packet')
    >>> _kmsg_text(b"4,7,10,-;tab\\x09inside\n")
    (7, 10, 'tab\tinside')
    """
    head, sep, rest = record.partition(b";")
    fields = head.split(b",")
    if not sep or len(fields) < 3:
        return None
    try:
        seq, usec = int(fields[1]), int(fields[2])
    except ValueError:
        return None
    msg = rest.split(b"\n", 1)[0]
    text = re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), msg)
    return seq, usec, text.decode(errors="replace")


def dmesg_line(usec: int, text: str) -> str:
    """A kernel message in `dmesg`'s form, `[seconds.micro] text`, as the parsers read it.

    >>> dmesg_line(5000123, "eth0: link down")
    '[    5.000123] eth0: link down'
    """
    return f"[{usec // 1_000_000:5d}.{usec % 1_000_000:06d}] {text}"


@dataclass
class KernelLog:
    """The kernel messages since the last cycle. /dev/kmsg when it can be read (kept open: each
    read gives the next record), else `dmesg` from the last time seen, else the journal's cursor."""

    lookback_s: float = 0.0  # the first cycle takes messages this recent
    boot: str = field(default_factory=boot_id)
    last_seq: int = -1  # /dev/kmsg: the last record read
    last_usec: int = -1  # every source: the time of the last message read
    cursor: str = ""  # the journal's
    since_epoch: float = field(default_factory=time.time)  # the journal without a cursor: from then
    how: str = ""  # "kmsg", "journal", "dmesg": the source in use
    _fd: int | None = None
    _started: bool = False

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def state(self) -> dict[str, Any]:
        return {
            "boot": self.boot,
            "last_seq": self.last_seq,
            "last_usec": self.last_usec,
            "cursor": self.cursor,
        }

    def restore(self, saved: dict[str, Any]) -> None:
        """Go on from a saved position (when the machine has not rebooted since)."""
        if saved.get("boot") == self.boot and self.boot:
            self.last_seq = int(saved.get("last_seq", -1))
            self.last_usec = int(saved.get("last_usec", -1))
            self.cursor = str(saved.get("cursor", ""))
            self._started = True

    def _since_usec(self) -> int:
        """Messages after this time (microseconds since boot) are new."""
        if self._started:
            return self.last_usec
        return max(-1, int((uptime_s() - self.lookback_s) * 1_000_000))

    def read(self, timeout: float) -> Evidence:
        t0 = time.monotonic()
        # dmesg before the journal: where /dev/kmsg is denied dmesg mostly is too, and a journal
        # that keeps nothing (no persistent storage, a container) still answers, with nothing
        for how, fn in (("kmsg", self._kmsg), ("dmesg", self._dmesg), ("journal", self._journal)):
            if self.how and how != self.how:
                continue
            got = fn(timeout)
            if got is None:
                continue  # this source cannot be read here: the next one
            self.how = how
            self._started = True
            lines, source = got
            return Evidence(
                "kernel.dmesg",
                Status.OK,
                text="".join(line + "\n" for line in lines),
                source=source,
                duration_s=time.monotonic() - t0,
            )
        self.how = ""
        return Evidence(
            "kernel.dmesg",
            Status.DENIED,
            source=KMSG,
            error="neither /dev/kmsg, the journal nor dmesg could be read (CAP_SYSLOG, kernel.dmesg_restrict)",
        )

    def _kmsg(self, timeout: float) -> tuple[list[str], str] | None:
        if self._fd is None:
            try:
                self._fd = os.open(KMSG, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                return None
        since = self._since_usec()
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                record = os.read(self._fd, 8192)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EPIPE:
                    continue  # records overwritten before we read them: go on with the next
                self.close()
                return None
            parsed = _kmsg_text(record)
            if parsed is None:
                continue
            seq, usec, text = parsed
            # by sequence number once one was read (timestamps of CPUs may interleave); before
            # that (the first cycle, or a position saved from another source) by time
            if seq <= self.last_seq or (self.last_seq < 0 and usec <= since):
                continue
            self.last_seq, self.last_usec = seq, usec
            lines.append(dmesg_line(usec, text))
        return lines, f"{KMSG} (since the last cycle)"

    def _journal(self, timeout: float) -> tuple[list[str], str] | None:
        argv = ["journalctl", "-k", "-o", "short-monotonic", "--no-pager", "--show-cursor", "-q"]
        called = time.time()
        if self.cursor:
            argv.append(f"--after-cursor={self.cursor}")
        else:
            since = self.since_epoch - (0 if self._started else self.lookback_s)
            argv.append(f"--since=@{int(since)}")
        ran = process.run(argv, timeout, env={**os.environ, "LC_ALL": "C"})
        if not ran.ok:
            return None
        self.since_epoch = called
        lines = []
        for line in ran.text().splitlines():
            if line.startswith("-- cursor: "):
                self.cursor = line[len("-- cursor: ") :].strip()
            elif line.strip() and not line.startswith("-- "):
                lines.append(line)
        return lines, "journalctl -k (after the last cycle's cursor)"

    def _dmesg(self, timeout: float) -> tuple[list[str], str] | None:
        ran = process.run(["dmesg"], timeout, env={**os.environ, "LC_ALL": "C"})
        if not ran.ok:
            return None
        since = self._since_usec()
        lines = []
        for line in ran.text().splitlines():
            mono = parse_line(line).mono
            if mono is None:
                continue
            usec = round(mono * 1_000_000)
            if usec > since:
                lines.append(line)
                self.last_usec = max(self.last_usec, usec)
        return lines, "dmesg (lines after the last cycle's)"


def _when(raw: str, ovs: bool, year: int) -> datetime | None:
    when = parse_ovs_log([raw])[0].when if ovs else parse_line(raw, year).wall
    if when is not None and when.tzinfo is None:
        when = when.astimezone()  # syslog's local time
    return when


@dataclass
class LogFiles:
    """Log files followed from cycle to cycle (see the module)."""

    lookback_s: float = 0.0
    marks: dict[str, Mark] = field(default_factory=dict)
    kernel_from_kmsg: Callable[[], bool] = lambda: False
    settled: bool = False  # past the first cycle: a log that appears now is new, read whole

    def state(self) -> dict[str, Any]:
        return {path: asdict(m) for path, m in self.marks.items()}

    def restore(self, saved: dict[str, Any]) -> None:
        for path, m in saved.items():
            with contextlib.suppress(TypeError, ValueError):
                self.marks[path] = Mark(**m)
        self.settled = True

    def read(self, name: str, files: list[str]) -> list[Evidence]:
        """What is new in each file of one catalogue entry (`tail` collector), keyed like the
        `tail` collector keys it: by its file name, or its path when two share a name."""
        found: list[Evidence] = []
        names: set[str] = set()
        for f in files:
            base = Path(f).name
            ev = self._one(name, f, base if base not in names else f)
            if ev is not None:
                names.add(base)
                found.append(ev)
        if not found:
            found.append(
                Evidence(name, Status.MISSING, source=" ".join(files), error="none of these files exists")
            )
        return found

    def _start(self, fh: Any, size: int, mark: Mark | None) -> tuple[int, bool]:
        """Where to read from, and whether this is the first look at the file (lookback applies)."""
        if mark is None and self.settled:
            return 0, False  # a log that appeared since watching began: all of it is new
        if mark is None:
            return (max(0, size - MAX_READ) if self.lookback_s else size), True
        fh.seek(0)
        head = fh.read(mark.head_len)
        same_content = len(head) == mark.head_len and _digest(head) == mark.head
        if same_content and size >= mark.offset:
            return mark.offset, False  # appended to (or the same content moved back into place)
        return 0, False  # rotated, replaced or truncated: the new content from its start

    def _one(self, name: str, path: str, key: str) -> Evidence | None:
        t0 = time.monotonic()
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            self.marks.pop(path, None)
            return None
        except PermissionError:
            return Evidence(name, Status.DENIED, source=path, key=key, error=f"{path}: permission denied")
        except OSError as exc:
            return Evidence(name, Status.ERROR, source=path, key=key, error=str(exc))
        with fh:
            st = os.fstat(fh.fileno())
            size = st.st_size
            start, first = self._start(fh, size, self.marks.get(path))
            note = ""
            if size - start > MAX_READ:
                note = f"{(size - start - MAX_READ) >> 20} MiB written since the last cycle left unread"
                start = size - MAX_READ
            fh.seek(start)
            data = fh.read(size - start)
            end = data.rfind(b"\n") + 1  # whole lines only
            if start > 0 and (first or note):
                cut = data.find(b"\n") + 1  # drop the line we started inside
                data, end, start = data[cut:end], end - cut, start + cut
            else:
                data = data[:end]
            fh.seek(0)
            head = fh.read(HEAD)
        self.marks[path] = Mark(st.st_ino, st.st_dev, start + end, len(head), _digest(head))
        text = data.decode(errors="replace")
        lines = text.splitlines()
        if first and self.lookback_s:
            lines = self._recent(lines, name)
        if name == "log.kernel" and self.kernel_from_kmsg():
            lines = [ln for ln in lines if not _KERNEL_LINE.match(ln)]  # /dev/kmsg gave them
        return Evidence(
            name,
            Status.OK,
            text="".join(ln + "\n" for ln in lines),
            source=path,
            key=key,
            duration_s=time.monotonic() - t0,
            error=note,
        )

    def _recent(self, lines: list[str], name: str) -> list[str]:
        """The lines of the lookback window (a line without a readable time is left out)."""
        now = datetime.now(UTC)
        year = now.year
        keep = []
        for ln in lines:
            when = _when(ln, name.startswith("ovs."), year)
            if when is not None and (now - when).total_seconds() <= self.lookback_s:
                keep.append(ln)
        return keep
