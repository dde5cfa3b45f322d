"""Credentials out of what is collected: process command lines carry `--password=...` of any
process (a database client, an agent), environment-like text `OS_PASSWORD=...`, URLs
`amqp://user:secret@host`. They are replaced by `********` before the evidence leaves the host
(a bundle is sent to others), and the bundle says what was redacted; `collect --no-redact` keeps
them. Only the value goes: the option's name stays, so a reader still sees what was set.

The masking is the collector's (netsleuth.collector.redact): it runs on production hosts too.
"""

from __future__ import annotations

from netsleuth.collector.redact import redact_records
from netsleuth.evidence.model import Bundle
from netsleuth.messages import note_of

__all__ = ["redact_bundle"]


def redact_bundle(bundle: Bundle) -> int:
    """Mask credentials in the command lines and environment-like evidence of a live bundle; a
    note says how many and where (the values are gone, the names stay)."""
    total, note = redact_records(bundle.items)
    if note is not None:
        bundle.notes.append(note_of(note))
    return total
