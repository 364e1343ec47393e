"""Team-meeting records <-> the weekly team-meeting review of one member (Encounter ``cmp-team-meeting``).

The team meets every week and discusses each member's progress (CMP-TM-1). A meeting record is one
member's review at one meeting: when, in person or by video (``contact-mode`` ConceptMap), and the staff
who took part. The meeting id of the team's system is the business identifier.

Resource and id: ``Encounter/{meeting_id}``; it refers to ``EpisodeOfCare/enr-{member_id}``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from . import codes
from .common import (
    CODE_SYSTEM,
    ENCOUNTER_STATUSES,
    concept,
    lossless_from_fhir,
    reference,
    reference_id,
    resource,
    strip_prefix,
)
from .grouping import Anchor, RecordShape
from .records import DateTime, Key, LocalCode, Record, StaffRef, Text, Uri

KIND = "team_meeting"
MEETING_TYPE = concept(f"{CODE_SYSTEM}/cmp-encounter-type", "team-meeting", "CMP team meeting review")


class TeamMeetingRecord(Record):
    meeting_id: Key
    """The review's id in the team's system (business identifier and resource id)."""
    meeting_id_system: Uri
    member_id: Key
    member_name: Text | None = None
    team_id: Key
    team_name: Text | None = None
    status: LocalCode = "finished"
    mode: LocalCode
    """``F`` in person or ``T`` by video (``contact-mode`` ConceptMap)."""
    start: DateTime
    end: DateTime | None = None
    attendees: Annotated[tuple[StaffRef, ...], Field(min_length=2)]
    """At least two staff members: a meeting of the team (CMP-TM-1)."""


MODEL = TeamMeetingRecord
"""The record model of this kind."""

#: Which resources make one record (see ``mappings/grouping.py``).
SHAPE = RecordShape(Anchor("Encounter", ("cmp-team-meeting",), member="subject"))


def to_fhir(record: TeamMeetingRecord) -> list[dict]:
    """The Encounter of one member's review at a team meeting.

    Raises:
        ValueError: an unknown status.
        codes.UnmappedCode: a mode outside the ConceptMap.
    """
    if record.status not in ENCOUNTER_STATUSES:
        raise ValueError(f"unknown meeting status {record.status!r}")
    return [resource(
        "Encounter", record.meeting_id, "cmp-team-meeting",
        identifier=[{"system": record.meeting_id_system, "value": record.meeting_id}],
        status=record.status,
        **{"class": codes.table("contact-mode").to_fhir(record.mode).as_fhir()},
        type=[MEETING_TYPE],
        subject=reference("Patient", record.member_id, record.member_name),
        episodeOfCare=[reference("EpisodeOfCare", f"enr-{record.member_id}")],
        participant=[{"individual": reference("PractitionerRole", f"pr-{a.staff_id}", a.name)}
                     for a in record.attendees],
        period={"start": record.start,
                **({"end": record.end} if record.end else {})},
        serviceProvider=reference("Organization", record.team_id, record.team_name),
    )]



def _record(resources: list[dict]) -> TeamMeetingRecord:
    """The meeting record of one ``cmp-team-meeting`` Encounter.

    Raises:
        ValueError: not exactly one Encounter, or one that does not follow the profile.
        codes.UnmappedCode: a class outside the ConceptMap.
    """
    encounters = [r for r in resources if r["resourceType"] == "Encounter"]
    if len(encounters) != 1:
        raise ValueError(f"a team meeting record needs exactly one Encounter, got {len(encounters)}")
    encounter = encounters[0]
    return TeamMeetingRecord(
        meeting_id=encounter["identifier"][0]["value"], meeting_id_system=encounter["identifier"][0]["system"],
        member_id=reference_id(encounter["subject"], "Patient"), member_name=encounter["subject"].get("display"),
        team_id=reference_id(encounter["serviceProvider"], "Organization"),
        team_name=encounter["serviceProvider"].get("display"),
        status=encounter["status"], mode=codes.table("contact-mode").from_fhir(encounter["class"]),
        start=encounter["period"]["start"], end=encounter["period"].get("end"),
        attendees=tuple(StaffRef(staff_id=strip_prefix(reference_id(p["individual"], "PractitionerRole"), "pr-"),
                                 name=p["individual"].get("display")) for p in encounter["participant"]),
    )


#: FHIR -> record: ``_record`` of the resources, refused unless ``to_fhir`` gives them back exactly.
from_fhir = lossless_from_fhir(_record, to_fhir)
