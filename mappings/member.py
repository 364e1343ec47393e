"""Member records <-> Patient, Coverage, SDMI determination and LOI ratings.

One member record carries what a program system knows about a person: demographics, the Medicaid id,
the coverages (program enrollments with their payers), the primary care provider of a PCCM member
(PCCM-1), and for a CMP member the SDMI determination with the LOI ratings and the risk and willingness
answers (CMP-ELIG-1..4).

Resources and ids: ``Patient/{member_id}``; ``Coverage/cov-{member_id}`` (one coverage) or
``Coverage/cov-{member_id}-{program}`` (several; Medicaid fee-for-service is ``medicaid``);
``Observation/sdmi-{member_id}`` and ``Observation/loi-{member_id}-area-3|4``.
"""

from __future__ import annotations

from datetime import date

from pydantic import model_validator

from . import codes
from .common import (
    CODE_SYSTEM,
    MEDICAID_ID,
    TERMINOLOGY,
    concept,
    identifier,
    identifier_value,
    lossless_from_fhir,
    parse_date,
    reference,
    reference_id,
    resource,
    strip_prefix,
)
from .grouping import Anchor, Companion, RecordShape, Referenced, Referencing
from .records import DateTime, Key, LocalCode, Record, Text, unique

KIND = "member"
MRN_SYSTEM = "https://example.org/mrn"
PLAN_MEMBER_ID_SYSTEM = "https://{payor}.example.org/member-id"
MEDICAID_PAYOR_TYPE = "2"
SOP = "urn:oid:2.16.840.1.113883.3.221.5"
COVERAGE_ID_SUFFIX = {"medicaid-ffs": "medicaid"}
LOI_AREAS = {"area-3": "Area 3 - Family/Interpersonal Relationships",
             "area-4": "Area 4 - Mood/Thought Functioning"}
OBSERVATION = f"{CODE_SYSTEM}/cmp-observation"
SURVEY = concept(f"{TERMINOLOGY}/observation-category", "survey", "Survey")


class Address(Record):
    line: Text
    city: Text
    state: Text
    postal_code: Text


class Coverage(Record):
    """One program enrollment with its payer (a Coverage)."""

    program: LocalCode
    """Local program code (``program`` ConceptMap: CMP, MLTCP, MAP, PCCM, FFS, ...)."""
    payor_id: Key
    start: date
    plan_member_id: Text | None = None
    """The plan's member number; without it the Medicaid id is the member number."""


class Sdmi(Record):
    """The SDMI determination with the LOI ratings and the CMP medical-necessity answers."""

    assessed_at: DateTime
    assessor_id: Key
    assessor_name: Text | None = None
    sdmi: LocalCode
    """``Y``/``N`` (``sdmi-status`` ConceptMap)."""
    medical_necessity: bool
    danger_to_self_or_others: bool
    loi_area_3: LocalCode
    """LOI rating 0-3 (``loi-level`` ConceptMap)."""
    loi_area_4: LocalCode
    able_and_willing: bool


class MemberRecord(Record):
    member_id: Key
    medicaid_id: Text
    mrn: Text | None = None
    given: Text
    family: Text
    gender: LocalCode
    """Local code (``gender`` ConceptMap: F, M, O, U)."""
    birth_date: date
    phone: Text | None = None
    address: Address | None = None
    pcp_id: Key | None = None
    """Staff id of the primary care provider (PCCM-1); makes the Patient a ``pccm-member``."""
    pcp_name: Text | None = None
    coverages: tuple[Coverage, ...] = ()
    """One per program; the program names the Coverage id when there are several."""
    sdmi: Sdmi | None = None

    @model_validator(mode="after")
    def _one_coverage_per_program(self) -> MemberRecord:
        unique([c.program for c in self.coverages], "coverage programs")
        return self


MODEL = MemberRecord
"""The record model of this kind."""

#: Which resources make one record (see ``mappings/grouping.py``).
SHAPE = RecordShape(
    Anchor("Patient", ("cmp-member", "pccm-member"), member="id"),
    (Companion("Coverage", "cmp-coverage", Referencing("beneficiary")),
     Companion("Observation", "cmp-sdmi-determination", Referencing("subject")),
     Companion("Observation", "cmp-loi-rating", Referenced("hasMember", holder="cmp-sdmi-determination"))),
)


# --- record -> FHIR -----------------------------------------------------------------------------------------

def to_fhir(record: MemberRecord) -> list[dict]:
    """The Patient, its Coverages and, for a CMP member, the SDMI determination and LOI ratings."""
    out = [_patient(record)]
    out += [_coverage(record, coverage) for coverage in record.coverages]
    if record.sdmi is not None:
        out += _eligibility(record.member_id, record.sdmi)
    return out


def coverage_id(record: MemberRecord, coverage: Coverage) -> str:
    if len(record.coverages) == 1:
        return f"cov-{record.member_id}"
    program = codes.table("program").to_fhir(coverage.program).code
    return f"cov-{record.member_id}-{COVERAGE_ID_SUFFIX.get(program, program)}"


def _patient(record: MemberRecord) -> dict:
    identifiers = [identifier(MEDICAID_ID, record.medicaid_id, "MA", "Patient Medicaid number")]
    if record.mrn is not None:
        identifiers.append(identifier(MRN_SYSTEM, record.mrn, "MR", "Medical record number"))
    address = record.address
    return resource(
        "Patient", record.member_id, "pccm-member" if record.pcp_id else "cmp-member",
        identifier=identifiers, active=True,
        name=[{"use": "official", "family": record.family, "given": [record.given]}],
        telecom=[{"system": "phone", "value": record.phone, "use": "home"}] if record.phone else None,
        gender=codes.table("gender").to_fhir(record.gender).code,
        birthDate=record.birth_date.isoformat(),
        address=[{"use": "home", "line": [address.line], "city": address.city, "state": address.state,
                  "postalCode": address.postal_code, "country": "US"}] if address else None,
        generalPractitioner=[reference("PractitionerRole", f"pr-{record.pcp_id}", record.pcp_name)]
        if record.pcp_id else None,
    )


def _coverage(record: MemberRecord, coverage: Coverage) -> dict:
    program = codes.table("program").to_fhir(coverage.program)
    if coverage.plan_member_id is None:
        member_number = identifier(MEDICAID_ID, record.medicaid_id, "MB", "Member Number")
    else:
        member_number = identifier(PLAN_MEMBER_ID_SYSTEM.format(payor=coverage.payor_id), coverage.plan_member_id,
                                   "MB", "Member Number")
    return resource(
        "Coverage", coverage_id(record, coverage), "cmp-coverage", status="active",
        identifier=[member_number],
        type=concept(SOP, MEDICAID_PAYOR_TYPE, "MEDICAID"),
        beneficiary=reference("Patient", record.member_id),
        relationship=concept(f"{TERMINOLOGY}/subscriber-relationship", "self", "Self"),
        period={"start": coverage.start.isoformat()},
        payor=[reference("Organization", coverage.payor_id)],
        **{"class": [{"type": concept(f"{TERMINOLOGY}/coverage-class", "plan", "Plan"), "value": program.code,
                      "name": program.display}]},
    )


def _eligibility(member_id: str, sdmi: Sdmi) -> list[dict]:
    levels = codes.table("loi-level")
    when = sdmi.assessed_at
    performer = [reference("PractitionerRole", f"pr-{sdmi.assessor_id}", sdmi.assessor_name)]
    ratings = {"area-3": sdmi.loi_area_3, "area-4": sdmi.loi_area_4}
    out = [resource(
        "Observation", f"loi-{member_id}-{area}", "cmp-loi-rating", status="final", category=[SURVEY],
        code=concept(f"{CODE_SYSTEM}/loi-area", area, LOI_AREAS[area]),
        subject=reference("Patient", member_id), effectiveDateTime=when, performer=performer,
        valueCodeableConcept=levels.concept(level),
    ) for area, level in ratings.items()]
    out.insert(0, resource(
        "Observation", f"sdmi-{member_id}", "cmp-sdmi-determination", status="final", category=[SURVEY],
        code=concept(OBSERVATION, "sdmi-determination", "SDMI determination"),
        subject=reference("Patient", member_id), effectiveDateTime=when, performer=performer,
        valueCodeableConcept=codes.table("sdmi-status").concept(sdmi.sdmi),
        hasMember=[reference("Observation", f"loi-{member_id}-{area}") for area in LOI_AREAS],
        component=[
            {"code": concept(OBSERVATION, "cmp-medical-necessity", "CMP medical necessity met"),
             "valueBoolean": sdmi.medical_necessity},
            {"code": concept(OBSERVATION, "danger-to-self-or-others", "Danger to self or others"),
             "valueBoolean": sdmi.danger_to_self_or_others},
            *({"code": concept(f"{CODE_SYSTEM}/loi-area", area, LOI_AREAS[area]),
               "valueCodeableConcept": levels.concept(level)} for area, level in ratings.items()),
            {"code": concept(OBSERVATION, "able-and-willing-to-engage", "Able and willing to engage"),
             "valueBoolean": sdmi.able_and_willing},
        ],
    ))
    return out


# --- FHIR -> record -----------------------------------------------------------------------------------------


def _record(resources: list[dict]) -> MemberRecord:
    """The member record of one Patient and its Coverages and eligibility Observations.

    Raises:
        ValueError: not exactly one Patient, or a resource that does not follow our profiles.
        codes.UnmappedCode: a code outside the ConceptMaps.
    """
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    if len(patients) != 1:
        raise ValueError(f"a member record needs exactly one Patient, got {len(patients)}")
    patient = patients[0]
    name = patient["name"][0]
    address = (patient.get("address") or [None])[0]
    pcp = (patient.get("generalPractitioner") or [None])[0]
    phone = next((t["value"] for t in patient.get("telecom", []) if t.get("system") == "phone"), None)
    observations = {r["id"]: r for r in resources if r["resourceType"] == "Observation"}
    return MemberRecord(
        member_id=patient["id"],
        medicaid_id=identifier_value(patient["identifier"], MEDICAID_ID),
        mrn=identifier_value(patient["identifier"], MRN_SYSTEM),
        given=name["given"][0], family=name["family"],
        gender=codes.table("gender").from_code(patient["gender"]),
        birth_date=parse_date(patient["birthDate"]),
        phone=phone,
        address=Address(line=address["line"][0], city=address["city"], state=address["state"],
                        postal_code=address["postalCode"]) if address else None,
        pcp_id=strip_prefix(reference_id(pcp, "PractitionerRole"), "pr-") if pcp else None,
        pcp_name=pcp.get("display") if pcp else None,
        coverages=tuple(_coverage_record(r) for r in resources if r["resourceType"] == "Coverage"),
        sdmi=_sdmi_record(patient["id"], observations),
    )


def _coverage_record(coverage: dict) -> Coverage:
    member_number = coverage["identifier"][0]
    program = coverage["class"][0]["value"]
    return Coverage(
        program=codes.table("program").from_code(program),
        payor_id=reference_id(coverage["payor"][0], "Organization"),
        start=parse_date(coverage["period"]["start"]),
        plan_member_id=None if member_number["system"] == MEDICAID_ID else member_number["value"],
    )


def _sdmi_record(member_id: str, observations: dict[str, dict]) -> Sdmi | None:
    determination = observations.get(f"sdmi-{member_id}")
    if determination is None:
        return None
    levels = codes.table("loi-level")
    components = {c["code"]["coding"][0]["code"]: c for c in determination["component"]}
    performer = determination["performer"][0]
    return Sdmi(
        assessed_at=determination["effectiveDateTime"],
        assessor_id=strip_prefix(reference_id(performer, "PractitionerRole"), "pr-"),
        assessor_name=performer.get("display"),
        sdmi=codes.table("sdmi-status").from_concept(determination["valueCodeableConcept"]),
        medical_necessity=components["cmp-medical-necessity"]["valueBoolean"],
        danger_to_self_or_others=components["danger-to-self-or-others"]["valueBoolean"],
        loi_area_3=levels.from_concept(components["area-3"]["valueCodeableConcept"]),
        loi_area_4=levels.from_concept(components["area-4"]["valueCodeableConcept"]),
        able_and_willing=components["able-and-willing-to-engage"]["valueBoolean"],
    )


#: FHIR -> record: ``_record`` of the resources, refused unless ``to_fhir`` gives them back exactly.
from_fhir = lossless_from_fhir(_record, to_fhir)
