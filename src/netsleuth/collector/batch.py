"""Run many commands inside one network namespace with a single `ip netns exec`.

A network node has hundreds of qrouter-/qdhcp- namespaces; one `ip netns exec` per command
(~25 per namespace) costs a minute. Here each namespace gets one shell that starts every command
at once, each under coreutils `timeout` (which kills the command's whole process group), and
writes its output, exit status and timing to a private temporary directory.
"""

import shlex
import shutil
import tempfile
import time
from typing import List, NamedTuple

from netsleuth.collector import process
from netsleuth.collector.model import ERROR, MISSING, OK, TIMEOUT, Record
from netsleuth.collector.runner import ENV, MAX_OUTPUT, classify

TIMEOUT_RCS = (124, 137)  # timeout's "timed out" and "killed after --kill-after"


class Item(NamedTuple):
    name: str
    argv: List[str]
    source: str  # the command line or file path shown in reports
    is_file: bool = False


TOOLS = ("timeout", "ip", "bash")  # one shell per namespace; each command under coreutils timeout


def available() -> bool:
    return all(shutil.which(tool) for tool in TOOLS)


def _script(items: List[Item], timeout: float, outdir: str) -> str:
    t = "{:g}".format(timeout)
    # bash >= 5's $EPOCHREALTIME times each command without forking `date` (RHEL 8's bash 4.4: date)
    clock = "${EPOCHREALTIME:-$(date +%s.%N)}"
    lines = [
        "D=" + shlex.quote(outdir),
        "run() { i=$1; shift; s="
        + clock
        + "; timeout -k 1 "
        + t
        + ' "$@" >"$D/$i.out" 2>"$D/$i.err" </dev/null; rc=$?; echo "$rc $s '
        + clock
        + '" >"$D/$i.rc"; }',
    ]
    lines += [
        "run {} {} &".format(i, " ".join(shlex.quote(a) for a in it.argv)) for i, it in enumerate(items)
    ]
    lines.append("wait")
    return "\n".join(lines) + "\n"


def _read(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read(MAX_OUTPUT).decode(errors="replace")
    except FileNotFoundError:
        return ""


def run_batch(items: List[Item], timeout: float, netns: str) -> List[Record]:
    """Every item's Record, as if each had been run on its own inside `netns`."""
    outdir = tempfile.mkdtemp(prefix="netsleuth-ns-")
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
        out: List[Record] = []
        for i, it in enumerate(items):
            base = "{}/{}".format(outdir, i)
            rcfile = _read(base + ".rc").split()
            if len(rcfile) != 3:
                if whole:
                    status, error = ERROR, whole.splitlines()[0]
                else:
                    status, error = TIMEOUT, "no answer within {:g} s (killed)".format(timeout)
                out.append(
                    Record(
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
            text, stderr = _read(base + ".out"), _read(base + ".err")
            if rc in TIMEOUT_RCS:
                status, error = TIMEOUT, "no answer within {:g} s (killed)".format(timeout)
            else:
                status, error = classify(rc, stderr, it.argv[0])
                if status == OK:
                    error = ""
                elif it.is_file and "no such file" in stderr.lower():
                    status, error = MISSING, "{}: no such file".format(it.source)
            out.append(Record(it.name, status, text, it.source, e - s, netns, "", rc, error))
        return out
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
