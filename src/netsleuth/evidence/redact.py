"""Credentials out of what is collected: process command lines carry `--password=...` of any
process (a database client, an agent), environment-like text `OS_PASSWORD=...`, URLs
`amqp://user:secret@host`. They are replaced by `********` before the evidence leaves the host
(a bundle is sent to others), and the bundle says what was redacted; `collect --no-redact` keeps
them. Only the value goes: the option's name stays, so a reader still sees what was set.

Runs on production hosts: standard library only.
"""

from __future__ import annotations

import re

from netsleuth.evidence.model import Bundle
from netsleuth.messages import Msg

MASK = "********"
# evidence holding command lines or environment-like text
REDACTED = frozenset({"ps", "environment"})

_WORD = (
    r"(?:passw(?:or)?d|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credentials?|auth[_-]?(?:key|token)|session[_-]?key)"
)
# --os-password SECRET, --password=SECRET, -password SECRET
_OPTION = re.compile(rf"(?i)(?<![\w-])(--?[\w.-]*{_WORD}[\w.-]*)(=|\s+)(?!-)(\S+)")
# OS_PASSWORD=SECRET, password: SECRET, "token": "SECRET"
_ASSIGN = re.compile(
    rf"""(?i)(?<![\w-])([\w.]*{_WORD}[\w.]*["']?)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"']+)"""
)
# scheme://user:SECRET@host
_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]+)(:)([^\s/@]+)(?=@)")


def redact_text(text: str) -> tuple[str, int]:
    """The text with credential values masked, and how many were.

    >>> redact_text("mysql -u nova --password=s3cr3t -h db1")
    ('mysql -u nova --password=******** -h db1', 1)
    >>> redact_text("neutron-server --os-password hunter2 --config-file /etc/neutron/neutron.conf")[0]
    'neutron-server --os-password ******** --config-file /etc/neutron/neutron.conf'
    >>> redact_text("OS_PASSWORD=abc OS_AUTH_TOKEN='x y' transport_url=rabbit://openstack:pw1@ctl:5672/")
    ('OS_PASSWORD=******** OS_AUTH_TOKEN=******** transport_url=rabbit://openstack:********@ctl:5672/', 3)
    >>> redact_text("ovs-vswitchd --pidfile --detach --log-file unix:/run/openvswitch/db.sock")
    ('ovs-vswitchd --pidfile --detach --log-file unix:/run/openvswitch/db.sock', 0)
    """
    count = 0

    def mask(m: re.Match[str]) -> str:
        nonlocal count
        if m.group(3) == MASK:
            return m.group(0)
        count += 1
        return f"{m.group(1)}{m.group(2)}{MASK}"

    for rx in (_URL, _OPTION, _ASSIGN):
        text = rx.sub(mask, text)
    return text, count


def redact_bundle(bundle: Bundle) -> int:
    """Mask credentials in the command lines and environment-like evidence of a live bundle; a
    note says how many and where (the values are gone, the names stay)."""
    total = 0
    where: list[str] = []
    for ev in bundle.items:
        if ev.name not in REDACTED:
            continue
        n = 0
        ev.text, n = redact_text(ev.text)
        if ev.later is not None:
            ev.later, m = redact_text(ev.later)
            n += m
        if n:
            total += n
            where.append(f"{ev.ident()} ({n})")
    if total:
        bundle.notes.append(Msg("redacted", {"n": total, "where": ", ".join(where), "mask": MASK}))
    return total
