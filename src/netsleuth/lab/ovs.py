"""Open vSwitch in userspace (datapath_type=netdev): the lab's own ovsdb-server and ovs-vswitchd.

Everything lives in /run/netsleuth-lab/<run_id>/ovs (OVS_RUNDIR = OVS_LOGDIR = OVS_DBDIR), so the
machine's own Open vSwitch (if any) is never touched. ovs-vswitchd runs inside a lab namespace:
its ports (veth ends) and the bridge's internal tap devices live there, not in the default one.
Run any OVS tool — or `netsleuth diagnose` — with `ovs.env` to talk to this instance.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from netsleuth.lab.blocks import Netns
from netsleuth.lab.core import LabRun, check_ifname, kill_pid
from netsleuth.lab.shell import LabError, LabUnavailable, proc_start_time, sh

SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")


@dataclass
class Ovs:
    lab: LabRun
    dir: Path
    netns: Netns | None
    pids: dict[str, tuple[int, int | None]] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """The environment that points every OVS tool (and netsleuth) at this instance."""
        d = str(self.dir)
        return {"OVS_RUNDIR": d, "OVS_LOGDIR": d, "OVS_DBDIR": d, "OVS_SYSCONFDIR": d}

    @classmethod
    def start(cls, lab: LabRun, netns: Netns | None = None) -> Ovs:
        """Start ovsdb-server and ovs-vswitchd (in `netns`; None = ovs-vswitchd in the default namespace,
        which then must get no ports from the lab)."""
        for tool in ("ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl"):
            if not _which(tool):
                raise LabUnavailable(f"{tool} is not installed (openvswitch-switch)")
        if not SCHEMA.exists():
            raise LabUnavailable(f"{SCHEMA} is missing")
        d = lab.path("ovs", "x").parent
        lab.journal(kind="path", path=str(d))
        ovs = cls(lab, d, netns)
        db = d / "conf.db"
        sh(["ovsdb-tool", "create", str(db), str(SCHEMA)])
        ovs._daemon(
            "ovsdb-server",
            [
                "ovsdb-server",
                str(db),
                f"--remote=punix:{d}/db.sock",
                "--remote=db:Open_vSwitch,Open_vSwitch,manager_options",
                f"--pidfile={d}/ovsdb-server.pid",
                f"--log-file={d}/ovsdb-server.log",
            ],
            None,
        )
        ovs.vsctl("--no-wait", "init")
        ovs._daemon(
            "ovs-vswitchd",
            [
                "ovs-vswitchd",
                f"unix:{d}/db.sock",
                f"--pidfile={d}/ovs-vswitchd.pid",
                f"--log-file={d}/ovs-vswitchd.log",
            ],
            netns,
        )
        lab.note(ovs_env=ovs.env)
        return ovs

    def _daemon(self, name: str, argv: list[str], netns: Netns | None) -> None:
        """Start a daemon as our own child (no --detach), so that `down` reaps it: a detached
        daemon, once killed, stays a zombie until init reaps it, and `ps` still lists
        `[ovsdb-server] <defunct>` to the next diagnosis on this machine."""
        proc = self.lab.spawn(argv, netns=netns, log=self.dir / f"{name}.out", env=self.env)
        ready = [self.dir / f"{name}.{proc.pid}.ctl"]
        if name == "ovsdb-server":
            ready.append(self.dir / "db.sock")
        deadline = time.monotonic() + 20
        while not all(f.exists() for f in ready):
            if proc.poll() is not None or time.monotonic() > deadline:
                out = self.dir / f"{name}.out"
                text = out.read_text(errors="replace").strip()[-300:] if out.exists() else ""
                raise LabError(f"{name} did not start: {text}")
            time.sleep(0.05)
        self.pids[name] = (proc.pid, proc_start_time(proc.pid))

    # ---- configuration --------------------------------------------------------------------
    def vsctl(self, *args: str, timeout: float = 10) -> str:
        return sh(["ovs-vsctl", f"--timeout={int(timeout)}", *args], env=self.env, timeout=timeout + 2).stdout

    def appctl(self, *args: str, timeout: float = 5) -> str:
        return sh(
            ["ovs-appctl", f"--timeout={int(timeout)}", *args], env=self.env, timeout=timeout + 2
        ).stdout

    def bridge(self, name: str) -> str:
        """A bridge in the userspace datapath (its internal port is a tap in the vswitchd namespace)."""
        check_ifname(name)
        self.vsctl("add-br", name, "--", "set", "bridge", name, "datapath_type=netdev")
        return name

    def port(self, bridge: str, port: str, *, tag: int | None = None, trunks: Sequence[int] = ()) -> None:
        """Add an existing device (or, for a fault, a name that does not exist) as a port."""
        extra: list[str] = []
        if tag is not None:
            extra.append(f"tag={tag}")
        if trunks:
            extra.append("trunks=" + ",".join(str(t) for t in trunks))
        self.vsctl("add-port", bridge, port, *extra)

    def internal(self, bridge: str, port: str, *, tag: int | None = None) -> None:
        extra = [f"tag={tag}"] if tag is not None else []
        self.vsctl("add-port", bridge, port, *extra, "--", "set", "interface", port, "type=internal")

    def bond(self, bridge: str, bond: str, members: Sequence[str], *, mode: str = "active-backup") -> None:
        self.vsctl("add-bond", bridge, bond, *members, f"bond_mode={mode}")

    def vxlan_port(self, bridge: str, port: str, remote_ip: str, *, key: int | None = None) -> None:
        opts = [f"options:remote_ip={remote_ip}"] + ([f"options:key={key}"] if key is not None else [])
        self.vsctl("add-port", bridge, port, "--", "set", "interface", port, "type=vxlan", *opts)

    # ---- faults -----------------------------------------------------------------------------
    def pause_vswitchd(self) -> None:
        """SIGSTOP ovs-vswitchd: ovsdb answers, `ovs-ofctl`/`ovs-appctl` hang (seed 000)."""
        os.kill(self.pids["ovs-vswitchd"][0], signal.SIGSTOP)

    def resume_vswitchd(self) -> None:
        os.kill(self.pids["ovs-vswitchd"][0], signal.SIGCONT)

    def stop(self, name: str) -> None:
        """Stop one daemon ('ovsdb-server' or 'ovs-vswitchd') by its pid."""
        pid, start = self.pids[name]
        kill_pid(pid, start)
        deadline = time.monotonic() + 3
        while proc_start_time(pid) == start and time.monotonic() < deadline:
            time.sleep(0.05)


def _which(tool: str) -> bool:
    import shutil

    return shutil.which(tool) is not None
