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

from sqlalchemy import Connection, Select, bindparam, false, literal, select, union_all

from adapter.rules.config import Program
from adapter.rules.index_sql import has_profile, has_token, naive_utc, reference_id, refers_to
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
#: Every other Encounter status: asked positively, so the database looks up this contact's status row
#: instead of scanning every status row for a NOT EXISTS.
COUNTED_CONTACT = ("planned", "arrived", "triaged", "in-progress", "onleave", "finished", "unknown")
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


def _contact_query(*, by_team: bool = False, prefix: str = "") -> Select:
    """Valid quality contacts of some members starting in ``[start, end)``: built once, cached compiled.
    Rows: ``("contact", member, contact id, start)``."""
    ref, when, row = search_reference.alias("p"), search_date.alias("d"), resources.alias("r")
    query = (
        select(literal("contact").label("kind"), ref.c.target_id, row.c.res_id, when.c.low)
        .select_from(ref.join(when, when.c.resource_pk == ref.c.resource_pk).join(row, row.c.pk == ref.c.resource_pk))
        .where(ref.c.res_type == "Encounter", ref.c.param == "patient", ref.c.target_type == "Patient",
               ref.c.target_id.in_(bindparam(f"{prefix}members", expanding=True)),
               when.c.res_type == "Encounter", when.c.param == "date",
               when.c.low >= bindparam(f"{prefix}start"), when.c.low < bindparam(f"{prefix}end"),
               row.c.deleted == false(),
               has_token(ref.c.resource_pk, "Encounter", "type", system=ENCOUNTER_TYPE, codes=["quality-contact"]),
               has_token(ref.c.resource_pk, "Encounter", "status", codes=COUNTED_CONTACT))
        .distinct())
    if by_team:
        query = query.where(refers_to(ref.c.resource_pk, "Encounter", "service-provider", "Organization",
                                      bindparam("team")))
    return query


def _billed_query(*, prefix: str = "") -> Select:
    """One row per active cmp-claim and billed day of some members in ``[start, end)``, but ``exclude``.
    Rows: ``("billed", member, claim id, day as a naive midnight)``."""
    ref, when, row = search_reference.alias("p"), search_date.alias("d"), resources.alias("r")
    return (
        select(literal("billed").label("kind"), ref.c.target_id, row.c.res_id, when.c.low)
        .select_from(ref.join(when, when.c.resource_pk == ref.c.resource_pk).join(row, row.c.pk == ref.c.resource_pk))
        .where(ref.c.res_type == "Claim", ref.c.param == "patient", ref.c.target_type == "Patient",
               ref.c.target_id.in_(bindparam(f"{prefix}members", expanding=True)),
               when.c.res_type == "Claim", when.c.param == "service-date",
               when.c.low >= bindparam(f"{prefix}start"), when.c.low < bindparam(f"{prefix}end"),
               row.c.deleted == false(), row.c.res_id != bindparam(f"{prefix}exclude"),
               has_token(ref.c.resource_pk, "Claim", "status", codes=["active"]),
               has_profile(ref.c.resource_pk, "Claim", CMP_CLAIM))
        .distinct())


_CONTACTS = _contact_query()
_TEAM_CONTACTS = _contact_query(by_team=True)
_BILLED = _billed_query()
#: What a claim's check needs, in one round trip: the member's contacts on the claim's days and the days
#: their other active claims bill in the claim's weeks.
_CLAIM_FACTS = union_all(_contact_query(prefix="c_"), _billed_query(prefix="b_"))


def contact_days(conn: Connection, program: Program, members: Iterable[str], days: Iterable[date], *,
                 team: str | None = None) -> dict[tuple[str, date], list[str]]:
    """``(member, local day) -> contact ids`` of the valid quality contacts on those days (``team``: only
    contacts whose serviceProvider is that team). One query over the span of the days; the few rows it
    returns are placed on local days here."""
    wanted = set(days)
    member_ids = sorted(set(members))
    if not wanted or not member_ids:
        return {}
    start, _ = day_bounds_utc(program, min(wanted))
    _, end = day_bounds_utc(program, max(wanted))
    params = {"members": member_ids, "start": naive_utc(start), "end": naive_utc(end)}
    query = _CONTACTS if team is None else _TEAM_CONTACTS
    if team is not None:
        params["team"] = team
    return _on_local_days(program, wanted, [row[1:] for row in conn.execute(query, params)])


def _on_local_days(program: Program, wanted: set[date], rows: Iterable[tuple[str, str, datetime]]
                   ) -> dict[tuple[str, date], list[str]]:
    found: dict[tuple[str, date], list[str]] = defaultdict(list)
    for member, contact_id, begins in sorted(rows, key=lambda r: (r[2], r[1])):
        day = local_day(program, begins)
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
    rows = conn.execute(_BILLED, {"members": member_ids, "exclude": exclude_claim or "",
                                  "start": datetime.combine(first_day, datetime.min.time()),
                                  "end": datetime.combine(end_day, datetime.min.time())})
    return sorted((member, claim, low.date()) for _, member, claim, low in rows)


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
        program = services.program_rules.program_of("CMP-BILL-1" if "CMP-BILL-1" in enabled else "CMP-BILL-2")
        for trigger in triggers:
            claim, name = trigger.change.resource or {}, f"Claim/{trigger.change.res_id}"
            days = claim_days(claim)
            if not days:
                continue
            backed, others = self.facts(conn, program, trigger.subject, trigger.change.res_id, days)
            if "CMP-BILL-1" in enabled:
                findings += self.unbacked_days(program, trigger.subject, name, days, backed)
            if "CMP-BILL-2" in enabled:
                findings += self.over_limit(program, trigger.subject, name, days, others)
        return findings

    @staticmethod
    def facts(conn: Connection, program: Program, member: str, claim_id: str, days: list[tuple[int, date]]
              ) -> tuple[dict[tuple[str, date], list[str]], list[tuple[str, date]]]:
        """The member's contacts on the claim's days and the ``(claim, day)`` their other active claims bill
        in the claim's weeks: one query."""
        wanted = {day for _, day in days}
        start, _ = day_bounds_utc(program, min(wanted))
        _, end = day_bounds_utc(program, max(wanted))
        first = week_of_day(program, min(wanted)).first_day
        last = week_of_day(program, max(wanted)).first_day + timedelta(days=7)
        rows = conn.execute(_CLAIM_FACTS, {
            "c_members": [member], "c_start": naive_utc(start), "c_end": naive_utc(end),
            "b_members": [member], "b_exclude": claim_id, "b_start": datetime.combine(first, datetime.min.time()),
            "b_end": datetime.combine(last, datetime.min.time())}).all()
        backed = _on_local_days(program, wanted, [row[1:] for row in rows if row[0] == "contact"])
        others = sorted((claim, low.date()) for kind, _, claim, low in rows if kind == "billed")
        return backed, others

    @staticmethod
    def unbacked_days(program: Program, member: str, name: str, days: list[tuple[int, date]],
                      backed: dict[tuple[str, date], list[str]]) -> list[Finding]:
        return [Finding("CMP-BILL-1", name,
                        f"the billable day {day} has no quality contact of Patient/{member} that day "
                        f"({program.time_zone.key}): a cmp-quality-contact Encounter, not cancelled or "
                        "entered-in-error, must back each billed day",
                        f"Claim.item[{index}].servicedDate")
                for index, day in days if (member, day) not in backed]

    @staticmethod
    def over_limit(program: Program, member: str, name: str, days: list[tuple[int, date]],
                   others: list[tuple[str, date]]) -> list[Finding]:
        limit = program.billable_days_per_week
        if limit is None:
            return []
        findings = []
        for first in sorted({week_of_day(program, day).first_day for _, day in days}):
            own = sorted({day for _, day in days if first <= day < first + timedelta(days=7)})
            theirs = [(claim, day) for claim, day in others if first <= day < first + timedelta(days=7)]
            if len(own) + len(theirs) > limit:
                claims = ", ".join(sorted({f"Claim/{claim}" for claim, _ in theirs}))
                findings.append(Finding(
                    "CMP-BILL-2", name,
                    f"Patient/{member} would have {len(own) + len(theirs)} billable days in the week "
                    f"{first}..{first + timedelta(days=6)}: {len(own)} on this claim and {len(theirs)} on other "
                    f"active claims ({claims or 'none'}); at most {limit} a week", "Claim.item"))
        return findings
