#!/usr/bin/env python3
"""Benchmark: the topology picture and the HTML report of big hosts, built for real.

    sudo .venv/bin/python bench/picture.py [--namespaces 300] [--keep DIR]

Builds, in namespaces it creates (and removes): (1) one namespace holding 300 veth pairs (600
interfaces) on a Linux bridge, and (2) a "compute node": a hub namespace with a Linux bridge and
300 namespaces each joined to it by a veth pair (300 namespaces, 600 interfaces). Collects each
with `netsleuth collect`, then times, in this process, what the picture costs from the collected
evidence (topology fact + grouping + graphviz layout + SVG), and writes `diagnose --format html` of
the bundle and prints its size.

Targets (issue 12): the picture of 600 interfaces in <= 1 s on this machine; the HTML report of the
300-namespace host under 5 MB. A benchmark, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NETSLEUTH = [sys.executable, "-m", "netsleuth.cli"]


def ip_batch(lines: list[str], netns: str | None = None) -> None:
    argv = ["ip", *(["-n", netns] if netns else []), "-batch", "-"]
    subprocess.run(argv, input="".join(f"{ln}\n" for ln in lines), text=True, check=True)


def one_namespace(prefix: str, pairs: int) -> list[str]:
    """600 interfaces in one namespace: `pairs` veth pairs, one end of each on bridge br0."""
    ns = f"{prefix}-one"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    lines = ["link add br0 type bridge", "link set br0 up"]
    for i in range(pairs):
        lines += [
            f"link add bv{i}a type veth peer name bv{i}b",
            f"link set bv{i}a master br0 up",
            f"link set bv{i}b up",
        ]
    ip_batch(lines, ns)
    return [ns]


def many_namespaces(prefix: str, count: int) -> list[str]:
    """A hub namespace with bridge br0 and `count` namespaces, each joined by a veth pair."""
    hub = f"{prefix}-hub"
    names = [f"{prefix}-c{i}" for i in range(count)]
    ip_batch([f"netns add {n}" for n in [hub, *names]])
    lines = ["link add br0 type bridge", "link set br0 up"]
    for i, n in enumerate(names):
        lines += [f"link add vc{i} type veth peer name eth0 netns {n}", f"link set vc{i} master br0 up"]
    ip_batch(lines, hub)
    for n in names:
        ip_batch(["link set eth0 up"], n)
    return [hub, *names]


def remove(names: list[str]) -> None:
    if names:
        subprocess.run(["ip", "-batch", "-"], input="".join(f"netns del {n}\n" for n in names), text=True)


def collect(names: list[str], out: Path) -> float:
    argv = [*NETSLEUTH, "collect", "-q", "-o", str(out), "--interval", "0"]
    for n in names:
        argv += ["--netns", n]
    t0 = time.monotonic()
    subprocess.run(argv, check=True, capture_output=True)
    return time.monotonic() - t0


def picture_seconds(bundle: Path, repeat: int = 3) -> tuple[float, float, int, int, str]:
    """Best of `repeat`: the topology fact, grouping, layout and SVG from the collected evidence
    with the interfaces already parsed (as in `diagnose`, where the rules parsed them), and the
    same with the parsing included."""
    from netsleuth.analysis import analyse_facts
    from netsleuth.evidence.source import open_source
    from netsleuth.facts.network import AllLinks, Links
    from netsleuth.facts.store import FactStore
    from netsleuth.report.picture import report_picture

    best = cold = float("inf")
    nodes = edges = 0
    engine = ""
    with open_source(bundle, None, True) as b:
        report, facts = analyse_facts(b)
        for _ in range(repeat):
            fresh = FactStore(b, facts.netns)
            t0 = time.monotonic()
            for ns in b.scopes():
                fresh.scope(ns).maybe(Links)
            fresh.maybe(AllLinks)
            t1 = time.monotonic()
            pic = report_picture(fresh, report)
            t2 = time.monotonic()
            best, cold = min(best, t2 - t1), min(cold, t2 - t0)
            nodes, edges, engine = len(pic.view.nodes), len(pic.view.edges), pic.engine
    return best, cold, nodes, edges, engine


def html_size(bundle: Path, out: Path) -> tuple[int, float]:
    t0 = time.monotonic()
    subprocess.run(
        [*NETSLEUTH, "diagnose", str(bundle), "--all-netns", "--format", "html", "-o", str(out)],
        capture_output=True,
    )
    return out.stat().st_size, time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--namespaces", type=int, default=300)
    ap.add_argument("--keep", type=Path, help="keep the bundles and HTML reports in DIR")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/picture.py needs root (it creates network namespaces)")
    prefix = f"nslp{secrets.token_hex(2)}"
    with tempfile.TemporaryDirectory(prefix="nsl-bench-pic-") as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        for label, build in (
            (
                f"{args.namespaces} veth pairs in one namespace",
                lambda: one_namespace(prefix, args.namespaces),
            ),
            (f"{args.namespaces} namespaces on one bridge", lambda: many_namespaces(prefix, args.namespaces)),
        ):
            names: list[str] = []
            try:
                names = build()
                bundle = out / f"{names[0]}.tar.gz"
                took = collect(names, bundle)
                secs, cold, nodes, edges, engine = picture_seconds(bundle)
                size, html_s = html_size(bundle, out / f"{names[0]}.html")
                print(f"{label}: collect {took:.1f} s")
                print(
                    f"  picture {secs:.2f} s ({cold:.2f} s with parsing `ip link`; {engine}; "
                    f"{nodes} nodes, {edges} edges drawn)   target <= 1 s"
                )
                print(f"  diagnose --format html: {size / 1e6:.2f} MB in {html_s:.1f} s   target < 5 MB")
            finally:
                remove(names)


if __name__ == "__main__":
    main()
