"""Listening sockets: `ss -H -l -n -t -u -p` (live), `ss -peaonmi` and `netstat -W -neopa`
(sosreports), and the kernel's own tables /proc/net/{tcp,tcp6,udp,udp6} (both)."""

from __future__ import annotations

import ipaddress
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
# the first word of a line of a socket list: its headers and every kind of socket ss/netstat show
_LIST_WORDS = frozenset(
    [
        "Netid",
        "State",
        "Proto",
        "Active",
        "tcp",
        "tcp6",
        "udp",
        "udp6",
        "udpl",
        "udpl6",
        "raw",
        "raw6",
        "unix",
        "u_str",
        "u_dgr",
        "u_seq",
        "nl",
        "p_raw",
        "p_dgr",
        "mptcp",
        "sctp",
        "dccp",
        "tipc",
        "xdp",
        "v_str",
        "v_dgr",
        "icmp6",
        "?",
    ]
)
_SS_CONNECTED = frozenset(
    [
        "ESTAB",
        "SYN-SENT",
        "SYN-RECV",
        "FIN-WAIT-1",
        "FIN-WAIT-2",
        "TIME-WAIT",
        "CLOSE-WAIT",
        "LAST-ACK",
        "CLOSING",
        "UNKNOWN",
    ]
)


def parse_listeners(text: str) -> list[Listener]:
    """Parse any of the forms; only listening TCP and bound UDP sockets are kept.

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

    `ss -peaonmi`, every socket with a memory/info line under each (what sos keeps):

    >>> ls = parse_listeners(SAMPLE_SS_PEAONMI)
    >>> [(x.proto, x.address, x.port, x.process) for x in ls]
    [('udp', '127.0.0.53', 53, 'python3'), ('tcp', '127.0.0.53', 53, 'python3'), ('tcp', '*', 22, 'python3')]

    Anything else is no list of sockets (`netstat -W -agn` lists multicast groups):

    >>> parse_listeners(SAMPLE_NETSTAT_AGN)
    Traceback (most recent call last):
    netsleuth.errors.ParseError: not a list of sockets: 'IPv6/IPv4 Group Memberships'
    """
    out: list[Listener] = []
    listing = False
    for raw in text.splitlines():
        words = raw.split()
        if not words:
            continue
        if words[0] in _LIST_WORDS or raw.startswith("\t"):
            listing = True
        if not words[0].startswith(("tcp", "udp")):
            continue  # headers, unix sockets, raw sockets, ss's memory/info lines
        proto = words[0][:3]
        if len(words) > 1 and words[1] in _SS_CONNECTED:
            continue  # ss: a connection, not a listener
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
    if not listing and text.strip():
        raise ParseError("not a list of sockets", next(ln for ln in text.splitlines() if ln.strip()))
    return out


_TCP_LISTEN, _UDP_UNCONNECTED = "0A", "07"


def _hex_address(text: str) -> str:
    """An address of /proc/net/{tcp,udp}[6]: 32-bit words in the host's (little-endian) order.

    >>> _hex_address("3500007F"), _hex_address("00000000000000000000000001000000")
    ('127.0.0.53', '::1')
    """
    raw = bytes.fromhex(text)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def parse_proc_net(text: str, proto: str) -> list[Listener]:
    """Listening TCP and bound, unconnected UDP sockets of /proc/net/tcp, tcp6, udp or udp6
    (`proto` is the file's name). No process names: the kernel gives the inode only.

    >>> [(x.proto, x.address, x.port) for x in parse_proc_net(SAMPLE_PROC_TCP, "tcp")]
    [('tcp', '127.0.0.53', 53)]
    >>> [(x.proto, x.address, x.port) for x in parse_proc_net(SAMPLE_PROC_TCP6, "tcp6")]
    [('tcp', '::', 22)]
    >>> parse_proc_net("hello", "udp")
    Traceback (most recent call last):
    netsleuth.errors.ParseError: /proc/net/udp: no `sl local_address` header: 'hello'
    """
    family = proto[:3]
    want = _TCP_LISTEN if family == "tcp" else _UDP_UNCONNECTED
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if lines and lines[0].split()[:2] != ["sl", "local_address"]:
        raise ParseError(f"/proc/net/{proto}: no `sl local_address` header", lines[0])
    out: list[Listener] = []
    for raw in lines[1:]:
        words = raw.split()
        if len(words) < 4 or words[3] != want:
            continue
        if family == "udp" and not words[2].endswith(":0000"):
            continue  # connected
        local, _, port = words[1].partition(":")
        try:
            address, number = _hex_address(local), int(port, 16)
        except ValueError:
            raise ParseError(f"/proc/net/{proto}: bad address", raw) from None
        state = "LISTEN" if family == "tcp" else "UNCONN"
        out.append(Listener(family, address, number, "", f"/proc/net/{proto}: {address}:{number} {state}"))
    return out


# real outputs, taken in a namespace with a resolver on 127.0.0.53 and sshd-like listener on port 22
SAMPLE_SS_PEAONMI = """\
Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process
nl    UNCONN 0      0                  0:0                 *      sk=0 cb=0 groups=0x00000000\t skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0)
udp   UNCONN 0      0         127.0.0.53:53         0.0.0.0:*     users:(("python3",pid=3508,fd=3)) ino:355853 sk:f cgroup:unreachable:1 <->
\t skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0)
tcp   LISTEN 1      128       127.0.0.53:53         0.0.0.0:*     users:(("python3",pid=3508,fd=4)) ino:355854 sk:10 cgroup:unreachable:1 <->
\t skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0) bbr cwnd:10 unacked:1
tcp   ESTAB  0      0          127.0.0.1:37216   127.0.0.53:53    users:(("python3",pid=3508,fd=6)) ino:355856 sk:12 cgroup:unreachable:1 <->
\t skmem:(r0,rb131072,t0,tb3939840,f0,w0,o0,bl0,d0) ts sack bbr wscale:10,10 rto:204 rtt:0.038/0.019
tcp   LISTEN 0      128                *:22               *:*     users:(("python3",pid=3508,fd=5)) ino:355855 sk:13 cgroup:unreachable:1 v6only:0 <->
\t skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0) bbr cwnd:10
"""
SAMPLE_NETSTAT_AGN = """\
IPv6/IPv4 Group Memberships
Interface       RefCnt Group
--------------- ------ ---------------------
lo              1      224.0.0.1
eth0            1      224.0.0.1
"""
SAMPLE_PROC_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 3500007F:0035 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 355854 2 000000007f8d9d2d 100 0 0 10 0
   1: 3500007F:0035 0100007F:9160 01 00000000:00000000 00:00000000 00000000     0        0 0 1 00000000c02c792d 20 0 0 10 -1
"""
SAMPLE_PROC_TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 355855 1 000000000ed18d53 100 0 0 10 0
"""
