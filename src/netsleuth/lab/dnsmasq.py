"""dnsmasq for the lab: DHCP and/or DNS on one interface of a lab namespace, logging to a file."""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from netsleuth.lab.blocks import Netns
from netsleuth.lab.core import LabRun, kill_pid
from netsleuth.lab.shell import LabError, LabUnavailable, proc_start_time


@dataclass
class Dnsmasq:
    lab: LabRun
    netns: Netns
    pid: int
    start_time: int | None
    log: Path
    leases: Path

    @classmethod
    def start(
        cls,
        lab: LabRun,
        netns: Netns,
        iface: str,
        *,
        dhcp_range: str | None = None,
        dns: bool = True,
        records: Mapping[str, str] | None = None,
        listen: str | None = None,
        extra: Sequence[str] = (),
        tag: str = "dnsmasq",
    ) -> Dnsmasq:
        """`dhcp_range` e.g. "10.9.0.10,10.9.0.20,255.255.255.0,1h"; `records` name -> address answered
        authoritatively (no upstream: the lab never asks outside). Stopped by pid on `down`."""
        if shutil.which("dnsmasq") is None:
            raise LabUnavailable("dnsmasq is not installed")
        log = lab.path(f"{tag}-{netns.role}.log")
        leases = lab.path(f"{tag}-{netns.role}.leases")
        argv = [
            "dnsmasq",
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--user=root",
            "--no-resolv",
            "--no-hosts",
            f"--interface={iface}",
            "--bind-interfaces",
            "--except-interface=lo",
            f"--log-facility={log}",
            "--log-queries",
            f"--dhcp-leasefile={leases}",
            f"--pid-file={lab.path(f'{tag}-{netns.role}.pid')}",
        ]
        if listen:
            argv.append(f"--listen-address={listen}")
        if not dns:
            argv.append("--port=0")
        if dhcp_range:
            argv += [f"--dhcp-range={dhcp_range}", "--log-dhcp", "--dhcp-authoritative"]
        for name, address in (records or {}).items():
            argv.append(f"--host-record={name},{address}")
        argv += list(extra)
        proc = lab.spawn(argv, netns=netns, log=lab.path(f"{tag}-{netns.role}.out"))
        d = cls(lab, netns, proc.pid, proc_start_time(proc.pid), log, leases)
        d._wait_ready(proc.poll)
        return d

    def _wait_ready(self, poll: object) -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if callable(poll) and poll() is not None:
                out = self.lab.path(f"{self.log.stem}.out")
                text = out.read_text(errors="replace") if out.exists() else ""
                raise LabError(f"dnsmasq in {self.netns.name} exited: {text.strip()[-300:]}")
            if self.log.exists() and "started" in self.log.read_text(errors="replace"):
                return
            time.sleep(0.05)
        raise LabError(f"dnsmasq in {self.netns.name} did not start within 5 s")

    def stop(self) -> None:
        kill_pid(self.pid, self.start_time)
