#!/usr/bin/env python3
"""Benchmark: the conntrack state histogram against seed 001's mawk one-liner, in the same run.

    .venv/bin/python bench/conntrack_vs_mawk.py [--entries 2000000] [--repeat 3]

A table of `--entries` lines in /proc/net/nf_conntrack's format (IPv4 TCP, ~90% ESTABLISHED, the
rest spread over other states): netsleuth's histogram (`parse_histogram_blocks`, what
`conntrack.states` does with a sosreport's table on disk; the live collector runs the same
`count_states_blocks` over /proc/net/nf_conntrack) against
`mawk '/^.*tcp.*$/ {count[$6]++} END {...}'` (seed 001). Both run `--repeat` times, alternately;
prints the best time of each, the ratio, and whether the two histograms are the same.
Not a test: nothing passes or fails (target: <= 1.0x).
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STATES = ["ESTABLISHED"] * 90 + ["TIME_WAIT"] * 6 + ["CLOSE_WAIT", "SYN_SENT", "FIN_WAIT", "LAST_ACK"]
SEED_001 = "/^.*tcp.*$/ {count[$6]++} END {for(state in count) print state,count[state]}"


def make_table(path: Path, entries: int) -> None:
    rnd = random.Random(2)
    with path.open("w") as fh:
        for i in range(entries):
            st = rnd.choice(STATES)
            fh.write(
                f"ipv4     2 tcp      6 {rnd.randint(1, 432000)} {st} src=10.0.{i >> 8 & 255}.{i & 255} "
                f"dst=10.1.0.{i % 250} sport={1024 + i % 60000} dport=443 src=10.1.0.{i % 250} "
                f"dst=10.0.{i >> 8 & 255}.{i & 255} sport=443 dport={1024 + i % 60000} [ASSURED] mark=0 zone=0 use=2\n"
            )


def ours(table: Path) -> dict[str, int]:
    from netsleuth.parsers.conntrack import parse_histogram_blocks

    with table.open("rb", buffering=0) as fh:
        return parse_histogram_blocks(iter(lambda: fh.read(256 * 1024), b"")).counts


def theirs(awk: str, table: Path) -> dict[str, int]:
    out = subprocess.run([awk, SEED_001, str(table)], capture_output=True, text=True, check=True).stdout
    return {state: int(n) for state, n in (line.split() for line in out.splitlines())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    awk = shutil.which("mawk") or shutil.which("awk")
    if awk is None:
        sys.exit("bench: neither mawk nor awk is installed")
    with tempfile.TemporaryDirectory(prefix="nsl-bench-") as d:
        table = Path(d) / "nf_conntrack"
        make_table(table, a.entries)
        best = {"netsleuth": float("inf"), Path(awk).name: float("inf")}
        counts: dict[str, dict[str, int]] = {}
        for _ in range(a.repeat):
            for label, fn in (
                ("netsleuth", lambda: ours(table)),
                (Path(awk).name, lambda: theirs(awk, table)),
            ):
                t0 = time.perf_counter()
                counts[label] = fn()
                best[label] = min(best[label], time.perf_counter() - t0)
        (t_ours, t_awk), (c_ours, c_awk) = best.values(), counts.values()
        print(
            f"conntrack table, {a.entries} entries ({table.stat().st_size / 1e6:.0f} MB), best of {a.repeat}:  "
            f"netsleuth {t_ours:.2f} s   {Path(awk).name} {t_awk:.2f} s   ratio {t_ours / t_awk:.2f}x   "
            f"ESTABLISHED {c_ours.get('ESTABLISHED')} / {c_awk.get('ESTABLISHED')}   "
            f"histograms {'the same' if c_ours == c_awk else 'DIFFER'}"
        )


if __name__ == "__main__":
    sys.exit(main())
