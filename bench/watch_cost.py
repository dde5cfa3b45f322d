#!/usr/bin/env python3
"""Benchmark: what `netsleuth watch` costs this host, beside node_exporter measured in the same run.

    sudo .venv/bin/python bench/watch_cost.py            # 30-s interval, 10 minutes (20 cycles)
    sudo .venv/bin/python bench/watch_cost.py --quick    # 3-s interval, 20 cycles (~1 minute)

Starts `netsleuth watch` on this host (passive: no probes; /metrics on 127.0.0.1, its textfile
in a temporary folder) and Debian's `prometheus-node-exporter` on 127.0.0.1 reading that textfile,
scrapes both every 15 s (3 s with --quick) as Prometheus would, and prints for each process:
average CPU in % of one core (its own time and that of the commands it ran and waited for),
peak RSS, and open files and RSS after the 2nd and the 20th cycle. Targets (issue 11): average CPU
<= 1% of one core, peak RSS <= 100 MB, no growth in open files or memory between the 2nd and the
20th cycle. A benchmark, not a test: nothing here passes or fails. Both processes are stopped by
pid at the end, also on failure.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    marks: dict[int, tuple[int, int]] = field(default_factory=dict)  # cycle -> (open files, RSS kB)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu_s(self) -> float:
        """utime + stime, and those of its waited-for children (cutime + cstime)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICK

    def status(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def mark(self, cycle: int) -> None:
        self.marks[cycle] = (len(os.listdir(f"/proc/{self.pid}/fd")), self.status("VmRSS"))

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait()


def scrape(url: str) -> None:
    with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as r:
        r.read()


def cycles(textfile: Path) -> int:
    with contextlib.suppress(OSError):
        for line in textfile.read_text().splitlines():
            if line.startswith("netsleuth_cycles_total "):
                return int(float(line.split()[1]))
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3-s interval, 20 cycles")
    ap.add_argument("--cycles", type=int, default=20)
    args = ap.parse_args()
    interval = 3.0 if args.quick else 30.0
    scrape_every = 3.0 if args.quick else 15.0
    exporter = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    if exporter is None:
        sys.exit("needs prometheus-node-exporter (scripts/install-system-deps.sh)")
    with tempfile.TemporaryDirectory(prefix="nsl-bench-watch-") as tmp:
        folder = Path(tmp)
        textdir = folder / "textfile"
        textdir.mkdir()
        wport, nport = free_port(), free_port()
        procs: list[Proc] = []
        try:
            watch = subprocess.Popen(
                [
                    sys.executable, "-m", "netsleuth.cli", "watch", "--interval", f"{interval:g}",
                    "--events", str(folder / "events.jsonl"), "--textfile", str(textdir),
                    "--listen", f"127.0.0.1:{wport}", "--keep", str(folder / "keep"),
                ],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=(folder / "watch.err").open("wb"),
                start_new_session=True,
            )  # fmt: skip
            procs.append(Proc("netsleuth watch", watch))
            node = subprocess.Popen(
                [exporter, f"--web.listen-address=127.0.0.1:{nport}", f"--collector.textfile.directory={textdir}"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=(folder / "node.err").open("wb"),
                start_new_session=True,
            )  # fmt: skip
            procs.append(Proc("node_exporter", node))
            time.sleep(1)
            start = time.monotonic()
            cpu0 = {p.name: p.cpu_s() for p in procs}
            next_scrape = start
            marked: set[int] = set()
            deadline = start + interval * (args.cycles + 2) + 120
            print(
                f"watch every {interval:g} s, scraped every {scrape_every:g} s, until cycle {args.cycles} ..."
            )
            while time.monotonic() < deadline:
                if any(p.popen.poll() is not None for p in procs):
                    sys.exit(f"a process ended early: {(folder / 'watch.err').read_text()[-500:]}")
                if time.monotonic() >= next_scrape:
                    scrape(f"http://127.0.0.1:{wport}/metrics")
                    scrape(f"http://127.0.0.1:{nport}/metrics")
                    next_scrape += scrape_every
                n = cycles(textdir / "netsleuth.prom")
                for want in (2, args.cycles):
                    if n >= want and want not in marked:
                        marked.add(want)
                        for p in procs:
                            p.mark(want)
                if n >= args.cycles:
                    break
                time.sleep(0.2)
            wall = time.monotonic() - start
            cpu = {p.name: p.cpu_s() - cpu0[p.name] for p in procs}
            peak = {p.name: p.status("VmHWM") for p in procs}
            print(f"\n{cycles(textdir / 'netsleuth.prom')} cycles in {wall:.0f} s\n")
            print(
                f"{'process':18} {'CPU % of a core':>16} {'peak RSS':>10}   {'cycle 2: files, RSS':>22}   {'cycle ' + str(args.cycles) + ': files, RSS':>22}"
            )
            for p in procs:
                f2, r2 = p.marks.get(2, (0, 0))
                fn, rn = p.marks.get(args.cycles, (0, 0))
                print(
                    f"{p.name:18} {100 * cpu[p.name] / wall:15.2f}% {peak[p.name] / 1024:8.1f} MB"
                    f"   {f2:8} files {r2 / 1024:6.1f} MB   {fn:8} files {rn / 1024:6.1f} MB"
                )
            w = procs[0]
            f2, r2 = w.marks.get(2, (0, 0))
            fn, rn = w.marks.get(args.cycles, (0, 0))
            share = 100 * cpu["netsleuth watch"] / wall
            print("\ntargets (netsleuth watch):")
            print(f"  average CPU {share:.2f}% of one core (<= 1%): {'met' if share <= 1 else 'NOT met'}")
            print(
                f"  peak RSS {peak['netsleuth watch'] / 1024:.1f} MB (<= 100 MB): {'met' if peak['netsleuth watch'] <= 100 * 1024 else 'NOT met'}"
            )
            grew_files, grew_rss = fn - f2, (rn - r2) / 1024
            steady = grew_files <= 0 and grew_rss <= 2.0  # RSS within allocator noise (2 MB)
            print(
                f"  cycle 2 -> {args.cycles}: open files {grew_files:+d}, RSS {grew_rss:+.1f} MB (no growth): {'met' if steady else 'NOT met'}"
            )
            ratio = cpu["netsleuth watch"] / cpu["node_exporter"] if cpu["node_exporter"] else float("inf")
            print(f"  CPU vs node_exporter in the same run: {ratio:.1f}x")
        finally:
            for p in procs:
                p.stop()


if __name__ == "__main__":
    main()
