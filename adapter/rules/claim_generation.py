"""``$generate-cmp-claims``: draft per-diem claims for one team's week, built from the quality contacts.

For each CMP member enrolled with the team in the program week (a ``cmp-enrollment`` managed by the team,
active or finished, whose period overlaps the week), the billable days are the local days with a valid
quality contact made by the team (CMP-BILL-1), less the days the member's active claims already bill, at
most ``billableDaysPerWeek`` in all (CMP-BILL-2). Each member with a billable day gets one ``cmp-claim``
(status ``draft``, id ``clm-{member}-{week start}-gen``) at the program's daily rate and billing code, built
with :mod:`mappings.claim`. The claims are returned; with ``store`` they are written in one transaction
Bundle, so validation and the write rules apply to them as to any other write. A member whose generated claim
was already made active (or cancelled) keeps it: regenerating never overwrites anything but a draft.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, false, select

from adapter import fhirjson
from adapter.errors import BadRequest, FhirError, Issue, NotFound
from adapter.rest.outcome import operation_outcome
from adapter.rules.billing import billed_days, contact_days
from adapter.rules.config import Program
from adapter.rules.index_sql import has_token
from adapter.rules.team_cap import PROGRAM_SYSTEM
from adapter.rules.weeks import Week, week_of_day
from adapter.store.schema import resources, search_date, search_reference, search_string, search_token
from mappings import claim as claim_kind

if TYPE_CHECKING:
    from adapter.services.container import Services

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def generated_claim_id(member: str, week: Week) -> str:
    return f"clm-{member}-{week.first_day:%Y%m%d}-gen"


def enrolled_members(conn: Connection, team: str, week: Week) -> list[str]:
    """Members with a CMP enrollment managed by ``team`` (active or finished) overlapping the week."""
    org, patient, when, row = (search_reference.alias("o"), search_reference.alias("p"), search_date.alias("d"),
                               resources.alias("r"))
    first = datetime.combine(week.first_day, datetime.min.time())
    query = (select(patient.c.target_id)
             .select_from(org.join(patient, patient.c.resource_pk == org.c.resource_pk)
                          .join(when, when.c.resource_pk == org.c.resource_pk)
                          .join(row, row.c.pk == org.c.resource_pk))
             .where(org.c.res_type == "EpisodeOfCare", org.c.param == "organization",
                    org.c.target_type == "Organization", org.c.target_id == team,
                    patient.c.res_type == "EpisodeOfCare", patient.c.param == "patient",
                    when.c.res_type == "EpisodeOfCare", when.c.param == "date",
                    when.c.low < first + timedelta(days=7), when.c.high >= first, row.c.deleted == false(),
                    has_token(org.c.resource_pk, "EpisodeOfCare", "type", system=PROGRAM_SYSTEM, codes=["cmp"]),
                    has_token(org.c.resource_pk, "EpisodeOfCare", "status", codes=["active", "finished"]))
             .distinct())
    return sorted(conn.execute(query).scalars())


def coverages(conn: Connection, members: Iterable[str]) -> dict[str, tuple[str, str]]:
    """``member -> (Coverage id, payer id)``: an active coverage, the CMP one (class value ``cmp``) first."""
    ref, payor, row, cls = (search_reference.alias("b"), search_reference.alias("y"), resources.alias("r"),
                            search_string.alias("c"))
    query = (select(ref.c.target_id, row.c.res_id, payor.c.target_id, cls.c.value_norm)
             .select_from(ref.join(payor, payor.c.resource_pk == ref.c.resource_pk)
                          .join(row, row.c.pk == ref.c.resource_pk)
                          .outerjoin(cls, (cls.c.resource_pk == ref.c.resource_pk) & (cls.c.param == "class-value")))
             .where(ref.c.res_type == "Coverage", ref.c.param == "beneficiary", ref.c.target_type == "Patient",
                    ref.c.target_id.in_(sorted(set(members))), payor.c.res_type == "Coverage",
                    payor.c.param == "payor", payor.c.target_type == "Organization", row.c.deleted == false(),
                    has_token(ref.c.resource_pk, "Coverage", "status", codes=["active"])))
    ranked = sorted(conn.execute(query), key=lambda r: (r[0], r[3] != "cmp", r[1]))
    found: dict[str, tuple[str, str]] = {}
    for member, coverage, payer, _ in ranked:
        found.setdefault(member, (coverage, payer))
    return found


def diagnoses(conn: Connection, members: Iterable[str]) -> dict[str, str]:
    """``member -> ICD-10-CM code`` of an active Condition (the lowest id first)."""
    ref, code, row = search_reference.alias("p"), search_token.alias("k"), resources.alias("r")
    query = (select(ref.c.target_id, row.c.res_id, code.c.code)
             .select_from(ref.join(code, code.c.resource_pk == ref.c.resource_pk)
                          .join(row, row.c.pk == ref.c.resource_pk))
             .where(ref.c.res_type == "Condition", ref.c.param == "patient", ref.c.target_type == "Patient",
                    ref.c.target_id.in_(sorted(set(members))), code.c.res_type == "Condition", code.c.param == "code",
                    code.c.system == ICD10CM, row.c.deleted == false(),
                    has_token(ref.c.resource_pk, "Condition", "clinical-status", codes=["active"]))
             .order_by(ref.c.target_id, row.c.res_id))
    found: dict[str, str] = {}
    for member, _, value in conn.execute(query):
        found.setdefault(member, value)
    return found


def _parse_week(value: str | None, program: Program) -> Week:
    try:
        return week_of_day(program, date.fromisoformat(value or ""))
    except ValueError as exc:
        raise BadRequest("week must be a date (YYYY-MM-DD) in the program week to bill", expression="week") from exc


def generate(services: Services, team: str | None, week_param: str | None, *, store: bool, base_url: str,
             today: date | None = None) -> dict:
    """The ``$generate-cmp-claims`` result: a Bundle of draft claims (stored when ``store``).

    :raise BadRequest: no team or no valid week. :raise NotFound: no such team.
    :raise adapter.errors.Unprocessable: (``store``) a claim broke a rule or its profile; nothing stored.
    """
    program = services.program_rules.program_of("CMP-BILL-2")
    if program.daily_rate is None:
        raise FhirError(f"the program rules configure no dailyRate for {program.name}")
    if not team:
        raise BadRequest("team is required: the id of the team's Organization", expression="team")
    week = _parse_week(week_param, program)
    with services.store.connect() as conn:
        found = services.store.read(conn, "Organization", team)
        if found is None or found.deleted:
            raise NotFound(f"Organization/{team} is not known")
        claims, notes = _drafts(services, conn, program, team, week, today or datetime.now(program.time_zone).date())
    if store and claims:
        from adapter.services import bundles

        bundles.process(services, {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": claim, "request": {"method": "PUT", "url": f"Claim/{claim['id']}"}} for claim in claims]},
            base_url)
        with services.store.connect() as conn:
            claims = [fhirjson.loads(services.store.read(conn, "Claim", claim["id"]).content) for claim in claims]
    entries = [{"fullUrl": f"{base_url}/Claim/{claim['id']}", "resource": claim} for claim in claims]
    if notes:
        entries.append({"resource": operation_outcome(notes)})
    return {"resourceType": "Bundle", "type": "collection", "total": len(claims), "entry": entries}


def _drafts(services: Services, conn: Connection, program: Program, team: str, week: Week,
            today: date) -> tuple[list[dict], list[Issue]]:
    members = enrolled_members(conn, team, week)
    contacts = contact_days(conn, program, members, week.days, team=team)
    limit = program.billable_days_per_week or 0
    billed: dict[str, set[tuple[str, date]]] = defaultdict(set)
    generated_ids = {generated_claim_id(member, week) for member in members}
    for member, claim, day in billed_days(conn, members, week.first_day, week.first_day + timedelta(days=7)):
        billed[member].add((claim, day))
    covered, coded = coverages(conn, members), diagnoses(conn, members)
    claims, notes = [], []
    for member in members:
        claim_id = generated_claim_id(member, week)
        existing = services.store.read(conn, "Claim", claim_id)
        if existing is not None and not existing.deleted and existing.content and \
                fhirjson.loads(existing.content).get("status") != "draft":
            notes.append(Issue("information", "informational", f"Claim/{claim_id} exists and is not a draft; kept"))
            continue
        taken = {day for claim, day in billed[member] if claim not in generated_ids}
        room = limit - len([1 for claim, _ in billed[member] if claim not in generated_ids])
        days = [(day, contacts[(member, day)][0]) for day in week.days
                if (member, day) in contacts and day not in taken][:max(room, 0)]
        if not days:
            continue
        if member not in covered or member not in coded:
            missing = "an active Coverage" if member not in covered else "an active ICD-10-CM Condition"
            notes.append(Issue("warning", "incomplete", f"Patient/{member} has billable days but no {missing}; "
                                                        "no claim generated", rule_id="CMP-BILL-1"))
            continue
        coverage, payer = covered[member]
        record = claim_kind.ClaimRecord(
            claim_id=claim_id, kind="per-diem", member_id=member, coverage_id=coverage, payer_id=payer,
            provider_id=team, period_start=week.first_day, period_end=week.first_day + timedelta(days=6),
            created=today, service_code="CMP-PD", rate=program.daily_rate, diagnosis=coded[member],
            days=tuple(claim_kind.BilledDay(day=day, contact_id=contact) for day, contact in days))
        (claim,) = claim_kind.to_fhir(record)
        claim["status"] = "draft"
        code = program.billing_code
        if code is not None:
            for item in claim["item"]:
                if not any(c.get("system") == code.system and c.get("code") == code.code
                           for c in item["productOrService"].get("coding", ())):
                    item["productOrService"] = {"coding": [{"system": code.system, "code": code.code}]}
        claims.append(claim)
    return claims, notes
