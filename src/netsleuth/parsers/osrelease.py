"""/etc/os-release: which distribution family a host runs (its commands to make a fix last differ)."""

from __future__ import annotations


def parse_os_family(text: str) -> str:
    """The distribution family of /etc/os-release (ID and ID_LIKE): rhel, debian, suse or "".

    >>> parse_os_family('NAME="Ubuntu"\\nID=ubuntu\\nID_LIKE=debian\\nVERSION_ID="20.04"')
    'debian'
    >>> parse_os_family('NAME="Rocky Linux"\\nID="rocky"\\nID_LIKE="rhel centos fedora"')
    'rhel'
    >>> parse_os_family('ID=alpine')
    ''
    """
    ids = ""
    for line in text.splitlines():
        if line.startswith(("ID=", "ID_LIKE=")):
            ids += " " + line.split("=", 1)[1].strip('"').lower()
    for family, names in (
        ("rhel", ("rhel", "centos", "fedora", "rocky", "almalinux")),
        ("debian", ("debian", "ubuntu")),
        ("suse", ("suse", "sles")),
    ):
        if any(n in ids.split() for n in names):
            return family
    return ""
