"""dnsmasq DHCP log lines (syslog or a dnsmasq log file)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from netsleuth.errors import ParseError

_LINE = re.compile(
    r"dnsmasq-dhcp\[\d+\]:\s+(?:\d+\s+)?"  # optional transaction id (log-dhcp)
    r"(?P<msg>DHCP[A-Z]+)\((?P<iface>[^)]+)\)\s+"
    r"(?:(?P<ip>\d+\.\d+\.\d+\.\d+)\s+)?"
    r"(?P<mac>(?:[0-9a-f]{2}:){5}[0-9a-f]{2})"
    r"(?:\s+(?P<rest>.*))?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DhcpLogLine:
    message: str  # DHCPDISCOVER, DHCPOFFER, DHCPREQUEST, DHCPACK, DHCPNAK, ...
    iface: str
    mac: str
    ip: str
    rest: str  # "no address available", a host name, ...
    raw: str


def is_dnsmasq_dhcp(line: str) -> bool:
    return "dnsmasq-dhcp[" in line


def parse_dhcp_line(line: str) -> DhcpLogLine:
    """One `dnsmasq-dhcp[pid]: DHCPxxx(iface) [ip] mac [rest]` line (seed 002 quotes them).

    >>> p = parse_dhcp_line("Feb 27 22:01:36 mynode dnsmasq-dhcp[25435]: DHCPDISCOVER(br100) fa:16:3e:78:44:84 no address available")
    >>> p.message, p.iface, p.mac, p.ip, p.rest
    ('DHCPDISCOVER', 'br100', 'fa:16:3e:78:44:84', '', 'no address available')
    >>> parse_dhcp_line("Feb 27 22:01:36 mynode dnsmasq-dhcp[2438]: DHCPOFFER(br100) 192.168.100.3 fa:16:3e:56:0b:6f ").ip
    '192.168.100.3'
    >>> parse_dhcp_line("Feb 27 22:01:36 mynode dnsmasq-dhcp[2438]: something else")
    Traceback (most recent call last):
    netsleuth.errors.ParseError: not a dnsmasq DHCP message line: 'Feb 27 22:01:36 mynode dnsmasq-dhcp[2438]: something else'
    """
    m = _LINE.search(line.rstrip())
    if m is None:
        raise ParseError("not a dnsmasq DHCP message line", line)
    return DhcpLogLine(
        m.group("msg").upper(),
        m.group("iface"),
        m.group("mac").lower(),
        m.group("ip") or "",
        (m.group("rest") or "").strip(),
        line.rstrip(),
    )
