"""`date` / `date --utc` output (C locale), as sos keeps it: when the report was taken."""

from __future__ import annotations

from datetime import UTC, datetime

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


def parse_date(text: str) -> datetime | None:
    """The moment `date` printed, timezone-aware when it says UTC/GMT, else naive (local time).

    >>> parse_date("Thu Feb 10 16:19:17 UTC 2022\\n")
    datetime.datetime(2022, 2, 10, 16, 19, 17, tzinfo=datetime.timezone.utc)
    >>> parse_date("Wed May 14 14:22:18 CEST 2025")
    datetime.datetime(2025, 5, 14, 14, 22, 18)
    >>> parse_date("date: command not found") is None
    True
    """
    words = text.split()
    if len(words) != 6 or words[1] not in _MONTHS:
        return None
    _, mon, day, clock, tz, year = words
    hms = clock.split(":")
    if not (day.isdigit() and year.isdigit() and len(hms) == 3 and all(p.isdigit() for p in hms)):
        return None
    try:
        when = datetime(int(year), _MONTHS[mon], int(day), int(hms[0]), int(hms[1]), int(hms[2]))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if tz in ("UTC", "GMT") else when
