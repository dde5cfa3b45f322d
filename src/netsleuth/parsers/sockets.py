"""Listening sockets: `ss -H -l -n -t -u -p` (live) and `netstat -W -neopa` (sosreports)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from netsleuth.errors import ParseError


@dataclass(frozen=True)
class Listener:
    proto: str  # tcp | udp (tcp6/udp6 folded, the address says the family)
    address: str  # "127.0.0.1", "0.0.0.0", "::", "*"
    port: int
    process: str = ""
    line: str = ""

    def covers(self, addr: str) -> bool:
        """Does this socket receive what is sent to `addr` on its port?"""
        return (
            self.address in ("0.0.0.0", "::", "*", "[::]") or self.address.split("%")[0].strip("[]") == addr
        )


def _split_endpoint(text: str, raw: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ParseError("no port in local address", raw)
    return host.strip("[]").split("%")[0] or "*", int(port)


_SS_PROC = re.compile(r'users:\(\("([^"]+)"')
_NETSTAT_PROC = re.compile(r"\s\d+/(\S+)")


def parse_listeners(text: str) -> list[Listener]:
    """Parse either form; only listening TCP and bound UDP sockets are kept.

    >>> ls = parse_listeners('''tcp   LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=812,fd=3))
    ... udp   UNCONN 0      0      127.0.0.53%lo:53        0.0.0.0:*    users:(("systemd-resolve",pid=612,fd=13))
    ... tcp   LISTEN 0      4096           [::]:9696          [::]:*''')
    >>> [(x.proto, x.address, x.port, x.process) for x in ls]
    [('tcp', '0.0.0.0', 22, 'sshd'), ('udp', '127.0.0.53', 53, 'systemd-resolve'), ('tcp', '::', 9696, '')]
    >>> ls = parse_listeners('''Active Internet connections (servers and established)
    ... Proto Recv-Q Send-Q Local Address           Foreign Address         State       User       Inode      PID/Program name     Timer
    ... tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN      0          23456      1234/sshd            off (0.00/0/0)
    ... tcp        0      0 10.0.0.5:22             10.0.0.9:50122          ESTABLISHED 0          33456      2234/sshd: root      keepalive (7186.27/0/0)
    ... udp        0      0 127.0.0.1:53            0.0.0.0:*                           0          12345      900/dnsmasq          off (0.00/0/0)''')
    >>> [(x.proto, x.address, x.port, x.process) for x in ls]
    [('tcp', '0.0.0.0', 22, 'sshd'), ('udp', '127.0.0.1', 53, 'dnsmasq')]
    >>> parse_listeners("tcp LISTEN garbage")
    Traceback (most recent call last):
    netsleuth.errors.ParseError: no port in local address: 'tcp LISTEN garbage'
    """
    out: list[Listener] = []
    for raw in text.splitlines():
        words = raw.split()
        if not words or not words[0].startswith(("tcp", "udp")):
            continue  # headers, unix sockets, raw sockets
        proto = words[0][:3]
        if len(words) > 1 and words[1] in ("LISTEN", "UNCONN"):  # ss
            if len(words) < 5:
                raise ParseError("no port in local address", raw)
            host, port = _split_endpoint(words[4], raw)
            m = _SS_PROC.search(raw)
        else:  # netstat: Proto Recv-Q Send-Q Local Foreign [State] ...
            if len(words) < 5:
                raise ParseError("short netstat line", raw)
            if proto == "tcp" and (len(words) < 6 or words[5] != "LISTEN"):
                continue
            if proto == "udp" and words[4] not in ("0.0.0.0:*", ":::*", "*:*"):
                continue  # connected UDP socket
            host, port = _split_endpoint(words[3], raw)
            m = _NETSTAT_PROC.search(raw)
        out.append(Listener(proto, host, port, m.group(1).rstrip(":") if m else "", raw.strip()))
    return out
