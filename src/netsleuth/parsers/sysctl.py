"""`sysctl -a` output."""

from __future__ import annotations


def parse_sysctl(text: str) -> dict[str, str]:
    """Parse `sysctl -a` (`key = value` lines; unreadable keys are skipped).

    >>> s = parse_sysctl("net.netfilter.nf_conntrack_max = 2097152\\n"
    ...                  "net.netfilter.nf_conntrack_tcp_timeout_established = 3600\\n"
    ...                  "sysctl: permission denied on key 'net.ipv4.tcp_fastopen_key'\\n")
    >>> s["net.netfilter.nf_conntrack_max"], len(s)
    ('2097152', 2)
    """
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(" = ")
        if sep and key and " " not in key:
            out[key] = value.strip()
    return out
