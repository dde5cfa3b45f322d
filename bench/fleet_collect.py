"""`netsleuth fleet collect` over 10 lab hosts with --forks 10: the whole run end to end, beside a
single host's collection on its own (the zipapp run in the host's namespace, no Ansible), so
Ansible's own overhead is visible. Target: <= 30 s end to end.

    sudo .venv/bin/python bench/fleet_collect.py [--hosts 10] [--forks 10] [--repeat 3]

Run it under the integration lock when other lab tests may run:
    flock /tmp/netsleuth-integration.lock .venv/bin/python bench/fleet_collect.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from netsleuth.lab import Lab, LabUnavailable
from netsleuth.lab.fleet import HOST_PYTHON, FleetSpec, build_fleet
from netsleuth.lab.scenario import settle
from netsleuth.lab.vxlan_fleet import VxlanFleetSpec
from netsleuth.remote.zipapp import build_zipapp

TARGET_S = 30.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=10)
    ap.add_argument("--forks", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    try:
        lab = Lab("bench-fleet-collect").__enter__()
    except LabUnavailable as exc:
        print(f"skipped: {exc}")
        return 0
    try:
        fl = build_fleet(lab, FleetSpec(VxlanFleetSpec(hosts=args.hosts)))
        settle(lab)
        with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
            pyz = build_zipapp(Path(tmp) / "netsleuth-collect.pyz")
            single, whole, per_host = [], [], []
            for i in range(args.repeat):
                t = time.monotonic()
                one = subprocess.run(
                    ["ip", "netns", "exec", fl.hosts[0].ns.name, HOST_PYTHON, "-I", str(pyz), "collect", "-q", "-o",
                     f"{tmp}/single{i}.tar.gz"],
                    capture_output=True, text=True, timeout=120, check=False,
                )  # fmt: skip
                single.append(time.monotonic() - t)
                assert one.returncode == 0, one.stderr
                out = Path(tmp) / f"run{i}"
                t = time.monotonic()
                argv = fl.argv(sys.executable, "-m", "netsleuth.cli", "fleet", "collect", "-i", str(fl.inventory),
                               "-o", str(out), "--forks", str(args.forks), "--collector", str(pyz), "--format", "json")  # fmt: skip
                r = subprocess.run(
                    argv,
                    env={**os.environ, **fl.env},
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
                whole.append(time.monotonic() - t)
                doc = json.loads((out / "fleet-collect.json").read_text())
                bad = {n: h["status"] for n, h in doc["hosts"].items() if h["status"] != "ok"}
                assert r.returncode == 0 and not bad, (r.returncode, bad, r.stderr[-500:])
                per_host += [h["duration_s"] for h in doc["hosts"].values()]
    finally:
        lab.down()
    best, med = min(whole), statistics.median(whole)
    print(
        f"{args.hosts} lab hosts, fleet collect --forks {args.forks}, {args.repeat} runs (2 cores, {os.uname().release})"
    )
    print(f"  end to end (Ansible, SSH, copy, collect, fetch, clean up): best {best:.1f} s, median {med:.1f} s"
          f"  — target <= {TARGET_S:.0f} s: {'met' if med <= TARGET_S else 'NOT met'}")  # fmt: skip
    print(
        f"  one host's collection alone (zipapp in its namespace, no Ansible): median {statistics.median(single):.2f} s"
    )
    print(f"  one host's task as Ansible saw it (ssh, copy, collect, fetch): median {statistics.median(per_host):.2f} s,"
          f" max {max(per_host):.2f} s")  # fmt: skip
    print(f"  Ansible's own share: end to end / one host alone = {med / statistics.median(single):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
