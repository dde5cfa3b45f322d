"""Run many commands inside one network namespace with a single `ip netns exec`.

A network node has hundreds of qrouter-/qdhcp- namespaces; one `ip netns exec` per command
(~25 per namespace) costs a minute. Here each namespace gets one shell that starts every command
at once, each under coreutils `timeout` (which kills the command's whole process group), and
writes its output, exit status and timing to a private temporary directory.
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from netsleuth import process
from netsleuth.evidence.model import Evidence, Status
from netsleuth.evidence.runner import ENV, MAX_OUTPUT, classify

TIMEOUT_RCS = (124, 137)  # timeout's "timed out" and "killed after --kill-after"


@dataclass(frozen=True)
class Item:
    name: str
    argv: list[str]
    source: str  # the command line or file path shown in reports
    is_file: bool = False


TOOLS = ("timeout", "ip", "bash")  # one shell per namespace; each command under coreutils timeout


def available() -> bool:
    return all(shutil.which(tool) for tool in TOOLS)


def _script(items: list[Item], timeout: float, outdir: Path) -> str:
    t = f"{timeout:g}"
    lines = [
        f"D={shlex.quote(str(outdir))}",
        # bash's $EPOCHREALTIME times each command without forking `date`
        "run() { i=$1; shift; s=$EPOCHREALTIME; timeout -k 1 "
        + t
        + ' "$@" >"$D/$i.out" 2>"$D/$i.err" </dev/null; rc=$?; echo "$rc $s $EPOCHREALTIME" >"$D/$i.rc"; }',
    ]
    lines += [f"run {i} {shlex.join(it.argv)} &" for i, it in enumerate(items)]
    lines.append("wait")
    return "\n".join(lines) + "\n"


def _read(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            return fh.read(MAX_OUTPUT).decode(errors="replace")
    except FileNotFoundError:
        return ""


def run_batch(items: list[Item], timeout: float, netns: str) -> list[Evidence]:
    """Every item's Evidence, as if each had been run on its own inside `netns`."""
    outdir = Path(tempfile.mkdtemp(prefix="netsleuth-ns-"))
    start = time.monotonic()
    try:
        ran = process.run(
            ["ip", "netns", "exec", netns, "bash", "-c", _script(items, timeout, outdir)],
            timeout + 3,
            env=ENV,
        )
        if ran.failed is not None:
            raise ran.failed
        whole = ran.err_text().strip()
        out: list[Evidence] = []
        for i, it in enumerate(items):
            rcfile = _read(outdir / f"{i}.rc").split()
            if len(rcfile) != 3:
                status, error = (
                    (Status.ERROR, whole.splitlines()[0])
                    if whole
                    else (Status.TIMEOUT, f"no answer within {timeout:g} s (killed)")
                )
                out.append(
                    Evidence(
                        it.name,
                        status,
                        source=it.source,
                        netns=netns,
                        error=error,
                        duration_s=time.monotonic() - start,
                    )
                )
                continue
            rc, s, e = int(rcfile[0]), float(rcfile[1].replace(",", ".")), float(rcfile[2].replace(",", "."))
            text, stderr = _read(outdir / f"{i}.out"), _read(outdir / f"{i}.err")
            if rc in TIMEOUT_RCS:
                status, error = Status.TIMEOUT, f"no answer within {timeout:g} s (killed)"
            else:
                status, error = classify(rc, stderr, it.argv[0])
                if status is Status.OK:
                    error = ""
                elif it.is_file and "no such file" in stderr.lower():
                    status, error = Status.MISSING, f"{it.source}: no such file"
            out.append(
                Evidence(
                    it.name,
                    status,
                    text=text,
                    source=it.source,
                    duration_s=e - s,
                    netns=netns,
                    rc=rc,
                    error=error,
                )
            )
        return out
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
