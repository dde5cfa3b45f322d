"""Errors that end a run with a defined exit status and one clear line."""

from __future__ import annotations

from netsleuth.exitcode import ExitCode


class NetsleuthError(Exception):
    """netsleuth itself could not run (exit status 3)."""

    exit_code = ExitCode.COULD_NOT_RUN


class BadSource(NetsleuthError):
    """A bundle or sosreport that cannot be read: corrupt, truncated, unknown or unsafe."""


class ParseError(ValueError):
    """A parser met input it cannot read; names the offending line."""

    def __init__(self, message: str, line: str | None = None) -> None:
        super().__init__(f"{message}: {line!r}" if line is not None else message)
        self.line = line
