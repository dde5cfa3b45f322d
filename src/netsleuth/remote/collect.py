"""`netsleuth fleet collect`: one bundle per host of an inventory, through Ansible, and
`fleet-collect.json` saying how each host went (netsleuth.fleet-collect/v1)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from netsleuth.errors import NetsleuthError
from netsleuth.remote.ansible import COLLECTOR_ERROR, OK, Host, Outcome, inventory_hosts, run_playbook

SCHEMA = "netsleuth.fleet-collect/v1"
MANIFEST = "fleet-collect.json"
TASK = "Collect a netsleuth bundle"  # the role's task (tasks/main.yml)


@dataclass
class HostResult:
    name: str
    address: str
    status: str
    message: str
    bundle: str | None = None
    duration_s: float = 0.0
    started_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "bundle": self.bundle,
            "address": self.address,
            "duration_s": self.duration_s,
            "started_at": self.started_at,
        }


@dataclass
class FleetCollect:
    started_at: str
    inventory: str
    hosts: list[HostResult] = field(default_factory=list)
    duration_s: float = 0.0
    limit: str | None = None  # --limit: the hosts are part of the inventory, not all of it

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "started_at": self.started_at,
            "inventory": self.inventory,
            "limit": self.limit,
            "duration_s": self.duration_s,
            "hosts": {h.name: h.to_dict() for h in self.hosts},
        }

    def collected(self) -> list[HostResult]:
        return [h for h in self.hosts if h.status == OK]


def _result(host: Host, out: Outcome | None, outdir: Path) -> HostResult:
    if out is None:
        return HostResult(host.name, host.address, COLLECTOR_ERROR, "Ansible reported nothing for this host")
    res = HostResult(host.name, host.address, out.status, out.message, None, out.duration_s, out.started_at)
    if out.status == OK:
        bundle = outdir / f"{host.name}.tar.gz"
        if bundle.is_file():
            bundle.chmod(0o600)  # addresses, process lists: like `netsleuth collect`
            res.bundle = bundle.name
        else:
            res.status, res.message = COLLECTOR_ERROR, "the collector finished but no bundle was fetched"
    return res


def fleet_collect(
    inventory: Path,
    outdir: Path,
    *,
    limit: str | None = None,
    forks: int = 10,
    timeout: float = 300,
    collector: Path | None = None,
    collect_args: list[str] | None = None,
    progress: Callable[[HostResult], None] | None = None,
) -> FleetCollect:
    """Collect a bundle from every host of the inventory (after --limit) into `outdir`."""
    import time

    from netsleuth.remote.zipapp import build_zipapp

    t0 = time.monotonic()
    hosts = inventory_hosts(inventory, limit)
    if not hosts:
        raise NetsleuthError(
            f"inventory {inventory} has no host" + (f" matching --limit {limit}" if limit else "")
        )
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NetsleuthError(f"cannot make {outdir}: {exc.strerror}") from None
    run = FleetCollect(datetime.now(UTC).isoformat(timespec="seconds"), str(inventory), limit=limit)
    by_name = {h.name: h for h in hosts}
    with tempfile.TemporaryDirectory(prefix="netsleuth-collector-") as tmp:
        pyz = collector or build_zipapp(Path(tmp) / "netsleuth-collect.pyz")

        def seen(task: str, host: str, _kind: str, out: Outcome) -> None:
            if task == TASK and progress and host in by_name:
                progress(_result(by_name[host], out, outdir))

        results = run_playbook(
            "collect.yml",
            inventory,
            {
                "netsleuth_collector": str(pyz.resolve()),
                "netsleuth_dest": str(outdir.resolve()),
                "netsleuth_timeout": int(timeout),
                "netsleuth_collect_args": list(collect_args or []),
            },
            limit=limit,
            forks=forks,
            on_event=seen,
        )
    done = results.get(TASK, {})
    run.hosts = [_result(h, done.get(h.name), outdir) for h in hosts]
    run.duration_s = round(time.monotonic() - t0, 3)
    _write_json(outdir / MANIFEST, run.to_dict())
    return run


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    tmp.replace(path)
