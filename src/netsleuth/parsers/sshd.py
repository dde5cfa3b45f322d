"""`/etc/ssh/sshd_config`: the settings netsleuth reads (UseDNS)."""

from __future__ import annotations

from netsleuth.errors import ParseError


def parse_sshd_config(text: str) -> dict[str, str]:
    """Global keywords (lower-cased) before the first `Match` block; the first value wins, as in sshd.

    >>> cfg = parse_sshd_config('''#UseDNS no
    ... Port 22
    ... UseDNS yes
    ... UseDNS no
    ... Match User backup
    ...     PasswordAuthentication no
    ... ''')
    >>> cfg["usedns"], cfg["port"], "passwordauthentication" in cfg
    ('yes', '22', False)
    >>> parse_sshd_config("UseDNS")
    Traceback (most recent call last):
    netsleuth.errors.ParseError: keyword without a value: 'UseDNS'
    """
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.replace("=", " ", 1).split(None, 1)
        if len(parts) < 2:
            raise ParseError("keyword without a value", raw)
        key = parts[0].lower()
        if key == "match":
            break
        out.setdefault(key, parts[1].strip().strip('"'))
    return out
