#!/usr/bin/env python3
"""Benchmark: streaming large inputs against the best tool for the job, in the same run.

    .venv/bin/python bench/logs_vs_rg_mawk.py [--log-mb 1024]

A kernel log (kern.log of `--log-mb` MB, real line shapes, a few hundred seed lines spread
through it): netsleuth's log scan (all log patterns at once, as a sosreport diagnosis runs it)
against `rg -c` with the same patterns. (The conntrack table against mawk is
bench/conntrack_vs_mawk.py.)
Prints both times, both counts and the ratio. Not a test: nothing passes or fails.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FILLER = [
    "Nov 21 05:00:{s:02d} compute1 kernel: [{t:12.6f}] IPv6: ADDRCONF(NETDEV_CHANGE): tap{n:x}: link becomes ready",
    "Nov 21 05:00:{s:02d} compute1 kernel: [{t:12.6f}] br-int: port {n}(qvo{n:x}-5e) entered forwarding state",
    "Nov 21 05:00:{s:02d} compute1 kernel: [{t:12.6f}] device tap{n:x} entered promiscuous mode",
    'Nov 21 05:00:{s:02d} compute1 kernel: [{t:12.6f}] audit: type=1400 audit({n}.120:{n}): apparmor="DENIED"',
]
SEEDED = [
    "Nov 21 05:00:{s:02d} compute1 kernel: [{t:12.6f}] nf_conntrack: nf_conntrack: table full, dropping packet",
    "Nov 21 05:00:{s:02d} compute1 kernel: [{t:12.6f}] NETDEV WATCHDOG: ens2f0 (ixgbe): transmit queue 28 timed out",
    "Nov 21 05:00:{s:02d} compute1 kernel: [{t:12.6f}] openvswitch: netlink: Key type 62 is out of range max 22",
]


def make_log(path: Path, mb: int) -> int:
    rnd = random.Random(1)
    seeded = 0
    with path.open("w") as fh:
        size, t, n = 0, 1000.0, 0
        while size < mb * 1024 * 1024:
            n += 1
            t += 0.013
            if n % 50_000 == 0:
                line = SEEDED[n // 50_000 % len(SEEDED)].format(s=n % 60, t=t)
                seeded += 1
            else:
                line = rnd.choice(FILLER).format(s=n % 60, t=t, n=n)
            fh.write(line + "\n")
            size += len(line) + 1
    return seeded


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    out = fn()
    return time.monotonic() - t0, out


def bench_log(mb: int, tmp: Path) -> None:
    from netsleuth.evidence.model import Evidence, Status
    from netsleuth.facts.host import HostInfo
    from netsleuth.facts.logs import patterns, scan

    log = tmp / "kern.log"
    seeded = make_log(log, mb)
    host = HostInfo("6.1.0", 86400.0, None, "debian")

    def ours() -> int:  # as a sosreport's kern.log is read: streamed from disk in blocks
        out: dict = {}  # type: ignore[type-arg]
        ev = Evidence("log.kernel", Status.OK, source=str(log), path=log)
        scan(ev.chunks(), "kernel", str(log), host, out)
        return sum(es.count for es in out.values())

    t_ours, n_ours = timed(ours)
    kernel = [p.regex.pattern for p in patterns() if "kernel" in p.logs]
    rg = shutil.which("rg")
    if rg:
        args = [rg, "-c", "--no-filename"]
        for pat in kernel:
            args += ["-e", re.sub(r"\(\?P<[^>]+>", "(", pat)]  # rg refuses a group name used twice
        t_rg, out = timed(lambda: subprocess.run([*args, str(log)], capture_output=True, text=True).stdout)
        if not out.strip():
            sys.exit(f"bench: rg failed on the patterns: {' '.join(args[:6])} ...")
        n_rg = int(out.strip())
        print(
            f"kernel log {mb} MB:  netsleuth {t_ours:6.2f} s ({n_ours} events)   rg {t_rg:6.2f} s ({n_rg} lines)"
            f"   ratio {t_ours / t_rg:5.1f}x slower   (seeded lines: {seeded})"
        )
    else:
        print(f"kernel log {mb} MB:  netsleuth {t_ours:6.2f} s ({n_ours} events); ripgrep not installed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log-mb", type=int, default=1024)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nsl-bench-") as d:
        bench_log(a.log_mb, Path(d))


if __name__ == "__main__":
    sys.exit(main())
