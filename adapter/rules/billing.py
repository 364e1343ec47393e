"""CMP-BILL-1 and CMP-BILL-2: the days a ``cmp-claim`` bills, against the store.

- ``CMP-BILL-1``: each billable day (``item.servicedDate``, a local date of the program) has a quality
  contact of the member that day: an Encounter typed ``cmp-encounter-type#quality-contact``, not
  ``cancelled`` or ``entered-in-error``, not deleted, whose start falls in that local day (the day's UTC
  bounds come from the program's time zone, so 23:30 on a Sunday in Montana is Sunday, not Monday).
- ``CMP-BILL-2``: in each program week the claim touches, the days it bills plus the days the member's
  other **active** cmp-claims bill that week are at most ``billableDaysPerWeek``. Cancelled and
  entered-in-error claims, drafts and deleted claims do not count; a claim spanning two weeks counts in each.

Claims with status ``active`` or ``draft`` are checked (a void needs no check). The queries start from the
member's reference rows, so a check reads one member's rows whatever the size of the store; the same
queries serve :mod:`adapter.rules.claim_generation`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, false, select

from adapter.rules.config import Program
from adapter.rules.index_sql import has_profile, has_token, reference_id, refers_to, within_any
from adapter.rules.weeks import day_bounds_utc, local_day, week_of_day
from adapter.rules.write_rules import Finding, Trigger
from adapter.services.write_checks import Change
from adapter.store.schema import resources, search_date, search_reference

if TYPE_CHECKING:
    from adapter.services.container import Services

CANONICAL = "https://cmp-adapter.org/fhir"
CMP_CLAIM = f"{CANONICAL}/StructureDefinition/cmp-claim"
ENCOUNTER_TYPE = f"{CANONICAL}/CodeSystem/cmp-encounter-type"
VOID_CONTACT = ("cancelled", "entered-in-error")
CHECKED_CLAIM_STATUSES = ("active", "draft")


def is_cmp_claim(resource: Mapping) -> bool:
    return CMP_CLAIM in ((resource.get("meta") or {}).get("profile") or ())


def claim_days(claim: Mapping) -> list[tuple[int, date]]:
    """``(item index, servicedDate)`` of each item with a valid date."""
    days = []
    for index, item in enumerate(claim.get("item") or ()):
        try:
            days.append((index, date.fromisoformat(str(item.get("servicedDate")))))
        except ValueError:
            continue
    return days


def contact_days(conn: Connection, program: Program, members: Iterable[str], days: Iterable[date], *,
                 team: str | None = None) -> dict[tuple[str, date], list[str]]:
    """``(member, local day) -> contact ids`` of the valid quality contacts on those days (``team``: only
    contacts whose serviceProvider is that team)."""
    wanted_days = sorted(set(days))
    member_ids = sorted(set(members))
    if not wanted_days or not member_ids:
        return {}
    ref, when, row = search_reference.alias("p"), search_date.alias("d"), resources.alias("r")
    query = (
        select(ref.c.target_id, row.c.res_id, when.c.low)
        .select_from(ref.join(when, when.c.resource_pk == ref.c.resource_pk).join(row, row.c.pk == ref.c.resource_pk))
        .where(ref.c.res_type == "Encounter", ref.c.param == "patient", ref.c.target_type == "Patient",
               ref.c.target_id.in_(member_ids), when.c.res_type == "Encounter", when.c.param == "date",
               within_any(when.c.low, [day_bounds_utc(program, day) for day in wanted_days]),
               row.c.deleted == false(),
               has_token(ref.c.resource_pk, "Encounter", "type", system=ENCOUNTER_TYPE, codes=["quality-contact"]),
               ~has_token(ref.c.resource_pk, "Encounter", "status", codes=VOID_CONTACT))
        .order_by(when.c.low, row.c.res_id))
    if team is not None:
        query = query.where(refers_to(ref.c.resource_pk, "Encounter", "service-provider", "Organization", team))
    found: dict[tuple[str, date], list[str]] = defaultdict(list)
    wanted = set(wanted_days)
    for member, contact_id, start in conn.execute(query.distinct()):
        day = local_day(program, start)
        if day in wanted and contact_id not in found[(member, day)]:
            found[(member, day)].append(contact_id)
    return dict(found)


def billed_days(conn: Connection, members: Iterable[str], first_day: date, end_day: date, *,
                exclude_claim: str | None = None) -> list[tuple[str, str, date]]:
    """``(member, claim id, day)`` billed by active cmp-claims on days in ``[first_day, end_day)``, one row
    per claim and day (claim dates are local dates, indexed as naive midnights)."""
    member_ids = sorted(set(members))
    if not member_ids:
        return []
    ref, when, row = search_reference.alias("p"), search_date.alias("d"), resources.alias("r")
    query = (
        select(ref.c.target_id, row.c.res_id, when.c.low)
        .select_from(ref.join(when, when.c.resource_pk == ref.c.resource_pk).join(row, row.c.pk == ref.c.resource_pk))
        .where(ref.c.res_type == "Claim", ref.c.param == "patient", ref.c.target_type == "Patient",
               ref.c.target_id.in_(member_ids), when.c.res_type == "Claim", when.c.param == "service-date",
               when.c.low >= datetime.combine(first_day, datetime.min.time()),
               when.c.low < datetime.combine(end_day, datetime.min.time()),
               row.c.deleted == false(),
               has_token(ref.c.resource_pk, "Claim", "status", codes=["active"]),
               has_profile(ref.c.resource_pk, "Claim", CMP_CLAIM))
        .distinct())
    if exclude_claim is not None:
        query = query.where(row.c.res_id != exclude_claim)
    return sorted((member, claim, low.date()) for member, claim, low in conn.execute(query))


class BillingRule:
    """CMP-BILL-1 and CMP-BILL-2 on every written cmp-claim (status active or draft)."""

    rule_ids = ("CMP-BILL-1", "CMP-BILL-2")

    def triggers(self, services: Services, conn: Connection, changes: Sequence[Change]) -> list[Trigger]:
        found = []
        for change in changes:
            claim = change.resource
            if change.res_type != "Claim" or claim is None or not is_cmp_claim(claim):
                continue
            member = reference_id(claim.get("patient"), "Patient")
            if member is not None and claim.get("status") in CHECKED_CLAIM_STATUSES:
                found.append(Trigger(f"member:{member}", member, change))
        return found

    def check(self, services: Services, conn: Connection, triggers: Sequence[Trigger],
              enabled: frozenset[str]) -> list[Finding]:
        findings = []
        for trigger in triggers:
            claim, name = trigger.change.resource or {}, f"Claim/{trigger.change.res_id}"
            days = claim_days(claim)
            if "CMP-BILL-1" in enabled:
                findings += self.unbacked_days(services, conn, trigger.subject, name, days)
            if "CMP-BILL-2" in enabled:
                findings += self.over_limit(services, conn, trigger.subject, trigger.change.res_id, name, days)
        return findings

    @staticmethod
    def unbacked_days(services: Services, conn: Connection, member: str, name: str,
                      days: list[tuple[int, date]]) -> list[Finding]:
        program = services.program_rules.program_of("CMP-BILL-1")
        backed = contact_days(conn, program, [member], [day for _, day in days])
        return [Finding("CMP-BILL-1", name,
                        f"the billable day {day} has no quality contact of Patient/{member} that day "
                        f"({program.time_zone.key}): a cmp-quality-contact Encounter, not cancelled or "
                        "entered-in-error, must back each billed day",
                        f"Claim.item[{index}].servicedDate")
                for index, day in days if (member, day) not in backed]

    @staticmethod
    def over_limit(services: Services, conn: Connection, member: str, claim_id: str, name: str,
                   days: list[tuple[int, date]]) -> list[Finding]:
        program = services.program_rules.program_of("CMP-BILL-2")
        limit = program.billable_days_per_week
        if limit is None or not days:
            return []
        weeks = sorted({week_of_day(program, day).first_day for _, day in days})
        others = billed_days(conn, [member], weeks[0], weeks[-1] + timedelta(days=7), exclude_claim=claim_id)
        findings = []
        for first in weeks:
            own = sorted({day for _, day in days if first <= day < first + timedelta(days=7)})
            theirs = [(claim, day) for _, claim, day in others if first <= day < first + timedelta(days=7)]
            if len(own) + len(theirs) > limit:
                claims = ", ".join(sorted({f"Claim/{claim}" for claim, _ in theirs}))
                findings.append(Finding(
                    "CMP-BILL-2", name,
                    f"Patient/{member} would have {len(own) + len(theirs)} billable days in the week "
                    f"{first}..{first + timedelta(days=6)}: {len(own)} on this claim and {len(theirs)} on other "
                    f"active claims ({claims or 'none'}); at most {limit} a week", "Claim.item"))
        return findings
