"""``followup-after-discharge`` (PCMH-3): inpatient discharges followed by a contact within followUpDays.

- Initial population: finished inpatient Encounters (class ``IMP``) of the scope's members whose period
  ends on a local date of the measurement period (time zone of the ``pcmh`` program).
- Denominator: less those whose ``hospitalization.dischargeDisposition`` is death or another inpatient
  stay (:data:`EXCLUDED_DISPOSITIONS`, search parameter ``discharge-disposition`` of our IG).
- Numerator: discharges of the denominator after which the member's practice (the Organization of the
  member's general practitioner, PCCM-1) had a finished ambulatory, virtual or home encounter with the
  member (class AMB, VR, HH; ``serviceProvider`` the practice), or sent a completed Communication, starting
  after the discharge and on or before the local date of the discharge + ``followUpDays``
  (program-rules.json, 7 by default).

Counted per discharge; the subjects of a subject-list report are the members.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, DateTime, Select, and_, case, exists, func, literal, or_, select, union_all

from adapter.measures.core import (
    ACT_CODE_SYSTEM,
    Period,
    Scope,
    date_is,
    reference_is,
    same_resource,
    token_is,
)
from adapter.measures.results import Evaluation, GroupResult
from adapter.rules.config import Program, ProgramRules
from adapter.rules.weeks import day_bounds_utc, local_midnight_utc
from adapter.store.schema import resources, search_date, search_reference, search_token

URL = "https://cmp-adapter.org/fhir/Measure/followup-after-discharge"
PROGRAM = "pcmh"
DISCHARGE_SYSTEM = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
#: Discharges that end in death (``exp``) or in another facility's care (``other-hcf``, hospice ``hosp``,
#: psychiatric hospital, rehabilitation, skilled nursing, long-term care): no follow-up is expected.
EXCLUDED_DISPOSITIONS = ("exp", "hosp", "psy", "rehab", "snf", "long", "other-hcf")
#: Encounter classes of a follow-up contact: ambulatory, virtual (telehealth), home health.
FOLLOW_UP_CLASSES = ("AMB", "VR", "HH")


def role_practices() -> Select:
    """Rows (``role_id``, ``practice_id``): each PractitionerRole and the Organization it works for."""
    org = search_reference.alias("role_org")
    role = resources.alias("role_res")
    return (select(role.c.res_id.label("role_id"), org.c.target_id.label("practice_id"))
            .select_from(org.join(role, role.c.pk == org.c.resource_pk))
            .where(reference_is(org, "PractitionerRole", "organization", "Organization")))


def member_practices() -> Select:
    """Rows (``patient_id``, ``practice_id``): the practice of each member's general practitioner (PCCM-1),
    named directly (an Organization) or through a PractitionerRole of it."""
    gp = search_reference.alias("gp")
    patient = resources.alias("gp_patient")
    roles = role_practices().subquery("gp_roles")
    base = gp.join(patient, patient.c.pk == gp.c.resource_pk)
    direct = (select(patient.c.res_id.label("patient_id"), gp.c.target_id.label("practice_id"))
              .select_from(base).where(reference_is(gp, "Patient", "general-practitioner", "Organization")))
    via_role = (select(patient.c.res_id.label("patient_id"), roles.c.practice_id)
                .select_from(base.join(roles, roles.c.role_id == gp.c.target_id))
                .where(reference_is(gp, "Patient", "general-practitioner", "PractitionerRole")))
    return direct.union(via_role)


def practice_members(organization_id: str) -> Select:
    """Patient ids whose general practitioner is the practice or one of its PractitionerRoles."""
    practices = member_practices().subquery("practice_members")
    return select(practices.c.patient_id).where(practices.c.practice_id == organization_id)


def member_condition(scope: Scope, member):
    """The scope as a condition on a patient-id column (a practice: its members, PCCM-1)."""
    if scope.kind == "Organization":
        return member.in_(practice_members(scope.res_id))
    return scope.member_filter(member)


def _days_table(program: Program, period: Period, follow_up_days: int):
    """One row per local day of the period: its UTC bounds and the end of its follow-up window (the local
    midnight ending the day ``follow_up_days`` later), exact across daylight-saving changes."""
    rows = []
    day = period.start
    while day <= period.end:
        start, end = day_bounds_utc(program, day)
        window_end = local_midnight_utc(program, day + timedelta(days=follow_up_days + 1))
        rows.append(select(literal(_naive(start), DateTime).label("day_start"),
                           literal(_naive(end), DateTime).label("day_end"),
                           literal(_naive(window_end), DateTime).label("window_end")))
        day += timedelta(days=1)
    return (rows[0] if len(rows) == 1 else union_all(*rows)).subquery("discharge_days")


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def discharges(rules: ProgramRules, period: Period, scope: Scope) -> Select:
    """Rows (``discharge_pk``, ``member``, ``excluded``, ``followed``) for every discharge in the period."""
    program = rules.program(PROGRAM)
    follow_up_days = program.follow_up_days if program.follow_up_days is not None else 7
    days = _days_table(program, period, follow_up_days)
    stay = search_date.alias("stay")
    klass = search_token.alias("stay_class")
    status = search_token.alias("stay_status")
    subject = search_reference.alias("stay_subject")
    source = (stay
              .join(days, and_(stay.c.high >= days.c.day_start, stay.c.high < days.c.day_end))
              .join(klass, and_(same_resource(stay, klass), token_is(klass, "Encounter", "class", ("IMP",))))
              .join(status, and_(same_resource(stay, status), token_is(status, "Encounter", "status", ("finished",))))
              .join(subject, and_(same_resource(stay, subject),
                                  reference_is(subject, "Encounter", "subject", "Patient"))))
    disposition = search_token.alias("stay_disposition")
    excluded = exists(select(literal(1)).where(
        disposition.c.resource_pk == stay.c.resource_pk,
        token_is(disposition, "Encounter", "discharge-disposition", EXCLUDED_DISPOSITIONS, DISCHARGE_SYSTEM)))
    practices = member_practices().subquery("member_practice")
    practice_of_member = (select(practices.c.practice_id).where(practices.c.patient_id == subject.c.target_id)
                          .correlate(subject))  # two levels down: auto-correlation only looks one up
    followed = or_(_followed_by_encounter(stay, subject, days, practice_of_member),
                   _followed_by_communication(stay, subject, days, practice_of_member))
    conditions = [date_is(stay, "Encounter", "date")]
    scoped = member_condition(scope, subject.c.target_id)
    if scoped is not None:
        conditions.append(scoped)
    return (select(stay.c.resource_pk.label("discharge_pk"), subject.c.target_id.label("member"),
                   excluded.label("excluded"), followed.label("followed"))
            .select_from(source).where(*conditions))


def _followed_by_encounter(stay, subject, days, practice_of_member: Select):
    start = search_date.alias("fu_start")
    klass = search_token.alias("fu_class")
    status = search_token.alias("fu_status")
    who = search_reference.alias("fu_subject")
    provider = search_reference.alias("fu_provider")
    return exists(select(literal(1)).select_from(
        start.join(klass, and_(same_resource(start, klass),
                               token_is(klass, "Encounter", "class", FOLLOW_UP_CLASSES, ACT_CODE_SYSTEM)))
        .join(status, and_(same_resource(start, status), token_is(status, "Encounter", "status", ("finished",))))
        .join(who, and_(same_resource(start, who), reference_is(who, "Encounter", "subject", "Patient")))
        .join(provider, and_(same_resource(start, provider),
                             reference_is(provider, "Encounter", "service-provider", "Organization"))))
        .where(date_is(start, "Encounter", "date"), who.c.target_id == subject.c.target_id,
               provider.c.target_id.in_(practice_of_member),
               start.c.low > stay.c.high, start.c.low < days.c.window_end))


def _followed_by_communication(stay, subject, days, practice_of_member: Select):
    """A completed Communication to the member sent by the practice or one of its PractitionerRoles."""
    sent = search_date.alias("cm_sent")
    status = search_token.alias("cm_status")
    who = search_reference.alias("cm_subject")
    sender = search_reference.alias("cm_sender")
    roles = role_practices().subquery("cm_roles")
    by_practice = or_(
        and_(sender.c.target_type == "Organization", sender.c.target_id.in_(practice_of_member)),
        and_(sender.c.target_type == "PractitionerRole",
             sender.c.target_id.in_(select(roles.c.role_id).where(roles.c.practice_id.in_(practice_of_member)))))
    return exists(select(literal(1)).select_from(
        sent.join(status, and_(same_resource(sent, status),
                               token_is(status, "Communication", "status", ("completed",))))
        .join(who, and_(same_resource(sent, who), reference_is(who, "Communication", "subject", "Patient")))
        .join(sender, and_(same_resource(sent, sender), reference_is(sender, "Communication", "sender"))))
        .where(date_is(sent, "Communication", "sent"), who.c.target_id == subject.c.target_id, by_practice,
               sent.c.low > stay.c.high, sent.c.low < days.c.window_end))


def evaluate(conn: Connection, rules: ProgramRules, period: Period, scope: Scope, *,
             with_subjects: bool = False) -> Evaluation:
    return Evaluation([followup_group(conn, rules, period, scope, with_subjects=with_subjects)])


def followup_group(conn: Connection, rules: ProgramRules, period: Period, scope: Scope, *,
                   with_subjects: bool, code: str = "PCMH-3") -> GroupResult:
    found = discharges(rules, period, scope).subquery("discharges")
    eligible = ~found.c.excluded
    rows = conn.execute(select(
        found.c.member, func.count(),
        func.sum(_as_int(eligible)), func.sum(_as_int(and_(eligible, found.c.followed))))
        .group_by(found.c.member).order_by(found.c.member)).all()
    counts = {"initial-population": sum(r[1] for r in rows), "denominator": sum(int(r[2] or 0) for r in rows),
              "numerator": sum(int(r[3] or 0) for r in rows)}
    subjects = None
    if with_subjects:
        subjects = {"initial-population": [r[0] for r in rows], "denominator": [r[0] for r in rows if r[2]],
                    "numerator": [r[0] for r in rows if r[3]]}
    return GroupResult(code, counts, "discharge", subjects)


def _as_int(condition):
    return case((condition, 1), else_=0)
