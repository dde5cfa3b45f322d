"""`netsleuth fleet probe`: the mesh probe over an inventory, through Ansible.

Three plays of playbooks/probe.yml: a listener on every host (netsleuth.collector.mesh.Listener),
then every host probes every other one (ICMP, path MTU with DF, UDP to the tunnel port carrying
this run's token), then every listener stops and says what it saw. The controller joins what each
sender saw leave with what each listener saw arrive into the N x N matrix (netsleuth.mesh/v1).
An interruption (Ctrl-C) runs the stop play alone; each listener also stops by itself after its
lifetime, so none is left behind.
"""

from __future__ import annotations

import json
import secrets
import signal
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from netsleuth.errors import NetsleuthError
from netsleuth.remote.ansible import OK, Host, Outcome, inventory_hosts, run_playbook

SCHEMA = "netsleuth.mesh/v1"
LISTEN, SEND, STOP = "Start a mesh listener", "Probe the peers", "Stop the mesh listener"
MAX_LIFETIME = 900


def _json(out: Outcome | None) -> dict[str, Any] | None:
    """The JSON a step printed on one host (None: the step failed there)."""
    if out is None or out.status != OK:
        return None
    for line in reversed(str(out.res.get("stdout", "")).splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                doc = json.loads(line)
            except ValueError:
                return None
            return doc if isinstance(doc, dict) else None
    return None


def _why(out: Outcome | None, what: str) -> str:
    if out is None:
        return f"{what}: not run"
    return f"{what}: {out.status}: {out.message}"


def pair(
    src: str,
    dst: str,
    sent_by: dict[str, Any] | None,
    heard_by: dict[str, Any] | None,
    why_src: str,
    why_dst: str,
) -> dict[str, Any]:
    """One cell of the matrix: what `src` sent to `dst` and where it was seen.

    >>> s = {"left_watched": True, "results": {"b": {"icmp": "ok", "pmtu": 1500,
    ...      "udp_sent": [1001, 1002], "udp_left": [1001, 1002], "detail": ""}}}
    >>> l = {"capture": {"nic": True, "delivered": True, "why": []},
    ...      "seen": {"a": {"nic": [1001, 1002], "delivered": []}}}
    >>> c = pair("a", "b", s, l, "", "")
    >>> c["udp"], c["udp_seen"], c["pmtu"]
    ('lost', {'left_src': True, 'reached_dst_nic': True, 'delivered': False}, 1500)
    >>> pair("a", "b", s, None, "", "b: listener: unreachable")["udp"]
    'skipped'
    """
    detail: list[str] = []
    r = (sent_by or {}).get("results", {}).get(dst) if sent_by else None
    if r is None:
        detail.append(why_src or f"{src} did not probe")
        return {"src": src, "dst": dst, "icmp": "skipped", "pmtu": None, "udp": "skipped",
                "udp_seen": {"left_src": None, "reached_dst_nic": None, "delivered": None},
                "detail": "; ".join(detail)}  # fmt: skip
    sent = set(r.get("udp_sent") or [])
    left_list = r.get("udp_left")
    left = None if left_list is None or not sent else bool(sent & set(left_list))
    nic = delivered = None
    if heard_by is None:
        detail.append(why_dst or f"{dst}: no listener")
    else:
        cap = heard_by.get("capture") or {}
        seen = (heard_by.get("seen") or {}).get(src) or {}
        if cap.get("nic") and sent:
            nic = bool(sent & set(seen.get("nic") or []))
        if cap.get("delivered") and sent:
            delivered = bool(sent & set(seen.get("delivered") or []))
        detail += [f"{dst}: {w}" for w in cap.get("why") or [] if "on the port" not in w or delivered is None]
    if r.get("detail"):
        detail.insert(0, str(r["detail"]))
    if not sent:
        udp = "skipped"
    elif delivered is not None:
        udp = "ok" if delivered else "lost"
    elif nic is False or left is False:
        udp = "lost"
    else:
        udp = "skipped"  # arrival past the firewall could not be watched
    return {
        "src": src,
        "dst": dst,
        "icmp": r.get("icmp") or "skipped",
        "pmtu": r.get("pmtu") if isinstance(r.get("pmtu"), int) else None,
        "udp": udp,
        "udp_seen": {"left_src": left, "reached_dst_nic": nic, "delivered": delivered},
        "detail": "; ".join(detail),
    }


def matrix(
    hosts: list[Host], port: int, results: dict[str, dict[str, Outcome]], started_at: str = ""
) -> dict[str, Any]:
    """The netsleuth.mesh/v1 document of one run."""
    sends = {h.name: _json(results.get(SEND, {}).get(h.name)) for h in hosts}
    heard = {h.name: _json(results.get(STOP, {}).get(h.name)) for h in hosts}
    listening = {h.name: _json(results.get(LISTEN, {}).get(h.name)) for h in hosts}
    why: dict[str, tuple[str, str]] = {}
    for h in hosts:
        w_src = "" if sends[h.name] else _why(results.get(SEND, {}).get(h.name), f"{h.name}: probing")
        if not listening[h.name]:
            w_dst = _why(results.get(LISTEN, {}).get(h.name), f"{h.name}: listener")
        elif not heard[h.name] or "error" in (heard[h.name] or {}):
            w_dst = _why(results.get(STOP, {}).get(h.name), f"{h.name}: listener's result")
            heard[h.name] = None
        else:
            w_dst = ""
        why[h.name] = (w_src, w_dst)
    rows = [
        pair(s.name, d.name, sends[s.name], heard[d.name], why[s.name][0], why[d.name][1])
        for s in hosts
        for d in hosts
        if s is not d
    ]
    return {
        "schema": SCHEMA,
        "started_at": started_at,
        "port": port,
        "hosts": {h.name: {"address": h.address} for h in hosts},
        "results": rows,
    }


def _interrupt_on_sigterm() -> Any:
    """SIGTERM (kill) interrupts like Ctrl-C, so the listeners are stopped either way; returns the
    previous handler (None: not the main thread, left alone)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    return signal.signal(signal.SIGTERM, interrupt)


def fleet_probe(
    inventory: Path,
    *,
    limit: str | None = None,
    forks: int = 10,
    port: int = 4789,
    collector: Path | None = None,
) -> dict[str, Any]:
    """Run the mesh probe over the inventory's hosts; returns the matrix."""
    from netsleuth.remote.zipapp import build_zipapp

    hosts = inventory_hosts(inventory, limit)
    if len(hosts) < 2:
        raise NetsleuthError(
            f"inventory {inventory} has {len(hosts)} host(s)" + (f" matching --limit {limit}" if limit else "")
            + ": the mesh probe needs two or more"
        )  # fmt: skip
    started = datetime.now(UTC).isoformat(timespec="seconds")
    n = len(hosts)
    extravars: dict[str, Any] = {
        "netsleuth_mesh_port": port,
        "netsleuth_mesh_token": secrets.token_hex(16),
        "netsleuth_mesh_run": secrets.token_hex(4),
        "netsleuth_mesh_peers": {h.name: h.address for h in hosts},
        # a host probes its peers 8 at a time, each in a few seconds (longer when the path MTU is searched)
        "netsleuth_mesh_send_timeout": min(MAX_LIFETIME // 2, 30 + 4 * n),
        "netsleuth_mesh_lifetime": min(MAX_LIFETIME, 90 + 6 * n + 10 * (n // max(1, forks))),
    }
    with tempfile.TemporaryDirectory(prefix="netsleuth-collector-") as tmp:
        pyz = collector or build_zipapp(Path(tmp) / "netsleuth-collect.pyz")
        extravars["netsleuth_collector"] = str(pyz.resolve())
        old_term = _interrupt_on_sigterm()
        try:
            results = run_playbook("probe.yml", inventory, extravars, limit=limit, forks=forks)
        except KeyboardInterrupt:  # Ctrl-C or kill: stop every listener before going
            run_playbook("probe-stop.yml", inventory, extravars, limit=limit, forks=max(forks, n))
            raise
        finally:
            if old_term is not None:
                signal.signal(signal.SIGTERM, old_term)
    return matrix(hosts, port, results, started)
