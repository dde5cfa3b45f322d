#!/usr/bin/env python3
"""Benchmark: large sosreports, against GNU tar in the same run.

    .venv/bin/python bench/sos_scale.py [--members 100000] [--namespaces 1000]

1. A sosreport archive (.tar.gz) of `--members` files: a real report (the hotsos `openstack` root
   when ../shared/external/hotsos-data is there, else a small generated one) plus one
   /proc/PID/status per process, as sos's process plugin writes them. `netsleuth diagnose` reads
   only the members the catalogue names, in one pass over the index; compared with `tar -xzf`
   (unpacking all of it, what netsleuth did before) and `tar -tzf` (one pass, nothing written).
2. A sosreport folder with `--namespaces` network namespaces (each with the files sos's networking
   and conntrack plugins write per namespace), diagnosed with `--all-netns`; compared with `cat`
   of every file under sos_commands/ (reading them all, nothing more).
Prints times, peak memory (RSS) and ratios. Not a test: nothing passes or fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOTSOS = REPO.parent / "shared" / "external" / "hotsos-data" / "roots" / "openstack"
NS_FILES = {  # what sos 4 writes per namespace (networking and conntrack plugins)
    "networking/ip_netns_exec_{ns}_ip_address_show": "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n"
    "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n    inet 127.0.0.1/8 scope host lo\n",
    "networking/ip_netns_exec_{ns}_ip_route_show_table_all": "local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1\n",
    "networking/ip_netns_exec_{ns}_ip_-s_-s_neigh_show": "",
    "networking/ip_netns_exec_{ns}_ip_rule_list": "0:\tfrom all lookup local\n32766:\tfrom all lookup main\n",
    "networking/ip_netns_exec_{ns}_iptables-save": "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
    "-A INPUT -p udp -m udp --dport 67 -j ACCEPT\nCOMMIT\n",
    "networking/ip_netns_exec_{ns}_netstat_-W_-neopa": 'exec of "netstat" failed: No such file or directory\n',
    "conntrack/ip_netns_exec_{ns}_conntrack_-S": "cpu=0   \tfound=0 invalid=0 ignore=0 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0\n",
    "conntrack/ip_netns_exec_{ns}_conntrack_-L_-o_extended": "",
}


def template(dest: Path) -> Path:
    if HOTSOS.is_dir():
        shutil.copytree(HOTSOS, dest, symlinks=True)
        for p in [dest, *dest.rglob("*")]:
            if not p.is_symlink():
                p.chmod(p.stat().st_mode | 0o200)
        return dest
    for rel, text in {
        "sos_commands/networking/ip_-d_address": "1: lo: <LOOPBACK,UP> mtu 65536\n",
        "sos_commands/kernel/uname_-a": "Linux bench 5.15.0 #1 SMP x86_64 GNU/Linux\n",
        "sos_commands/process/ps_auxwwwm": "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND\n",
        "sos_commands/date/date_--utc": "Thu Feb 10 16:19:17 UTC 2022\n",
    }.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    return dest


def timed(argv: list[str]) -> tuple[float, int, int]:
    """Wall seconds, exit status and peak RSS (KB) of a command."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - t0, proc.returncode, usage.ru_maxrss


def netsleuth(*args: str) -> list[str]:
    return [sys.executable, "-m", "netsleuth.cli", "diagnose", *args, "--format", "json", "--no-probes"]


def archive_case(work: Path, members: int) -> None:
    root = template(work / "sosreport-bench-2022")
    have = sum(1 for _ in root.rglob("*"))
    for pid in range(1, max(0, members - have) + 1):
        d = root / "proc" / str(pid)
        d.mkdir(parents=True, exist_ok=True)
        (d / "status").write_text(f"Name:\tproc{pid}\nPid:\t{pid}\nState:\tS (sleeping)\n")
    arc = work / "sosreport-bench.tar.gz"
    subprocess.run(["tar", "czf", str(arc), "-C", str(work), root.name], check=True)
    shutil.rmtree(root)
    count = int(subprocess.run(f"tar tzf {arc} | wc -l", shell=True, capture_output=True, text=True).stdout)
    print(f"1. archive: {count} members ({arc.stat().st_size >> 20} MB compressed)")
    ns, rc, rss = timed(netsleuth(str(arc)))
    lst, _, _ = timed(["tar", "tzf", str(arc)])
    out = work / "x"
    out.mkdir()
    full, _, _ = timed(["tar", "xzf", str(arc), "-C", str(out)])
    shutil.rmtree(out)
    print(f"   netsleuth diagnose   {ns:6.2f} s  exit {rc}  peak RSS {rss / 1024:.0f} MB")
    print(f"   tar -xzf (all)       {full:6.2f} s  ratio netsleuth/tar -x: {ns / full:.2f}x")
    print(f"   tar -tzf (one pass)  {lst:6.2f} s  ratio netsleuth/tar -t: {ns / lst:.2f}x")


def namespaces_case(work: Path, count: int) -> None:
    root = template(work / "sosreport-ns")
    names = [f"qrouter-{i:08x}-5f1c-4c43-9a1e-000000000000" for i in range(count)]
    (root / "sos_commands" / "networking" / "ip_netns").write_text(
        "".join(f"{n} (id: {i})\n" for i, n in enumerate(names))
    )
    for n in names:
        for rel, text in NS_FILES.items():
            p = root / "sos_commands" / rel.format(ns=n)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
    files = sum(1 for p in (root / "sos_commands").rglob("*") if p.is_file())
    print(f"2. folder: {count} namespaces, {files} files under sos_commands/")
    ns, rc, rss = timed(netsleuth(str(root), "--all-netns"))
    cat, _, _ = timed(["sh", "-c", f"find {root}/sos_commands -type f -exec cat {{}} + >/dev/null"])
    print(f"   netsleuth diagnose --all-netns  {ns:6.2f} s  exit {rc}  peak RSS {rss / 1024:.0f} MB")
    print(f"   cat of every file               {cat:6.2f} s  ratio: {ns / cat:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--namespaces", type=int, default=1000)
    opts = ap.parse_args()
    os.environ.setdefault("PYTHONPATH", str(REPO / "src"))
    with tempfile.TemporaryDirectory(prefix="netsleuth-bench-") as tmp:
        archive_case(Path(tmp), opts.members)
    with tempfile.TemporaryDirectory(prefix="netsleuth-bench-") as tmp:
        namespaces_case(Path(tmp), opts.namespaces)


if __name__ == "__main__":
    main()
