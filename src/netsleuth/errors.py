"""Errors that end a run with a defined exit status and one clear line."""

from __future__ import annotations

from netsleuth.exitcode import ExitCode


class NetsleuthError(Exception):
    """netsleuth itself could not run (exit status 3)."""

    exit_code = ExitCode.COULD_NOT_RUN


class BadSource(NetsleuthError):
    """A bundle or sosreport that cannot be read: corrupt, truncated, unknown or unsafe."""


MAX_QUOTE = 200  # characters of an offending line quoted in an error
MAX_REASON = 1000  # characters of a reason (a skipped check, an unavailable fact) in a report


def clip(text: str, limit: int = MAX_REASON) -> str:
    """At most `limit` characters, saying how many were left out (a report must not grow with
    its input: one long line quoted into every skipped check made a 210 MB report).

    >>> clip("x" * 30, 10)
    'xxxxxxxxxx… (20 more characters)'
    >>> clip("short")
    'short'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


class BadInput(NetsleuthError):
    """A document the user gave (`--with FILE`) that cannot be read: too large, not valid JSON."""


class BadOutput(NetsleuthError):
    """A file netsleuth was asked to write cannot be written (missing folder, no permission)."""


class ParseError(ValueError):
    """A parser met input it cannot read; names the offending line (its start, when long)."""

    def __init__(self, message: str, line: str | None = None) -> None:
        quoted = repr(clip(line, MAX_QUOTE)) if line is not None else ""
        super().__init__(f"{message}: {quoted}" if line is not None else message)
        self.line = line[: MAX_QUOTE * 4] if line is not None else None
