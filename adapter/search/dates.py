"""FHIR date, dateTime and instant values as the instant ranges that search compares.

R4 search (§3.1.1.4.7 "date") treats every date value as a range fixed by its precision: ``2020`` is all
of 2020, ``2020-03`` all of March, ``2020-03-05T10:00:00Z`` one second. Stored values and search values
are both turned into ``(low, high)`` pairs of *naive UTC* datetimes (the column type of the index
tables), ``high`` inclusive to the microsecond, and the prefixes are then defined on the two ranges.

A value without a time zone is read as UTC: the server has no other local time zone to assume, and a
date-only value (``1974-12-25``) has none by definition.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

#: Open ends of a Period, and the clamp for values near the ends of the calendar.
MIN_INSTANT = datetime(1, 1, 1)
MAX_INSTANT = datetime(9999, 12, 31, 23, 59, 59, 999999)

_PATTERN = re.compile(
    r"(?P<year>\d{4})"
    r"(?:-(?P<month>\d{2})"
    r"(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?"
    r")?)?)?"
)
_MICRO = timedelta(microseconds=1)


def date_range(text: str) -> tuple[datetime, datetime] | None:
    """The instants a FHIR date/dateTime/instant (or a search value in that format) covers.

    ``None`` when ``text`` is not such a value, so callers decide whether that is an error (a search
    value) or just nothing to index (a resource element of another shape).
    """
    match = _PATTERN.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        return None
    parts = match.groupdict()
    try:
        low, span = _start_and_span(parts)
    except ValueError:
        return None
    high = _shift(low, span) - _MICRO if span is not None else _end_of_period(low, parts)
    offset = _offset(parts["tz"])
    if offset:
        low, high = _shift(low, -offset), _shift(high, -offset)
    return low, high


def to_naive_utc(value: datetime) -> datetime:
    """A datetime as the naive UTC value the index columns hold."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _start_and_span(parts: dict[str, str | None]) -> tuple[datetime, timedelta | None]:
    """The first instant and, for values with a time, the length of the covered interval.

    Year, month and day precision have calendar-dependent lengths, so their span is ``None`` and
    :func:`_end_of_period` computes the end.
    """
    year = int(parts["year"] or 0)
    month = int(parts["month"] or 1)
    day = int(parts["day"] or 1)
    if parts["hour"] is None:
        return datetime(year, month, day), None
    hour, minute = int(parts["hour"]), int(parts["minute"] or 0)
    if parts["second"] is None:
        return datetime(year, month, day, hour, minute), timedelta(minutes=1)
    fraction = parts["fraction"] or ""
    micro = int((fraction + "000000")[:6])
    start = datetime(year, month, day, hour, minute, int(parts["second"]), micro)
    digits = min(len(fraction), 6)
    return start, timedelta(microseconds=10 ** (6 - digits))


def _end_of_period(low: datetime, parts: dict[str, str | None]) -> datetime:
    if parts["month"] is None:
        return datetime(low.year, 12, 31, 23, 59, 59, 999999)
    if parts["day"] is None:
        last = calendar.monthrange(low.year, low.month)[1]
        return datetime(low.year, low.month, last, 23, 59, 59, 999999)
    return datetime(low.year, low.month, low.day, 23, 59, 59, 999999)


def _offset(tz: str | None) -> timedelta | None:
    if not tz or tz == "Z":
        return None
    sign = -1 if tz[0] == "-" else 1
    hours, minutes = int(tz[1:3]), int(tz[4:6])
    return sign * timedelta(hours=hours, minutes=minutes)


def _shift(value: datetime, delta: timedelta) -> datetime:
    """``value + delta`` clamped to the representable calendar instead of raising OverflowError."""
    try:
        return value + delta
    except OverflowError:
        return MIN_INSTANT if delta < timedelta(0) else MAX_INSTANT
