"""Ansible, the engine operators already drive their fleet with: read an inventory, run one of the
playbooks of netsleuth's role through ansible-runner, and say per host how it went.

The operator's own Ansible set-up is used as it is (ANSIBLE_CONFIG, ssh config, keys, become);
netsleuth adds only its role to the roles path. Each run gets a private ansible-runner directory,
removed afterwards."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from netsleuth import process
from netsleuth.errors import NetsleuthError

# per-host statuses (netsleuth.fleet-collect/v1)
OK, UNREACHABLE, AUTH_FAILED, TIMED_OUT, COLLECTOR_ERROR = (
    "ok",
    "unreachable",
    "auth_failed",
    "timed_out",
    "collector_error",
)
AUTH_MARKERS = (
    "permission denied",
    "authentication fail",
    "too many authentication failures",
    "no more authentication methods",
)
STRICT = {
    # an inventory that does not parse is an error, never "no hosts"
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True",
}


class AnsibleUnavailable(NetsleuthError):
    """ansible-core / ansible-runner are not installed (pip install 'netsleuth[fleet]')."""


def playbooks() -> Path:
    """The playbooks and the role (the repository's ansible/ is this folder)."""
    return Path(str(resources.files("netsleuth").joinpath("playbooks")))


def _tool(name: str) -> str:
    """An Ansible program: next to our interpreter (a venv) or on PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        raise AnsibleUnavailable(
            f"{name} not found: install the fleet extra (pip install 'netsleuth[fleet]')"
        )
    return found


@dataclass(frozen=True)
class Host:
    name: str  # the inventory hostname
    address: str  # ansible_host, else the name


def inventory_hosts(inventory: Path, limit: str | None = None) -> list[Host]:
    """The hosts of an inventory (after --limit), with the address Ansible connects to.
    An inventory that does not parse raises NetsleuthError with Ansible's reason, in one line."""
    argv = [_tool("ansible-inventory"), "-i", str(inventory), "--list"]
    if limit:
        argv += ["--limit", limit]
    r = process.run(argv, 120, env={**os.environ, **STRICT, "ANSIBLE_NOCOLOR": "1"})
    if r.rc is None:
        raise NetsleuthError(f"inventory {inventory}: ansible-inventory did not answer within 120 s")
    if r.rc != 0:
        raise NetsleuthError(f"inventory {inventory} does not parse: {_reason(r.err_text())}")
    try:
        doc = json.loads(r.text())
    except ValueError:
        raise NetsleuthError(f"inventory {inventory}: ansible-inventory printed no JSON") from None
    hostvars: dict[str, dict[str, Any]] = doc.get("_meta", {}).get("hostvars", {})
    names = sorted(_walk(doc, "all"))
    return [Host(n, str(hostvars.get(n, {}).get("ansible_host") or n)) for n in names]


def _walk(doc: dict[str, Any], group: str, seen: set[str] | None = None) -> set[str]:
    seen = seen if seen is not None else set()
    if group in seen:
        return set()
    seen.add(group)
    g = doc.get(group) or {}
    hosts = set(g.get("hosts") or [])
    for child in g.get("children") or []:
        hosts |= _walk(doc, child, seen)
    return hosts


def _reason(stderr: str) -> str:
    """The most telling line of Ansible's inventory errors."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for marker in ("Failed to parse inventory:", "[ERROR]:", "[WARNING]:"):
        for ln in lines:
            if marker in ln:
                return ln.split("]:", 1)[-1].strip() if ln.startswith("[") else ln
    return lines[-1] if lines else "no reason given"


@dataclass
class Outcome:
    """How one task went on one host."""

    status: str
    message: str
    res: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    started_at: str = ""  # the controller's clock when the task began on this host (ISO 8601)


def classify(event: str, res: dict[str, Any]) -> Outcome:
    """A runner event of a host (runner_on_ok / _failed / _unreachable) as a status."""
    msg = " ".join(str(res.get("msg") or res.get("stderr") or "").split())
    if event == "runner_on_unreachable":
        low = msg.lower()
        status = AUTH_FAILED if any(m in low for m in AUTH_MARKERS) else UNREACHABLE
        return Outcome(status, msg or "unreachable", res)
    if event == "runner_on_failed":
        # the collector's own timeout (the action sets timed_out), or Ansible's task timeout
        # ("Task failed: Timed out after 65 second(s).", result key `timedout`)
        timed = bool(res.get("timed_out") or res.get("timedout")) or "timed out after" in msg.lower()
        return Outcome(TIMED_OUT if timed else COLLECTOR_ERROR, msg or "failed", res)
    return Outcome(OK, msg or "ok", res)


@contextmanager
def runner_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="netsleuth-ansible-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_playbook(
    playbook: str,
    inventory: Path,
    extravars: dict[str, Any],
    *,
    limit: str | None = None,
    forks: int = 10,
    on_event: Callable[[str, str, str, Outcome], None] | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, dict[str, Outcome]]:
    """Run playbooks/<playbook>; returns {task name: {host: Outcome}} for every task that ran.
    `on_event(task, host, event, outcome)` is called as each host finishes a task."""
    try:
        import ansible_runner
    except ImportError:
        raise AnsibleUnavailable(
            "ansible-runner is not installed: install the fleet extra (pip install 'netsleuth[fleet]')"
        ) from None
    book = playbooks()
    _tool("ansible-playbook")  # ansible-runner runs it from PATH (ours first, below)
    results: dict[str, dict[str, Outcome]] = {}
    starts: dict[tuple[str, str], str] = {}

    def handler(ev: dict[str, Any]) -> bool:
        data = ev.get("event_data") or {}
        kind = ev.get("event", "")
        host, task = data.get("host"), data.get("task", "")
        if kind == "runner_on_start" and host:
            starts[(task, host)] = str(ev.get("created") or "")
        elif kind in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable") and host:
            out = classify(kind, data.get("res") or {})
            began = starts.get((task, host), "")
            out.started_at = began
            out.duration_s = round(max(0.0, _epoch(ev.get("created")) - _epoch(began)), 3) if began else 0.0
            results.setdefault(task, {})[host] = out
            if on_event:
                on_event(task, host, kind, out)
        return True

    env = {
        **STRICT,
        "ANSIBLE_ROLES_PATH": os.pathsep.join(
            [str(book / "roles"), *filter(None, [os.environ.get("ANSIBLE_ROLES_PATH")])]
        ),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    with runner_dir() as d:
        stop = threading.Event()
        done: list[Any] = []

        def work() -> None:
            try:
                done.append(
                    ansible_runner.run(
                        private_data_dir=str(d),
                        playbook=str(book / playbook),
                        inventory=str(inventory.resolve()),
                        limit=limit,
                        forks=forks,
                        extravars=extravars,
                        envvars=env,
                        quiet=True,
                        event_handler=handler,
                        cancel_callback=lambda: stop.is_set() or (cancel is not None and cancel.is_set()),
                        suppress_env_files=True,
                    )
                )
            except Exception as exc:  # reported below, in the caller's thread
                done.append(exc)

        # ansible-runner in a thread: Ctrl-C here cancels the run (the runner stops ansible-playbook)
        # and waits for it, so nothing it started is left running
        worker = threading.Thread(target=work, name="ansible-runner", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.2)
        except KeyboardInterrupt:
            stop.set()
            worker.join(30)
            raise
        r = done[0] if done else None
        if isinstance(r, Exception):
            raise NetsleuthError(f"ansible-runner failed: {type(r).__name__}: {r}")
        if r is not None and r.status != "successful" and not results:
            out = ""
            with suppress(OSError, AttributeError, ValueError):
                out = r.stdout.read()
            raise NetsleuthError(f"ansible-playbook did not run ({r.status}): {_reason(out)}")
    return results


def _epoch(created: Any) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(created)).timestamp()
    except ValueError:
        return 0.0
