"""Collectors written in Python: stream what is too large to hold, tail logs, read the environment."""

from __future__ import annotations

import contextlib
import os
import re
import select
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from netsleuth.evidence.kmods import kernel_modules
from netsleuth.evidence.model import HOST, Evidence, Status
from netsleuth.evidence.runner import ENV, in_netns, run
from netsleuth.parsers.conntrack import count_states_blocks, format_histogram
from netsleuth.process import kill_group

TAIL_BYTES = 8 * 1024 * 1024  # of each log file


BLOCK = 256 * 1024  # bytes read at a time from a conntrack table


def _blocks_until(stream: IO[bytes], deadline: float) -> Iterator[bytes]:
    """A command's output in blocks as they come; TimeoutError once the deadline has passed, also
    while the command is silent."""
    fd = stream.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError
        block = os.read(fd, BLOCK)
        if not block:
            return
        yield block


def conntrack_states(name: str, timeout: float, netns: str = HOST) -> Evidence:
    """State histogram of the conntrack table, streamed: millions of entries never sit in memory.

    Reads /proc/net/nf_conntrack (`conntrack -L` when the proc file is absent, and only when
    nf_conntrack_netlink is loaded: the tool would load it) block by block.
    """
    start = time.monotonic()

    def done(counts: Counter[str], source: str) -> Evidence:
        return Evidence(
            name,
            Status.OK,
            text=format_histogram(counts),
            source=source,
            duration_s=time.monotonic() - start,
            netns=netns,
        )

    for argv, source in (
        (["cat", "/proc/net/nf_conntrack"], "/proc/net/nf_conntrack"),
        (["conntrack", "-L"], "conntrack -L"),
    ):
        if argv[0] == "conntrack" and kernel_modules().allows(("nf_conntrack_netlink",)):
            break  # not loaded: `conntrack -L` would load it (and nf_conntrack): the host would change
        if netns == HOST and argv[0] == "cat":
            try:
                with open(source, "rb", buffering=0) as fh:
                    counts = count_states_blocks(iter(lambda: fh.read(BLOCK), b""))
            except FileNotFoundError:
                continue
            except PermissionError:
                return Evidence(name, Status.DENIED, source=source, error=f"{source}: permission denied")
            return done(counts, source)
        try:
            proc = subprocess.Popen(
                in_netns(argv, netns),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env=ENV,
            )
        except FileNotFoundError:
            continue
        assert proc.stdout is not None
        deadline = start + timeout * 2  # a table of millions of entries takes a moment

        try:
            counts = count_states_blocks(_blocks_until(proc.stdout, deadline))
        except TimeoutError:
            kill_group(proc)
            proc.wait()
            return Evidence(
                name,
                Status.TIMEOUT,
                source=source,
                duration_s=time.monotonic() - start,
                netns=netns,
                error=f"table not read within {timeout * 2:g} s",
            )
        rc = proc.wait()
        if rc != 0 and not counts:
            continue
        return done(counts, source)
    return Evidence(
        name,
        Status.MISSING,
        source="/proc/net/nf_conntrack",
        netns=netns,
        error="no /proc/net/nf_conntrack and no conntrack tool (conntrack not loaded or not installed)",
    )


def tail(name: str, files: list[str], timeout: float, netns: str = HOST) -> list[Evidence]:
    """The last part of each log file that exists, keyed by its file name (its path when two
    share a name: /var/log/openvswitch and /var/log/kolla/openvswitch)."""
    found: list[Evidence] = []
    names: set[str] = set()
    for f in files:
        start = time.monotonic()
        path = Path(f)
        try:
            size = path.stat().st_size
            with path.open("rb") as fh:
                if size > TAIL_BYTES:
                    fh.seek(size - TAIL_BYTES)
                    fh.readline()  # drop the partial first line
                data = fh.read()
        except FileNotFoundError:
            continue
        except PermissionError:
            found.append(
                Evidence(name, Status.DENIED, source=f, key=path.name, error=f"{f}: permission denied")
            )
            continue
        found.append(
            Evidence(
                name,
                Status.OK,
                text=data.decode(errors="replace"),
                source=f,
                key=path.name if path.name not in names else f,
                duration_s=time.monotonic() - start,
            )
        )
        names.add(path.name)
    if not found:
        found.append(
            Evidence(name, Status.MISSING, source=" ".join(files), error="none of these files exists")
        )
    return found


# per-interface subtrees: net.ipv4.conf.tap0a1b2c3.*, net.ipv6.neigh.qvo5e.*, ... (all and default stay)
_PER_IFACE = re.compile(r"net/ipv[46]/(?:conf|neigh)/(?!all$|default$)[^/]+")


def sysctl_keys(root: str = "/proc/sys") -> list[str]:
    """Every readable sysctl under net/ but the per-interface conf and neigh subtrees (a compute
    node's hundreds of tap/qvo ports each carry ~130 of them: `sysctl -a` then takes seconds, and
    no rule reads them), `stable_secret` (a secret, unreadable until set) and what we may not read
    (without root: a few keys of mode 0600)."""
    keys: list[str] = []
    for top, dirs, files in os.walk(os.path.join(root, "net")):
        rel = os.path.relpath(top, root)
        dirs[:] = sorted(d for d in dirs if not _PER_IFACE.fullmatch(f"{rel}/{d}"))
        for f in sorted(files):
            path = os.path.join(top, f)
            with contextlib.suppress(OSError):  # readable by mode (root may read anything) and by us
                if f != "stable_secret" and os.stat(path).st_mode & 0o444 and os.access(path, os.R_OK):
                    keys.append(f"{rel}/{f}")
    return keys


def sysctl_net(name: str, timeout: float, netns: str = HOST) -> Evidence:
    """`sysctl` of the network settings of `netns`, as `sysctl -a -r ^net` prints them, without the
    per-interface subtrees (see `sysctl_keys`). The key names come from this namespace's /proc/sys
    (every namespace has the same set; `-e`: one missing in `netns` is skipped)."""
    ev = run(name, ["sysctl", "-e", *sysctl_keys()], timeout, netns)
    ev.source = "sysctl -e net.* (without per-interface conf/neigh)"
    return ev


def log_files_of(program: str, proc: Path = Path("/proc")) -> list[str]:
    """The logs running processes named `program` were told to write (`--log-file=PATH`)."""
    from netsleuth.evidence.sosnames import log_file_of

    found: list[str] = []
    for entry in proc.iterdir() if proc.is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone, or not ours to read
        if argv and os.path.basename(argv[0].decode(errors="replace")) == program:
            path = log_file_of(" ".join(a.decode(errors="replace") for a in argv))
            if path and path not in found:
                found.append(path)
    return found


def environment(name: str, timeout: float, netns: str = HOST) -> Evidence:
    """umask and PATH of the user running netsleuth (seed 003: deploy scripts inherit them)."""
    umask = "unknown"
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                umask = line.split()[1]
    except OSError:
        pass
    text = f"UMASK={umask}\nPATH={os.environ.get('PATH', '')}\nUSER={os.environ.get('USER', '')}\n"
    return Evidence(name, Status.OK, text=text, source="environment of the netsleuth process")


__all__ = ["conntrack_states", "environment", "run", "sysctl_net", "tail"]
