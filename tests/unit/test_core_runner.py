"""Live collection: a hung command is evidence, and it takes its children with it."""

from __future__ import annotations

import platform
import time
from pathlib import Path

from netsleuth.evidence.collectors import tail
from netsleuth.evidence.model import MAX_TEXT, Status
from netsleuth.evidence.runner import classify, read_file, run


def test_timeout_kills_the_whole_process_group(tmp_path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "child.pid"
    t0 = time.monotonic()
    ev = run("hang", ["sh", "-c", f"sleep 30 & echo $! > {marker}; wait"], timeout=0.5)
    assert ev.status is Status.TIMEOUT and "killed" in ev.error
    assert time.monotonic() - t0 < 5
    child = int(marker.read_text())
    time.sleep(0.1)
    stat = Path(f"/proc/{child}/stat")
    assert not stat.exists() or stat.read_text().split()[2] == "Z"  # gone, or a zombie awaiting reaping


def test_missing_tool_and_failing_command() -> None:
    ev = run("x", ["netsleuth-no-such-tool"], timeout=1)
    assert ev.status is Status.MISSING and "not installed" in ev.error
    ev = run("x", ["sh", "-c", "echo 'ovs-vsctl: database connection failed' >&2; exit 1"], timeout=1)
    assert ev.status is Status.ERROR and "database connection failed" in ev.error


def test_permission_words_mean_denied() -> None:
    assert (
        classify(1, "dmesg: read kernel buffer failed: Operation not permitted\n", "dmesg")[0]
        is Status.DENIED
    )
    assert classify(0, "", "ip")[0] is Status.OK


def test_tail_reads_only_the_end_of_a_large_log(tmp_path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "kern.log"
    line = "Nov 21 05:00:00 host kernel: [    1.000000] filler line\n"
    with log.open("w") as fh:
        fh.write(line * 200_000)  # ~11 MB
        fh.write("Nov 21 05:00:01 host kernel: [    2.000000] the last line\n")
    (ev,) = tail("log.kernel", [str(log), str(tmp_path / "absent")], timeout=1)
    assert ev.ok and ev.key == "kern.log"
    assert ev.text.endswith("the last line\n") and len(ev.text) <= 8 * 1024 * 1024
    assert ev.text.startswith("Nov 21")  # the partial first line was dropped


def test_a_proc_sys_file_is_read_live() -> None:
    """A /proc/sys file answers a single read of 4 MiB or more with ENOMEM (Linux >= 5.8): the
    hostname came back as `[Errno 12] Cannot allocate memory` from every live collection."""
    ev = read_file("hostname", "/proc/sys/kernel/hostname", 5)
    assert ev.status is Status.OK, ev.error
    assert ev.text.strip() == platform.node()


def test_a_file_read_live_is_kept_to_its_cap(tmp_path: Path) -> None:
    big = tmp_path / "big.log"
    with big.open("wb") as fh:
        fh.truncate(MAX_TEXT + 3 * 1024 * 1024)  # sparse: no disk used
    ev = read_file("x", str(big), 5)
    assert ev.status is Status.OK and len(ev.text) == MAX_TEXT and "only the first 16 MiB" in ev.error
