"""CMP member-weeks in SQL: the weeks each member was enrolled, and the weeks they had an encounter of a kind.

A **member-week** is one member and one program week (local time, :mod:`adapter.rules.weeks`):

- *enrolled*: the member has a ``cmp`` enrollment (EpisodeOfCare type ``cmp``, status active or finished)
  whose period shares at least one local day with the week. An enrollment starting on a Friday makes that
  whole week count: CMP-QC-1 asks for a contact "every week" of membership, and a partial week is a week.
- *of a team*: the enrollment is managed by the team (``managingOrganization``). A member transferred
  mid-week is enrolled with both teams that week, so both teams' reports count that member-week (each team
  owed the member that week's contact; the IG's Measure says "managed by the team whose period overlaps the
  week"); a report over every member counts the member-week once.
- *with an encounter*: a finished Encounter of the member of the given ``cmp-encounter-type``
  (``quality-contact`` with class AMB or VR, or ``team-meeting``) starts within the week's UTC bounds. A
  cancelled or entered-in-error encounter has another status; a deleted one has no index rows.

Each function returns a ``Select``; callers join and count them, in the database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Select, and_, func, select
from sqlalchemy.sql import FromClause

from adapter.measures.core import (
    ACT_CODE_SYSTEM,
    CONTACT_MODES,
    ENCOUNTER_TYPE_SYSTEM,
    ENROLLED_STATUSES,
    PROGRAM_SYSTEM,
    Period,
    Scope,
    date_is,
    reference_is,
    same_resource,
    token_is,
    weeks_table,
)
from adapter.measures.results import POPULATIONS, GroupResult
from adapter.measures.week_numbers import week_number
from adapter.rules.config import Program
from adapter.rules.weeks import Week
from adapter.store.schema import search_date, search_reference, search_token

QUALITY_CONTACT = "quality-contact"
TEAM_MEETING = "team-meeting"

HitWeeks = Callable[..., Select]
"""Builds the (``member``, ``week_no``, ...) rows of member-weeks that meet a measure's numerator."""


def enrollments(scope: Scope) -> Select:
    """Rows (``member``, ``team``, ``low``, ``high``, ``enrollment_pk``): the CMP enrollments of the scope."""
    patient = search_reference.alias("enr_patient")
    kind = search_token.alias("enr_type")
    status = search_token.alias("enr_status")
    period = search_date.alias("enr_period")
    team = search_reference.alias("enr_team")
    source = (
        patient
        .join(kind, and_(same_resource(patient, kind),
                         token_is(kind, "EpisodeOfCare", "type", ("cmp",), PROGRAM_SYSTEM)))
        .join(status, and_(same_resource(patient, status),
                           token_is(status, "EpisodeOfCare", "status", ENROLLED_STATUSES)))
        .join(period, and_(same_resource(patient, period), date_is(period, "EpisodeOfCare", "date")))
        .outerjoin(team, and_(same_resource(patient, team),
                              reference_is(team, "EpisodeOfCare", "organization", "Organization")))
    )
    conditions = [reference_is(patient, "EpisodeOfCare", "patient", "Patient")]
    member_condition = scope.member_filter(patient.c.target_id)
    if member_condition is not None:
        conditions.append(member_condition)
    if scope.kind == "Organization":
        conditions.append(team.c.target_id == scope.res_id)
    return (select(patient.c.target_id.label("member"), team.c.target_id.label("team"), period.c.low,
                   period.c.high, patient.c.resource_pk.label("enrollment_pk"))
            .select_from(source).where(*conditions))


def enrollment_rows(weeks: FromClause, scope: Scope) -> Select:
    """Rows (``member``, ``week_no``, ``team``, ``enrollment_pk``): each CMP enrollment of the scope's members
    (of the scope's team) with each week it shares a day with.

    The enrollments are found first, as a materialized CTE (thousands of rows), and only then paired with
    the weeks: left to itself, PostgreSQL paired every enrollment-week first and probed the status, type and
    team rows half a million times.
    """
    found = enrollments(scope).cte("cmp_enrollments").prefix_with("MATERIALIZED")
    return (select(found.c.member, weeks.c.week_no, found.c.team, found.c.enrollment_pk)
            .select_from(found.join(weeks, and_(found.c.low < weeks.c.local_end,
                                                found.c.high >= weeks.c.local_start))))


def team_members(team_id: str | None) -> Select:
    """Ids of the members ever enrolled with the team (any enrollment it manages)."""
    patient = search_reference.alias("tm_patient")
    team = search_reference.alias("tm_team")
    return (select(patient.c.target_id)
            .join(team, and_(same_resource(patient, team),
                             reference_is(team, "EpisodeOfCare", "organization", "Organization")))
            .where(reference_is(patient, "EpisodeOfCare", "patient", "Patient"), team.c.target_id == team_id))


def enrollment_weeks(weeks: FromClause, scope: Scope) -> Select:
    """Rows (``member``, ``week_no``): each member-week of enrollment in the scope once."""
    rows = enrollment_rows(weeks, scope).subquery("enrollment_rows")
    return select(rows.c.member, rows.c.week_no).group_by(rows.c.member, rows.c.week_no)


def encounter_weeks(program: Program, weeks: Sequence[Week], encounter_type: str, scope: Scope,
                    modes: Sequence[str] | None = None, members: Select | None = None) -> Select:
    """Rows (``member``, ``week_no``, ``encounters``): member-weeks with at least one finished encounter of
    ``encounter_type`` (and class in ``modes``) starting in the week, and how many; only of ``members`` (a
    select of member ids) when given.

    The week number is arithmetic on the start instant (:mod:`adapter.measures.week_numbers`), so the
    database reads the encounters once, in the index order of their start, and groups them.
    """
    start = search_date.alias("enc_start")
    kind = search_token.alias("enc_type")
    status = search_token.alias("enc_status")
    subject = search_reference.alias("enc_subject")
    source = (
        start
        .join(kind, and_(same_resource(start, kind),
                         token_is(kind, "Encounter", "type", (encounter_type,), ENCOUNTER_TYPE_SYSTEM)))
        .join(status, and_(same_resource(start, status), token_is(status, "Encounter", "status", ("finished",))))
        .join(subject, and_(same_resource(start, subject), reference_is(subject, "Encounter", "subject", "Patient")))
    )
    if modes:
        mode = search_token.alias("enc_class")
        source = source.join(mode, and_(same_resource(start, mode),
                                        token_is(mode, "Encounter", "class", tuple(modes), ACT_CODE_SYSTEM)))
    conditions: list[ColumnElement] = [date_is(start, "Encounter", "date"),
                                       start.c.low >= _naive(weeks[0].start_utc),
                                       start.c.low < _naive(weeks[-1].end_utc)]
    member_condition = scope.member_filter(subject.c.target_id)
    if member_condition is not None:
        conditions.append(member_condition)
    if members is not None:
        conditions.append(subject.c.target_id.in_(members))
    week_no = week_number(start.c.low, program, weeks)
    return (select(subject.c.target_id.label("member"), week_no.label("week_no"),
                   func.count(func.distinct(start.c.resource_pk)).label("encounters"))
            .select_from(source).where(*conditions)
            .group_by(subject.c.target_id, week_no))


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def contact_weeks(program: Program, weeks: Sequence[Week], scope: Scope, members: Select | None = None) -> Select:
    """Member-weeks with a quality contact (CMP-QC-1)."""
    return encounter_weeks(program, weeks, QUALITY_CONTACT, scope, CONTACT_MODES, members)


def review_weeks(program: Program, weeks: Sequence[Week], scope: Scope, members: Select | None = None) -> Select:
    """Member-weeks in which the team discussed the member at a team meeting (CMP-TM-1)."""
    return encounter_weeks(program, weeks, TEAM_MEETING, scope, None, members)


def weekly_proportion(conn: Connection, program: Program, period: Period, scope: Scope, hits: HitWeeks,
                      *, code: str, with_subjects: bool) -> GroupResult:
    """Enrolled member-weeks (initial population = denominator) and those among them with ``hits``
    (numerator), counted in one query; with the members of each population for subject-list reports.

    The weeks are those starting in the period (:meth:`Period.weeks_starting`), so consecutive reports
    never count a week twice.
    """
    weeks_list = period.weeks_starting(program)
    if not weeks_list:
        empty = {population: 0 for population in POPULATIONS}
        return GroupResult(code, empty, "member-week", {p: [] for p in POPULATIONS} if with_subjects else None)
    weeks = weeks_table(weeks_list)
    enrolled = enrollment_weeks(weeks, scope).subquery("enrolled")
    # A team's report reads only its members' encounters; the others need no restriction beyond the scope.
    of_team = team_members(scope.res_id) if scope.kind == "Organization" else None
    found = hits(program, weeks_list, scope if scope.kind != "Organization" else Scope(), of_team).subquery("hits")
    joined = enrolled.outerjoin(found, and_(found.c.member == enrolled.c.member,
                                            found.c.week_no == enrolled.c.week_no))
    if not with_subjects:
        total, hit = conn.execute(select(func.count(), func.count(found.c.member)).select_from(joined)).one()
        return GroupResult(code, _proportion_counts(total, hit), "member-week")
    rows = conn.execute(select(enrolled.c.member, func.count(), func.count(found.c.member))
                        .select_from(joined).group_by(enrolled.c.member).order_by(enrolled.c.member)).all()
    members = [row[0] for row in rows]
    subjects = {"initial-population": members, "denominator": members,
                "numerator": [row[0] for row in rows if row[2]]}
    return GroupResult(code, _proportion_counts(sum(r[1] for r in rows), sum(r[2] for r in rows)),
                       "member-week", subjects)


def _proportion_counts(denominator: int, numerator: int) -> dict[str, int]:
    return {"initial-population": denominator, "denominator": denominator, "numerator": numerator}
