"""The program week of an instant as SQL arithmetic, exact across daylight-saving changes.

Joining hundreds of thousands of contacts to a table of weeks is a range join the databases run as a
nested loop (every contact compared with every week). Instead, each instant's week number is computed in
the row: local wall-clock seconds = UTC epoch seconds + the zone's offset at that instant (a ``CASE`` over
the few offset changes in the range, taken from the IANA zone), and the week number is those seconds minus
the wall-clock seconds of the first week's local midnight, divided by 604,800. Wall-clock weeks are exactly
seven 86,400-second days, so the number is exact on both sides of a change (a week with the change is 167
or 169 real hours, as :mod:`adapter.rules.weeks` has it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from adapter.rules.config import Program
from adapter.rules.weeks import Week

WEEK_SECONDS = 7 * 86_400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class epoch_seconds(FunctionElement):
    """Whole seconds since 1970 of a naive-UTC ``DateTime`` column (the index tables' instants)."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_postgresql(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


def offset_changes(program: Program, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """``[(from_epoch_second, utc_offset_seconds), ...]`` of the program's zone over ``[start, end)``; the
    first entry starts at ``start``. Found hour by hour, then to the second by bisection."""
    def offset(at: datetime) -> int:
        return int(at.astimezone(program.time_zone).utcoffset().total_seconds())

    changes = [(_seconds(start), offset(start))]
    hour = start
    while hour < end:
        following = hour + timedelta(hours=1)
        if offset(following) != changes[-1][1]:
            low, high = hour, following
            while (high - low) > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == changes[-1][1] else (low, middle)
            changes.append((_seconds(high), offset(high)))
        hour = following
    return changes


def week_number(column: ColumnElement, program: Program, weeks: Sequence[Week]) -> ColumnElement:
    """The 0-based index in ``weeks`` (consecutive program weeks) of the instant in ``column``; meaningful for
    instants within ``[weeks[0].start_utc, weeks[-1].end_utc)``, which the caller filters on."""
    seconds = epoch_seconds(column)
    changes = offset_changes(program, weeks[0].start_utc, weeks[-1].end_utc)
    if len(changes) == 1:
        offset: ColumnElement = literal(changes[0][1], BigInteger)
    else:
        offset = case(*((seconds < start, literal(previous, BigInteger))
                        for (start, _), (_, previous) in zip(changes[1:], changes, strict=False)),
                      else_=literal(changes[-1][1], BigInteger))
    first_local = datetime.combine(weeks[0].first_day, datetime.min.time(), tzinfo=UTC)
    return (seconds + offset - _seconds(first_local)) // WEEK_SECONDS


def _seconds(moment: datetime) -> int:
    return int((moment.astimezone(UTC) - _EPOCH).total_seconds())
