"""Program weeks: local calendar weeks in the program's time zone, as half-open UTC instant ranges.

A quality contact at 23:30 on a Sunday in Montana is 05:30 on Monday in UTC: which week it belongs to is
a question about local time. The index tables store instants in UTC, so every rule converts a local week
into ``[start, end)`` UTC bounds here, once, and compares instants in SQL. Bounds come from local
midnights, so a week spanning a daylight-saving change is 167 or 169 hours long, as it should be.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from adapter.rules.config import Program


@dataclass(frozen=True, order=True)
class Week:
    """One program week: its first local day and its UTC bounds ``[start_utc, end_utc)``."""

    first_day: date
    start_utc: datetime
    end_utc: datetime

    @property
    def days(self) -> tuple[date, ...]:
        return tuple(self.first_day + timedelta(days=n) for n in range(7))


def local_midnight_utc(program: Program, day: date) -> datetime:
    """The instant (aware, UTC) at which ``day`` begins in the program's time zone."""
    return datetime.combine(day, time(0), tzinfo=program.time_zone).astimezone(UTC)


def week_start(program: Program, day: date) -> date:
    """The first day of the program week containing the local date ``day``."""
    return day - timedelta(days=(day.weekday() - program.week_starts_on) % 7)


def week_of_day(program: Program, day: date) -> Week:
    first = week_start(program, day)
    return Week(first, local_midnight_utc(program, first), local_midnight_utc(program, first + timedelta(days=7)))


def local_day(program: Program, instant: datetime) -> date:
    """The program's local date of an instant (a naive instant is taken as UTC, as the store keeps them)."""
    aware = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return aware.astimezone(program.time_zone).date()


def week_of_instant(program: Program, instant: datetime) -> Week:
    return week_of_day(program, local_day(program, instant))


def day_bounds_utc(program: Program, day: date) -> tuple[datetime, datetime]:
    """``[start, end)`` of one local day in UTC (23 or 25 hours across a daylight-saving change)."""
    return local_midnight_utc(program, day), local_midnight_utc(program, day + timedelta(days=1))


def weeks_between(program: Program, first_day: date, last_day: date) -> Iterator[Week]:
    """Every program week that has at least one day in ``[first_day, last_day]`` (local dates)."""
    week = week_of_day(program, first_day)
    while week.first_day <= last_day:
        yield week
        week = week_of_day(program, week.first_day + timedelta(days=7))
