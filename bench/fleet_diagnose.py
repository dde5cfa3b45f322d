#!/usr/bin/env python3
"""Benchmark: `netsleuth fleet diagnose` over 300 hosts' bundles.

    sudo .venv/bin/python bench/fleet_diagnose.py                 # collect 4 real lab bundles, make 300
    .venv/bin/python bench/fleet_diagnose.py --from DIR [--hosts N] # or start from bundles you have

The 300 bundles are synthesised from real ones: a four-host lab VXLAN fleet (netsleuth.lab.vxlan_fleet,
one `netsleuth collect` inside each namespace host), copied 75 times with hostnames, addresses and MAC
addresses renamed so that every copy of four is a mesh of its own. Prints the wall time and the peak
memory (resident set of the whole process tree, sampled, and the largest single process), and, for
scale, the same bundles diagnosed one by one with `netsleuth diagnose` two at a time (a sample,
extrapolated). Targets (issue 10): <= 60 s and <= 500 MB on the 2-core test machine.
A benchmark, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from netsleuth.evidence.bundle import write_bundle
from netsleuth.evidence.source import open_source

NETSLEUTH = [sys.executable, "-m", "netsleuth.cli"]
MAC = re.compile(r"\b([0-9a-f]{2})((?::[0-9a-f]{2}){5})\b")
PREFIXES = ("10.99.200.", "10.98.200.")  # the lab fleet's underlay and overlay


def lab_bundles(dest: Path) -> list[Path]:
    """Four real bundles: a healthy lab VXLAN fleet, one `netsleuth collect` inside each host."""
    from netsleuth.lab import Lab
    from netsleuth.lab.scenario import settle
    from netsleuth.lab.vxlan_fleet import VxlanFleetSpec, build_vxlan_fleet

    out = []
    with Lab("bench-fleet") as lab:
        hosts = build_vxlan_fleet(lab, VxlanFleetSpec())
        settle(lab)

        def collect(h: object) -> Path:
            path = dest / f"{h.name}.tar.gz"  # type: ignore[attr-defined]
            argv = ["ip", "netns", "exec", h.ns.name, *NETSLEUTH, "collect", "-q", "-o", str(path)]  # type: ignore[attr-defined]
            subprocess.run(argv, check=True, capture_output=True, timeout=120)
            return path

        with ThreadPoolExecutor(len(hosts)) as pool:
            out = list(pool.map(collect, hosts))
    return out


def renamer(k: int, group: int) -> tuple[dict[str, str], Callable[[re.Match[str]], str]]:
    prefixes = {p: f"10.{(90 + i) + group // 256 * 2}.{group % 256}." for i, p in enumerate(PREFIXES)}

    def mac(m: re.Match[str]) -> str:
        first = int(m.group(1), 16)
        if first & 1 or m.group(0) in ("00:00:00:00:00:00",):
            return m.group(0)  # multicast, broadcast, the flooding entry
        rest = m.group(2)[6:]  # keep the last three bytes: unique within one source bundle
        return f"02:{k >> 8:02x}:{k & 0xFF:02x}{rest}"

    return prefixes, mac


def synthesise(sources: list[Path], count: int, dest: Path) -> None:
    per = len(sources)
    for k in range(count):
        src = sources[k % per]
        prefixes, mac = renamer(k, k // per)
        with open_source(src) as b:
            b.hostname = f"node{k:03d}"
            for ev in b.items:
                text = ev.content()
                for old, new in prefixes.items():
                    text = text.replace(old, new)
                ev.text = MAC.sub(mac, text)
                ev.path = None
                if ev.later is not None:
                    later = ev.later
                    for old, new in prefixes.items():
                        later = later.replace(old, new)
                    ev.later = MAC.sub(mac, later)
            write_bundle(b, dest / f"node{k:03d}.tar.gz")


def tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants, now."""
    kids: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            kids.setdefault(int(fields[1]), []).append(int(d.name))
            rss[int(d.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += kids.get(p, [])
    return total


def run_measured(argv: list[str]) -> tuple[float, int, int, subprocess.CompletedProcess[str]]:
    """Wall time, peak summed RSS of the tree (sampled every 20 ms) and exit of one command."""
    peak = 0
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.02)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    took = time.monotonic() - t0
    stop.set()
    t.join()
    return took, peak, proc.returncode, subprocess.CompletedProcess(argv, proc.returncode, out, err)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="source", type=Path, help="a directory of bundles to start from")
    ap.add_argument("--hosts", type=int, default=300)
    ap.add_argument("--sample", type=int, default=20, help="bundles diagnosed one by one, for scale")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nsl-bench-fleet-") as tmp:
        work = Path(tmp)
        if args.source:
            sources = sorted(args.source.glob("*.tar.gz"))
        elif os.geteuid() == 0:
            (work / "lab").mkdir()
            sources = lab_bundles(work / "lab")
        else:
            sys.exit("needs root to collect lab bundles, or --from DIR of bundles")
        fleet = work / "fleet"
        fleet.mkdir()
        t0 = time.monotonic()
        synthesise(sources, args.hosts, fleet)
        size = sum(p.stat().st_size for p in fleet.iterdir())
        print(f"synthesised {args.hosts} bundles from {len(sources)} real ones in {time.monotonic() - t0:.1f} s "
              f"({size / 1e6:.1f} MB)")  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        took, peak, rc, p = run_measured([*NETSLEUTH, "fleet", "diagnose", str(fleet), "--format", "json"])
        largest = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024
        rep = json.loads(p.stdout) if p.stdout else {}
        ok = sum(1 for h in rep.get("hosts", []) if h["status"] == "ok")
        cross = [f"{f['id']} {f['subject']}" for f in rep.get("findings", []) if f["severity"] != "info"]
        print(f"fleet diagnose, {args.hosts} hosts, {os.cpu_count()} CPUs: {took:.1f} s (target <= 60 s), "
              f"peak RSS of the process tree {peak / 2**20:.0f} MB (target <= 500 MB), "
              f"largest single process {largest / 2**20:.0f} MB; exit {rc}, {ok} hosts analysed, "
              f"{len(cross)} cross-host findings at warning or above")  # fmt: skip
        if p.returncode not in (0, 1, 2):
            print("  stderr:", p.stderr[-500:])
        sample = sorted(fleet.iterdir())[: args.sample]
        t1 = time.monotonic()
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            list(
                pool.map(
                    lambda b: subprocess.run(
                        [*NETSLEUTH, "diagnose", str(b), "--format", "json"], capture_output=True
                    ),
                    sample,
                )
            )
        one_by_one = (time.monotonic() - t1) * args.hosts / max(1, len(sample))
        print(f"`netsleuth diagnose` per bundle, {os.cpu_count()} at a time: {one_by_one:.1f} s for {args.hosts} "
              f"(extrapolated from {len(sample)}); fleet diagnose takes {took / one_by_one:.2f}x that, "
              "and adds the cross-host rules")  # fmt: skip


if __name__ == "__main__":
    main()
