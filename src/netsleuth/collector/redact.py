"""Credentials out of what is collected: process command lines carry `--password=...` of any
process (a database client, an agent), environment-like text `OS_PASSWORD=...`, URLs
`amqp://user:secret@host`. They are replaced by `********` before the evidence leaves the host
(a bundle is sent to others), and the bundle says what was redacted; `collect --no-redact` keeps
them. Only the value goes: the option's name stays, so a reader still sees what was set.

Runs on production hosts: standard library only.
"""

import re
from typing import Any, Dict, Iterable, List, Optional, Tuple

MASK = "********"
# evidence holding command lines or environment-like text
REDACTED = frozenset({"ps", "environment"})

_WORD = (
    r"(?:passw(?:or)?d|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credentials?|auth[_-]?(?:key|token)|session[_-]?key)"
)
# --os-password SECRET, --password=SECRET, -password SECRET
_OPTION = re.compile(r"(?i)(?<![\w-])(--?[\w.-]*" + _WORD + r"[\w.-]*)(=|\s+)(?!-)(\S+)")
# OS_PASSWORD=SECRET, password: SECRET, "token": "SECRET"
_ASSIGN = re.compile(
    r"""(?i)(?<![\w-])([\w.]*""" + _WORD + r"""[\w.]*["']?)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"']+)"""
)
# scheme://user:SECRET@host
_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]+)(:)([^\s/@]+)(?=@)")


def redact_text(text: str) -> Tuple[str, int]:
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
    count = [0]

    def mask(m: "re.Match[str]") -> str:
        if m.group(3) == MASK:
            return m.group(0)
        count[0] += 1
        return m.group(1) + m.group(2) + MASK

    for rx in (_URL, _OPTION, _ASSIGN):
        text = rx.sub(mask, text)
    return text, count[0]


def redact_records(records: Iterable[Any]) -> Tuple[int, Optional[Dict[str, Any]]]:
    """Mask credentials in the command lines and environment-like evidence collected (Records, or
    anything with their name, key, netns, text and later); returns how many, and the note a bundle
    carries of how many and where (the values are gone, the names stay), or None. The note is
    wording that the report puts in its own language: {"msg": "redacted", "params": {...}}."""
    total = 0
    where: List[str] = []
    for rec in records:
        if rec.name not in REDACTED:
            continue
        rec.text, n = redact_text(rec.text)
        if rec.later is not None:
            rec.later, m = redact_text(rec.later)
            n += m
        if n:
            total += n
            label = "{}[{}]".format(rec.name, rec.key) if rec.key else rec.name
            where.append("{} ({})".format(label + ("@" + rec.netns if rec.netns else ""), n))
    if not total:
        return 0, None
    return total, {"msg": "redacted", "params": {"n": total, "where": ", ".join(where), "mask": MASK}}
