"""SCP-1, SCP-2, SCP-5: a member's shared plan of care across the resources that make it up.

A member's shared plan is a CarePlan (category ``cmp-careplan-category#shared-care-plan``), its CareTeam
(the lead care manager is the participant carrying ``lead-care-manager-basis``, indexed by the search
parameter ``lead``) and a ServiceRequest per service (coordinator in ``service-coordinator``, indexed as
``coordinator``). The profiles check each resource alone; these rules look at the member's set:

- ``SCP-1``: at most one **active** shared plan per member;
- ``SCP-2``: once a member has an active shared plan or an active shared care team, their active care teams
  name **exactly one** lead care manager together (none, or a second team with its own lead, breaks it);
- ``SCP-5``: no service (the same code, or the same text where there is no code) is coordinated by both
  the MLTC plan and the Health Home among the member's active shared-plan services.

Writing a shared plan checks all three; a care team with a lead checks SCP-2; a shared-plan service SCP-5.
A plan therefore comes with (or after) its care team: the mappings write both in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Connection, false, select
from sqlalchemy.sql.expression import Alias

from adapter.rules.index_sql import has_token, reference_id
from adapter.rules.write_rules import Finding, Trigger
from adapter.services.write_checks import Change
from adapter.store.schema import resources, search_reference, search_token

if TYPE_CHECKING:
    from adapter.services.container import Services

CANONICAL = "https://cmp-adapter.org/fhir"
CATEGORY_SYSTEM = f"{CANONICAL}/CodeSystem/cmp-careplan-category"
ROLE_SYSTEM = f"{CANONICAL}/CodeSystem/cmp-care-team-role"
COORDINATOR_URL = f"{CANONICAL}/StructureDefinition/service-coordinator"
SHARED_CARE_TEAM = f"{CANONICAL}/StructureDefinition/shared-care-team"


def _codings(concepts: object) -> list[Mapping]:
    items = concepts if isinstance(concepts, list) else [concepts] if isinstance(concepts, dict) else []
    return [coding for concept in items if isinstance(concept, dict) for coding in concept.get("coding") or ()]


def kind_of(change: Change) -> str | None:
    """``plan`` | ``team`` | ``service`` for the resources of a shared plan that are active, else None."""
    body = change.resource
    if body is None or body.get("status") != "active":
        return None
    if change.res_type == "CarePlan" and any(c.get("system") == CATEGORY_SYSTEM and c.get("code") == "shared-care-plan"
                                             for c in _codings(body.get("category"))):
        return "plan"
    if change.res_type == "CareTeam" and (
            SHARED_CARE_TEAM in ((body.get("meta") or {}).get("profile") or ())
            or any(c.get("system") == ROLE_SYSTEM and c.get("code") == "lead-care-manager"
                   for participant in body.get("participant") or () for c in _codings(participant.get("role")))):
        return "team"
    extensions = body.get("extension") or ()
    if change.res_type == "ServiceRequest" and any(e.get("url") == COORDINATOR_URL for e in extensions):
        return "service"
    return None


def _of_member(res_type: str, member: str) -> tuple[Alias, Alias, list[ColumnElement[bool]]]:
    """The member's active, current resources of ``res_type``: (reference alias, resources alias, WHERE)."""
    ref, row = search_reference.alias("p"), resources.alias("r")
    conditions = [ref.c.res_type == res_type, ref.c.param == "patient", ref.c.target_type == "Patient",
                  ref.c.target_id == member, row.c.deleted == false(),
                  has_token(ref.c.resource_pk, res_type, "status", codes=["active"])]
    return ref, row, conditions


def active_shared_plans(conn: Connection, member: str) -> list[str]:
    ref, row, conditions = _of_member("CarePlan", member)
    query = (select(row.c.res_id).select_from(ref.join(row, row.c.pk == ref.c.resource_pk))
             .where(*conditions, has_token(ref.c.resource_pk, "CarePlan", "category", system=CATEGORY_SYSTEM,
                                           codes=["shared-care-plan"])).distinct())
    return sorted(conn.execute(query).scalars())


def lead_care_managers(conn: Connection, member: str) -> list[tuple[str, str]]:
    """``(care team id, lead reference)`` over the member's active care teams."""
    ref, row, conditions = _of_member("CareTeam", member)
    lead = search_reference.alias("l")
    query = (select(row.c.res_id, lead.c.target_type, lead.c.target_id)
             .select_from(ref.join(row, row.c.pk == ref.c.resource_pk)
                          .join(lead, lead.c.resource_pk == ref.c.resource_pk))
             .where(*conditions, lead.c.res_type == "CareTeam", lead.c.param == "lead").distinct())
    return sorted((team, f"{target_type}/{target_id}") for team, target_type, target_id in conn.execute(query))


def doubly_coordinated(conn: Connection, member: str) -> dict[str, dict[str, list[str]]]:
    """Services coordinated by more than one party: ``service key -> coordinator -> ServiceRequest ids``."""
    ref, row, conditions = _of_member("ServiceRequest", member)
    coordinator, code = search_token.alias("c"), search_token.alias("k")
    query = (select(row.c.res_id, coordinator.c.code, code.c.system, code.c.code, code.c.text_norm)
             .select_from(ref.join(row, row.c.pk == ref.c.resource_pk)
                          .join(coordinator, coordinator.c.resource_pk == ref.c.resource_pk)
                          .join(code, code.c.resource_pk == ref.c.resource_pk))
             .where(*conditions, coordinator.c.res_type == "ServiceRequest", coordinator.c.param == "coordinator",
                    coordinator.c.code.is_not(None), code.c.res_type == "ServiceRequest", code.c.param == "code")
             .distinct())
    coded: dict[str, set[str]] = defaultdict(set)
    texts: dict[str, set[str]] = defaultdict(set)
    party: dict[str, str] = {}
    for service, by, system, value, text in conn.execute(query):
        party[service] = by
        if value is not None:
            coded[service].add(f"{system}|{value}")
        elif text:
            texts[service].add(f"text:{text}")
    by_key: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for service, by in party.items():
        for key in coded[service] or texts[service]:
            by_key[key][by].append(service)
    return {key: {by: sorted(ids) for by, ids in parties.items()} for key, parties in by_key.items()
            if len(parties) > 1}


class SharedPlanRule:
    rule_ids = ("SCP-1", "SCP-2", "SCP-5")

    def triggers(self, services: Services, conn: Connection, changes: Sequence[Change]) -> list[Trigger]:
        found = []
        for change in changes:
            kind = kind_of(change)
            member = reference_id((change.resource or {}).get("subject"), "Patient") if kind else None
            if member is not None:
                found.append(Trigger(f"member:{member}", member, change))
        return found

    def check(self, services: Services, conn: Connection, triggers: Sequence[Trigger],
              enabled: frozenset[str]) -> list[Finding]:
        by_member: dict[str, dict[str, Change]] = defaultdict(dict)
        for trigger in triggers:
            by_member[trigger.subject].setdefault(kind_of(trigger.change) or "", trigger.change)
        findings = []
        for member, kinds in by_member.items():
            plan, team, service = kinds.get("plan"), kinds.get("team"), kinds.get("service")
            if "SCP-1" in enabled and plan is not None:
                findings += self.one_plan(conn, member, plan)
            if "SCP-2" in enabled and (plan or team) is not None:
                findings += self.one_lead(conn, member, team or plan)
            if "SCP-5" in enabled and (plan or service) is not None:
                findings += self.no_double_coordination(conn, member, service or plan)
        return findings

    @staticmethod
    def one_plan(conn: Connection, member: str, change: Change) -> list[Finding]:
        plans = active_shared_plans(conn, member)
        if len(plans) <= 1:
            return []
        return [Finding("SCP-1", f"CarePlan/{change.res_id}",
                        f"Patient/{member} would have {len(plans)} active shared plans of care "
                        f"({', '.join(f'CarePlan/{p}' for p in plans)}); a member has one", "CarePlan.status")]

    @staticmethod
    def one_lead(conn: Connection, member: str, change: Change) -> list[Finding]:
        leads = lead_care_managers(conn, member)
        if len(leads) == 1 or (not leads and not active_shared_plans(conn, member)):
            return []
        named = ", ".join(f"{lead} (CareTeam/{team})" for team, lead in leads) or "none"
        return [Finding("SCP-2", f"{change.res_type}/{change.res_id}",
                        f"Patient/{member}'s shared care must have exactly one lead care manager across their "
                        f"active care teams; found {len(leads)}: {named}",
                        "CareTeam.participant" if change.res_type == "CareTeam" else "CarePlan.careTeam")]

    @staticmethod
    def no_double_coordination(conn: Connection, member: str, change: Change) -> list[Finding]:
        findings = []
        for key, parties in sorted(doubly_coordinated(conn, member).items()):
            listing = "; ".join(f"{by}: {', '.join(f'ServiceRequest/{i}' for i in ids)}"
                                for by, ids in sorted(parties.items()))
            findings.append(Finding("SCP-5", f"{change.res_type}/{change.res_id}",
                                    f"the service {key.removeprefix('text:')} of Patient/{member} is coordinated "
                                    f"by both parties ({listing}); exactly one coordinates each service",
                                    "ServiceRequest.extension" if change.res_type == "ServiceRequest" else None))
        return findings
