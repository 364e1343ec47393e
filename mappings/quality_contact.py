"""Quality-contact records <-> the weekly CMP quality contact (Encounter ``cmp-quality-contact``).

A contact record is what the team's system logs for one contact: when, face-to-face or telehealth
(``contact-mode`` ConceptMap -> v3 ActCode AMB/VR; CMP-QC-1), which staff member, the purposes (a)-(f) it
addressed (``quality-contact-purpose`` ConceptMap; CMP-QC-2), and the member's ITP it was part of
(CMP-ITP-1). The contact id of the team's system is the business identifier.

Resource and id: ``Encounter/{contact_id}``; it refers to ``CarePlan/itp-{member_id}`` and
``EpisodeOfCare/enr-{member_id}``.
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
    profile_url,
    reference,
    reference_id,
    resource,
    strip_prefix,
)
from .grouping import Anchor, RecordShape
from .records import DateTime, Key, LocalCode, Record, StaffRef, Text, Uri

KIND = "quality_contact"
CONTACT_TYPE = concept(f"{CODE_SYSTEM}/cmp-encounter-type", "quality-contact", "CMP quality contact")
PURPOSE_URL = profile_url("quality-contact-purpose")
PLAN_URL = profile_url("based-on-care-plan")


class QualityContactRecord(Record):
    contact_id: Key
    """The contact's id in the team's system (business identifier and resource id)."""
    contact_id_system: Uri
    """The URI of the team's contact ids."""
    member_id: Key
    member_name: Text | None = None
    team_id: Key
    team_name: Text | None = None
    status: LocalCode = "finished"
    mode: LocalCode
    """``F`` face-to-face or ``T`` telehealth (``contact-mode`` ConceptMap)."""
    start: DateTime
    end: DateTime | None = None
    staff: Annotated[tuple[StaffRef, ...], Field(min_length=1)]
    """The staff who made the contact (CMP-QC-1)."""
    purposes: Annotated[tuple[LocalCode, ...], Field(min_length=1)]
    """Purpose letters a-f (``quality-contact-purpose`` ConceptMap)."""


MODEL = QualityContactRecord
"""The record model of this kind."""

#: Which resources make one record (see ``mappings/grouping.py``).
SHAPE = RecordShape(Anchor("Encounter", ("cmp-quality-contact",), member="subject"))


def to_fhir(record: QualityContactRecord) -> list[dict]:
    """The Encounter of one quality contact.

    Raises:
        ValueError: an unknown status or a purpose listed twice.
        codes.UnmappedCode: a contact mode or purpose outside its ConceptMap.
    """
    if record.status not in ENCOUNTER_STATUSES:
        raise ValueError(f"unknown contact status {record.status!r}")
    if len(set(record.purposes)) != len(record.purposes):
        raise ValueError(f"a purpose is listed twice: {record.purposes}")
    purposes = codes.table("quality-contact-purpose")
    return [resource(
        "Encounter", record.contact_id, "cmp-quality-contact",
        extension=[{"url": PURPOSE_URL, "valueCodeableConcept": purposes.concept(p)} for p in record.purposes]
        + [{"url": PLAN_URL, "valueReference": reference("CarePlan", f"itp-{record.member_id}")}],
        identifier=[{"system": record.contact_id_system, "value": record.contact_id}],
        status=record.status,
        **{"class": codes.table("contact-mode").to_fhir(record.mode).as_fhir()},
        type=[CONTACT_TYPE],
        subject=reference("Patient", record.member_id, record.member_name),
        episodeOfCare=[reference("EpisodeOfCare", f"enr-{record.member_id}")],
        participant=[{"individual": reference("PractitionerRole", f"pr-{s.staff_id}", s.name)} for s in record.staff],
        period={"start": record.start,
                **({"end": record.end} if record.end else {})},
        serviceProvider=reference("Organization", record.team_id, record.team_name),
    )]



def _record(resources: list[dict]) -> QualityContactRecord:
    """The contact record of one ``cmp-quality-contact`` Encounter.

    Raises:
        ValueError: not exactly one Encounter, or one that does not follow the profile.
        codes.UnmappedCode: a class or purpose outside the ConceptMaps.
    """
    encounters = [r for r in resources if r["resourceType"] == "Encounter"]
    if len(encounters) != 1:
        raise ValueError(f"a quality contact record needs exactly one Encounter, got {len(encounters)}")
    encounter = encounters[0]
    purposes = codes.table("quality-contact-purpose")
    return QualityContactRecord(
        contact_id=encounter["identifier"][0]["value"],
        contact_id_system=encounter["identifier"][0]["system"],
        member_id=reference_id(encounter["subject"], "Patient"),
        member_name=encounter["subject"].get("display"),
        team_id=reference_id(encounter["serviceProvider"], "Organization"),
        team_name=encounter["serviceProvider"].get("display"),
        status=encounter["status"],
        mode=codes.table("contact-mode").from_fhir(encounter["class"]),
        start=encounter["period"]["start"],
        end=encounter["period"].get("end"),
        staff=tuple(StaffRef(staff_id=strip_prefix(reference_id(p["individual"], "PractitionerRole"), "pr-"),
                             name=p["individual"].get("display")) for p in encounter["participant"]),
        purposes=tuple(purposes.from_concept(e["valueCodeableConcept"]) for e in encounter["extension"]
                       if e["url"] == PURPOSE_URL),
    )


#: FHIR -> record: ``_record`` of the resources, refused unless ``to_fhir`` gives them back exactly.
from_fhir = lossless_from_fhir(_record, to_fhir)
