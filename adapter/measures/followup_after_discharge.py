"""``followup-after-discharge`` (PCMH-3): inpatient discharges followed by a contact within followUpDays.

- Initial population: finished inpatient Encounters (class ``IMP``) of the scope's members whose period
  ends in the measurement period (local dates of the ``pcmh`` program).
- Denominator: less those whose ``hospitalization.dischargeDisposition`` is death or another inpatient
  stay (:data:`EXCLUDED_DISPOSITIONS`, search parameter ``discharge-disposition`` of our IG).
- Numerator: discharges of the denominator after which the member had a finished ambulatory, virtual or
  home encounter (class AMB, VR, HH), or a completed Communication, starting after the discharge and at
  most ``followUpDays`` times 24 hours after it (program-rules.json, 7 by default).

Counted per discharge; the subjects of a subject-list report are the members.
"""

from __future__ import annotations

from sqlalchemy import Connection, Select, and_, case, exists, func, literal, or_, select

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
from adapter.measures.sql_time import plus_days
from adapter.rules.config import ProgramRules
from adapter.store.schema import resources, search_date, search_reference, search_token

URL = "https://cmp-adapter.org/fhir/Measure/followup-after-discharge"
PROGRAM = "pcmh"
DISCHARGE_SYSTEM = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
#: Discharges that end in death (``exp``) or in another inpatient stay: no follow-up is expected.
EXCLUDED_DISPOSITIONS = ("exp", "hosp", "psy", "rehab", "snf", "long", "other-hcf")
#: Encounter classes of a follow-up contact: ambulatory, virtual (telehealth), home health.
FOLLOW_UP_CLASSES = ("AMB", "VR", "HH")


def practice_members(organization_id: str) -> Select:
    """Patient ids whose ``generalPractitioner`` is the practice, or a PractitionerRole of it (PCCM-1)."""
    gp = search_reference.alias("gp")
    role = resources.alias("gp_role")
    role_org = search_reference.alias("gp_role_org")
    patient = resources.alias("gp_patient")
    direct = (select(patient.c.res_id)
              .select_from(gp.join(patient, patient.c.pk == gp.c.resource_pk))
              .where(reference_is(gp, "Patient", "general-practitioner", "Organization"),
                     gp.c.target_id == organization_id))
    via_role = (select(patient.c.res_id)
                .select_from(gp.join(patient, patient.c.pk == gp.c.resource_pk)
                             .join(role, and_(role.c.res_type == "PractitionerRole", role.c.res_id == gp.c.target_id))
                             .join(role_org, role_org.c.resource_pk == role.c.pk))
                .where(reference_is(gp, "Patient", "general-practitioner", "PractitionerRole"),
                       reference_is(role_org, "PractitionerRole", "organization", "Organization"),
                       role_org.c.target_id == organization_id))
    return direct.union(via_role)


def member_condition(scope: Scope, member):
    """The scope as a condition on a patient-id column (a practice: its members, PCCM-1)."""
    if scope.kind == "Organization":
        return member.in_(practice_members(scope.res_id))
    return scope.member_filter(member)


def discharges(rules: ProgramRules, period: Period, scope: Scope) -> Select:
    """Rows (``discharge_pk``, ``member``, ``ended``, ``excluded``, ``followed``) for every discharge."""
    program = rules.program(PROGRAM)
    start_utc, end_utc = period.utc_bounds(program)
    days = program.follow_up_days if program.follow_up_days is not None else 7
    stay = search_date.alias("stay")
    klass = search_token.alias("stay_class")
    status = search_token.alias("stay_status")
    subject = search_reference.alias("stay_subject")
    source = (stay
              .join(klass, and_(same_resource(stay, klass), token_is(klass, "Encounter", "class", ("IMP",))))
              .join(status, and_(same_resource(stay, status), token_is(status, "Encounter", "status", ("finished",))))
              .join(subject, and_(same_resource(stay, subject),
                                  reference_is(subject, "Encounter", "subject", "Patient"))))
    disposition = search_token.alias("stay_disposition")
    excluded = exists(select(literal(1)).where(
        disposition.c.resource_pk == stay.c.resource_pk,
        token_is(disposition, "Encounter", "discharge-disposition", EXCLUDED_DISPOSITIONS, DISCHARGE_SYSTEM)))
    followed = or_(_followed_by_encounter(stay, subject, days), _followed_by_communication(stay, subject, days))
    conditions = [date_is(stay, "Encounter", "date"), stay.c.high >= start_utc, stay.c.high < end_utc]
    scoped = member_condition(scope, subject.c.target_id)
    if scoped is not None:
        conditions.append(scoped)
    return (select(stay.c.resource_pk.label("discharge_pk"), subject.c.target_id.label("member"),
                   stay.c.high.label("ended"), excluded.label("excluded"), followed.label("followed"))
            .select_from(source).where(*conditions))


def _followed_by_encounter(stay, subject, days: int):
    start = search_date.alias("fu_start")
    klass = search_token.alias("fu_class")
    status = search_token.alias("fu_status")
    who = search_reference.alias("fu_subject")
    return exists(select(literal(1)).select_from(
        start.join(klass, and_(same_resource(start, klass),
                               token_is(klass, "Encounter", "class", FOLLOW_UP_CLASSES, ACT_CODE_SYSTEM)))
        .join(status, and_(same_resource(start, status), token_is(status, "Encounter", "status", ("finished",))))
        .join(who, and_(same_resource(start, who), reference_is(who, "Encounter", "subject", "Patient"))))
        .where(date_is(start, "Encounter", "date"), who.c.target_id == subject.c.target_id,
               start.c.low > stay.c.high, start.c.low <= plus_days(stay.c.high, days)))


def _followed_by_communication(stay, subject, days: int):
    sent = search_date.alias("cm_sent")
    status = search_token.alias("cm_status")
    who = search_reference.alias("cm_subject")
    return exists(select(literal(1)).select_from(
        sent.join(status, and_(same_resource(sent, status),
                               token_is(status, "Communication", "status", ("completed",))))
        .join(who, and_(same_resource(sent, who), reference_is(who, "Communication", "subject", "Patient"))))
        .where(date_is(sent, "Communication", "sent"), who.c.target_id == subject.c.target_id,
               sent.c.low > stay.c.high, sent.c.low <= plus_days(stay.c.high, days)))


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
