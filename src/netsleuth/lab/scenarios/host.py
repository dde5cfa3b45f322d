"""Host set-up faults (seed 003): the deploying shell's umask and PATH, a log file system filling up."""

from __future__ import annotations

from netsleuth.lab import Lab
from netsleuth.lab.scenario import Scenario, Vantage, scenario


@scenario
class UmaskRestrictive(Scenario):
    """netsleuth runs from a shell with umask 0027, as the deploying user did (seed 003: empty daemon.json)."""

    name = "host-umask-restrictive"
    expect = "host.umask_restrictive"
    expect_subject = ("0027", "umask")

    def build(self, lab: Lab) -> Vantage:
        ns = lab.netns("host")
        return Vantage(inside=ns.name, umask=0o027)


@scenario
class PathIncomplete(Scenario):
    """netsleuth runs from a shell whose PATH lacks /sbin and /usr/sbin (seed 003: modprobe not found)."""

    name = "host-path-incomplete"
    expect = "host.path_incomplete"
    expect_subject = ("PATH", "sbin")

    def build(self, lab: Lab) -> Vantage:
        ns = lab.netns("host")
        return Vantage(inside=ns.name, env={"PATH": "/usr/local/bin:/usr/bin:/bin"})


@scenario
class DiskFilling(Scenario):
    """/var/log is 97% full (a private mount namespace with a small tmpfs there; seed 003)."""

    name = "host-disk-filling"
    expect = "host.disk_filling"
    expect_subject = ("/var/log",)
    tools = ("ip", "unshare")

    def build(self, lab: Lab) -> Vantage:
        ns = lab.netns("host")
        fill = (
            "mount -t tmpfs -o size=16m lab-varlog /var/log && head -c 16000000 /dev/zero > /var/log/app.log"
        )
        wrap = [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            f'{fill} && exec "$@"',
            "lab-mnt",
        ]
        return Vantage(inside=ns.name, wrap=wrap)
