"""Fleet faults (seed 003 and the issue's list): four namespace hosts joined by a VXLAN mesh, each
running its own sshd, reached by Ansible from a controller namespace (lab/fleet.py). Each scenario
injects one fault that is only visible between hosts, or makes one host unreachable."""

from __future__ import annotations

import shlex
from typing import ClassVar

from netsleuth.lab import Lab
from netsleuth.lab.fleet import FleetSpec, build_fleet
from netsleuth.lab.scenario import Scenario, Vantage, scenario
from netsleuth.lab.vxlan_fleet import UNDERLAY, VxlanFleetSpec

DUP = f"{UNDERLAY}.50"


class FleetScenario(Scenario):
    """A fleet of namespace hosts; `expect_status`: hosts `fleet collect` must report as not ok."""

    fleet = True
    tools = (
        "ip",
        "bridge",
        "iptables",
        "ss",
        "unshare",
        "ssh",
        "ssh-keygen",
        "sshd",
        "python3",
    )
    expect_status: ClassVar[dict[str, str]] = {}

    def spec(self) -> FleetSpec:
        return FleetSpec()

    def build(self, lab: Lab) -> Vantage:
        fl = build_fleet(lab, self.spec())
        out = lab.path("bundles", "x").parent
        lab.note(fleet={"controller": fl.controller.name, "inventory": str(fl.inventory), "env": fl.env})
        return Vantage(
            inside=fl.controller.name,
            env=fl.env,
            inventory=str(fl.inventory),
            command=["fleet", "collect", "-i", str(fl.inventory), "-o", str(out)],
        )

    @classmethod
    def how(cls, vantage: Vantage) -> list[str]:
        """What to run against the fleet, as shell lines (printed by `lab up`)."""
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in vantage.env.items())
        pre = f"ip netns exec {vantage.inside} env {env} netsleuth fleet"
        inv = shlex.quote(vantage.inventory or "")
        out = shlex.quote(vantage.command[-1] if vantage.command else "bundles")
        return [
            f"{pre} collect -i {inv} -o {out}",
            f"{pre} probe -i {inv} -o {out}/mesh.json",
            f"netsleuth fleet diagnose {out} --mesh {out}/mesh.json",
        ]


@scenario
class FleetHealthy(FleetScenario):
    """Healthy: four hosts, a full VXLAN mesh on 4789, MTU 1450 everywhere, every sshd up."""

    name = "fleet-healthy"


@scenario
class FleetUdpDropped(FleetScenario):
    """hv3's firewall drops inbound UDP 4789: ping passes both ways, VXLAN only leaves hv3 (seed 003)."""

    name = "fleet-udp-4789-dropped"
    expect = "fleet.udp_one_way"
    expect_subject = ("hv3",)

    def spec(self) -> FleetSpec:
        return FleetSpec(drop_udp={"hv3": 4789})


@scenario
class FleetMtu1500(FleetScenario):
    """hv3's VXLAN device has MTU 1500 where the others have 1450 (seeds 003/004)."""

    name = "fleet-vxlan-mtu-1500"
    expect = "fleet.mtu_inconsistent"
    expect_subject = ("hv3",)

    def spec(self) -> FleetSpec:
        return FleetSpec(VxlanFleetSpec(mtus={"hv3": 1500}))


@scenario
class FleetReverseMissing(FleetScenario):
    """hv1 tunnels to hv2, hv2 has no tunnel back to hv1."""

    name = "fleet-reverse-tunnel-missing"
    expect = "fleet.tunnel_mesh_incomplete"
    expect_subject = ("hv1->hv2",)

    def spec(self) -> FleetSpec:
        return FleetSpec(VxlanFleetSpec(missing={("hv2", "hv1")}))


@scenario
class FleetPort8472(FleetScenario):
    """hv4's VTEP uses Linux's old default UDP port 8472; the others use 4789 (seed 003)."""

    name = "fleet-vtep-port-8472"
    expect = "fleet.vxlan_port_mismatch"
    expect_subject = ("hv4",)

    def spec(self) -> FleetSpec:
        return FleetSpec(VxlanFleetSpec(ports={"hv4": 8472}))


@scenario
class FleetDuplicateIp(FleetScenario):
    """One underlay address configured on two hosts, hv2 and hv3 (seed 003)."""

    name = "fleet-duplicate-ip"
    expect = "fleet.duplicate_ip"
    expect_subject = (DUP,)

    def spec(self) -> FleetSpec:
        return FleetSpec(VxlanFleetSpec(extra={"hv2": [f"{DUP}/24"], "hv3": [f"{DUP}/24"]}))


@scenario
class FleetSshUnreachable(FleetScenario):
    """hv4 runs no sshd: it is listed unreachable, the other three are still collected and quiet."""

    name = "fleet-ssh-unreachable"
    expect_status: ClassVar[dict[str, str]] = {"hv4": "unreachable"}

    def spec(self) -> FleetSpec:
        return FleetSpec(no_sshd={"hv4"})


class FleetRun:
    """What the whole chain said about a fleet lab: collect, probe, diagnose (each a finished process)."""

    def __init__(self, outdir: str) -> None:
        import subprocess

        self.outdir = outdir
        self.collect: subprocess.CompletedProcess[str] | None = None
        self.probe: subprocess.CompletedProcess[str] | None = None
        self.diagnose: subprocess.CompletedProcess[str] | None = None
        self.seconds: dict[str, float] = {}


def run_fleet(vantage: Vantage, *, probe: bool = True, timeout: float = 300) -> FleetRun:
    """`fleet collect` and `fleet probe` from the controller namespace (Ansible over SSH), then
    `fleet diagnose` of the bundles with the mesh matrix, each with --format json."""
    import time
    from dataclasses import replace

    outdir = vantage.command[-1]
    mesh = f"{outdir}/mesh.json"
    run = FleetRun(outdir)
    t = time.monotonic()
    run.collect = vantage.run("--format", "json", timeout=timeout)
    run.seconds["collect"] = time.monotonic() - t
    if probe:
        t = time.monotonic()
        cmd = ["fleet", "probe", "-i", vantage.inventory or "", "-o", mesh]
        run.probe = replace(vantage, command=cmd).run("--format", "json", timeout=timeout)
        run.seconds["probe"] = time.monotonic() - t
    t = time.monotonic()
    diag = ["fleet", "diagnose", outdir, *(["--mesh", mesh] if probe else [])]
    run.diagnose = replace(vantage, inside=None, command=diag).run("--format", "json", timeout=timeout)
    run.seconds["diagnose"] = time.monotonic() - t
    return run
