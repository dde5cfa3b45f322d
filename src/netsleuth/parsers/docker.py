"""Containers' CPU settings: `docker inspect` JSON (sosreports keep one file per container) and the
one-line-per-container form netsleuth collects live (same keys, only what the rules read)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from netsleuth.errors import ParseError


@dataclass(frozen=True)
class ContainerCpu:
    name: str
    cpu_shares: int  # 0 = not set (the daemon gives 1024)
    nano_cpus: int
    cpuset: str
    line: str


def _container(obj: dict[str, Any]) -> ContainerCpu:
    hc = obj.get("HostConfig")
    if not isinstance(hc, dict):
        raise ParseError("docker inspect: no HostConfig", json.dumps(obj)[:80])
    name = str(obj.get("Name") or obj.get("Id", "")[:12]).lstrip("/")
    shares = int(hc.get("CpuShares") or 0)
    nano = int(hc.get("NanoCpus") or 0)
    cpuset = str(hc.get("CpusetCpus") or "")
    return ContainerCpu(name, shares, nano, cpuset, f"{name}: HostConfig.CpuShares={shares}")


def parse_docker_inspect(text: str) -> list[ContainerCpu]:
    """Parse `docker inspect` output (a JSON list) or JSON lines (one object per container).

    >>> [(c.name, c.cpu_shares) for c in parse_docker_inspect(SAMPLE_LINES)]
    [('drds-server-1', 128), ('mq-diamond', 0)]
    >>> parse_docker_inspect('Error: No such object: abc')
    Traceback (most recent call last):
    ...
    netsleuth.errors.ParseError: docker inspect: not JSON: 'Error: No such object: abc'
    """
    s = text.strip()
    if not s:
        return []
    objs: list[Any] = []
    try:
        data = json.loads(s)
        objs = data if isinstance(data, list) else [data]
    except json.JSONDecodeError:
        for ln in s.splitlines():
            try:
                objs.append(json.loads(ln))
            except json.JSONDecodeError:
                raise ParseError("docker inspect: not JSON", ln[:80]) from None
    return [_container(o) for o in objs if isinstance(o, dict)]


# the live form: `docker inspect --format` with the keys the rule reads (seed 003: --cpu-shares=128)
SAMPLE_LINES = """\
{"Name":"/drds-server-1","HostConfig":{"CpuShares":128,"NanoCpus":0,"CpusetCpus":""}}
{"Name":"/mq-diamond","HostConfig":{"CpuShares":0,"NanoCpus":0,"CpusetCpus":""}}
"""


@dataclass(frozen=True)
class Container:
    """One line of `docker ps` / `podman ps`."""

    id: str
    image: str
    name: str
    status: str
    runtime: str = ""

    @property
    def running(self) -> bool:
        return self.status.startswith("Up")


def parse_container_ps(text: str, runtime: str = "") -> list[Container]:
    """Parse `docker ps [-a]` or `podman ps [-a]`: columns found by the header's offsets.

    >>> [(c.name, c.image.rsplit("/", 1)[-1], c.running) for c in parse_container_ps(SAMPLE_PS)]
    [('openvswitch_vswitchd', 'openvswitch-vswitchd:zed', True), ('openvswitch_db', 'openvswitch-db-server:zed', True), ('neutron_openvswitch_agent', 'neutron-openvswitch-agent:zed', False)]
    >>> parse_container_ps("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.")
    []
    """
    lines = text.splitlines()
    head = next((i for i, ln in enumerate(lines) if ln.startswith("CONTAINER ID")), None)
    if head is None:
        return []
    header = lines[head]
    cols = {name: header.find(name) for name in ("IMAGE", "STATUS", "NAMES")}
    if min(cols.values()) < 0:
        return []
    out: list[Container] = []
    for ln in lines[head + 1 :]:
        if not ln.strip() or len(ln) <= cols["NAMES"]:
            continue
        status_end = header.find("PORTS") if header.find("PORTS") > cols["STATUS"] else cols["NAMES"]
        out.append(
            Container(
                id=ln.split()[0],
                image=ln[cols["IMAGE"] :].split()[0] if len(ln) > cols["IMAGE"] else "",
                name=ln[cols["NAMES"] :].split()[0].split(",")[0],
                status=ln[cols["STATUS"] : status_end].strip(),
                runtime=runtime,
            )
        )
    return out


def ovs_container(containers: list[Container]) -> Container | None:
    """The running container that holds Open vSwitch's daemons (kolla's openvswitch_vswitchd /
    openvswitch_db, TripleO's and others' ovs-vswitchd), not an agent that merely talks to it.

    >>> ovs_container(parse_container_ps(SAMPLE_PS)).name
    'openvswitch_vswitchd'
    """

    def score(c: Container) -> int:
        label = f"{c.name} {c.image}".lower()
        if not c.running or "agent" in label or "neutron" in label:
            return 0
        if "vswitchd" in label:
            return 3
        if "openvswitch" in label or "ovsdb" in label or "ovs-db" in label:
            return 2
        return 0

    best = max(containers, key=score, default=None)
    return best if best is not None and score(best) else None


# `docker ps` on a kolla-ansible compute node (the layout docker prints; ids and ages of one host)
SAMPLE_PS = """\
CONTAINER ID   IMAGE                                                          COMMAND                  CREATED        STATUS                    PORTS     NAMES
0202d68e0d26   quay.io/openstack.kolla/openvswitch-vswitchd:zed               "dumb-init --single-…"   4 hours ago    Up 4 hours (healthy)                openvswitch_vswitchd
b9f4f1b8ac0e   quay.io/openstack.kolla/openvswitch-db-server:zed              "dumb-init --single-…"   4 hours ago    Up 4 hours (healthy)                openvswitch_db
4c1d7e3f9a21   quay.io/openstack.kolla/neutron-openvswitch-agent:zed          "dumb-init --single-…"   4 hours ago    Exited (1) 2 hours ago              neutron_openvswitch_agent
"""
