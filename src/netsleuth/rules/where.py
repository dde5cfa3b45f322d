"""Where a service runs decides the command that reaches it (issue 9: "say clearly: OVS runs in
container X"). On the host: its tools, systemd. In kolla-ansible's or TripleO's containers:
`docker exec openvswitch_vswitchd ovs-vsctl ...`, `docker restart neutron_l3_agent` (podman
alike). In Sunbeam's snap: `openstack-hypervisor.ovs-vsctl ...` (the commands sos runs there)
and the snap's services, one per daemon (`snap.openstack-hypervisor.ovs-vswitchd.service` in
the real report's process cgroups). Remedies are built from the facts, never for a named host."""

from __future__ import annotations

import re
from collections.abc import Iterable

from netsleuth.facts.ovs import OvsHome
from netsleuth.messages import Msg
from netsleuth.parsers.docker import Container
from netsleuth.rules.base import Cmd, RemedyLine

# an OVS tool where a shell command starts (not `pidof ovs-vswitchd`, not a path)
_TOOL = re.compile(r"(^|[;&|]\s*)(ovs-(?:vsctl|ofctl|appctl|dpctl|vswitchd))\b")
_SNAP_TOOLS = ("ovs-vsctl", "ovs-ofctl", "ovs-appctl", "ovs-dpctl")  # what sos runs through the snap


def ovs_cmd(home: OvsHome | None, command: str) -> str:
    """`command` with each OVS tool run where Open vSwitch is.

    >>> ovs_cmd(OvsHome("docker", "openvswitch_vswitchd"), "ovs-vsctl del-port br-int tap1 && ovs-vsctl add-port br-int tap1")
    'docker exec openvswitch_vswitchd ovs-vsctl del-port br-int tap1 && docker exec openvswitch_vswitchd ovs-vsctl add-port br-int tap1'
    >>> ovs_cmd(OvsHome("snap", "openstack-hypervisor"), "ovs-appctl upcall/show; top -H -p $(pidof ovs-vswitchd)")
    'openstack-hypervisor.ovs-appctl upcall/show; top -H -p $(pidof ovs-vswitchd)'
    >>> ovs_cmd(None, "ovs-vsctl show")
    'ovs-vsctl show'
    """
    if home is None or not home.kind:
        return command

    def wrap(m: re.Match[str]) -> str:
        tool = m.group(2)
        if home.kind == "snap":
            return m.group(1) + (f"{home.name}.{tool}" if tool in _SNAP_TOOLS else tool)
        ctr = home.vswitchd if tool == "ovs-vswitchd" and home.vswitchd else home.name
        return f"{m.group(1)}{home.kind} exec {ctr} {tool}"

    return _TOOL.sub(wrap, command)


def ovs_restart_command(home: OvsHome | None, daemon: str) -> str:
    """The command that restarts `daemon` (ovs-vswitchd, ovsdb-server) where it runs."""
    if home is None or not home.kind:
        return "systemctl restart openvswitch-switch"
    if home.kind == "snap":
        return f"snap restart {home.name}.{daemon}"
    ctr = (home.vswitchd if daemon == "ovs-vswitchd" else home.ovsdb) or home.name
    return f"{home.kind} restart {ctr}"


def ovs_restart(home: OvsHome | None, daemon: str) -> list[RemedyLine]:
    cmd = ovs_restart_command(home, daemon)
    if home is None or not home.kind:
        return [Cmd(cmd, Msg("c_rhel_restart"))]
    if home.kind == "snap":
        return [Cmd(cmd, Msg("c_snap_service", {"snap": home.name, "daemon": daemon}))]
    return [Cmd(cmd, Msg("c_container_restart", {"daemon": daemon, "runtime": home.kind}))]


def ovs_enable(home: OvsHome | None) -> RemedyLine:
    """Persist: Open vSwitch comes back at boot."""
    if home is None or not home.kind:
        return "systemctl enable openvswitch-switch"
    if home.kind == "snap":
        return Cmd(
            f"snap start --enable {home.name}.ovsdb-server {home.name}.ovs-vswitchd",
            Msg("c_snap_service", {"snap": home.name, "daemon": "ovsdb-server, ovs-vswitchd"}),
        )
    return restart_policy(home.kind, home.ovsdb or home.name)


def watchdog_cron(home: OvsHome | None) -> Cmd:
    """Seed 000's cron watchdog: a bounded probe of ovs-vswitchd, restarted when it does not answer."""
    probe = ovs_cmd(home, "ovs-appctl -t ovs-vswitchd version")
    return Cmd(
        f"* * * * * root timeout -s KILL 5 {probe} >/dev/null || {ovs_restart_command(home, 'ovs-vswitchd')}",
        Msg("c_cron_file"),
    )


def restart_policy(runtime: str, name: str) -> Cmd:
    return Cmd(
        f"{runtime} inspect -f '{{{{.HostConfig.RestartPolicy.Name}}}}' {name}", Msg("c_restart_policy")
    )


def agent_container(process: str, containers: Iterable[Container]) -> Container | None:
    """The container that runs a Neutron agent: by its name (kolla's neutron_l3_agent) or its
    image (kolla's neutron-l3-agent, TripleO's openstack-neutron-l3-agent).

    >>> from netsleuth.parsers.docker import SAMPLE_PS, parse_container_ps
    >>> ctrs = parse_container_ps(SAMPLE_PS, "docker")
    >>> agent_container("neutron-openvswitch-agent", ctrs).name
    'neutron_openvswitch_agent'
    >>> agent_container("neutron-l3-agent", ctrs) is None
    True
    """
    for c in containers:
        image = c.image.rsplit("/", 1)[-1].split(":")[0]
        if c.name.replace("_", "-") == process or image == process or image.endswith("-" + process):
            return c
    return None


def agent_restart(process: str, ctr: Container | None) -> list[str]:
    """Look at an agent, then restart it: its systemd unit, or the container it runs in."""
    if ctr is None:
        return [
            f"systemctl status {process}",
            f"journalctl -u {process} -n 100 --no-pager",
            f"systemctl restart {process}",
        ]
    rt = ctr.runtime or "docker"
    return [
        f"{rt} ps -a --filter name={ctr.name}",
        f"{rt} logs --tail 100 {ctr.name}",
        f"{rt} restart {ctr.name}",
    ]


def agent_enable(process: str, ctr: Container | None) -> RemedyLine:
    if ctr is None:
        return f"systemctl enable {process}"
    return restart_policy(ctr.runtime or "docker", ctr.name)
