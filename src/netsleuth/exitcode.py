"""netsleuth's exit status, one table for every command: the monitoring-plugin convention for a
diagnosis (0 ok, 1 warning, 2 critical), 3 when netsleuth itself could not run, 64 for a usage
error (sysexits' EX_USAGE)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # nothing at warning or above
    WARNING = 1
    CRITICAL = 2
    COULD_NOT_RUN = 3  # a bad source, a missing tool it cannot do without, a bug of ours
    USAGE = 64
    INTERRUPTED = 130  # Ctrl-C, as a shell reports it
    TERMINATED = 143  # SIGTERM, as a shell reports it

    @classmethod
    def of(cls, severities: Iterable[str]) -> ExitCode:
        """The status of a report whose findings have these severities.

        >>> ExitCode.of(["info", "warning"]), ExitCode.of([]), ExitCode.of(["critical", "info"])
        (<ExitCode.WARNING: 1>, <ExitCode.OK: 0>, <ExitCode.CRITICAL: 2>)
        """
        found = set(severities)
        return cls.CRITICAL if "critical" in found else cls.WARNING if "warning" in found else cls.OK
