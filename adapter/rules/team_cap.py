"""CMP-TEAM-2: a team's CMP members are at most ``maxCmpShareOfTeam`` (20%) of its PACT/MCT members.

How membership is represented (decision 013):

- a **CMP member** of a team has an EpisodeOfCare typed ``cmp-program#cmp`` (a ``cmp-enrollment``) with
  status ``active`` whose ``managingOrganization`` is the team;
- a **PACT/MCT member** of a team has an EpisodeOfCare with status ``active``, managed by the team, typed
  with a code of ``https://cmp-adapter.org/fhir/CodeSystem/cmp-team-type`` (``pact-small`` ... ``mct``: the
  team service the member receives). Patients are counted once however many episodes they have.

A team with no PACT/MCT member recorded at all is one whose caseload this store does not hold (a
deployment exchanging CMP data only): the write gets a warning that the cap could not be checked, not a
refusal. The rule is checked when a CMP enrollment becomes active with a team (created active, changed to active, or
moved to another team while active): the one moment S1's cap can be broken by a write of ours. The check
counts both populations in SQL and holds the team's lock, so two enrolments cannot both take the last place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Connection, distinct, false, func, select

from adapter import fhirjson
from adapter.rules.index_sql import has_token, reference_id
from adapter.rules.write_rules import Finding, Trigger
from adapter.services.write_checks import Change
from adapter.store.schema import resources, search_reference

if TYPE_CHECKING:
    from adapter.services.container import Services

CANONICAL = "https://cmp-adapter.org/fhir"
PROGRAM_SYSTEM = f"{CANONICAL}/CodeSystem/cmp-program"
TEAM_TYPE_SYSTEM = f"{CANONICAL}/CodeSystem/cmp-team-type"


def is_cmp_enrollment(episode: Mapping) -> bool:
    return any(coding.get("system") == PROGRAM_SYSTEM and coding.get("code") == "cmp"
               for concept in episode.get("type") or () for coding in concept.get("coding") or ())


def active_team(episode: Mapping | None) -> str | None:
    """The team of an active CMP enrollment (None: not active, not CMP, or no team)."""
    if not episode or episode.get("status") != "active" or not is_cmp_enrollment(episode):
        return None
    return reference_id(episode.get("managingOrganization"), "Organization")


def team_members(conn: Connection, team: str, *, system: str, code: str | None = None) -> int:
    """Distinct patients with an active EpisodeOfCare managed by ``team`` typed with ``system`` (``code``)."""
    org, patient, row = search_reference.alias("o"), search_reference.alias("p"), resources.alias("r")
    query = (
        select(func.count(distinct(patient.c.target_id)))
        .select_from(org.join(patient, patient.c.resource_pk == org.c.resource_pk)
                     .join(row, row.c.pk == org.c.resource_pk))
        .where(org.c.res_type == "EpisodeOfCare", org.c.param == "organization",
               org.c.target_type == "Organization", org.c.target_id == team,
               patient.c.res_type == "EpisodeOfCare", patient.c.param == "patient", row.c.deleted == false(),
               has_token(org.c.resource_pk, "EpisodeOfCare", "status", codes=["active"]),
               has_token(org.c.resource_pk, "EpisodeOfCare", "type", system=system,
                         codes=[code] if code is not None else None)))
    return int(conn.execute(query).scalar_one())


class TeamCapRule:
    rule_ids = ("CMP-TEAM-2",)

    def triggers(self, services: Services, conn: Connection, changes: Sequence[Change]) -> list[Trigger]:
        found = []
        for change in changes:
            if change.res_type != "EpisodeOfCare":
                continue
            team = active_team(change.resource)
            if team is None or team == active_team(self.previous(services, conn, change)):
                continue
            found.append(Trigger(f"team:{team}", team, change))
        return found

    @staticmethod
    def previous(services: Services, conn: Connection, change: Change) -> Mapping | None:
        """The version before this change (one row by primary key), None for a create."""
        if change.version <= 1:
            return None
        stored = services.store.read_version(conn, change.res_type, change.res_id, change.version - 1)
        return fhirjson.loads(stored.content) if stored is not None and stored.content else None

    def check(self, services: Services, conn: Connection, triggers: Sequence[Trigger],
              enabled: frozenset[str]) -> list[Finding]:
        program = services.program_rules.program_of("CMP-TEAM-2")
        share = program.max_cmp_share_of_team
        if share is None:
            return []
        findings = []
        counted: dict[str, tuple[int, int]] = {}
        for trigger in triggers:
            team = trigger.subject
            if team not in counted:
                counted[team] = (team_members(conn, team, system=PROGRAM_SYSTEM, code="cmp"),
                                 team_members(conn, team, system=TEAM_TYPE_SYSTEM))
            cmp_members, pact_members = counted[team]
            if pact_members == 0:
                findings.append(Finding(
                    "CMP-TEAM-2", f"EpisodeOfCare/{trigger.change.res_id}",
                    f"Organization/{team} has no PACT/MCT members recorded (active EpisodeOfCare typed with a "
                    "cmp-team-type code), so its 20% cap cannot be checked", "EpisodeOfCare.managingOrganization",
                    warning_only=True))
            elif Decimal(cmp_members) > share * pact_members:
                allowed = int(share * pact_members)
                findings.append(Finding(
                    "CMP-TEAM-2", f"EpisodeOfCare/{trigger.change.res_id}",
                    f"Organization/{team} would have {cmp_members} active CMP members for {pact_members} PACT/MCT "
                    f"members; at most {share * 100:.0f}% ({allowed}) may be CMP members",
                    "EpisodeOfCare.status"))
        return findings
