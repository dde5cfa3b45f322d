"""File system usage: `df -PT` (live) and `df -al -x autofs` (sosreports), via jc."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netsleuth.errors import ParseError

# file systems that are not disks: memory, overlays of container images, read-only images
PSEUDO_TYPES = frozenset(
    [
        "tmpfs",
        "devtmpfs",
        "ramfs",
        "overlay",
        "overlayfs",
        "squashfs",
        "iso9660",
        "udf",
        "proc",
        "sysfs",
        "cgroup",
        "cgroup2",
        "devpts",
        "mqueue",
        "hugetlbfs",
        "debugfs",
        "tracefs",
        "securityfs",
        "pstore",
        "bpf",
        "configfs",
        "fusectl",
        "autofs",
        "binfmt_misc",
        "nsfs",
        "rpc_pipefs",
        "efivarfs",
        "selinuxfs",
        "shm",
        "none",
    ]
)
PSEUDO_MOUNTS = ("/proc", "/sys", "/dev", "/run", "/snap/", "/var/lib/docker/overlay", "/var/lib/containers/")
# a memory file system mounted where logs and data go fills up like a disk (and takes RAM with it)
DATA_MOUNTS = ("/var/log", "/var/lib", "/var/spool", "/srv", "/data", "/opt", "/home")


@dataclass(frozen=True)
class DiskUsage:
    filesystem: str
    fstype: str  # "" when the source has no Type column (sos: `df -al`)
    size_kb: int
    used_kb: int
    avail_kb: int
    mount: str
    line: str

    @property
    def use_pct(self) -> float:
        """As df computes Use%: used / (used + available) — the root reserve does not count."""
        room = self.used_kb + self.avail_kb
        return 100.0 * self.used_kb / room if room else 0.0

    @property
    def is_disk(self) -> bool:
        """A file system that fills up with data, not memory, a container layer or a read-only image.

        >>> DiskUsage("tmpfs", "tmpfs", 16384, 15900, 484, "/var/log", "").is_disk
        True
        >>> DiskUsage("tmpfs", "tmpfs", 16384, 15900, 484, "/dev/shm", "").is_disk
        False
        """
        if self.size_kb <= 0:
            return False
        memory = self.fstype.lower() == "tmpfs" or self.filesystem.lower() == "tmpfs"
        data_path = any(self.mount == p or self.mount.startswith(p + "/") for p in DATA_MOUNTS)
        if memory and data_path:
            return True
        if self.fstype.lower() in PSEUDO_TYPES or self.filesystem.lower() in PSEUDO_TYPES:
            return False
        return not any(self.mount == p.rstrip("/") or self.mount.startswith(p) for p in PSEUDO_MOUNTS)


def _raw_line(lines: list[str], fs: str, mount: str) -> str:
    for ln in lines[1:]:
        parts = ln.split()
        if parts and parts[0] == fs and ln.rstrip().endswith(" " + mount):
            return ln.rstrip()
    return f"{fs} ... {mount}"


def parse_df(text: str) -> list[DiskUsage]:
    """Parse POSIX `df -P[T]` or `df -al` output (1K blocks).

    >>> rows = parse_df(SAMPLE_DF)
    >>> [(d.mount, d.fstype, round(d.use_pct), d.is_disk) for d in rows]
    [('/dev', 'devtmpfs', 0, False), ('/', 'ext4', 22, True), ('/sys/fs/cgroup', 'tmpfs', 0, False)]
    """
    import jc

    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("Filesystem"):
        raise ParseError("df: no `Filesystem` header", lines[0] if lines else "")
    rows: Any = jc.parse("df", text, quiet=True)
    out: list[DiskUsage] = []
    for r in rows:
        size = r.get("1024_blocks", r.get("1k_blocks", r.get("size")))
        used, avail = r.get("used"), r.get("available")
        if not isinstance(size, int) or not isinstance(used, int) or not isinstance(avail, int):
            continue  # "-" sizes of pseudo file systems in `df -a`
        out.append(
            DiskUsage(
                filesystem=str(r.get("filesystem", "")),
                fstype=str(r.get("type") or ""),
                size_kb=size,
                used_kb=used,
                avail_kb=avail,
                mount=str(r.get("mounted_on", "")),
                line=_raw_line(lines, str(r.get("filesystem", "")), str(r.get("mounted_on", ""))),
            )
        )
    return out


# captured on the test machine: `df -PT`
SAMPLE_DF = """\
Filesystem              Type     1024-blocks     Used Available Capacity Mounted on
devtmpfs                devtmpfs    12334492        0  12334492       0% /dev
/dev/vda                ext4       264212084 23047924  83342988      22% /
tmpfs                   tmpfs       12342044        0  12342044       0% /sys/fs/cgroup
"""
