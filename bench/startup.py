#!/usr/bin/env python3
"""Benchmark: how long `netsleuth --version` and `netsleuth rules list` take, best of N.

    .venv/bin/python bench/startup.py [--repeat 10]

Each command runs as a new process, as a user types it. Two conditions:
- "bytecode cached": as an installed package runs (pip writes the .pyc files at install time);
  the cache lives in a private directory (PYTHONPYCACHEPREFIX), warmed by one untimed run.
- "PYTHONDONTWRITEBYTECODE": what a source checkout run with that variable set pays: netsleuth's
  own modules are compiled from source on every run (unless a __pycache__ was left by an earlier
  run without it); the libraries keep the .pyc files pip wrote.
`python -c pass` is printed alongside: the interpreter's own floor in the same run.
Also prints the ten slowest imports of `rules list` (`python -X importtime`, cumulative).
Not a test: nothing passes or fails (target: <= 0.15 s with the bytecode cached).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ENTRY = "import sys; sys.argv[0] = 'netsleuth'; from netsleuth.cli import main; main()"
COMMANDS = {"--version": ["--version"], "rules list": ["rules", "list"]}


def best_of(argv: list[str], env: dict[str, str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        best = min(best, time.perf_counter() - t0)
    return best


def slowest_imports(env: dict[str, str], n: int = 10) -> list[tuple[float, str]]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", ENTRY, "rules", "list"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(2)) <= 1:  # top-level imports only (their cumulative time)
            rows.append((int(m.group(1)) / 1e6, m.group(3)))
    return sorted(rows, reverse=True)[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=10)
    a = ap.parse_args()
    base = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    }
    with tempfile.TemporaryDirectory(prefix="nsl-pyc-") as cache:
        cached = {**base, "PYTHONPYCACHEPREFIX": cache}
        nocache = {**base, "PYTHONDONTWRITEBYTECODE": "1"}
        subprocess.run([sys.executable, "-c", ENTRY, "rules", "list"], env=cached, capture_output=True)
        floor = best_of([sys.executable, "-c", "pass"], cached, a.repeat)
        print(f"python -c pass: {floor:.3f} s (the interpreter's floor)")
        print(
            f"{'command':12} {'bytecode cached':>16} {'PYTHONDONTWRITEBYTECODE':>24}   (best of {a.repeat})"
        )
        for label, args in COMMANDS.items():
            argv = [sys.executable, "-c", ENTRY, *args]
            print(
                f"{label:12} {best_of(argv, cached, a.repeat):14.3f} s {best_of(argv, nocache, a.repeat):22.3f} s"
            )
        print("slowest top-level imports of `rules list` (cumulative, bytecode cached):")
        for secs, mod in slowest_imports(cached):
            print(f"  {secs:6.3f} s  {mod}")


if __name__ == "__main__":
    sys.exit(main())
