"""``$cmp-compliance``: one CMP member's program weeks, what happened in each, and the rules each breaks.

For every program week (local time) that overlaps the requested range and in which the member was enrolled
(:func:`cmp_weeks.enrollment_weeks`): the quality contacts (Encounter ids and mode), the team reviews
(team-meeting Encounter ids), the billable days claimed on active claims, and the rule ids broken:

- ``CMP-QC-1`` no quality contact in the week;
- ``CMP-TM-1`` no team review of the member in the week;
- ``CMP-BILL-2`` more billable days claimed in the week than ``billableDaysPerWeek`` (3), counting each
  day of each active claim (the same day on two claims is two days claimed);
- ``CMP-BILL-1`` a claimed day on which the member had no quality contact (local date).

The SQL reads one member's index rows (a few hundred at most); the weeks are assigned in Python with the
same week functions the measures use.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, and_, select

from adapter.measures import cmp_weeks
from adapter.measures.core import (
    ACT_CODE_SYSTEM,
    CONTACT_MODES,
    ENCOUNTER_TYPE_SYSTEM,
    Period,
    Scope,
    date_is,
    reference_is,
    same_resource,
    token_is,
    weeks_table,
)
from adapter.rules.config import Program, ProgramRules
from adapter.rules.weeks import Week, local_day, week_of_day
from adapter.store.schema import resources, search_date, search_reference, search_token

PROGRAM = "cmp"
RULE_TEXT = {
    "CMP-QC-1": "no quality contact (face-to-face or telehealth) in the week",
    "CMP-TM-1": "the team did not review the member in the week",
    "CMP-BILL-2": "more billable days claimed in the week than the program allows",
    "CMP-BILL-1": "a billable day claimed without a quality contact that day",
}


@dataclass
class Contact:
    encounter_id: str
    mode: str
    start: datetime
    day: date


@dataclass
class BrokenRule:
    rule_id: str
    detail: str


@dataclass
class WeekCompliance:
    week: Week
    teams: list[str]
    enrollment_ids: list[str]
    contacts: list[Contact] = field(default_factory=list)
    reviews: list[str] = field(default_factory=list)
    claimed_days: list[tuple[date, str]] = field(default_factory=list)
    """(day, claim id) for each day of each active claim in the week."""
    broken: list[BrokenRule] = field(default_factory=list)


def member_compliance(conn: Connection, rules: ProgramRules, member: str, period: Period) -> list[WeekCompliance]:
    """The weeks of ``member``'s CMP enrollment overlapping ``period``, with their findings."""
    program = rules.program(PROGRAM)
    weeks = period.weeks_overlapping(program)
    enrolled = _enrolled_weeks(conn, weeks, member)
    if not enrolled:
        return []
    by_first_day = {week.week.first_day: week for week in enrolled.values()}
    start, end = _naive(weeks[0].start_utc), _naive(weeks[-1].end_utc)
    for contact in _contacts(conn, program, member, start, end):
        week = by_first_day.get(week_of_day(program, contact.day).first_day)
        if week is not None:
            week.contacts.append(contact)
    for encounter_id, moment in _encounters(conn, member, cmp_weeks.TEAM_MEETING, start, end):
        week = by_first_day.get(week_of_day(program, local_day(program, moment)).first_day)
        if week is not None:
            week.reviews.append(encounter_id)
    for day, claim_id in _claimed_days(conn, member, weeks[0].first_day, weeks[-1].first_day + timedelta(days=7)):
        week = by_first_day.get(week_of_day(program, day).first_day)
        if week is not None:
            week.claimed_days.append((day, claim_id))
    result = [enrolled[key] for key in sorted(enrolled)]
    for week in result:
        week.broken = _broken_rules(program, week)
    return result


def _broken_rules(program: Program, week: WeekCompliance) -> list[BrokenRule]:
    broken = []
    if not week.contacts:
        broken.append(BrokenRule("CMP-QC-1", RULE_TEXT["CMP-QC-1"]))
    if not week.reviews:
        broken.append(BrokenRule("CMP-TM-1", RULE_TEXT["CMP-TM-1"]))
    limit = program.billable_days_per_week
    if limit is not None and len(week.claimed_days) > limit:
        broken.append(BrokenRule("CMP-BILL-2", f"{len(week.claimed_days)} billable days claimed, at most {limit}"))
    contact_days = {contact.day for contact in week.contacts}
    uncovered: dict[date, list[str]] = defaultdict(list)
    for day, claim_id in week.claimed_days:
        if day not in contact_days:
            uncovered[day].append(claim_id)
    for day in sorted(uncovered):
        claims = ", ".join(f"Claim/{claim}" for claim in sorted(uncovered[day]))
        broken.append(BrokenRule("CMP-BILL-1", f"{day.isoformat()} billed ({claims}) without a quality contact"))
    return broken


def _enrolled_weeks(conn: Connection, weeks: list[Week], member: str) -> dict[int, WeekCompliance]:
    table = weeks_table(weeks)
    enrolled = cmp_weeks.enrollment_rows(table, Scope("Patient", member)).subquery("enrolled")
    rows = conn.execute(select(enrolled.c.week_no, enrolled.c.team, resources.c.res_id)
                        .join(resources, resources.c.pk == enrolled.c.enrollment_pk)
                        .order_by(enrolled.c.week_no, resources.c.res_id)).all()
    found: dict[int, WeekCompliance] = {}
    for row in rows:
        week = found.setdefault(row.week_no, WeekCompliance(weeks[row.week_no], [], []))
        if row.team and row.team not in week.teams:
            week.teams.append(row.team)
        week.enrollment_ids.append(row.res_id)
    for week in found.values():
        week.teams.sort()
    return found


def _contacts(conn: Connection, program: Program, member: str, start: datetime, end: datetime) -> list[Contact]:
    rows = _encounter_rows(conn, member, cmp_weeks.QUALITY_CONTACT, start, end, with_mode=True)
    return [Contact(res_id, code, moment, local_day(program, moment)) for res_id, moment, code in rows]


def _encounters(conn: Connection, member: str, kind: str, start: datetime, end: datetime) -> list[tuple[str, datetime]]:
    return [(res_id, moment) for res_id, moment in _encounter_rows(conn, member, kind, start, end)]


def _encounter_rows(conn: Connection, member: str, kind: str, start: datetime, end: datetime, *,
                    with_mode: bool = False) -> list:
    """(id, start[, class code]) of the member's finished encounters of ``kind`` starting in ``[start, end)``."""
    begins = search_date.alias("c_start")
    type_ = search_token.alias("c_type")
    status = search_token.alias("c_status")
    subject = search_reference.alias("c_subject")
    source = (begins
              .join(type_, and_(same_resource(begins, type_),
                                token_is(type_, "Encounter", "type", (kind,), ENCOUNTER_TYPE_SYSTEM)))
              .join(status, and_(same_resource(begins, status), token_is(status, "Encounter", "status", ("finished",))))
              .join(subject, and_(same_resource(begins, subject),
                                  reference_is(subject, "Encounter", "subject", "Patient")))
              .join(resources, resources.c.pk == begins.c.resource_pk))
    columns = [resources.c.res_id, begins.c.low]
    if with_mode:
        mode = search_token.alias("c_class")
        source = source.join(mode, and_(same_resource(begins, mode),
                                        token_is(mode, "Encounter", "class", CONTACT_MODES, ACT_CODE_SYSTEM)))
        columns.append(mode.c.code)
    return conn.execute(select(*columns).select_from(source).where(
        date_is(begins, "Encounter", "date"), subject.c.target_id == member,
        begins.c.low >= start, begins.c.low < end).order_by(begins.c.low, resources.c.res_id)).all()


def _claimed_days(conn: Connection, member: str, first: date, after: date) -> list[tuple[date, str]]:
    """(service date, claim id) of the member's active claims with item dates in ``[first, after)``.

    Item dates are date-only, which the index stores as that date's midnight: the date part is the local
    service date."""
    day = search_date.alias("cl_day")
    status = search_token.alias("cl_status")
    patient = search_reference.alias("cl_patient")
    rows = conn.execute(select(day.c.low, resources.c.res_id).select_from(
        day.join(status, and_(same_resource(day, status), token_is(status, "Claim", "status", ("active",))))
        .join(patient, and_(same_resource(day, patient), reference_is(patient, "Claim", "patient", "Patient")))
        .join(resources, resources.c.pk == day.c.resource_pk))
        .where(date_is(day, "Claim", "service-date"), patient.c.target_id == member,
               day.c.low >= datetime.combine(first, datetime.min.time()),
               day.c.low < datetime.combine(after, datetime.min.time()))
        .order_by(day.c.low, resources.c.res_id)).all()
    return [(low.date(), claim_id) for low, claim_id in rows]


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


# --- the Parameters resource ---------------------------------------------------------------------------------------

def compliance_parameters(member: str, period: Period, weeks: list[WeekCompliance]) -> dict:
    """The ``$cmp-compliance`` answer (shape in docs/measures.md)."""
    parameters: list[dict] = [
        {"name": "subject", "valueReference": {"reference": f"Patient/{member}"}},
        {"name": "period", "valuePeriod": {"start": period.start.isoformat(), "end": period.end.isoformat()}},
        {"name": "compliant", "valueBoolean": all(not week.broken for week in weeks)},
    ]
    parameters.extend({"name": "week", "part": _week_parts(week)} for week in weeks)
    return {"resourceType": "Parameters", "parameter": parameters}


def _week_parts(week: WeekCompliance) -> list[dict]:
    parts: list[dict] = [
        {"name": "start", "valueDate": week.week.first_day.isoformat()},
        {"name": "end", "valueDate": (week.week.first_day + timedelta(days=6)).isoformat()},
    ]
    parts.extend({"name": "enrollment", "valueReference": {"reference": f"EpisodeOfCare/{enrollment}"}}
                 for enrollment in week.enrollment_ids)
    parts.extend({"name": "team", "valueReference": {"reference": f"Organization/{team}"}} for team in week.teams)
    for contact in week.contacts:
        parts.append({"name": "qualityContact", "part": [
            {"name": "encounter", "valueReference": {"reference": f"Encounter/{contact.encounter_id}"}},
            {"name": "mode", "valueCoding": {"system": ACT_CODE_SYSTEM, "code": contact.mode}},
            {"name": "date", "valueDate": contact.day.isoformat()},
        ]})
    for encounter_id in week.reviews:
        parts.append({"name": "teamReview", "valueReference": {"reference": f"Encounter/{encounter_id}"}})
    for day, claim_id in week.claimed_days:
        parts.append({"name": "billedDay", "part": [
            {"name": "date", "valueDate": day.isoformat()},
            {"name": "claim", "valueReference": {"reference": f"Claim/{claim_id}"}},
        ]})
    parts.append({"name": "billableDaysClaimed", "valueInteger": len(week.claimed_days)})
    for broken in week.broken:
        parts.append({"name": "ruleBroken", "part": [
            {"name": "rule", "valueId": broken.rule_id},
            {"name": "detail", "valueString": broken.detail},
        ]})
    parts.append({"name": "compliant", "valueBoolean": not week.broken})
    return parts
