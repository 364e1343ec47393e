"""Enrollment records <-> the CMP enrollment (EpisodeOfCare) and the member's care team (CareTeam).

An enrollment record says that a member is in CMP with one approved PACT/MCT team from a date
(CMP-TEAM-1), refers to the SDMI determination that made the member eligible (CMP-ELIG-1..4; it is part of
the member record), and lists the staff of the member's care team with their local roles.

Resources and ids: ``EpisodeOfCare/enr-{member_id}`` (``cmp-enrollment``) and ``CareTeam/team-{member_id}``
(``cmp-team``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, model_validator

from . import codes
from .common import (
    CODE_SYSTEM,
    concept,
    lossless_from_fhir,
    parse_date,
    period,
    profile_url,
    reference,
    reference_id,
    resource,
    strip_prefix,
)
from .grouping import Anchor, Companion, RecordShape, Referenced
from .records import Key, LocalCode, Record, Text, unique

KIND = "enrollment"
PROGRAM = concept(f"{CODE_SYSTEM}/cmp-program", "cmp", "Community Maintenance Program")
CARE_TEAM_CATEGORY = concept("http://loinc.org", "LA28865-6", "Longitudinal care-coordination focused care team")
STATUSES = ("planned", "waitlist", "active", "onhold", "finished", "cancelled")


class CareTeamMember(Record):
    staff_id: Key
    name: Text | None = None
    role: LocalCode
    """Local staff role (``staff-role`` ConceptMap)."""


class EnrollmentRecord(Record):
    member_id: Key
    member_name: Text | None = None
    team_id: Key
    team_name: Text | None = None
    status: LocalCode = "active"
    """EpisodeOfCare status (planned, waitlist, active, onhold, finished, cancelled)."""
    start: date
    end: date | None = None
    care_team_name: Text
    care_team: Annotated[tuple[CareTeamMember, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _members_unique(self) -> EnrollmentRecord:
        unique([m.staff_id for m in self.care_team], "care team staff ids")
        return self


MODEL = EnrollmentRecord
"""The record model of this kind."""

#: Which resources make one record (see ``mappings/grouping.py``).
SHAPE = RecordShape(
    Anchor("EpisodeOfCare", ("cmp-enrollment",), member="patient"),
    (Companion("CareTeam", "cmp-team", Referenced("team")),),
)


def to_fhir(record: EnrollmentRecord) -> list[dict]:
    """The EpisodeOfCare and the CareTeam of one enrollment.

    Raises:
        ValueError: an unknown status.
    """
    if record.status not in STATUSES:
        raise ValueError(f"unknown enrollment status {record.status!r}")
    team_ref = reference("Organization", record.team_id, record.team_name)
    dates = period(record.start, record.end)
    return [
        resource(
            "EpisodeOfCare", f"enr-{record.member_id}", "cmp-enrollment",
            extension=[{"url": profile_url("eligibility-determination"),
                        "valueReference": reference("Observation", f"sdmi-{record.member_id}")}],
            status=record.status, type=[PROGRAM],
            patient=reference("Patient", record.member_id, record.member_name),
            managingOrganization=team_ref, period=dates,
            team=[reference("CareTeam", f"team-{record.member_id}")],
        ),
        resource(
            "CareTeam", f"team-{record.member_id}", "cmp-team",
            status="active" if record.end is None else "inactive",
            category=[CARE_TEAM_CATEGORY], name=record.care_team_name,
            subject=reference("Patient", record.member_id), period=dates,
            participant=[{"role": [codes.table("staff-role").concept(m.role)],
                          "member": reference("PractitionerRole", f"pr-{m.staff_id}", m.name)}
                         for m in record.care_team],
            managingOrganization=[team_ref],
        ),
    ]



def _record(resources: list[dict]) -> EnrollmentRecord:
    """The enrollment record of one EpisodeOfCare and its CareTeam.

    Raises:
        ValueError: not exactly one EpisodeOfCare, or a resource that does not follow our profiles.
        codes.UnmappedCode: a code outside the ConceptMaps.
    """
    episodes = [r for r in resources if r["resourceType"] == "EpisodeOfCare"]
    if len(episodes) != 1:
        raise ValueError(f"an enrollment record needs exactly one EpisodeOfCare, got {len(episodes)}")
    episode = episodes[0]
    team = next(r for r in resources if r["resourceType"] == "CareTeam")
    roles = codes.table("staff-role")
    return EnrollmentRecord(
        member_id=reference_id(episode["patient"], "Patient"),
        member_name=episode["patient"].get("display"),
        team_id=reference_id(episode["managingOrganization"], "Organization"),
        team_name=episode["managingOrganization"].get("display"),
        status=episode["status"],
        start=parse_date(episode["period"]["start"]),
        end=parse_date(episode["period"].get("end")),
        care_team_name=team["name"],
        care_team=tuple(CareTeamMember(staff_id=strip_prefix(reference_id(p["member"], "PractitionerRole"), "pr-"),
                                       name=p["member"].get("display"), role=roles.from_concept(p["role"][0]))
                        for p in team["participant"]),
    )


#: FHIR -> record: ``_record`` of the resources, refused unless ``to_fhir`` gives them back exactly.
from_fhir = lossless_from_fhir(_record, to_fhir)
