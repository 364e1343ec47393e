"""The evaluation core: periods, program weeks as SQL rows, reporting scopes, and index-table filters.

Every measure is SQL over the search index tables (``search_token``, ``search_reference``, ``search_date``)
built with SQLAlchemy Core, so the database does the counting on SQLite and PostgreSQL alike; Python only
turns local program weeks into UTC bounds (:mod:`adapter.rules.weeks`, exact across daylight-saving
changes) and the counts into a MeasureReport. Nothing here loads resources.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Select,
    and_,
    literal,
    select,
    union_all,
)
from sqlalchemy.sql import FromClause

from adapter.rules.config import Program
from adapter.rules.weeks import Week, local_midnight_utc, week_of_day
from adapter.store.schema import resources, search_reference

#: Code systems the measures select on (our IG's, and R4's v3 ActCode for the contact mode).
ENCOUNTER_TYPE_SYSTEM = "https://cmp-adapter.org/fhir/CodeSystem/cmp-encounter-type"
PROGRAM_SYSTEM = "https://cmp-adapter.org/fhir/CodeSystem/cmp-program"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#: Quality-contact modes of CMP-QC-1: face-to-face (ambulatory) and telehealth (virtual).
CONTACT_MODES = ("AMB", "VR")
#: Enrollment statuses during which the member was enrolled: ``finished`` keeps a past enrollment (a member
#: transferred to another team, a closed case) in the weeks it covered; planned, waitlist, onhold,
#: cancelled and entered-in-error enrollments are not enrollment.
ENROLLED_STATUSES = ("active", "finished")


@dataclass(frozen=True)
class Period:
    """A measurement period of local dates, both ends included (``periodStart``/``periodEnd``)."""

    start: date
    end: date

    def utc_bounds(self, program: Program) -> tuple[datetime, datetime]:
        """``[start, end)`` in naive UTC: from local midnight of the first day to that after the last."""
        return (_naive(local_midnight_utc(program, self.start)),
                _naive(local_midnight_utc(program, self.end + timedelta(days=1))))

    def weeks_starting(self, program: Program) -> list[Week]:
        """The program weeks whose first day is in the period: consecutive periods share no week."""
        week = week_of_day(program, self.start)
        if week.first_day < self.start:
            week = week_of_day(program, week.first_day + timedelta(days=7))
        return list(_weeks_from(program, week, self.end))

    def weeks_overlapping(self, program: Program) -> list[Week]:
        """The program weeks with at least one day in the period."""
        return list(_weeks_from(program, week_of_day(program, self.start), self.end))


def _weeks_from(program: Program, week: Week, last_day: date):
    while week.first_day <= last_day:
        yield week
        week = week_of_day(program, week.first_day + timedelta(days=7))


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def weeks_table(weeks: Sequence[Week], name: str = "weeks") -> FromClause:
    """The weeks as SQL rows (a ``UNION ALL`` of literal rows, which SQLite and PostgreSQL both accept):

    ``week_no`` (0-based), ``first_day``, ``start_utc``/``end_utc`` (the instants, naive UTC as the index
    stores them) and ``local_start``/``local_end`` (local midnights as naive values, to compare date-only
    values such as enrollment periods, which the index stores as if they were UTC).
    """
    if not weeks:
        raise ValueError("no weeks")
    rows = [select(literal(number, Integer).label("week_no"),
                   literal(week.first_day, Date).label("first_day"),
                   literal(_naive(week.start_utc), DateTime).label("start_utc"),
                   literal(_naive(week.end_utc), DateTime).label("end_utc"),
                   literal(datetime.combine(week.first_day, datetime.min.time()), DateTime).label("local_start"),
                   literal(datetime.combine(week.first_day + timedelta(days=7), datetime.min.time()),
                           DateTime).label("local_end"))
            for number, week in enumerate(weeks)]
    return (rows[0] if len(rows) == 1 else union_all(*rows)).subquery(name)


# --- reporting scope -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """Whom a report covers: every member, one member (``Patient/x``), a team or practice
    (``Organization/x``) or a group of members (``Group/x``)."""

    kind: str = "all"
    """``all`` | ``Patient`` | ``Organization`` | ``Group``"""
    res_id: str | None = None

    @property
    def reference(self) -> str | None:
        return f"{self.kind}/{self.res_id}" if self.res_id else None

    def member_filter(self, member: ColumnElement) -> ColumnElement | None:
        """A condition on a member id column for the member-based scopes (None: no restriction here)."""
        if self.kind == "Patient":
            return member == self.res_id
        if self.kind == "Group":
            return member.in_(group_members(self.res_id))
        return None


def group_members(group_id: str | None) -> Select:
    """Patient ids that are ``Group.member.entity`` of the group (search parameter ``member``)."""
    g = search_reference.alias("grp_member")
    return (select(g.c.target_id)
            .join(resources, resources.c.pk == g.c.resource_pk)
            .where(resources.c.res_type == "Group", resources.c.res_id == group_id, resources.c.deleted.is_(False),
                   g.c.res_type == "Group", g.c.param == "member", g.c.target_type == "Patient"))


# --- conditions on the index tables ------------------------------------------------------------------------------

def token_is(alias, res_type: str, param: str, codes: Sequence[str], system: str | None = None) -> ColumnElement:
    """The token row is ``param`` of a ``res_type`` with one of ``codes`` (and ``system`` when given)."""
    conditions = [alias.c.res_type == res_type, alias.c.param == param,
                  alias.c.code == codes[0] if len(codes) == 1 else alias.c.code.in_(codes)]
    if system is not None:
        conditions.append(alias.c.system == system)
    return and_(*conditions)


def reference_is(alias, res_type: str, param: str, target_type: str | None = None) -> ColumnElement:
    conditions = [alias.c.res_type == res_type, alias.c.param == param]
    if target_type is not None:
        conditions.append(alias.c.target_type == target_type)
    return and_(*conditions)


def date_is(alias, res_type: str, param: str) -> ColumnElement:
    return and_(alias.c.res_type == res_type, alias.c.param == param)


def same_resource(*aliases) -> ColumnElement:
    first = aliases[0]
    return and_(*(other.c.resource_pk == first.c.resource_pk for other in aliases[1:]))
