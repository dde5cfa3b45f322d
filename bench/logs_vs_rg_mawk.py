#!/usr/bin/env python3
"""Benchmark: a sosreport with a very large kern.log, whole diagnosis against ripgrep, in the same run.

    .venv/bin/python bench/logs_vs_rg_mawk.py [--log-mb 1024] [--engines] [--repeat 3]

A sosreport whose kern.log is `--log-mb` MB (real line shapes, a few hundred seed lines spread
   through it), laid over a real compute node's report (../shared/external/hotsos-data, else a
   minimal report): the whole `netsleuth diagnose` command, every rule, against `rg -c` with the
   kernel-log patterns over the same file. `--engines` also times the log scan alone with each
   prefilter engine (hyperscan, ripgrep, Python).
The conntrack histogram against mawk is bench/conntrack_vs_mawk.py.
Prints both times, both counts and the ratio. Not a test: nothing passes or fails.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
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


def _sosreport(tmp: Path) -> Path:
    """A real compute node's report (hotsos's openstack root), its kern.log to be replaced."""
    root = tmp / "sosreport-compute1"
    real = (
        Path(__file__).resolve().parents[1]
        / ".."
        / "shared"
        / "external"
        / "hotsos-data"
        / "roots"
        / "openstack"
    )
    if real.is_dir():
        shutil.copytree(real, root)
    else:
        (root / "sos_commands" / "kernel").mkdir(parents=True)
        (root / "sos_commands" / "kernel" / "uname_-a").write_text(
            "Linux compute1 6.1.0 #1 SMP x86_64 GNU/Linux\n"
        )
    (root / "var" / "log").mkdir(parents=True, exist_ok=True)
    return root


def bench_log(mb: int, tmp: Path, engines: bool, repeat: int) -> None:
    from netsleuth.evidence.linescan import available
    from netsleuth.evidence.model import Bundle, Evidence, Status
    from netsleuth.facts.host import HostInfo
    from netsleuth.facts.logs import patterns, scan_logs

    root = _sosreport(tmp)
    log = root / "var" / "log" / "kern.log"
    seeded = make_log(log, mb)
    netsleuth = Path(sys.executable).with_name("netsleuth")
    cmd = [str(netsleuth), "diagnose", str(root), "--format", "json", "-o", str(tmp / "report.json")]
    subprocess.run(cmd, capture_output=True)  # warm the page cache and the bytecode
    import resource

    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # netsleuth and its rg only
    import json

    report = json.loads((tmp / "report.json").read_text())
    kernel = [p.regex.pattern for p in patterns() if "kernel" in p.logs]
    rg = shutil.which("rg")
    if rg:
        args = [rg, "-c", "--no-filename"]
        for pat in kernel:
            args += ["-e", re.sub(r"\(\?P<[^>]+>", "(", pat)]  # rg refuses a group name used twice
        ours, theirs = [], []
        for _ in range(repeat):  # alternately: on a shared machine one run mostly measures the neighbours
            t, proc = timed(lambda: subprocess.run(cmd, capture_output=True, text=True))
            if proc.returncode not in (0, 1, 2):
                sys.exit(f"bench: netsleuth failed: {proc.stderr.strip()}")
            ours.append(t)
            t, out = timed(lambda: subprocess.run([*args, str(log)], capture_output=True, text=True).stdout)
            theirs.append(t)
        t_ours, t_rg = min(ours), min(theirs)
        if not out.strip():
            sys.exit(f"bench: rg failed on the patterns: {' '.join(args[:6])} ...")
        n_rg = int(out.strip())
        print(
            f"sosreport with a {mb} MB kern.log, whole diagnosis ({len(report['checks'])} checks, "
            f"{len(report['findings'])} findings):  netsleuth {t_ours:6.2f} s   rg {t_rg:6.2f} s ({n_rg} lines)"
            f"   ratio {t_ours / t_rg:5.1f}x   (seeded lines: {seeded}; best of {repeat}, medians "
            f"{statistics.median(ours):.2f} s and {statistics.median(theirs):.2f} s; netsleuth's peak RSS "
            f"{rss_mb:.0f} MB)"
        )
    else:
        t_ours, _ = timed(lambda: subprocess.run(cmd, capture_output=True))
        print(f"sosreport with a {mb} MB kern.log: netsleuth {t_ours:6.2f} s; ripgrep not installed")
    if engines:
        b = Bundle("bench")
        b.add(Evidence("log.kernel", Status.OK, source=str(log), key="kern.log", path=log))
        host = HostInfo("6.1.0", 86400.0, None, "debian")
        for engine in available():
            t, found = timed(lambda e=engine: scan_logs(b, host, e))
            print(
                f"  log scan alone, {engine:9s} {t:6.2f} s ({sum(es.count for es in found.events.values())} events)"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log-mb", type=int, default=1024)
    ap.add_argument("--engines", action="store_true", help="also time the log scan alone with each engine")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each tool (alternately): best and median")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nsl-bench-") as d:
        bench_log(a.log_mb, Path(d), a.engines, a.repeat)


if __name__ == "__main__":
    sys.exit(main())
