"""``pcmh-incentive`` (PCMH-2): the quality and utilization metrics of a practice's incentive payment.

Members: Patients of profile ``pccm-member`` (``_profile``), for a practice those whose general
practitioner is the practice or one of its PractitionerRoles (PCCM-1). Three proportion groups:

- ``followup-after-discharge``: as the PCMH-3 measure (:mod:`followup_after_discharge`), per discharge;
- ``care-management-contact``: members with a finished ambulatory, virtual or home encounter starting in
  the period (quality, higher is better);
- ``inpatient-utilization``: members with an inpatient admission (class IMP, not cancelled or entered in
  error) starting in the period (utilization, lower is better).

Patient experience, the third input PCMH-2 names, comes from surveys this adapter does not hold.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, case, exists, literal, select

from adapter.measures.core import ACT_CODE_SYSTEM, Period, Scope, date_is, reference_is, same_resource, token_is
from adapter.measures.followup_after_discharge import FOLLOW_UP_CLASSES, followup_group, member_condition
from adapter.measures.results import Evaluation, GroupResult
from adapter.rules.config import ProgramRules
from adapter.store.schema import resources, search_date, search_reference, search_token, search_uri

URL = "https://cmp-adapter.org/fhir/Measure/pcmh-incentive"
PROGRAM = "pcmh"
PCCM_MEMBER = "https://cmp-adapter.org/fhir/StructureDefinition/pccm-member"
#: Admissions that happened: every Encounter status but these.
NOT_HAPPENED = ("planned", "cancelled", "entered-in-error", "unknown")


def evaluate(conn: Connection, rules: ProgramRules, period: Period, scope: Scope, *,
             with_subjects: bool = False) -> Evaluation:
    followup = followup_group(conn, rules, period, scope, with_subjects=with_subjects,
                              code="followup-after-discharge")
    start_utc, end_utc = period.utc_bounds(rules.program(PROGRAM))
    profile = search_uri.alias("member_profile")
    member = resources.c.res_id
    contacted = _has_encounter(member, start_utc, end_utc, FOLLOW_UP_CLASSES, ("finished",))
    admitted = _has_encounter(member, start_utc, end_utc, ("IMP",), NOT_HAPPENED, negate=True)
    conditions = [profile.c.res_type == "Patient", profile.c.param == "_profile", profile.c.value == PCCM_MEMBER,
                  resources.c.deleted.is_(False)]
    scoped = member_condition(scope, member)
    if scoped is not None:
        conditions.append(scoped)
    rows = conn.execute(
        select(member, case((contacted, 1), else_=0), case((admitted, 1), else_=0))
        .select_from(profile.join(resources, resources.c.pk == profile.c.resource_pk))
        .where(*conditions).order_by(member)).all()
    members = [row[0] for row in rows]
    return Evaluation([
        followup,
        _member_group("care-management-contact", members, [r[0] for r in rows if r[1]], with_subjects),
        _member_group("inpatient-utilization", members, [r[0] for r in rows if r[2]], with_subjects),
    ])


def _member_group(code: str, members: list[str], hits: list[str], with_subjects: bool) -> GroupResult:
    counts = {"initial-population": len(members), "denominator": len(members), "numerator": len(hits)}
    subjects = ({"initial-population": members, "denominator": members, "numerator": hits}
                if with_subjects else None)
    return GroupResult(code, counts, "member", subjects)


def _has_encounter(member, start_utc, end_utc, classes: Sequence[str], statuses: Sequence[str], *,
                   negate: bool = False):
    """EXISTS an Encounter of the member with a class in ``classes`` starting in ``[start, end)`` whose
    status is in ``statuses`` (or, with ``negate``, is not)."""
    start = search_date.alias("pm_start")
    klass = search_token.alias("pm_class")
    status = search_token.alias("pm_status")
    who = search_reference.alias("pm_subject")
    status_ok = (and_(status.c.res_type == "Encounter", status.c.param == "status", status.c.code.not_in(statuses))
                 if negate else token_is(status, "Encounter", "status", statuses))
    return exists(select(literal(1)).select_from(
        start.join(klass, and_(same_resource(start, klass),
                               token_is(klass, "Encounter", "class", classes, ACT_CODE_SYSTEM)))
        .join(status, and_(same_resource(start, status), status_ok))
        .join(who, and_(same_resource(start, who), reference_is(who, "Encounter", "subject", "Patient"))))
        .where(date_is(start, "Encounter", "date"), who.c.target_id == member,
               start.c.low >= start_utc, start.c.low < end_utc))
