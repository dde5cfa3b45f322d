"""How sos names what it collects: a command's output file (its `_mangle_command`), the commands
run in a network namespace, through a snap's alias or inside a container, and the manifest.

sos writes each command's output to `sos_commands/<plugin>/[<subdir>/]<mangled command>`; the
manifest (`sos_reports/manifest.json`, sos >= 4) records every command with its file and exit
code. The manifest is an index, not the truth: a file on disk that it does not name is still
evidence, and a file it names that is not on disk is not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

NAME_MAX = 255  # sos cuts a file name at the file system's name limit
_LEADING_BIN = re.compile(r"^/(?:usr/)?s?bin/")
_UNSAFE = re.compile(r"[^\w\-./]+")


def mangle_part(text: str) -> str:
    """A piece of a command line as sos writes it in a file name (no trimming, no cut)."""
    return _UNSAFE.sub("_", text).replace("/", ".")


def mangle(cmd: str) -> str:
    """The file name sos gives a command's output.

    A leading /bin, /sbin, /usr/bin or /usr/sbin is dropped, every run of characters other than
    letters, digits, `_`, `-`, `.` and `/` becomes `_`, `/` becomes `.`, spaces, dots,
    underscores and dashes at either end go, and the name is cut at the name limit.

    >>> mangle("ovs-appctl dpctl/show -s system@ovs-system")
    'ovs-appctl_dpctl.show_-s_system_ovs-system'
    >>> mangle("/usr/sbin/ss -peaonmi")
    'ss_-peaonmi'
    >>> mangle("ovs-vsctl -t 5 get Open_vSwitch . other_config:dpdk-init")
    'ovs-vsctl_-t_5_get_Open_vSwitch_._other_config_dpdk-init'
    >>> mangle("ls -laZ /dev/hugepages/")
    'ls_-laZ_.dev.hugepages'
    >>> len(mangle("ip netns exec " + "q" * 300 + " ip -d address show"))
    255
    """
    name = mangle_part(_LEADING_BIN.sub("", cmd)).strip(" ._-")
    return name[:NAME_MAX]


# How a command may have been wrapped when sos ran it on a host whose tools are not on the PATH:
# Open vSwitch in a snap (Sunbeam's `openstack-hypervisor.ovs-vsctl`, `microovn.ovs-vsctl`) or in a
# container (kolla's `docker exec openvswitch_vswitchd ovs-vsctl`, TripleO's `podman exec ...`).
_SNAP_EXEC = re.compile(r"^([a-z0-9][a-z0-9-]*)\.(\S+)(.*)$", re.DOTALL)
_CONTAINER_EXEC = re.compile(
    r"^(docker|podman)\s+exec\s+(?:(?:-e|--env|-u|--user)\s+\S+\s+|-\S+\s+)*(\S+)\s+(.+)$"
)
_SNAP_FILE = re.compile(r"^([a-z0-9][a-z0-9-]*)\.(.+)$")
_CONTAINER_FILE = re.compile(r"^(docker|podman)_exec_(.+)$")


@dataclass(frozen=True)
class Wrapper:
    """How sos ran a command: as is (kind ""), through a snap, or inside a container."""

    kind: str = ""  # "" | "snap" | "docker" | "podman"
    name: str = ""  # the snap or the container

    def describe(self) -> str:
        return f"{self.kind} {self.name}" if self.kind else ""


PLAIN = Wrapper()


def unwrap_exec(cmd: str) -> tuple[Wrapper, str]:
    """The command inside a snap alias or a container exec, and how it was wrapped.

    >>> unwrap_exec("openstack-hypervisor.ovs-vsctl -t 5 show")
    (Wrapper(kind='snap', name='openstack-hypervisor'), 'ovs-vsctl -t 5 show')
    >>> unwrap_exec("docker exec openvswitch_vswitchd ovs-vsctl -t 5 show")
    (Wrapper(kind='docker', name='openvswitch_vswitchd'), 'ovs-vsctl -t 5 show')
    >>> unwrap_exec("podman exec -e A=1 ovn_controller ovs-appctl dpctl/show -s")
    (Wrapper(kind='podman', name='ovn_controller'), 'ovs-appctl dpctl/show -s')
    >>> unwrap_exec("ip -d address")
    (Wrapper(kind='', name=''), 'ip -d address')
    """
    m = _CONTAINER_EXEC.match(cmd)
    if m:
        return Wrapper(m.group(1), m.group(2)), m.group(3)
    m = _SNAP_EXEC.match(cmd)
    if m and not m.group(2).startswith((".", "/")):
        return Wrapper("snap", m.group(1)), m.group(2) + m.group(3)
    return PLAIN, cmd


def unwrap_file(name: str) -> Iterator[tuple[Wrapper, str]]:
    """The mangled inner command names a file name may stand for (a container's name may hold
    `_`, so every split is offered).

    >>> list(unwrap_file("openstack-hypervisor.ovs-vsctl_-t_5_show"))
    [(Wrapper(kind='snap', name='openstack-hypervisor'), 'ovs-vsctl_-t_5_show')]
    >>> [(w.name, rest) for w, rest in unwrap_file("docker_exec_openvswitch_db_ovs-vsctl_show")][:2]
    [('openvswitch', 'db_ovs-vsctl_show'), ('openvswitch_db', 'ovs-vsctl_show')]
    """
    m = _CONTAINER_FILE.match(name)
    if m:
        rest = m.group(2)
        for i, ch in enumerate(rest):
            if ch == "_" and 0 < i < len(rest) - 1:
                yield Wrapper(m.group(1), rest[:i]), rest[i + 1 :]
        return
    m = _SNAP_FILE.match(name)
    if m and "_" not in m.group(1):
        yield Wrapper("snap", m.group(1)), m.group(2)


@dataclass(frozen=True)
class ManifestCommand:
    exec: str
    filepath: str | None  # None: sos ran it and kept no file (not installed, failed)
    rc: int | None


# One command record as sos writes it: "exec", then "filepath", (sos >= 4.3) "truncated", then
# "return_code". Read by pattern, block by block, so a manifest of any size costs bounded memory
# and a record of the wrong shape (`"filepath": 7`) is simply not an index entry.
_RECORD = re.compile(
    rb'"exec"\s*:\s*("(?:[^"\\\n]|\\.){1,8192}")\s*,\s*'
    rb'"filepath"\s*:\s*(null|"(?:[^"\\\n]|\\.){1,4096}")\s*,\s*'
    rb'(?:"truncated"\s*:\s*(?:true|false|null)\s*,\s*)?'
    rb'"return_code"\s*:\s*(null|-?\d{1,9})\b'
)
_START = re.compile(rb'"start_time"\s*:\s*"([0-9: .T-]{10,40})"')
BLOCK = 4 * 1024 * 1024
OVERLAP = 64 * 1024  # longer than any record the pattern accepts
MAX_READ = 64 * 1024 * 1024  # of a manifest (real ones: a few MB; a big report's ~20 MB)


@dataclass
class Manifest:
    commands: dict[str, ManifestCommand]
    start_time: str
    skipped: int  # records of the wrong shape or with unsafe paths
    cut: bool = False  # larger than MAX_READ: the rest not read (it is an index: files are found by name)


def _string(raw: bytes) -> str | None:
    if b"\\" not in raw:
        return raw[1:-1].decode(errors="replace")  # no escapes: the text between the quotes
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def read_manifest(path: Path, limit: int = MAX_READ) -> Manifest:
    """The command records of a sos manifest, streamed (never loaded whole), up to `limit` bytes."""
    out = Manifest({}, "", 0)
    read = 0
    with path.open("rb") as fh:
        carry = b""
        first = True
        while True:
            block = fh.read(min(BLOCK, max(0, limit - read)))
            read += len(block)
            if not block and fh.read(1):
                out.cut = True
            data = carry + block
            if first:
                m = _START.search(data[:8192])
                out.start_time = m.group(1).decode() if m else ""
                first = False
            cutoff = len(data) - OVERLAP if block else len(data)
            last = 0
            for m in _RECORD.finditer(data):
                if m.start() >= cutoff:
                    break  # read again with the next block, whole
                last = m.end()
                ex = _string(m.group(1))
                fp = None if m.group(2) == b"null" else _string(m.group(2))
                rc = None if m.group(3) == b"null" else int(m.group(3))
                if ex is None or (m.group(2) != b"null" and not safe_relpath(fp)):
                    out.skipped += 1
                    continue
                out.commands.setdefault(" ".join(ex.split()), ManifestCommand(ex, fp, rc))
            if not block:
                break
            carry = data[max(cutoff, last) :]
    return out


def safe_relpath(rel: str | None) -> bool:
    """A path inside the report: relative, no `..`, no NUL.

    >>> [safe_relpath(p) for p in ("sos_commands/a/b", "/etc/shadow", "a/../../x", "a\\x00b", None)]
    [True, False, False, False, False]
    """
    if not rel or "\x00" in rel or rel.startswith("/"):
        return False
    return ".." not in Path(rel).parts


_LOG_FILE = re.compile(r"(?:^|\s)--log-file=(/\S+)")


def log_file_of(command: str) -> str | None:
    """The log a daemon was told to write (`--log-file=PATH`), if its command line says.

    >>> log_file_of("ovs-vswitchd unix:/var/snap/openstack-hypervisor/common/run/openvswitch/db.sock "
    ...             "--log-file=/var/snap/openstack-hypervisor/common/log/openvswitch/ovs-vswitchd.log --detach")
    '/var/snap/openstack-hypervisor/common/log/openvswitch/ovs-vswitchd.log'
    >>> log_file_of("ovs-vswitchd --pidfile --detach --log-file") is None
    True
    """
    m = _LOG_FILE.search(command)
    return m.group(1) if m else None
