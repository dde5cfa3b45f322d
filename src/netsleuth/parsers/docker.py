"""Containers' CPU settings: `docker inspect` JSON (sosreports keep one file per container) and the
one-line-per-container form netsleuth collects live (same keys, only what the rules read).
`docker ps` / `podman ps` are read by the collector (collector/containers.py, which finds the
container that runs Open vSwitch) and re-exported here for the facts:

>>> [(c.name, c.image.rsplit("/", 1)[-1], c.running) for c in parse_container_ps(SAMPLE_PS)]
[('openvswitch_vswitchd', 'openvswitch-vswitchd:zed', True), ('openvswitch_db', 'openvswitch-db-server:zed', True), ('neutron_openvswitch_agent', 'neutron-openvswitch-agent:zed', False)]
>>> ovs_container(parse_container_ps(SAMPLE_PS)).name
'openvswitch_vswitchd'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from netsleuth.collector.containers import Container as Container
from netsleuth.collector.containers import ovs_container as ovs_container
from netsleuth.collector.containers import parse_container_ps as parse_container_ps
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


# `docker ps` on a kolla-ansible compute node (the layout docker prints; ids and ages of one host)
SAMPLE_PS = """\
CONTAINER ID   IMAGE                                                          COMMAND                  CREATED        STATUS                    PORTS     NAMES
0202d68e0d26   quay.io/openstack.kolla/openvswitch-vswitchd:zed               "dumb-init --single-…"   4 hours ago    Up 4 hours (healthy)                openvswitch_vswitchd
b9f4f1b8ac0e   quay.io/openstack.kolla/openvswitch-db-server:zed              "dumb-init --single-…"   4 hours ago    Up 4 hours (healthy)                openvswitch_db
4c1d7e3f9a21   quay.io/openstack.kolla/neutron-openvswitch-agent:zed          "dumb-init --single-…"   4 hours ago    Exited (1) 2 hours ago              neutron_openvswitch_agent
"""
