"""File system usage: `df -PT` (live) and `df -al -x autofs` (sosreports)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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


_SIZE_COLUMNS = ("1k-blocks", "1024-blocks", "1K-blocks")


def _rows(lines: list[str]) -> Iterator[str]:
    """The data lines, a device name alone on its line (coreutils before 8.21, as RHEL 6's `df`
    prints a long one) joined with the numbers on the next."""
    i = 0
    while i < len(lines):
        line = lines[i]
        if len(line.split()) == 1 and i + 1 < len(lines) and lines[i + 1][:1].isspace():
            yield line.rstrip() + " " + lines[i + 1].strip()
            i += 2
            continue
        yield line
        i += 1


def parse_df(text: str) -> list[DiskUsage]:
    """Parse POSIX `df -P[T]` or `df -al` output (1K blocks).

    >>> rows = parse_df(SAMPLE_DF)
    >>> [(d.mount, d.fstype, round(d.use_pct), d.is_disk) for d in rows]
    [('/dev', 'devtmpfs', 0, False), ('/', 'ext4', 22, True), ('/sys/fs/cgroup', 'tmpfs', 0, False)]

    coreutils before 8.21 (RHEL 6) puts a long device name on a line of its own:

    >>> [(d.filesystem, d.mount, d.used_kb) for d in parse_df(SAMPLE_DF_RHEL6)][:2]
    [('/dev/mapper/vg_root-lv_root', '/', 10144320), ('proc', '/proc', 0)]

    A last line cut short (output truncated) is left out; rows of `-` sizes (`df -a`'s pseudo file
    systems) too.
    """
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("Filesystem"):
        raise ParseError("df: no `Filesystem` header", lines[0] if lines else "")
    head = lines[0].split()
    typed = len(head) > 1 and head[1] == "Type"
    if len(head) < 6 or head[2 if typed else 1] not in _SIZE_COLUMNS:
        raise ParseError("df: not a table of 1K blocks", lines[0])
    numbers = 5 if typed else 4  # [type] size used avail use%
    out: list[DiskUsage] = []
    rows = list(_rows(lines[1:]))
    for n, row in enumerate(rows):
        parts = row.split()
        if len(parts) < numbers + 2:
            if n == len(rows) - 1:
                break  # cut off mid-line
            raise ParseError("df: a row with too few columns", row)
        fs, rest = parts[0], parts[1 : numbers + 1]
        fstype = rest.pop(0) if typed else ""
        size, used, avail = (int(v) if v.isdigit() else None for v in rest[:3])
        if size is None or used is None or avail is None:
            continue  # "-" sizes of pseudo file systems in `df -a`
        mount = row.split(None, numbers + 1)[numbers + 1]
        out.append(DiskUsage(fs, fstype, size, used, avail, mount, row.rstrip()))
    return out


# captured on the test machine: `df -PT`
SAMPLE_DF = """\
Filesystem              Type     1024-blocks     Used Available Capacity Mounted on
devtmpfs                devtmpfs    12334492        0  12334492       0% /dev
/dev/vda                ext4       264212084 23047924  83342988      22% /
tmpfs                   tmpfs       12342044        0  12342044       0% /sys/fs/cgroup
"""

# coreutils 8.4 (RHEL 6) `df -al`: a long device name alone on its line
SAMPLE_DF_RHEL6 = """\
Filesystem           1K-blocks      Used Available Use% Mounted on
/dev/mapper/vg_root-lv_root
                      51606140  10144320  38840380  21% /
proc                         0         0         0   -  /proc
tmpfs                  8166072         0   8166072   0% /dev/shm
/dev/sda1               495844     60000    410244  13% /boot
"""
