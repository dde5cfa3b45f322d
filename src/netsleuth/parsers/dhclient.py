"""`/etc/dhcp/dhclient.conf`: the statements that decide how long a client keeps trying."""

from __future__ import annotations

import re
from dataclasses import dataclass

from netsleuth.errors import ParseError

DEFAULT_TIMEOUT = 60  # ISC dhclient's default `timeout`
DEFAULT_RETRY = 300


@dataclass
class DhclientConf:
    timeout: int | None  # global `timeout N;` (None: not set, the default 60 s applies)
    retry: int | None
    timeout_line: str = ""
    supersede_dns: bool = False  # `supersede domain-name-servers` keeps resolv.conf's servers

    @property
    def effective_timeout(self) -> int:
        return self.timeout if self.timeout is not None else DEFAULT_TIMEOUT


_STMT = re.compile(r"^\s*(timeout|retry)\s+(\S+)\s*;")


def parse_dhclient_conf(text: str) -> DhclientConf:
    """Global `timeout`/`retry` statements (seed 000 recommends `timeout 300;`).

    >>> c = parse_dhclient_conf('''# /etc/dhcp/dhclient.conf
    ... send host-name = gethostname();
    ... timeout 300;
    ... request subnet-mask, routers, domain-name-servers;
    ... ''')
    >>> c.timeout, c.effective_timeout, c.timeout_line
    (300, 300, 'timeout 300;')
    >>> parse_dhclient_conf("").effective_timeout
    60
    >>> parse_dhclient_conf("timeout five;")
    Traceback (most recent call last):
    netsleuth.errors.ParseError: timeout is not a number of seconds: 'timeout five;'
    """
    out = DhclientConf(None, None)
    depth = 0
    for raw in text.splitlines():
        line = raw.split("#", 1)[0]
        if depth == 0:
            m = _STMT.match(line)
            if m:
                if not m.group(2).isdigit():
                    raise ParseError(f"{m.group(1)} is not a number of seconds", raw)
                if m.group(1) == "timeout":
                    out.timeout, out.timeout_line = int(m.group(2)), raw.strip()
                else:
                    out.retry = int(m.group(2))
            if re.match(r"^\s*supersede\s+domain-name-servers", line):
                out.supersede_dns = True
        depth += line.count("{") - line.count("}")
    return out
