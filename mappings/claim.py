"""Claim records <-> Claim: the CMP per-diem claim and the PCCM/PCMH care-management fee claim.

A per-diem claim (``cmp-claim``) bills the days of one member-week on which the member had a quality
contact, at the team's daily rate (CMP-BILL-1..3); each billed day names the contact that makes it billable
and the claim has no prior authorization (CMP-BILL-4). A care-management fee claim
(``care-management-fee-claim``) bills one member-month at the PMPM rate, from the member's primary care
provider (PCCM-1, PCCM-2, PCMH-1). Both have one rate, a local service code (``service-code`` ConceptMap ->
HCPCS; H0040 and G9002 by default) and an ICD-10-CM diagnosis when the program needs one.

Resource and id: ``Claim/{claim_id}``. The adjudication (ClaimResponse) is the payer's, not part of the
record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from . import codes
from .common import (
    TERMINOLOGY,
    concept,
    lossless_from_fhir,
    money,
    parse_date,
    parse_money,
    profile_url,
    reference,
    reference_id,
    resource,
    strip_prefix,
)
from .grouping import Anchor, RecordShape
from .records import Key, LocalCode, Record, Text

KIND = "claim"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
PROFESSIONAL = concept(f"{TERMINOLOGY}/claim-type", "professional", "Professional")
NORMAL = concept(f"{TERMINOLOGY}/processpriority", "normal", "Normal")


@dataclass(frozen=True)
class Shape:
    """What differs between the two claim kinds: profile, provider and the unit billed."""

    profile: str
    provider_type: str
    provider_prefix: str
    unit: str
    unit_code: str


SHAPES = {
    "per-diem": Shape("cmp-claim", "Organization", "", "day", "d"),
    "care-management-fee": Shape("care-management-fee-claim", "PractitionerRole", "pr-", "month", "mo"),
}
ClaimKind = Literal["per-diem", "care-management-fee"]


class BilledDay(Record):
    day: date
    contact_id: Key
    """The quality contact that makes the day billable (CMP-BILL-1)."""


class ClaimRecord(Record):
    claim_id: Key
    kind: ClaimKind
    """``per-diem`` (CMP, one member-week) or ``care-management-fee`` (PCCM/PCMH, one member-month)."""
    member_id: Key
    coverage_id: Key
    payer_id: Key
    provider_id: Key
    """The team (per diem) or the primary care provider's staff id (care-management fee)."""
    provider_name: Text | None = None
    period_start: date
    period_end: date
    created: date
    service_code: LocalCode
    """Local service code (``service-code`` ConceptMap): CMP-PD per diem, CM-FEE care-management fee."""
    rate: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
    """The daily rate (per diem) or the PMPM rate (fee), in USD."""
    diagnosis: Text | None = None
    """ICD-10-CM code of the primary diagnosis."""
    diagnosis_display: Text | None = None
    days: tuple[BilledDay, ...] = ()
    """Per diem only: the billed days, in order."""

    @model_validator(mode="after")
    def _kind_fits(self) -> ClaimRecord:
        if self.kind == "per-diem" and not self.days:
            raise ValueError("a per-diem claim bills at least one day")
        if self.kind == "care-management-fee" and self.days:
            raise ValueError("a care-management fee claim bills a month, not days")
        if self.diagnosis_display and not self.diagnosis:
            raise ValueError("a diagnosis display needs a diagnosis code")
        return self


MODEL = ClaimRecord
"""The record model of this kind."""

#: Which resources make one record (see ``mappings/grouping.py``).
SHAPE = RecordShape(Anchor("Claim", tuple(s.profile for s in SHAPES.values()), member="patient"))


def to_fhir(record: ClaimRecord) -> list[dict]:
    """The Claim of one claim record.

    Raises:
        codes.UnmappedCode: a service code outside the ConceptMap.
    """
    shape = SHAPES[record.kind]
    product = codes.table("service-code").concept(record.service_code)
    quantity = {"value": 1, "unit": shape.unit, "system": UCUM, "code": shape.unit_code}
    billable = {"start": record.period_start.isoformat(), "end": record.period_end.isoformat()}
    diagnosis_sequence = {"diagnosisSequence": [1]} if record.diagnosis else {}
    if record.days:
        items = [{"sequence": n, **diagnosis_sequence, "productOrService": product,
                  "servicedDate": d.day.isoformat(), "quantity": dict(quantity),
                  "unitPrice": money(record.rate), "net": money(record.rate),
                  "encounter": [reference("Encounter", d.contact_id)]}
                 for n, d in enumerate(record.days, 1)]
    else:
        items = [{"sequence": 1, **diagnosis_sequence, "productOrService": product, "servicedPeriod": dict(billable),
                  "quantity": quantity, "unitPrice": money(record.rate), "net": money(record.rate)}]
    return [resource(
        "Claim", record.claim_id, shape.profile, status="active", type=PROFESSIONAL, use="claim",
        patient=reference("Patient", record.member_id), billablePeriod=billable,
        created=record.created.isoformat(), insurer=reference("Organization", record.payer_id),
        provider=reference(shape.provider_type, shape.provider_prefix + record.provider_id, record.provider_name),
        priority=NORMAL,
        diagnosis=[{"sequence": 1, "diagnosisCodeableConcept": concept(ICD10CM, record.diagnosis,
                                                                        record.diagnosis_display)}]
        if record.diagnosis else None,
        insurance=[{"sequence": 1, "focal": True, "coverage": reference("Coverage", record.coverage_id)}],
        item=items,
        total=money(record.rate * len(items)),
    )]



def _record(resources: list[dict]) -> ClaimRecord:
    """The claim record of one ``cmp-claim`` or ``care-management-fee-claim`` Claim.

    Raises:
        ValueError: not exactly one Claim, a Claim of neither profile, or items with different rates.
        codes.UnmappedCode: a service code outside the ConceptMap.
    """
    claims = [r for r in resources if r["resourceType"] == "Claim"]
    if len(claims) != 1:
        raise ValueError(f"a claim record needs exactly one Claim, got {len(claims)}")
    claim = claims[0]
    profiles = claim.get("meta", {}).get("profile", [])
    kind = next((k for k, s in SHAPES.items() if profile_url(s.profile) in profiles), None)
    if kind is None:
        raise ValueError(f"Claim/{claim['id']} declares neither cmp-claim nor care-management-fee-claim")
    shape = SHAPES[kind]
    items = claim["item"]
    rates = {parse_money(i["unitPrice"]) for i in items}
    if len(rates) != 1:
        raise ValueError(f"Claim/{claim['id']}: items bill different rates {sorted(rates)}")
    diagnosis = (claim.get("diagnosis") or [None])[0]
    coding = diagnosis["diagnosisCodeableConcept"]["coding"][0] if diagnosis else {}
    return ClaimRecord(
        claim_id=claim["id"], kind=kind, member_id=reference_id(claim["patient"], "Patient"),
        coverage_id=reference_id(claim["insurance"][0]["coverage"], "Coverage"),
        payer_id=reference_id(claim["insurer"], "Organization"),
        provider_id=strip_prefix(reference_id(claim["provider"], shape.provider_type), shape.provider_prefix),
        provider_name=claim["provider"].get("display"),
        period_start=parse_date(claim["billablePeriod"]["start"]),
        period_end=parse_date(claim["billablePeriod"]["end"]),
        created=parse_date(claim["created"]),
        service_code=codes.table("service-code").from_concept(items[0]["productOrService"]),
        rate=rates.pop(), diagnosis=coding.get("code"), diagnosis_display=coding.get("display"),
        days=tuple(BilledDay(day=parse_date(i["servicedDate"]), contact_id=reference_id(i["encounter"][0], "Encounter"))
                   for i in items if "servicedDate" in i),
    )


#: FHIR -> record: ``_record`` of the resources, refused unless ``to_fhir`` gives them back exactly.
from_fhir = lossless_from_fhir(_record, to_fhir)
