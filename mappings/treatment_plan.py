"""Treatment-plan records <-> the Individualized Treatment Plan (CarePlan ``cmp-treatment-plan``).

An ITP record lists the core service components (a)-(j) of S1 "Service Requirements (1)" that the plan
provides (program letters, ``service-component`` ConceptMap; CMP-ITP-1), who wrote it and when. The
narrative is generated from the record (member, team, start, services), so it carries no extra data.

Resource and id: ``CarePlan/itp-{member_id}``; it names the member's care team ``CareTeam/team-{member_id}``.
"""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Annotated

from pydantic import Field

from . import codes
from .common import (
    CODE_SYSTEM,
    concept,
    lossless_from_fhir,
    parse_date,
    reference,
    reference_id,
    resource,
    strip_prefix,
)
from .grouping import Anchor, RecordShape
from .records import Key, LocalCode, Record, Text

KIND = "treatment_plan"
TITLE = "Individualized Treatment Plan"
CATEGORIES = [concept("http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "assess-plan",
                      "Assessment and Plan of Treatment"),
              concept(f"{CODE_SYSTEM}/cmp-careplan-category", "itp", "Individualized Treatment Plan")]
STATUSES = ("draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown")
XHTML = '<div xmlns="http://www.w3.org/1999/xhtml">{}</div>'


class TreatmentPlanRecord(Record):
    member_id: Key
    member_name: Text
    team_name: Text
    status: LocalCode = "active"
    """CarePlan status (draft, active, on-hold, revoked, completed, entered-in-error, unknown)."""
    start: date
    created: date
    author_id: Key
    author_name: Text | None = None
    components: Annotated[tuple[LocalCode, ...], Field(min_length=1)]
    """Core service components as program letters a-j (``service-component`` ConceptMap), in plan order."""


MODEL = TreatmentPlanRecord
"""The record model of this kind."""

#: Which resources make one record (see ``mappings/grouping.py``).
SHAPE = RecordShape(Anchor("CarePlan", ("cmp-treatment-plan",), member="subject"))


def to_fhir(record: TreatmentPlanRecord) -> list[dict]:
    """The CarePlan of one ITP.

    Raises:
        ValueError: an unknown status or a service component listed twice.
        codes.UnmappedCode: a service component letter outside the ConceptMap.
    """
    if record.status not in STATUSES:
        raise ValueError(f"unknown treatment plan status {record.status!r}")
    if len(set(record.components)) != len(record.components):
        raise ValueError(f"a service component is listed twice: {record.components}")
    table = codes.table("service-component")
    services = [table.to_fhir(c) for c in record.components]
    paragraphs = (f"{TITLE} of {record.member_name} with the {record.team_name}, from {record.start.isoformat()}.",
                  "Services: " + "; ".join(s.display or s.code for s in services) + ".")
    return [resource(
        "CarePlan", f"itp-{record.member_id}", "cmp-treatment-plan",
        text={"status": "generated", "div": XHTML.format("".join(f"<p>{html.escape(p)}</p>" for p in paragraphs))},
        status=record.status, intent="plan", category=CATEGORIES, title=TITLE,
        subject=reference("Patient", record.member_id, record.member_name),
        period={"start": record.start.isoformat()}, created=record.created.isoformat(),
        author=reference("PractitionerRole", f"pr-{record.author_id}", record.author_name),
        careTeam=[reference("CareTeam", f"team-{record.member_id}")],
        activity=[{"detail": {"kind": "ServiceRequest", "code": {"coding": [s.as_fhir()]}, "status": "in-progress"}}
                  for s in services],
    )]



def _record(resources: list[dict]) -> TreatmentPlanRecord:
    """The ITP record of one ``cmp-treatment-plan`` CarePlan.

    Raises:
        ValueError: not exactly one CarePlan, or a narrative not written by :func:`to_fhir`.
        codes.UnmappedCode: a service component outside the ConceptMap.
    """
    plans = [r for r in resources if r["resourceType"] == "CarePlan"]
    if len(plans) != 1:
        raise ValueError(f"a treatment plan record needs exactly one CarePlan, got {len(plans)}")
    plan = plans[0]
    member_name = plan["subject"]["display"]
    start = plan["period"]["start"]
    first = html.unescape(re.match(r"^<div[^>]*><p>(.*?)</p>", plan["text"]["div"], re.S).group(1))
    head, tail = f"{TITLE} of {member_name} with the ", f", from {start}."
    if not (first.startswith(head) and first.endswith(tail)):
        raise ValueError(f"CarePlan/{plan['id']}: narrative not in the form of a translated ITP: {first!r}")
    table = codes.table("service-component")
    return TreatmentPlanRecord(
        member_id=reference_id(plan["subject"], "Patient"), member_name=member_name,
        team_name=first[len(head):-len(tail)], status=plan["status"], start=parse_date(start),
        created=parse_date(plan["created"]),
        author_id=strip_prefix(reference_id(plan["author"], "PractitionerRole"), "pr-"),
        author_name=plan["author"].get("display"),
        components=tuple(table.from_concept(a["detail"]["code"]) for a in plan["activity"]),
    )


#: FHIR -> record: ``_record`` of the resources, refused unless ``to_fhir`` gives them back exactly.
from_fhir = lossless_from_fhir(_record, to_fhir)
