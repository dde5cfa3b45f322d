#!/usr/bin/env python3
"""Benchmark: `netsleuth diagnose` against `sos report` on the same host, in the same run.

    sudo .venv/bin/python bench/diagnose_vs_sos.py            # this host, 600 interfaces, hung OVS
    sudo .venv/bin/python bench/diagnose_vs_sos.py --quick    # skip sos on the 600-interface namespace (~3 min)

Prints wall times and ratios. A benchmark, not a test: nothing here passes or fails.
Targets (issue 2): whole diagnosis <= 0.25x sos's collection time; 600 interfaces in under 3 s;
with ovs-vswitchd stopped by SIGSTOP the diagnosis returns within one command timeout plus the
counter sample. Touches only a namespace and an Open vSwitch it creates, and removes them.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

NETSLEUTH = [sys.executable, "-m", "netsleuth.cli"]


def timed(argv: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> tuple[float, int]:
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    return time.monotonic() - t0, p.returncode


def sos(args: list[str]) -> float:
    with tempfile.TemporaryDirectory(prefix="nsl-bench-sos-") as tmp:
        took, rc = timed(["sos", "report", "--batch", "--build", "--tmp-dir", tmp, *args])
        if rc != 0:
            print(f"  sos report exited {rc}")
        return took


def row(label: str, ours: float, theirs: float | None, target: str) -> None:
    ratio = f"{ours / theirs:6.3f}x" if theirs else "   n/a "
    other = f"{theirs:8.2f} s" if theirs else "     n/a  "
    print(f"{label:42} netsleuth {ours:6.2f} s   sos {other}   ratio {ratio}   ({target})")


def bench_host() -> None:
    ours, _ = timed([*NETSLEUTH, "diagnose", "--no-probes", "--format", "json", "-q"])
    bare, _ = timed([*NETSLEUTH, "diagnose", "--no-probes", "--format", "json", "-q", "--interval", "0"])
    theirs = sos(["-o", "networking,openvswitch"]) if shutil.which("sos") else None
    row("this host (networking,openvswitch)", ours, theirs, "target <= 0.25x")
    row("  same, --interval 0 (no counter rates)", bare, theirs, "collection cost alone")


def bench_600(quick: bool) -> None:
    ns = f"nslb{secrets.token_hex(2)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        script = "".join(f"link add bv{i}a type veth peer name bv{i}b\n" for i in range(300))
        subprocess.run(["ip", "-n", ns, "-batch", "-"], input=script, text=True, check=True)
        ours, _ = timed([*NETSLEUTH, "diagnose", "--netns", ns, "--no-probes", "--format", "json", "-q"])
        theirs = None
        if not quick and shutil.which("sos"):
            theirs = sos(["-o", "networking", "-k", f"networking.namespace_pattern={ns}"])
        row("namespace with 300 veth pairs (600 ifs)", ours, theirs, "target < 3 s")
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def bench_hung_ovs(timeout: float, interval: float) -> None:
    try:
        from netsleuth.lab import Lab  # the lab's private Open vSwitch
    except ImportError:
        print("hung ovs-vswitchd: skipped (netsleuth.lab not available)")
        return
    with Lab() as lab:
        ovs = lab.ovs(netns=lab.netns("hv"))  # its bridges' devices live in a lab namespace
        ovs.bridge("br-int")
        ovs.pause_vswitchd()
        env = {**os.environ, **ovs.env}
        ours, rc = timed(
            [
                *NETSLEUTH,
                "diagnose",
                "--no-probes",
                "--format",
                "json",
                "-q",
                "--timeout",
                str(timeout),
                "--interval",
                str(interval),
            ],
            env=env,
        )
        ovs.resume_vswitchd()
    bound = timeout + interval
    print(
        f"{'ovs-vswitchd stopped by SIGSTOP':42} netsleuth {ours:6.2f} s   exit {rc}   "
        f"(target <= timeout + sample = {bound:.1f} s, plus start-up)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip sos on the 600-interface namespace")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root (namespaces, sos report)")
    print(f"netsleuth vs sos report — {os.uname().nodename}, {os.cpu_count()} CPUs")
    bench_host()
    bench_600(args.quick)
    bench_hung_ovs(2.0, 1.0)


if __name__ == "__main__":
    main()
