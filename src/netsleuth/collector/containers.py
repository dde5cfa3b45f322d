"""Containers seen by `docker ps` / `podman ps`: the one that runs Open vSwitch's daemons is where
the OVS tools are, when the host has none (kolla-ansible, TripleO)."""

from typing import List, Optional


class Container:
    """One line of `docker ps` / `podman ps`."""

    __slots__ = ("id", "image", "name", "runtime", "status")

    def __init__(self, id: str, image: str, name: str, status: str, runtime: str = "") -> None:
        self.id = id
        self.image = image
        self.name = name
        self.status = status
        self.runtime = runtime

    def __repr__(self) -> str:
        return "Container({!r}, {!r}, {!r}, {!r})".format(self.id, self.image, self.name, self.status)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Container) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__
        )

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, k) for k in self.__slots__))

    @property
    def running(self) -> bool:
        return self.status.startswith("Up")


def parse_container_ps(text: str, runtime: str = "") -> List[Container]:
    """Parse `docker ps [-a]` or `podman ps [-a]`: columns found by the header's offsets.

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
    out: List[Container] = []
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


def ovs_container(containers: List[Container]) -> Optional[Container]:
    """The running container that holds Open vSwitch's daemons (kolla's openvswitch_vswitchd /
    openvswitch_db, TripleO's and others' ovs-vswitchd), not an agent that merely talks to it.

    """

    def score(c: Container) -> int:
        label = "{} {}".format(c.name, c.image).lower()
        if not c.running or "agent" in label or "neutron" in label:
            return 0
        if "vswitchd" in label:
            return 3
        if "openvswitch" in label or "ovsdb" in label or "ovs-db" in label:
            return 2
        return 0

    best = max(containers, key=score, default=None)
    return best if best is not None and score(best) else None
