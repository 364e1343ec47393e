#!/usr/bin/env python3
"""Generate the example FHIR resources of the CMP implementation guide.

``examples/fhir/valid/`` gets one coherent story, every resource declaring its profile in ``meta.profile``:

* Montana CMP: one PACT team (Billings) and one MCT team (Missoula), their staff, eleven members over the
  eight weeks from Monday 2026-01-05 to Sunday 2026-03-01 with coverage, SDMI determinations and LOI ratings,
  enrollments, care teams, treatment plans, weekly quality contacts (face-to-face and telehealth), weekly
  team-meeting reviews, per-diem claims (at most three days a week, each backed by a contact) and their
  adjudication, and weekly measure reports;
* New York: two shared plans of care, one MLTCP + Health Home and one MAP + Health Home, with their care
  teams, services and Care Planning and Coordination forms;
* Connecticut-style PCCM/PCMH: two members with a primary care provider and monthly care-management fees.

``examples/fhir/invalid/`` gets variants of valid resources that each break exactly one stated constraint of
their profile, labelled in ``meta.tag`` (system :data:`EXPECTATION_SYSTEM`) with the constraint key or the
ElementDefinition id that is broken (see ``examples/README.md``).

Everything is computed from the tables below, so ids and contents are the same on every run; there is no
randomness and no clock. ``--check`` exits 1 when the committed files differ from what this script writes.

Usage::

    python scripts/make_examples.py [--check]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import html
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import simplejson

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "examples" / "fhir"

CANONICAL = "https://cmp-adapter.org/fhir"
EXPECTATION_SYSTEM = f"{CANONICAL}/CodeSystem/example-expectation"

# --- code systems -------------------------------------------------------------------------------------------

CS = f"{CANONICAL}/CodeSystem"
MEDICAID_ID = f"{CANONICAL}/NamingSystem/medicaid-member-id"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V3_ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
NUCC = "http://nucc.org/provider-taxonomy"
NPI = "http://hl7.org/fhir/sid/us-npi"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SOP = "urn:oid:2.16.840.1.113883.3.221.5"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
US_CORE_CAREPLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"

MOUNTAIN = "-07:00"
EASTERN = "-05:00"
FIRST_MONDAY = date(2026, 1, 5)
WEEKS = 8

# --- small builders -----------------------------------------------------------------------------------------


def coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict:
    return {"coding": [coding(system, code, display)], **({"text": text} if text else {})}


def ref(resource_type: str, resource_id: str, display: str | None = None) -> dict:
    return {"reference": f"{resource_type}/{resource_id}", **({"display": display} if display else {})}


def money(value: str) -> dict:
    return {"value": Decimal(value), "currency": "USD"}


def narrative(*paragraphs: str) -> dict:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def profile_url(profile: str) -> str:
    return f"{CANONICAL}/StructureDefinition/{profile}"


def pick(key: str, choices: int) -> int:
    """A stable pseudo-random number in ``range(choices)`` derived from ``key`` (no global random state)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) % choices


def npi(seed: int) -> str:
    """A well-formed NPI (Luhn check digit over the 80840 prefix), as US Core's us-core-17 checks."""
    base = f"1{seed:08d}"
    digits = [int(d) for d in "80840" + base]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if position % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return base + str((10 - total % 10) % 10)


def at(day: date, hour: int, minute: int = 0, zone: str = MOUNTAIN) -> str:
    return datetime(day.year, day.month, day.day, hour, minute).isoformat() + zone


# --- the cast -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Team:
    id: str
    name: str
    team_type: str
    team_type_display: str
    city: str
    approved_since: str
    npi_seed: int
    daily_rate: str
    meeting_weekday: int
    """0 = Monday."""
    meeting_mode: str
    identifier_system: str


TEAMS = (
    Team("pact-billings", "Yellowstone PACT Team", "pact-medium", "PACT team, medium", "Billings", "2024-07-01",
         3100, "115.50", 1, "AMB", "https://yellowstone-pact.example.org/encounter-id"),
    Team("mct-missoula", "Clark Fork MCT Team", "mct", "MCT team", "Missoula", "2025-01-01",
         3200, "98.25", 2, "VR", "https://clarkfork-mct.example.org/encounter-id"),
)


@dataclass(frozen=True)
class Staff:
    id: str
    given: str
    family: str
    prefix: str
    organization: str
    taxonomy: str
    taxonomy_display: str
    npi_seed: int


STAFF = (
    Staff("okafor", "Adaeze", "Okafor", "Dr.", "pact-billings", "2084P0800X", "Psychiatry & Neurology, Psychiatry", 11),
    Staff("ward", "Jamie", "Ward", "", "pact-billings", "163WP0808X",
          "Registered Nurse, Psychiatric/Mental Health", 12),
    Staff("reyes", "Marisol", "Reyes", "", "pact-billings", "1041C0700X", "Social Worker, Clinical", 13),
    Staff("benally", "Tom", "Benally", "", "pact-billings", "175T00000X", "Peer Specialist", 14),
    Staff("lindqvist", "Erik", "Lindqvist", "", "mct-missoula", "101YP2500X", "Counselor, Professional", 21),
    Staff("haugen", "Kari", "Haugen", "", "mct-missoula", "163WP0808X",
          "Registered Nurse, Psychiatric/Mental Health", 22),
    Staff("whitehorse", "Dana", "Whitehorse", "", "mct-missoula", "171M00000X", "Case Manager/Care Coordinator", 23),
    Staff("chen", "Li", "Chen", "", "mltcp-hudson", "171M00000X", "Case Manager/Care Coordinator", 31),
    Staff("alvarez", "Rosa", "Alvarez", "", "hh-bronx", "171M00000X", "Case Manager/Care Coordinator", 32),
    Staff("goldberg", "Miriam", "Goldberg", "", "map-empire", "171M00000X", "Case Manager/Care Coordinator", 33),
    Staff("okonkwo", "Chidi", "Okonkwo", "", "hh-capital", "171M00000X", "Case Manager/Care Coordinator", 34),
    Staff("santos", "Ana", "Santos", "Dr.", "pcmh-elm-city", "207Q00000X", "Family Medicine", 41),
    Staff("murphy", "Kevin", "Murphy", "Dr.", "pcmh-elm-city", "207R00000X", "Internal Medicine", 42),
)

#: Organizations other than CMP teams: id -> (name, organization-type code, cmp-program code or None, state).
ORGANIZATIONS = {
    "mt-medicaid": ("Montana Medicaid (Department of Public Health and Human Services)", "pay", None, "MT"),
    "ny-medicaid": ("New York State Medicaid", "pay", None, "NY"),
    "ct-medicaid": ("Connecticut Medicaid (HUSKY Health)", "pay", None, "CT"),
    "mltcp-hudson": ("Hudson Valley MLTC Plan", "ins", "mltcp", "NY"),
    "map-empire": ("Empire Advantage Plus", "ins", "map", "NY"),
    "hh-bronx": ("Bronx Care Coordination Health Home", "prov", "health-home", "NY"),
    "hh-capital": ("Capital Region Health Home", "prov", "health-home", "NY"),
    "pcmh-elm-city": ("Elm City Family Practice", "prov", "pcmh", "CT"),
}
#: The payers' 837P name (2010BB NM103, as Organization.alias) and payer id (NM109, a NIIP identifier).
X12_PAYERS = {"mt-medicaid": ("MONTANA MEDICAID", "MTMEDICAID"), "ny-medicaid": ("NEW YORK MEDICAID", "NYMEDICAID"),
              "ct-medicaid": ("CONNECTICUT MEDICAID", "CTMEDICAID")}
EIN = "urn:oid:2.16.840.1.113883.4.4"
X12_PAYER_ID = "https://cmp-adapter.org/fhir/NamingSystem/x12-payer-id"
ORGANIZATION_TYPES = {"pay": "Payer", "ins": "Insurance Company", "prov": "Healthcare Provider"}
PROGRAM_NAMES = {"cmp": "Community Maintenance Program", "mltcp": "MLTC partial capitation plan",
                 "map": "Medicaid Advantage Plus plan", "health-home": "Health Home",
                 "pccm": "Primary Care Case Management", "pcmh": "Patient-Centered Medical Home",
                 "medicaid-ffs": "Medicaid fee-for-service"}
CITIES = {"Billings": ("MT", "59101"), "Missoula": ("MT", "59801"), "Bronx": ("NY", "10451"),
          "Albany": ("NY", "12207"), "Poughkeepsie": ("NY", "12601"), "New Haven": ("CT", "06510")}

ICD10 = {
    "F20.0": "Paranoid schizophrenia",
    "F20.9": "Schizophrenia, unspecified",
    "F25.0": "Schizoaffective disorder, bipolar type",
    "F25.1": "Schizoaffective disorder, depressive type",
    "F31.9": "Bipolar disorder, unspecified",
    "F31.81": "Bipolar II disorder",
    "F33.2": "Major depressive disorder, recurrent severe without psychotic features",
    "F43.10": "Post-traumatic stress disorder, unspecified",
}

SERVICE_COMPONENTS = {
    "medication-management": "Medication management",
    "case-management": "Case/care management",
    "crisis-services": "24-hour crisis services",
    "illness-management-recovery": "Illness management and recovery skills",
    "community-living-skills": "Community living skills",
    "support-network-intervention": "Intervention with support networks",
    "employment-support": "Employment-support services",
    "co-occurring-treatment": "Integrated treatment for co-occurring disorders",
    "therapy": "Individual, family and group therapy",
    "peer-support": "Peer support",
}
PURPOSES = {
    "self-advocacy": "Decision making and self-advocacy",
    "recovery-resilience": "Recovery and resilience",
    "family-support": "Family and significant-other support",
    "community-supports": "Community and social supports",
    "health-monitoring": "Health care monitoring",
    "intensive-treatment": "Intensive treatment and rehabilitation",
}
LOI_LEVELS = {"none": "None", "mild": "Mild", "moderate": "Moderate", "severe": "Severe"}
LOI_AREAS = {"area-3": "Area 3 - Family/Interpersonal Relationships", "area-4": "Area 4 - Mood/Thought Functioning"}
CONTACT_MODES = {"AMB": "ambulatory", "VR": "virtual"}


@dataclass(frozen=True)
class Member:
    id: str
    given: str
    family: str
    gender: str
    birth_date: str
    medicaid_id: str
    city: str
    team: str = ""
    diagnosis: str = ""
    enrolled: str = ""
    loi: tuple[str, str] = ("moderate", "moderate")
    """Levels in LOI Area 3 and Area 4."""


CMP_MEMBERS = (
    Member("m-001", "Ruth", "Halvorsen", "female", "1971-03-14", "MT100200301", "Billings", "pact-billings",
           "F20.0", "2025-09-02", ("moderate", "severe")),
    Member("m-002", "Marcus", "Bell", "male", "1984-11-02", "MT100200302", "Billings", "pact-billings",
           "F25.0", "2025-10-15", ("moderate", "moderate")),
    Member("m-003", "Teresa", "Lone Elk", "female", "1966-06-21", "MT100200303", "Billings", "pact-billings",
           "F31.9", "2025-06-30", ("mild", "moderate")),
    Member("m-004", "Daniel", "Fischer", "male", "1990-01-09", "MT100200304", "Billings", "pact-billings",
           "F20.9", "2025-11-03", ("severe", "moderate")),
    Member("m-005", "Alice", "Moreno", "female", "1979-08-30", "MT100200305", "Billings", "pact-billings",
           "F33.2", "2025-08-18", ("moderate", "mild")),
    Member("m-006", "Samuel", "Ortiz", "male", "1988-04-17", "MT100200306", "Billings", "pact-billings",
           "F25.1", "2026-01-19", ("moderate", "moderate")),
    Member("m-007", "Grace", "Kowalski", "female", "1975-12-05", "MT100200307", "Missoula", "mct-missoula",
           "F31.81", "2025-07-14", ("moderate", "moderate")),
    Member("m-008", "Henry", "Two Bears", "male", "1969-02-27", "MT100200308", "Missoula", "mct-missoula",
           "F20.0", "2025-09-22", ("mild", "severe")),
    Member("m-009", "Olivia", "Sandoval", "female", "1993-07-11", "MT100200309", "Missoula", "mct-missoula",
           "F43.10", "2025-10-06", ("moderate", "moderate")),
    Member("m-010", "Peter", "Lindgren", "male", "1982-09-19", "MT100200310", "Missoula", "mct-missoula",
           "F31.9", "2025-12-01", ("severe", "moderate")),
    Member("m-011", "Nora", "Blackfeather", "female", "1986-03-03", "MT100200311", "Missoula", "mct-missoula",
           "F33.2", "2026-01-26", ("moderate", "mild")),
)

#: A week in which a member had four contacts: the claim bills three of them (CMP-BILL-2).
FOUR_CONTACT_WEEK = ("m-002", 5)


# --- the store of generated resources -----------------------------------------------------------------------

@dataclass
class Story:
    resources: dict[str, dict] = field(default_factory=dict)
    """``Type/id`` -> resource, in creation order."""

    def add(self, profile: str, resource: dict) -> dict:
        key = f"{resource['resourceType']}/{resource['id']}"
        if key in self.resources:
            raise ValueError(f"duplicate example {key}")
        body = {"resourceType": resource["resourceType"], "id": resource["id"],
                "meta": {"profile": [profile_url(profile)]}}
        body.update({k: v for k, v in resource.items() if k not in ("resourceType", "id")})
        self.resources[key] = body
        return body

    def get(self, key: str) -> dict:
        return self.resources[key]


def resource(resource_type: str, resource_id: str, **elements: object) -> dict:
    return {"resourceType": resource_type, "id": resource_id, **elements}


# --- organizations and people -------------------------------------------------------------------------------

def add_organizations(story: Story) -> None:
    for team in TEAMS:
        state, postal = CITIES[team.city]
        story.add("cmp-team-organization", resource(
            "Organization", team.id,
            extension=[{"url": profile_url("cmp-approval"), "valuePeriod": {"start": team.approved_since}}],
            identifier=[{"system": NPI, "value": npi(team.npi_seed)},
                        {"type": concept(V2_0203, "PRN", "Provider number"),
                         "system": "https://dphhs.mt.gov/medicaid-provider-id", "value": f"MT-{team.npi_seed}"},
                        {"type": concept(V2_0203, "TAX", "Tax ID number"), "system": EIN,
                         "value": f"81000{team.npi_seed}"}],
            active=True,
            type=[concept(f"{TERMINOLOGY}/organization-type", "prov", "Healthcare Provider"),
                  concept(f"{CS}/cmp-team-type", team.team_type, team.team_type_display)],
            name=team.name,
            telecom=[{"system": "phone", "value": f"406-555-{team.npi_seed % 10000:04d}", "use": "work"}],
            address=[{"line": [f"{100 + team.npi_seed % 900} Main Street"], "city": team.city, "state": state,
                      "postalCode": postal, "country": "US"}],
        ))
    for org_id, (name, org_type, program, state) in ORGANIZATIONS.items():
        types = [concept(f"{TERMINOLOGY}/organization-type", org_type, ORGANIZATION_TYPES[org_type])]
        if program:
            types.append(concept(f"{CS}/cmp-program", program, PROGRAM_NAMES[program]))
        identifiers = [{"system": "https://example.org/organization-id", "value": org_id}]
        x12_name, x12_id = X12_PAYERS.get(org_id, (None, None))
        if x12_id:
            identifiers.append({"type": concept(V2_0203, "NIIP", "National Insurance Payor Identifier (Payor)"),
                                "system": X12_PAYER_ID, "value": x12_id})
        story.add("cmp-organization", resource(
            "Organization", org_id, identifier=identifiers, active=True, type=types, name=name,
            **({"alias": [x12_name]} if x12_name else {}),
            address=[{"state": state, "country": "US"}],
        ))


def add_staff(story: Story) -> None:
    for person in STAFF:
        name = {"family": person.family, "given": [person.given]}
        if person.prefix:
            name["prefix"] = [person.prefix]
        story.add("cmp-practitioner", resource(
            "Practitioner", f"p-{person.id}", identifier=[
                {"system": NPI, "value": npi(person.npi_seed)},
                {"type": concept(V2_0203, "LN", "License number"), "system": "https://example.org/state-license",
                 "value": f"LIC-{person.npi_seed:05d}"},
            ], active=True, name=[name],
        ))
        story.add("cmp-practitioner-role", resource(
            "PractitionerRole", role_id(person), active=True,
            practitioner=ref("Practitioner", f"p-{person.id}", f"{person.given} {person.family}"),
            organization=ref("Organization", person.organization),
            code=[concept(NUCC, person.taxonomy, person.taxonomy_display)],
            telecom=[{"system": "phone", "value": f"555-01{person.npi_seed:02d}", "use": "work"}],
        ))


def role_id(person: Staff) -> str:
    return f"pr-{person.id}"


def staff_of(organization: str) -> list[Staff]:
    return [person for person in STAFF if person.organization == organization]


def person(staff_id: str) -> Staff:
    return next(p for p in STAFF if p.id == staff_id)


def role_ref(staff: Staff) -> dict:
    return ref("PractitionerRole", role_id(staff), f"{staff.given} {staff.family}")


# --- members ------------------------------------------------------------------------------------------------

def add_patient(story: Story, member: Member, profile: str = "cmp-member", **extra: object) -> None:
    state, postal = CITIES[member.city]
    story.add(profile, resource(
        "Patient", member.id,
        identifier=[
            {"type": concept(V2_0203, "MA", "Patient Medicaid number"), "system": MEDICAID_ID,
             "value": member.medicaid_id},
            {"type": concept(V2_0203, "MR", "Medical record number"), "system": "https://example.org/mrn",
             "value": f"MRN-{member.id}"},
        ],
        active=True,
        name=[{"use": "official", "family": member.family, "given": [member.given]}],
        telecom=[{"system": "phone", "value": f"555-02{member.id[-3:]}", "use": "home"}],
        gender=member.gender, birthDate=member.birth_date,
        address=[{"use": "home", "line": [f"{10 + int(member.id[-3:])} Elm Avenue"], "city": member.city,
                  "state": state, "postalCode": postal, "country": "US"}],
        **extra,
    ))


def add_coverage(story: Story, coverage_id: str, member: Member, payor: str, program: str, start: str,
                 member_id: tuple[str, str] | None = None) -> None:
    system, value = member_id or (MEDICAID_ID, member.medicaid_id)
    story.add("cmp-coverage", resource(
        "Coverage", coverage_id, status="active",
        identifier=[{"type": concept(V2_0203, "MB", "Member Number"), "system": system, "value": value}],
        type=concept(SOP, "2", "MEDICAID"),
        beneficiary=ref("Patient", member.id),
        relationship=concept(f"{TERMINOLOGY}/subscriber-relationship", "self", "Self"),
        period={"start": start},
        payor=[ref("Organization", payor)],
        **{"class": [{"type": concept(f"{TERMINOLOGY}/coverage-class", "plan", "Plan"), "value": program,
                      "name": PROGRAM_NAMES[program]}]},
    ))


def team_of(member: Member) -> Team:
    return next(t for t in TEAMS if t.id == member.team)


def weeks_enrolled(member: Member) -> list[int]:
    """The weeks (1..8) in which the member is enrolled from the Monday on."""
    start = date.fromisoformat(member.enrolled)
    return [w for w in range(1, WEEKS + 1) if FIRST_MONDAY + timedelta(weeks=w - 1) >= start]


def add_eligibility(story: Story, member: Member) -> None:
    team = team_of(member)
    assessor = staff_of(team.id)[0]
    determined = date.fromisoformat(member.enrolled) - timedelta(days=14)
    when = at(determined, 10)
    for area, level in zip(LOI_AREAS, member.loi, strict=True):
        story.add("cmp-loi-rating", resource(
            "Observation", f"loi-{member.id}-{area}", status="final",
            category=[concept(f"{TERMINOLOGY}/observation-category", "survey", "Survey")],
            code=concept(f"{CS}/loi-area", area, LOI_AREAS[area]),
            subject=ref("Patient", member.id), effectiveDateTime=when, performer=[role_ref(assessor)],
            valueCodeableConcept=concept(f"{CS}/loi-level", level, LOI_LEVELS[level]),
        ))
    obs = f"{CS}/cmp-observation"
    story.add("cmp-sdmi-determination", resource(
        "Observation", f"sdmi-{member.id}", status="final",
        category=[concept(f"{TERMINOLOGY}/observation-category", "survey", "Survey")],
        code=concept(obs, "sdmi-determination", "SDMI determination"),
        subject=ref("Patient", member.id), effectiveDateTime=when, performer=[role_ref(assessor)],
        valueCodeableConcept=concept(f"{CS}/sdmi-status", "meets-sdmi", "Meets SDMI criteria"),
        hasMember=[ref("Observation", f"loi-{member.id}-{area}") for area in LOI_AREAS],
        component=[
            {"code": concept(obs, "cmp-medical-necessity", "CMP medical necessity met"), "valueBoolean": True},
            {"code": concept(obs, "danger-to-self-or-others", "Danger to self or others"), "valueBoolean": False},
            {"code": concept(f"{CS}/loi-area", "area-3", LOI_AREAS["area-3"]),
             "valueCodeableConcept": concept(f"{CS}/loi-level", member.loi[0], LOI_LEVELS[member.loi[0]])},
            {"code": concept(f"{CS}/loi-area", "area-4", LOI_AREAS["area-4"]),
             "valueCodeableConcept": concept(f"{CS}/loi-level", member.loi[1], LOI_LEVELS[member.loi[1]])},
            {"code": concept(obs, "able-and-willing-to-engage", "Able and willing to engage"), "valueBoolean": True},
        ],
    ))


def add_enrollment(story: Story, member: Member) -> None:
    team = team_of(member)
    staff = staff_of(team.id)
    story.add("cmp-team", resource(
        "CareTeam", f"team-{member.id}", status="active",
        category=[concept(LOINC, "LA28865-6", "Longitudinal care-coordination focused care team")],
        name=f"{team.name} care team of {member.given} {member.family}",
        subject=ref("Patient", member.id),
        period={"start": member.enrolled},
        participant=[{"role": [concept(NUCC, s.taxonomy, s.taxonomy_display)], "member": role_ref(s)}
                     for s in staff],
        managingOrganization=[ref("Organization", team.id, team.name)],
    ))
    story.add("cmp-enrollment", resource(
        "EpisodeOfCare", f"enr-{member.id}",
        extension=[{"url": profile_url("eligibility-determination"),
                    "valueReference": ref("Observation", f"sdmi-{member.id}")}],
        status="active",
        type=[concept(f"{CS}/cmp-program", "cmp", PROGRAM_NAMES["cmp"])],
        patient=ref("Patient", member.id, f"{member.given} {member.family}"),
        managingOrganization=ref("Organization", team.id, team.name),
        period={"start": member.enrolled},
        team=[ref("CareTeam", f"team-{member.id}")],
    ))


def itp_components(member: Member) -> list[str]:
    others = [c for c in SERVICE_COMPONENTS if c not in ("medication-management", "case-management")]
    extra = sorted(others, key=lambda c: pick(f"{member.id}:{c}", 1000))[:1 + pick(member.id, 3)]
    return ["medication-management", "case-management", *sorted(extra, key=list(SERVICE_COMPONENTS).index)]


def add_treatment_plan(story: Story, member: Member) -> None:
    team = team_of(member)
    components = itp_components(member)
    story.add("cmp-treatment-plan", resource(
        "CarePlan", f"itp-{member.id}",
        text=narrative(f"Individualized Treatment Plan of {member.given} {member.family} with the {team.name}, "
                       f"from {member.enrolled}.",
                       "Services: " + "; ".join(SERVICE_COMPONENTS[c] for c in components) + "."),
        status="active", intent="plan",
        category=[concept(US_CORE_CAREPLAN_CATEGORY, "assess-plan", "Assessment and Plan of Treatment"),
                  concept(f"{CS}/cmp-careplan-category", "itp", "Individualized Treatment Plan")],
        title="Individualized Treatment Plan",
        subject=ref("Patient", member.id, f"{member.given} {member.family}"),
        period={"start": member.enrolled},
        created=member.enrolled,
        author=role_ref(staff_of(team.id)[0]),
        careTeam=[ref("CareTeam", f"team-{member.id}")],
        activity=[{"detail": {"kind": "ServiceRequest",
                              "code": concept(f"{CS}/cmp-service-component", c, SERVICE_COMPONENTS[c]),
                              "status": "in-progress"}} for c in components],
    ))


# --- the weekly rhythm --------------------------------------------------------------------------------------

def contact_days(member: Member, week: int) -> list[date]:
    """The days of a week on which the member had a quality contact (one to three, four once)."""
    count = 4 if (member.id, week) == FOUR_CONTACT_WEEK else (1, 2, 2, 3)[pick(f"{member.id}:w{week}", 4)]
    monday = FIRST_MONDAY + timedelta(weeks=week - 1)
    weekdays = sorted(range(5), key=lambda d: pick(f"{member.id}:w{week}:d{d}", 1000))[:count]
    return [monday + timedelta(days=d) for d in sorted(weekdays)]


def contact_id(member: Member, day: date) -> str:
    return f"qc-{member.id}-{day:%Y%m%d}"


def add_contacts_and_meetings(story: Story, member: Member) -> dict[int, list[date]]:
    team = team_of(member)
    staff = staff_of(team.id)
    contacts: dict[int, list[date]] = {}
    telehealth_share = 2 if team.team_type == "mct" else 4
    for week in weeks_enrolled(member):
        contacts[week] = contact_days(member, week)
        for number, day in enumerate(contacts[week]):
            key = f"{member.id}:{day}"
            mode = "VR" if pick(key + ":mode", telehealth_share) == 0 else "AMB"
            purposes = sorted({list(PURPOSES)[pick(key + ":p1", 6)], list(PURPOSES)[pick(key + ":p2", 6)]},
                              key=list(PURPOSES).index)
            start_hour = 9 + pick(key + ":hour", 7)
            who = staff[(pick(key + ":staff", len(staff)) + number) % len(staff)]
            story.add("cmp-quality-contact", resource(
                "Encounter", contact_id(member, day),
                extension=[{"url": profile_url("quality-contact-purpose"),
                            "valueCodeableConcept": concept(f"{CS}/quality-contact-purpose", p, PURPOSES[p])}
                           for p in purposes]
                + [{"url": profile_url("based-on-care-plan"), "valueReference": ref("CarePlan", f"itp-{member.id}")}],
                identifier=[{"system": team.identifier_system, "value": contact_id(member, day)}],
                status="finished",
                **{"class": coding(V3_ACT, mode, CONTACT_MODES[mode])},
                type=[concept(f"{CS}/cmp-encounter-type", "quality-contact", "CMP quality contact")],
                subject=ref("Patient", member.id, f"{member.given} {member.family}"),
                episodeOfCare=[ref("EpisodeOfCare", f"enr-{member.id}")],
                participant=[{"individual": role_ref(who)}],
                period={"start": at(day, start_hour), "end": at(day, start_hour, 45)},
                serviceProvider=ref("Organization", team.id, team.name),
            ))
        meeting_day = FIRST_MONDAY + timedelta(weeks=week - 1, days=team.meeting_weekday)
        slot = 8 * (int(member.id[-3:]) % 6)
        story.add("cmp-team-meeting", resource(
            "Encounter", f"tm-{member.id}-{meeting_day:%Y%m%d}",
            identifier=[{"system": team.identifier_system, "value": f"tm-{member.id}-{meeting_day:%Y%m%d}"}],
            status="finished",
            **{"class": coding(V3_ACT, team.meeting_mode, CONTACT_MODES[team.meeting_mode])},
            type=[concept(f"{CS}/cmp-encounter-type", "team-meeting", "CMP team meeting review")],
            subject=ref("Patient", member.id, f"{member.given} {member.family}"),
            episodeOfCare=[ref("EpisodeOfCare", f"enr-{member.id}")],
            participant=[{"individual": role_ref(s)} for s in staff[:3]],
            period={"start": at(meeting_day, 13, slot), "end": at(meeting_day, 13, slot + 8)},
            serviceProvider=ref("Organization", team.id, team.name),
        ))
    return contacts


def add_claims(story: Story, member: Member, contacts: dict[int, list[date]]) -> None:
    team = team_of(member)
    for week, days in contacts.items():
        monday = FIRST_MONDAY + timedelta(weeks=week - 1)
        billed = days[:3]
        claim_id = f"clm-{member.id}-w{week}"
        items = [{"sequence": n, "diagnosisSequence": [1],
                  "productOrService": concept(HCPCS, "H0040", "Assertive community treatment program, per diem"),
                  "servicedDate": day.isoformat(),
                  "quantity": {"value": 1, "unit": "day", "system": UCUM, "code": "d"},
                  "unitPrice": money(team.daily_rate), "net": money(team.daily_rate),
                  "encounter": [ref("Encounter", contact_id(member, day))]}
                 for n, day in enumerate(billed, 1)]
        total = str(Decimal(team.daily_rate) * len(items))
        created = monday + timedelta(days=8)
        story.add("cmp-claim", resource(
            "Claim", claim_id, status="active",
            type=concept(f"{TERMINOLOGY}/claim-type", "professional", "Professional"),
            use="claim",
            patient=ref("Patient", member.id),
            billablePeriod={"start": monday.isoformat(), "end": (monday + timedelta(days=6)).isoformat()},
            created=created.isoformat(),
            insurer=ref("Organization", "mt-medicaid"),
            provider=ref("Organization", team.id, team.name),
            priority=concept(f"{TERMINOLOGY}/processpriority", "normal", "Normal"),
            diagnosis=[{"sequence": 1, "diagnosisCodeableConcept": concept(ICD10CM, member.diagnosis,
                                                                            ICD10[member.diagnosis])}],
            insurance=[{"sequence": 1, "focal": True, "coverage": ref("Coverage", f"cov-{member.id}")}],
            item=items,
            total=money(total),
        ))
        add_claim_response(story, f"clr-{member.id}-w{week}", claim_id, member.id, "mt-medicaid",
                           ref("Organization", team.id), [(n, team.daily_rate) for n in range(1, len(items) + 1)],
                           created + timedelta(days=10))


def add_claim_response(story: Story, response_id: str, claim_id: str, patient: str, insurer: str,
                       requestor: dict, items: list[tuple[int, str]], created: date) -> None:
    adjudication = f"{TERMINOLOGY}/adjudication"
    total = str(sum(Decimal(amount) for _, amount in items))
    story.add("cmp-claim-response", resource(
        "ClaimResponse", response_id, status="active",
        type=concept(f"{TERMINOLOGY}/claim-type", "professional", "Professional"),
        use="claim", patient=ref("Patient", patient), created=created.isoformat(),
        insurer=ref("Organization", insurer), requestor=requestor, request=ref("Claim", claim_id),
        outcome="complete", disposition="Paid in full.",
        item=[{"itemSequence": n, "adjudication": [
            {"category": concept(adjudication, "submitted", "Submitted Amount"), "amount": money(amount)},
            {"category": concept(adjudication, "eligible", "Eligible Amount"), "amount": money(amount)},
            {"category": concept(adjudication, "benefit", "Benefit Amount"), "amount": money(amount)},
        ]} for n, amount in items],
        total=[{"category": concept(adjudication, "submitted", "Submitted Amount"), "amount": money(total)},
               {"category": concept(adjudication, "benefit", "Benefit Amount"), "amount": money(total)}],
        payment={"type": concept(f"{TERMINOLOGY}/ex-paymenttype", "complete", "Complete"),
                 "date": (created + timedelta(days=3)).isoformat(), "amount": money(total)},
    ))


def add_measure_reports(story: Story, contacts: dict[str, dict[int, list[date]]]) -> None:
    population = f"{TERMINOLOGY}/measure-population"
    for team in TEAMS:
        members = [m for m in CMP_MEMBERS if m.team == team.id]
        for week in (WEEKS - 1, WEEKS):
            monday = FIRST_MONDAY + timedelta(weeks=week - 1)
            enrolled = [m for m in members if week in weeks_enrolled(m)]
            meeting_day = monday + timedelta(days=team.meeting_weekday)
            counts = {"cmp-weekly-contact": sum(1 for m in enrolled if contacts[m.id].get(week)),
                      "cmp-team-meeting": sum(1 for m in enrolled
                                              if f"Encounter/tm-{m.id}-{meeting_day:%Y%m%d}" in story.resources)}
            for measure, numerator in counts.items():
                score = Decimal(numerator) / Decimal(len(enrolled)) if enrolled else Decimal(0)
                story.add("cmp-measure-report", resource(
                    "MeasureReport", f"mr-{measure}-{team.id}-w{week}", status="complete", type="summary",
                    measure=f"{CANONICAL}/Measure/{measure}",
                    date=(monday + timedelta(days=7)).isoformat(),
                    reporter=ref("Organization", team.id, team.name),
                    period={"start": monday.isoformat(), "end": (monday + timedelta(days=6)).isoformat()},
                    group=[{"population": [
                        {"code": concept(population, "initial-population", "Initial Population"),
                         "count": len(enrolled)},
                        {"code": concept(population, "denominator", "Denominator"), "count": len(enrolled)},
                        {"code": concept(population, "numerator", "Numerator"), "count": numerator},
                    ], "measureScore": {"value": score.quantize(Decimal("0.01"))}}],
                ))


def add_team_panels(story: Story) -> None:
    """Each team's panel (cmp-team-panel): the patients of the team's active enrollments, from the story's
    EpisodeOfCare resources, each from the start of the enrollment."""
    for team in TEAMS:
        team_ref = f"Organization/{team.id}"
        enrollments = [r for r in story.resources.values() if r["resourceType"] == "EpisodeOfCare"
                       and r["status"] == "active" and r["managingOrganization"]["reference"] == team_ref]
        story.add("cmp-team-panel", resource(
            "Group", f"panel-{team.id}", type="person", actual=True,
            code=concept(f"{CS}/cmp-program", "cmp", PROGRAM_NAMES["cmp"]),
            name=f"{team.name} CMP panel", managingEntity=ref("Organization", team.id, team.name),
            quantity=len(enrollments),
            member=[{"entity": ref("Patient", e["patient"]["reference"].split("/")[1], e["patient"].get("display")),
                     "period": {"start": e["period"]["start"]}} for e in enrollments],
        ))


def add_cmp(story: Story) -> None:
    contacts: dict[str, dict[int, list[date]]] = {}
    for member in CMP_MEMBERS:
        add_patient(story, member)
        add_coverage(story, f"cov-{member.id}", member, "mt-medicaid", "cmp", "2025-01-01")
        add_eligibility(story, member)
        add_enrollment(story, member)
        add_treatment_plan(story, member)
    for member in CMP_MEMBERS:
        contacts[member.id] = add_contacts_and_meetings(story, member)
        add_claims(story, member, contacts[member.id])
    add_measure_reports(story, contacts)
    add_team_panels(story)


# --- New York shared plans of care --------------------------------------------------------------------------

@dataclass(frozen=True)
class SharedPlan:
    member: Member
    program: str
    """mltcp | map"""
    plan: str
    health_home: str
    plan_manager: str
    home_manager: str
    lead: str
    """mltc-plan | health-home"""
    basis: str
    basis_text: str
    start: str
    plan_member_id: str
    services: tuple[tuple[str, str | None, str, str, str], ...]
    """(slug, HCPCS code or None, text, coordinator, plan coverage)."""


SHARED_PLANS = (
    SharedPlan(
        Member("m-101", "Esther", "Rosenbaum", "female", "1948-05-22", "AB12345C", "Poughkeepsie"),
        "mltcp", "mltcp-hudson", "hh-bronx", "chen", "alvarez", "mltc-plan", "long-term-care",
        "Daily personal care and adult day health are her main needs; the plan's care manager leads.",
        "2025-11-01", "HV-778201",
        (("personal-care", "T1019", "Personal care services", "mltc-plan", "in-plan"),
         ("adult-day-health", "S5102", "Adult day health care", "mltc-plan", "in-plan"),
         ("outpatient-therapy", "H0004", "Outpatient behavioral health counseling", "health-home", "out-of-plan"),
         ("housing-support", None, "Help with a supportive housing application", "health-home", "out-of-plan")),
    ),
    SharedPlan(
        Member("m-102", "Luis", "Carrasco", "male", "1956-10-08", "CD67890E", "Albany"),
        "map", "map-empire", "hh-capital", "goldberg", "okonkwo", "health-home", "behavioral-health",
        "Serious mental illness drives his needs; the Health Home care manager leads the single plan.",
        "2025-12-01", "EAP-440912",
        (("home-care", "T1019", "Personal care services", "mltc-plan", "in-plan"),
         ("outpatient-therapy", "H0004", "Outpatient behavioral health counseling", "health-home", "in-plan"),
         ("peer-support", "H0038", "Peer support services", "health-home", "in-plan"),
         ("housing-support", None, "Help with a supportive housing application", "health-home", "out-of-plan")),
    ),
)
SERVICE_RESPONSIBILITY = {"mltc-plan": "MLTC plan", "health-home": "Health Home"}
PLAN_COVERAGE = {"in-plan": "In-plan", "out-of-plan": "Out-of-plan"}
LEAD_BASIS = {"long-term-care": "Long term care needs", "behavioral-health": "Behavioral health needs"}


def add_shared_plan(story: Story, shared: SharedPlan) -> None:
    member = shared.member
    add_patient(story, member)
    medicaid_coverage, plan_coverage = f"cov-{member.id}-medicaid", f"cov-{member.id}-{shared.program}"
    add_coverage(story, medicaid_coverage, member, "ny-medicaid", "medicaid-ffs", "2024-01-01")
    add_coverage(story, plan_coverage, member, shared.plan, shared.program, shared.start,
                 member_id=(f"https://{shared.plan}.example.org/member-id", shared.plan_member_id))
    plan_manager, home_manager = person(shared.plan_manager), person(shared.home_manager)
    lead, other = (plan_manager, home_manager) if shared.lead == "mltc-plan" else (home_manager, plan_manager)
    role_system = f"{CS}/cmp-care-team-role"
    case_manager = concept(NUCC, "171M00000X", "Case Manager/Care Coordinator")["coding"][0]
    story.add("shared-care-team", resource(
        "CareTeam", f"sct-{member.id}", status="active",
        category=[concept(LOINC, "LA28865-6", "Longitudinal care-coordination focused care team")],
        name=f"Shared care team of {member.given} {member.family}",
        subject=ref("Patient", member.id), period={"start": shared.start},
        participant=[
            {"extension": [{"url": profile_url("lead-care-manager-basis"),
                            "valueCodeableConcept": concept(f"{CS}/lead-care-manager-basis", shared.basis,
                                                            LEAD_BASIS[shared.basis], shared.basis_text)}],
             "role": [{"coding": [coding(role_system, "lead-care-manager", "Lead care manager"), case_manager]}],
             "member": role_ref(lead), "onBehalfOf": ref("Organization", lead.organization)},
            {"role": [{"coding": [coding(role_system, "care-manager", "Care manager"), case_manager]}],
             "member": role_ref(other), "onBehalfOf": ref("Organization", other.organization)},
        ],
        managingOrganization=[ref("Organization", shared.plan), ref("Organization", shared.health_home)],
    ))
    services = []
    for slug, code, text, coordinator, coverage in shared.services:
        service_id = f"sps-{member.id}-{slug}"
        services.append(service_id)
        story.add("shared-plan-service", resource(
            "ServiceRequest", service_id,
            extension=[{"url": profile_url("service-coordinator"),
                        "valueCodeableConcept": concept(f"{CS}/service-responsibility", coordinator,
                                                        SERVICE_RESPONSIBILITY[coordinator])},
                       {"url": profile_url("service-plan-coverage"),
                        "valueCodeableConcept": concept(f"{CS}/service-plan-coverage", coverage,
                                                        PLAN_COVERAGE[coverage])}],
            status="active", intent="plan",
            code={"coding": [coding(HCPCS, code)], "text": text} if code else {"text": text},
            subject=ref("Patient", member.id),
            occurrencePeriod={"start": shared.start},
            authoredOn=shared.start,
            requester=role_ref(lead),
            performer=[ref("Organization", shared.plan if coordinator == "mltc-plan" else shared.health_home)],
            insurance=[ref("Coverage", plan_coverage if coverage == "in-plan" else medicaid_coverage)],
        ))
    form_id = f"ccf-{member.id}"
    plan_name, home_name = ORGANIZATIONS[shared.plan][0], ORGANIZATIONS[shared.health_home][0]

    def answer(link_id: str, text: str, value: dict) -> dict:
        return {"linkId": link_id, "text": text, "answer": [value]}

    story.add("care-coordination-form", resource(
        "QuestionnaireResponse", form_id,
        questionnaire=f"{CANONICAL}/Questionnaire/care-coordination-form",
        status="completed", subject=ref("Patient", member.id), authored=at(date.fromisoformat(shared.start), 11,
                                                                            zone=EASTERN),
        author=role_ref(lead),
        item=[
            {"linkId": "parties", "text": "MLTC plan and Health Home", "item": [
                answer("mltc-program", "MLTC program", {"valueCoding": coding(f"{CS}/cmp-program", shared.program,
                                                                              PROGRAM_NAMES[shared.program])}),
                answer("mltc-plan", "MLTC plan (MLTCP or MAP)", {"valueString": plan_name}),
                answer("health-home", "Health Home", {"valueString": home_name}),
            ]},
            {"linkId": "lead", "text": "Lead care manager", "item": [
                answer("lead-care-manager", "Lead care manager (name)",
                       {"valueString": f"{lead.given} {lead.family}"}),
                answer("lead-organization", "The lead care manager works for",
                       {"valueCoding": coding(f"{CS}/service-responsibility", shared.lead,
                                              SERVICE_RESPONSIBILITY[shared.lead])}),
                answer("lead-basis", "The member's primary needs on which both parties based the choice",
                       {"valueCoding": coding(f"{CS}/lead-care-manager-basis", shared.basis,
                                              LEAD_BASIS[shared.basis])}),
                answer("lead-basis-note", "How the choice was made", {"valueString": shared.basis_text}),
                answer("lead-agreed-on", "Date both parties agreed on the lead care manager",
                       {"valueDate": shared.start}),
            ]},
            *[{"linkId": "services", "text": "Services on the plan of care and who coordinates them", "item": [
                answer("service", "Service", {"valueString": text}),
                answer("service-coordinator", "Coordinated by",
                       {"valueCoding": coding(f"{CS}/service-responsibility", coordinator,
                                              SERVICE_RESPONSIBILITY[coordinator])}),
                answer("service-plan-coverage", "In-plan or out-of-plan",
                       {"valueCoding": coding(f"{CS}/service-plan-coverage", coverage, PLAN_COVERAGE[coverage])}),
            ]} for _, _, text, coordinator, coverage in shared.services],
            {"linkId": "liaisons", "text": "Liaisons and coordination meetings", "item": [
                answer("plan-liaison", "MLTC plan liaison",
                       {"valueString": f"{plan_manager.given} {plan_manager.family}"}),
                answer("health-home-liaison", "Health Home liaison",
                       {"valueString": f"{home_manager.given} {home_manager.family}"}),
                answer("meeting-frequency", "How often the liaisons meet", {"valueString": "Monthly"}),
            ]},
        ],
    ))
    story.add("shared-care-plan", resource(
        "CarePlan", f"scp-{member.id}",
        extension=[{"url": profile_url("custodian"), "valueReference": role_ref(lead)}],
        text=narrative(f"Shared plan of care of {member.given} {member.family}: {plan_name} "
                       f"({PROGRAM_NAMES[shared.program]}) and {home_name}.",
                       f"Lead care manager: {lead.given} {lead.family} ({SERVICE_RESPONSIBILITY[shared.lead]}).",
                       "Services: " + "; ".join(f"{text} ({SERVICE_RESPONSIBILITY[coordinator]}, {coverage})"
                                                for _, _, text, coordinator, coverage in shared.services) + "."),
        status="active", intent="plan",
        category=[concept(US_CORE_CAREPLAN_CATEGORY, "assess-plan", "Assessment and Plan of Treatment"),
                  concept(f"{CS}/cmp-careplan-category", "shared-care-plan", "Shared plan of care"),
                  concept(f"{CS}/cmp-program", shared.program, PROGRAM_NAMES[shared.program])],
        title="Shared plan of care",
        subject=ref("Patient", member.id, f"{member.given} {member.family}"),
        period={"start": shared.start}, created=shared.start,
        contributor=[ref("Organization", shared.plan, plan_name), ref("Organization", shared.health_home, home_name),
                     role_ref(plan_manager), role_ref(home_manager)],
        careTeam=[ref("CareTeam", f"sct-{member.id}")],
        supportingInfo=[ref("QuestionnaireResponse", form_id)],
        activity=[{"reference": ref("ServiceRequest", service_id)} for service_id in services],
    ))


# --- PCCM / PCMH --------------------------------------------------------------------------------------------

PCCM_MEMBERS = (
    (Member("m-201", "Keisha", "Freeman", "female", "1989-02-14", "CT300400501", "New Haven"), "santos"),
    (Member("m-202", "Walter", "Nowak", "male", "1958-07-30", "CT300400502", "New Haven"), "murphy"),
)
PMPM_RATE = "8.50"
FEE_MONTHS = ((2026, 1), (2026, 2), (2026, 3))


def add_pccm(story: Story) -> None:
    for member, pcp in PCCM_MEMBERS:
        doctor = person(pcp)
        add_patient(story, member, "pccm-member", generalPractitioner=[role_ref(doctor)])
        add_coverage(story, f"cov-{member.id}", member, "ct-medicaid", "pccm", "2025-07-01")
        for year, month in FEE_MONTHS:
            first = date(year, month, 1)
            last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
            claim_id = f"fee-{member.id}-{first:%Y-%m}"
            story.add("care-management-fee-claim", resource(
                "Claim", claim_id, status="active",
                type=concept(f"{TERMINOLOGY}/claim-type", "professional", "Professional"),
                use="claim", patient=ref("Patient", member.id),
                billablePeriod={"start": first.isoformat(), "end": last.isoformat()},
                created=(last + timedelta(days=5)).isoformat(),
                insurer=ref("Organization", "ct-medicaid"),
                provider=role_ref(doctor),
                priority=concept(f"{TERMINOLOGY}/processpriority", "normal", "Normal"),
                insurance=[{"sequence": 1, "focal": True, "coverage": ref("Coverage", f"cov-{member.id}")}],
                item=[{"sequence": 1,
                       "productOrService": concept(HCPCS, "G9002", "Coordinated care fee, maintenance rate"),
                       "servicedPeriod": {"start": first.isoformat(), "end": last.isoformat()},
                       "quantity": {"value": 1, "unit": "month", "system": UCUM, "code": "mo"},
                       "unitPrice": money(PMPM_RATE), "net": money(PMPM_RATE)}],
                total=money(PMPM_RATE),
            ))
            add_claim_response(story, f"clr-{member.id}-{first:%Y-%m}", claim_id, member.id, "ct-medicaid",
                               role_ref(doctor), [(1, PMPM_RATE)], last + timedelta(days=15))


def build_valid() -> Story:
    story = Story()
    add_organizations(story)
    add_staff(story)
    add_cmp(story)
    for shared in SHARED_PLANS:
        add_shared_plan(story, shared)
    add_pccm(story)
    return story


# --- invalid variants ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Breach:
    """One invalid example: a valid resource with one change that breaks one constraint of ``profile``."""

    source: str
    """``Type/id`` of the valid resource it starts from."""
    profile: str
    expectation: str
    """The constraint key, or the ElementDefinition id in the profile, that the change breaks."""
    why: str
    change: Callable[[dict], None]


def drop(*path: str) -> Callable[[dict], None]:
    """Remove ``path`` (keys, or list indexes as ints in strings) from the resource."""
    def change(resource: dict) -> None:
        target = resource
        for step in path[:-1]:
            target = target[int(step)] if isinstance(target, list) else target[step]
        if isinstance(target, list):
            del target[int(path[-1])]
        else:
            del target[path[-1]]
    return change


def put(path: tuple[str, ...], value: object) -> Callable[[dict], None]:
    def change(resource: dict) -> None:
        target = resource
        for step in path[:-1]:
            target = target[int(step)] if isinstance(target, list) else target[step]
        if isinstance(target, list):
            target[int(path[-1])] = copy.deepcopy(value)
        else:
            target[path[-1]] = copy.deepcopy(value)
    return change


def apply(*changes: Callable[[dict], None]) -> Callable[[dict], None]:
    def change(resource: dict) -> None:
        for one in changes:
            one(resource)
    return change


def swap_extension(url_tail: str, replacement: dict) -> Callable[[dict], None]:
    """Replace an extension by another (standard) one, so that only the wanted slice goes missing and the
    number of extensions stays what the profile's minimum asks."""
    def change(resource: dict) -> None:
        resource["extension"] = [copy.deepcopy(replacement) if e["url"].endswith("/" + url_tail) else e
                                 for e in resource["extension"]]
    return change


def component(code: str, key: str, value: object) -> Callable[[dict], None]:
    def change(resource: dict) -> None:
        for part in resource["component"]:
            if _code_of(part) == code:
                part[key] = copy.deepcopy(value)
    return change


def _code_of(part: dict) -> str | None:
    return next((c.get("code") for c in part["code"].get("coding", [])), None)


def swap_component(code: str, replacement: dict) -> Callable[[dict], None]:
    def change(resource: dict) -> None:
        resource["component"] = [copy.deepcopy(replacement) if _code_of(c) == code else c
                                 for c in resource["component"]]
    return change


def add_fourth_item(resource: dict) -> None:
    member = next(m for m in CMP_MEMBERS if m.id == FOUR_CONTACT_WEEK[0])
    fourth = contact_days(member, FOUR_CONTACT_WEEK[1])[3]
    item = copy.deepcopy(resource["item"][0])
    item.update(sequence=4, servicedDate=fourth.isoformat(), encounter=[ref("Encounter", contact_id(member, fourth))])
    resource["item"].append(item)


def first_claim_with(items: int) -> str:
    for member in CMP_MEMBERS:
        for week in weeks_enrolled(member):
            if len(contact_days(member, week)[:3]) == items:
                return f"Claim/clm-{member.id}-w{week}"
    raise ValueError(f"no claim with {items} items")


SDMI = "Observation/sdmi-m-001"
CORE_EXTENSION = "http://hl7.org/fhir/StructureDefinition"
SNOMED_CARE_PLAN = concept("http://snomed.info/sct", "734163000", "Care plan")
PERTAINS_TO_GOAL = {"url": f"{CORE_EXTENSION}/resource-pertainsToGoal", "valueReference": {"display": "Stay housed"}}
LEAD_ROLE = {"coding": [coding(f"{CS}/cmp-care-team-role", "lead-care-manager", "Lead care manager")]}
OTHER_ROLE = {"coding": [coding(f"{CS}/cmp-care-team-role", "care-manager", "Care manager")]}


def breaches() -> list[Breach]:
    """The invalid examples: at least three per profile, each breaking one stated constraint."""
    two_items, three_items = first_claim_with(2), first_claim_with(3)
    four_week = f"Claim/clm-{FOUR_CONTACT_WEEK[0]}-w{FOUR_CONTACT_WEEK[1]}"
    qc = "Encounter/qc-m-001-" + contact_days(CMP_MEMBERS[0], 1)[0].strftime("%Y%m%d")
    tm = f"Encounter/tm-m-001-{FIRST_MONDAY + timedelta(days=TEAMS[0].meeting_weekday):%Y%m%d}"
    loi_level = f"{CS}/loi-level"
    associated_meeting = {"url": f"{CORE_EXTENSION}/encounter-associatedEncounter",
                          "valueReference": ref("Encounter", tm.split("/", 1)[1])}
    return [
        # cmp-member
        Breach("Patient/m-001", "cmp-member", "Patient.identifier:medicaidId", "no Medicaid member id",
               drop("identifier", "0")),
        Breach("Patient/m-001", "cmp-member", "Patient.identifier:medicaidId.system",
               "the Medicaid id has another system", put(("identifier", "0", "system"), "https://example.org/other-state/medicaid-id")),
        Breach("Patient/m-001", "cmp-member", "Patient.birthDate", "no birth date", drop("birthDate")),
        Breach("Patient/m-001", "cmp-member", "Patient.gender", "no gender", drop("gender")),
        Breach("Patient/m-001", "cmp-member", "cmp-name-1", "a name with neither family nor given name",
               put(("name",), [{"use": "official", "text": "Ruth Halvorsen"}])),
        # pccm-member
        Breach("Patient/m-201", "pccm-member", "Patient.generalPractitioner", "no primary care provider",
               drop("generalPractitioner")),
        Breach("Patient/m-201", "pccm-member", "Patient.generalPractitioner", "two primary care providers",
               put(("generalPractitioner",), [role_ref(person("santos")), role_ref(person("murphy"))])),
        Breach("Patient/m-201", "pccm-member", "Patient.identifier:medicaidId", "no Medicaid member id",
               drop("identifier", "0")),
        # cmp-team-panel
        Breach("Group/panel-pact-billings", "cmp-team-panel", "Group.managingEntity", "no team",
               drop("managingEntity")),
        Breach("Group/panel-pact-billings", "cmp-team-panel", "Group.member.period", "a member without a period",
               drop("member", "0", "period")),
        Breach("Group/panel-pact-billings", "cmp-team-panel", "Group.member.inactive",
               "a former member kept as inactive instead of removed", put(("member", "0", "inactive"), True)),
        Breach("Group/panel-pact-billings", "cmp-team-panel", "cmp-panel-1", "quantity is not the number of members",
               put(("quantity",), 99)),
        # cmp-coverage
        Breach("Coverage/cov-m-001", "cmp-coverage", "Coverage.identifier:memberId",
               "the member id is typed subscriber number, not member number",
               put(("identifier", "0", "type"), concept(V2_0203, "SN", "Subscriber Number"))),
        Breach("Coverage/cov-m-001", "cmp-coverage", "Coverage.relationship", "no relationship",
               drop("relationship")),
        Breach("Coverage/cov-m-001", "cmp-coverage", "Coverage.payor", "two payors",
               put(("payor",), [ref("Organization", "mt-medicaid"), ref("Organization", "ny-medicaid")])),
        Breach("Coverage/cov-m-001", "cmp-coverage", "Coverage.class:program", "the class is a group, not the plan",
               put(("class", "0", "type"), concept(f"{TERMINOLOGY}/coverage-class", "group", "Group"))),
        Breach("Coverage/cov-m-001", "cmp-coverage", "Coverage.period.start", "the period has no start",
               put(("period",), {"end": "2026-12-31"})),
        # cmp-enrollment
        Breach("EpisodeOfCare/enr-m-001", "cmp-enrollment", "EpisodeOfCare.type:program", "typed PCCM, not CMP",
               put(("type", "0"), concept(f"{CS}/cmp-program", "pccm", PROGRAM_NAMES["pccm"]))),
        Breach("EpisodeOfCare/enr-m-001", "cmp-enrollment", "EpisodeOfCare.managingOrganization", "no team",
               drop("managingOrganization")),
        Breach("EpisodeOfCare/enr-m-001", "cmp-enrollment", "EpisodeOfCare.period.start", "the period has no start",
               put(("period",), {"end": "2026-12-31"})),
        Breach("EpisodeOfCare/enr-m-001", "cmp-enrollment", "EpisodeOfCare.team", "no care team", drop("team")),
        Breach("EpisodeOfCare/enr-m-001", "cmp-enrollment", "EpisodeOfCare.extension:eligibility",
               "no eligibility determination (another extension in its place)",
               swap_extension("eligibility-determination", PERTAINS_TO_GOAL)),
        # cmp-team-organization
        Breach("Organization/pact-billings", "cmp-team-organization", "Organization.type:teamType", "no team type",
               drop("type", "1")),
        Breach("Organization/pact-billings", "cmp-team-organization", "Organization.type:teamType",
               "a team type outside cmp-team-type", put(("type", "1"), concept(f"{CS}/cmp-team-type", "act-large"))),
        Breach("Organization/pact-billings", "cmp-team-organization", "Organization.extension:cmpApproval",
               "no CMP approval: the approval period given with organization-period instead",
               swap_extension("cmp-approval", {"url": f"{CORE_EXTENSION}/organization-period",
                                               "valuePeriod": {"start": "2024-07-01"}})),
        Breach("Organization/pact-billings", "cmp-team-organization", "Organization.identifier:npi", "no NPI",
               drop("identifier", "0")),
        # cmp-organization
        Breach("Organization/mt-medicaid", "cmp-organization", "Organization.active", "active missing",
               drop("active")),
        Breach("Organization/mt-medicaid", "cmp-organization", "Organization.name", "no name", drop("name")),
        Breach("Organization/mt-medicaid", "cmp-organization", "Organization.type", "no type", drop("type")),
        # cmp-practitioner
        Breach("Practitioner/p-okafor", "cmp-practitioner", "Practitioner.identifier:npi", "no NPI",
               drop("identifier", "0")),
        Breach("Practitioner/p-okafor", "cmp-practitioner", "Practitioner.name.family", "no family name",
               drop("name", "0", "family")),
        Breach("Practitioner/p-okafor", "cmp-practitioner", "Practitioner.name", "no name", drop("name")),
        # cmp-practitioner-role
        Breach("PractitionerRole/pr-okafor", "cmp-practitioner-role", "PractitionerRole.telecom", "no telecom",
               drop("telecom")),
        Breach("PractitionerRole/pr-okafor", "cmp-practitioner-role", "PractitionerRole.organization",
               "no organization", drop("organization")),
        Breach("PractitionerRole/pr-okafor", "cmp-practitioner-role", "PractitionerRole.code", "no role code",
               drop("code")),
        Breach("PractitionerRole/pr-okafor", "cmp-practitioner-role", "PractitionerRole.practitioner",
               "no practitioner", drop("practitioner")),
        # cmp-team
        Breach("CareTeam/team-m-001", "cmp-team", "CareTeam.subject", "no member", drop("subject")),
        Breach("CareTeam/team-m-001", "cmp-team", "CareTeam.managingOrganization", "no team organization",
               drop("managingOrganization")),
        Breach("CareTeam/team-m-001", "cmp-team", "CareTeam.participant.role", "a participant without role",
               drop("participant", "1", "role")),
        Breach("CareTeam/team-m-001", "cmp-team", "CareTeam.category", "another category",
               put(("category", "0"), concept(LOINC, "LA27976-2", "Encounter-focused care team"))),
        # cmp-sdmi-determination
        Breach(SDMI, "cmp-sdmi-determination", "cmp-elig-1", "medical necessity met although SDMI is not met",
               put(("valueCodeableConcept",), concept(f"{CS}/sdmi-status", "does-not-meet-sdmi",
                                                       "Does not meet SDMI criteria"))),
        Breach(SDMI, "cmp-sdmi-determination", "cmp-elig-2", "medical necessity met although a danger",
               component("danger-to-self-or-others", "valueBoolean", True)),
        Breach(SDMI, "cmp-sdmi-determination", "cmp-elig-3",
               "medical necessity met with only mild impairment in Area 3 and Area 4",
               apply(component("area-3", "valueCodeableConcept", concept(loi_level, "mild", "Mild")),
                     component("area-4", "valueCodeableConcept", concept(loi_level, "mild", "Mild")))),
        Breach(SDMI, "cmp-sdmi-determination", "cmp-elig-4", "medical necessity met although not willing",
               component("able-and-willing-to-engage", "valueBoolean", False)),
        Breach(SDMI, "cmp-sdmi-determination", "Observation.component:ableAndWilling",
               "no coded finding on willingness, only a note (and no medical necessity concluded)",
               apply(swap_component("able-and-willing-to-engage",
                                    {"code": {"text": "Engagement"}, "valueString": "Discussed with the member"}),
                     component("cmp-medical-necessity", "valueBoolean", False))),
        Breach(SDMI, "cmp-sdmi-determination", "Observation.value[x]",
               "an SDMI status outside sdmi-status (and no medical necessity concluded)",
               apply(put(("valueCodeableConcept",), concept(f"{CS}/sdmi-status", "pending")),
                     component("cmp-medical-necessity", "valueBoolean", False))),
        # cmp-loi-rating
        Breach("Observation/loi-m-001-area-3", "cmp-loi-rating", "Observation.value[x]",
               "a level outside loi-level", put(("valueCodeableConcept",), concept(loi_level, "high"))),
        Breach("Observation/loi-m-001-area-3", "cmp-loi-rating", "Observation.code", "an area outside loi-area",
               put(("code",), concept(f"{CS}/loi-area", "area-9"))),
        Breach("Observation/loi-m-001-area-3", "cmp-loi-rating", "Observation.category:survey",
               "categorised exam, not survey",
               put(("category", "0"), concept(f"{TERMINOLOGY}/observation-category", "exam", "Exam"))),
        Breach("Observation/loi-m-001-area-3", "cmp-loi-rating", "Observation.effective[x]", "no date",
               drop("effectiveDateTime")),
        # cmp-treatment-plan
        Breach("CarePlan/itp-m-001", "cmp-treatment-plan", "CarePlan.activity.detail.code",
               "an activity that is not a CMP core service component",
               put(("activity", "0", "detail", "code"), concept(f"{CS}/cmp-service-component", "yoga"))),
        Breach("CarePlan/itp-m-001", "cmp-treatment-plan", "CarePlan.category:itp",
               "categorised with SNOMED CT 'care plan' instead of ITP", put(("category", "1"), SNOMED_CARE_PLAN)),
        Breach("CarePlan/itp-m-001", "cmp-treatment-plan", "CarePlan.category:assessPlan",
               "categorised with SNOMED CT 'care plan' instead of assess-plan",
               put(("category", "0"), SNOMED_CARE_PLAN)),
        Breach("CarePlan/itp-m-001", "cmp-treatment-plan", "CarePlan.intent", "intent order, not plan",
               put(("intent",), "order")),
        Breach("CarePlan/itp-m-001", "cmp-treatment-plan", "CarePlan.text", "no narrative", drop("text")),
        Breach("CarePlan/itp-m-001", "cmp-treatment-plan", "CarePlan.activity", "no activity", drop("activity")),
        # cmp-quality-contact
        Breach(qc, "cmp-quality-contact", "Encounter.class", "a home-health visit, neither AMB nor VR",
               put(("class",), coding(V3_ACT, "HH", "home health"))),
        Breach(qc, "cmp-quality-contact", "Encounter.extension:purpose",
               "no purpose (an associated-encounter extension in its place)",
               lambda r: r.update(extension=[associated_meeting, *(e for e in r["extension"]
                                                                  if "quality-contact-purpose" not in e["url"])])),
        Breach(qc, "cmp-quality-contact", "Encounter.extension:purpose", "a purpose outside quality-contact-purpose",
               put(("extension", "0", "valueCodeableConcept"), concept(f"{CS}/quality-contact-purpose", "billing"))),
        Breach(qc, "cmp-quality-contact", "Encounter.extension:treatmentPlan",
               "not linked to the ITP (an associated-encounter extension in its place)",
               swap_extension("based-on-care-plan", associated_meeting)),
        Breach(qc, "cmp-quality-contact", "Encounter.episodeOfCare", "no enrollment", drop("episodeOfCare")),
        Breach(qc, "cmp-quality-contact", "Encounter.participant", "no team member", drop("participant")),
        Breach(qc, "cmp-quality-contact", "Encounter.period.start", "the period has no start",
               drop("period", "start")),
        Breach(qc, "cmp-quality-contact", "Encounter.type:contactType", "typed team meeting, not quality contact",
               put(("type", "0"), concept(f"{CS}/cmp-encounter-type", "team-meeting", "CMP team meeting review"))),
        # cmp-team-meeting
        Breach(tm, "cmp-team-meeting", "Encounter.participant", "one team member only",
               lambda r: r.update(participant=r["participant"][:1])),
        Breach(tm, "cmp-team-meeting", "Encounter.subject", "no member reviewed", drop("subject")),
        Breach(tm, "cmp-team-meeting", "Encounter.type:meetingType", "typed quality contact, not team meeting",
               put(("type", "0"), concept(f"{CS}/cmp-encounter-type", "quality-contact", "CMP quality contact"))),
        Breach(tm, "cmp-team-meeting", "Encounter.episodeOfCare", "no enrollment", drop("episodeOfCare")),
        # cmp-claim
        Breach(two_items, "cmp-claim", "cmp-bill-1", "a day billed above the daily rate",
               lambda r: r["item"][1].update(net=money(str(r["item"][1]["unitPrice"]["value"] * 2)))),
        Breach(two_items, "cmp-claim", "cmp-bill-2", "a billable period of ten days",
               lambda r: r["billablePeriod"].update(
                   end=(date.fromisoformat(r["billablePeriod"]["start"]) + timedelta(days=9)).isoformat())),
        Breach(two_items, "cmp-claim", "cmp-bill-2-days", "the same day billed twice",
               lambda r: r["item"][1].update(servicedDate=r["item"][0]["servicedDate"])),
        Breach(two_items, "cmp-claim", "cmp-bill-2-in-period", "a day outside the billable period",
               lambda r: r["item"][1].update(
                   servicedDate=(date.fromisoformat(r["billablePeriod"]["end"]) + timedelta(days=1)).isoformat())),
        Breach(four_week, "cmp-claim", "Claim.item", "four billable days in one week", add_fourth_item),
        Breach(three_items, "cmp-claim", "cmp-bill-4", "a prior authorization reference",
               lambda r: r["insurance"][0].update(preAuthRef=["PA-2026-0042"])),
        Breach(three_items, "cmp-claim", "Claim.item.productOrService", "a code outside cmp-billing-code",
               lambda r: [i.update(productOrService=concept(HCPCS, "H2016")) for i in r["item"]]),
        Breach(three_items, "cmp-claim", "Claim.item.detail", "an itemized bundled service",
               lambda r: r["item"][0].update(detail=[{"sequence": 1, "productOrService": concept(HCPCS, "H0040"),
                                                      "net": copy.deepcopy(r["item"][0]["net"])}])),
        Breach(three_items, "cmp-claim", "Claim.item.encounter", "a day without its quality contact",
               lambda r: r["item"][2].pop("encounter")),
        Breach(three_items, "cmp-claim", "Claim.item.quantity.value", "two days on one line",
               lambda r: r["item"][0]["quantity"].update(value=2)),
        # cmp-claim-response
        Breach("ClaimResponse/clr-m-001-w1", "cmp-claim-response", "ClaimResponse.request", "no claim",
               drop("request")),
        Breach("ClaimResponse/clr-m-001-w1", "cmp-claim-response", "ClaimResponse.item", "no item adjudicated",
               drop("item")),
        Breach("ClaimResponse/clr-m-001-w1", "cmp-claim-response", "ClaimResponse.requestor", "no requestor",
               drop("requestor")),
        Breach(f"ClaimResponse/clr-{two_items.split('/clm-')[1]}", "cmp-claim-response", "cmp-cr-1",
               "one item adjudicated twice", lambda r: r["item"][1].update(itemSequence=1)),
        # care-management-fee-claim
        Breach("Claim/fee-m-201-2026-01", "care-management-fee-claim", "pcmh-1", "a period across two months",
               put(("billablePeriod",), {"start": "2026-01-15", "end": "2026-02-14"})),
        Breach("Claim/fee-m-201-2026-01", "care-management-fee-claim", "pccm-2", "the fee billed as a visit",
               lambda r: r["item"][0].update(encounter=[ref("Encounter", "visit-m-201-20260112")])),
        Breach("Claim/fee-m-201-2026-01", "care-management-fee-claim", "Claim.item", "two fees in one claim",
               lambda r: r["item"].append({**copy.deepcopy(r["item"][0]), "sequence": 2})),
        Breach("Claim/fee-m-201-2026-01", "care-management-fee-claim", "Claim.item.quantity.code",
               "billed per day, not per month", lambda r: r["item"][0]["quantity"].update(unit="day", code="d")),
        Breach("Claim/fee-m-201-2026-01", "care-management-fee-claim", "Claim.item.productOrService",
               "a code outside care-management-fee-code",
               put(("item", "0", "productOrService"), concept(HCPCS, "H0040"))),
        # shared-care-plan
        Breach("CarePlan/scp-m-101", "shared-care-plan", "scp-1", "only the MLTC plan contributes as organization",
               lambda r: r.update(contributor=[c for c in r["contributor"]
                                               if c["reference"] != "Organization/hh-bronx"])),
        Breach("CarePlan/scp-m-101", "shared-care-plan", "CarePlan.extension:custodian",
               "no lead care manager as custodian (another extension in its place)",
               swap_extension("custodian", PERTAINS_TO_GOAL)),
        Breach("CarePlan/scp-m-101", "shared-care-plan", "CarePlan.careTeam", "no shared care team", drop("careTeam")),
        Breach("CarePlan/scp-m-101", "shared-care-plan", "CarePlan.supportingInfo", "no coordination form",
               drop("supportingInfo")),
        Breach("CarePlan/scp-m-101", "shared-care-plan", "CarePlan.category:mltcProgram",
               "the MLTC program given as text only", put(("category", "2"), {"text": "MLTC partial capitation"})),
        Breach("CarePlan/scp-m-101", "shared-care-plan", "CarePlan.activity.reference",
               "an activity that is not a planned service",
               put(("activity", "0"), {"progress": [{"text": "Discussed at the monthly liaison meeting."}]})),
        # shared-care-team
        Breach("CareTeam/sct-m-101", "shared-care-team", "CareTeam.participant:leadCareManager", "no lead",
               apply(put(("participant", "0", "role", "0"), OTHER_ROLE), drop("participant", "0", "extension"))),
        Breach("CareTeam/sct-m-101", "shared-care-team", "scp-2-basis", "a lead-choice basis on a care manager who "
               "does not lead", lambda r: r["participant"][1].update(
                   extension=copy.deepcopy(r["participant"][0]["extension"]))),
        Breach("CareTeam/sct-m-101", "shared-care-team", "CareTeam.participant:leadCareManager", "two leads",
               lambda r: r["participant"][1].update(role=[copy.deepcopy(LEAD_ROLE)],
                                                    extension=copy.deepcopy(r["participant"][0]["extension"]))),
        Breach("CareTeam/sct-m-101", "shared-care-team", "CareTeam.participant:leadCareManager.extension:basis",
               "the basis of the choice of lead is recorded as absent",
               put(("participant", "0", "extension"), [{"url": f"{CORE_EXTENSION}/data-absent-reason",
                                                        "valueCode": "unknown"}])),
        Breach("CareTeam/sct-m-101", "shared-care-team", "CareTeam.participant:leadCareManager.onBehalfOf",
               "the lead acts for nobody", drop("participant", "0", "onBehalfOf")),
        Breach("CareTeam/sct-m-101", "shared-care-team", "scp-2", "the lead acts for a third organization",
               put(("participant", "0", "onBehalfOf"), ref("Organization", "ny-medicaid"))),
        Breach("CareTeam/sct-m-101", "shared-care-team", "CareTeam.managingOrganization",
               "managed by the MLTC plan alone",
               lambda r: r.update(managingOrganization=r["managingOrganization"][:1])),
        # shared-plan-service
        Breach("ServiceRequest/sps-m-101-personal-care", "shared-plan-service", "ServiceRequest.extension:coordinator",
               "the coordinator given with procedure-directedBy instead of service-coordinator",
               swap_extension("service-coordinator", {"url": f"{CORE_EXTENSION}/procedure-directedBy",
                                                      "valueCodeableConcept": {"text": "MLTC plan"}})),
        Breach("ServiceRequest/sps-m-101-personal-care", "shared-plan-service", "ServiceRequest.extension:coordinator",
               "both parties coordinate the service",
               lambda r: r["extension"].append({
                   "url": profile_url("service-coordinator"),
                   "valueCodeableConcept": concept(f"{CS}/service-responsibility", "health-home", "Health Home")})),
        Breach("ServiceRequest/sps-m-101-personal-care", "shared-plan-service", "ServiceRequest.extension:planCoverage",
               "in-plan given as a free-text precondition instead of service-plan-coverage",
               swap_extension("service-plan-coverage", {"url": f"{CORE_EXTENSION}/servicerequest-precondition",
                                                        "valueCodeableConcept": {"text": "in-plan"}})),
        Breach("ServiceRequest/sps-m-101-personal-care", "shared-plan-service", "ServiceRequest.insurance",
               "no funding coverage", drop("insurance")),
        Breach("ServiceRequest/sps-m-101-personal-care", "shared-plan-service", "ServiceRequest.intent",
               "intent order, not plan", put(("intent",), "order")),
        # care-coordination-form
        Breach("QuestionnaireResponse/ccf-m-101", "care-coordination-form", "scp-2-form",
               "the basis of the lead choice is not answered", drop("item", "1", "item", "2", "answer")),
        Breach("QuestionnaireResponse/ccf-m-101", "care-coordination-form", "QuestionnaireResponse.questionnaire",
               "answers another questionnaire",
               put(("questionnaire",), "https://example.org/Questionnaire/intake")),
        Breach("QuestionnaireResponse/ccf-m-101", "care-coordination-form", "QuestionnaireResponse.author",
               "no author", drop("author")),
        Breach("QuestionnaireResponse/ccf-m-101", "care-coordination-form", "QuestionnaireResponse.authored",
               "no date", drop("authored")),
        # cmp-measure-report
        Breach("MeasureReport/mr-cmp-weekly-contact-pact-billings-w8", "cmp-measure-report", "cmp-mr-1",
               "a score that does not match the counts",
               put(("group", "0", "measureScore"), {"value": Decimal("0.50")})),
        Breach("MeasureReport/mr-cmp-weekly-contact-pact-billings-w8", "cmp-measure-report", "MeasureReport.reporter",
               "no reporting team", drop("reporter")),
        Breach("MeasureReport/mr-cmp-weekly-contact-pact-billings-w8", "cmp-measure-report",
               "MeasureReport.group.population", "the initial population is missing",
               drop("group", "0", "population", "0")),
        Breach("MeasureReport/mr-cmp-weekly-contact-pact-billings-w8", "cmp-measure-report", "MeasureReport.status",
               "a pending report", put(("status",), "pending")),
    ]


def _slug(text: str) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in text.lower()).split()
    return "-".join(words)


def build_invalid(story: Story) -> dict[str, dict]:
    """``Type/id`` -> invalid resource; ids are ``x-<profile>-<expectation>`` (numbered when repeated)."""
    invalid: dict[str, dict] = {}
    for breach in breaches():
        variant = copy.deepcopy(story.get(breach.source))
        breach.change(variant)
        base_id = f"x-{breach.profile}-{_slug(breach.expectation)}"[:60]
        resource_id, number = base_id, 1
        while f"{variant['resourceType']}/{resource_id}" in invalid:
            number += 1
            resource_id = f"{base_id}-{number}"
        variant["id"] = resource_id
        variant["meta"] = {"profile": [profile_url(breach.profile)], "tag": [
            {"system": EXPECTATION_SYSTEM, "code": breach.expectation, "display": breach.why}]}
        invalid[f"{variant['resourceType']}/{resource_id}"] = variant
    return invalid


# --- output -------------------------------------------------------------------------------------------------

def dumps(value: object) -> str:
    return simplejson.dumps(value, indent=2, ensure_ascii=False, use_decimal=True) + "\n"


def outputs() -> dict[Path, str]:
    story = build_valid()
    files = {OUT / "valid" / f"{key.replace('/', '-')}.json": dumps(body) for key, body in story.resources.items()}
    files.update({OUT / "invalid" / f"{key.replace('/', '-')}.json": dumps(body)
                  for key, body in build_invalid(story).items()})
    return files


def existing() -> set[Path]:
    return {path for folder in ("valid", "invalid") for path in (OUT / folder).glob("*.json")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed examples are stale")
    args = parser.parse_args(argv)
    files = outputs()
    stale = sorted(p for p, text in files.items() if not p.is_file() or p.read_text(encoding="utf-8") != text)
    extra = sorted(existing() - set(files))
    if args.check:
        for path in [*stale, *extra]:
            print(f"make_examples: {path.relative_to(REPO)} is stale", file=sys.stderr)
        return 1 if stale or extra else 0
    for path in extra:
        path.unlink()
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path], encoding="utf-8")
    valid = sum(1 for p in files if p.parent.name == "valid")
    print(f"make_examples: {valid} valid and {len(files) - valid} invalid examples "
          f"({len(stale)} written, {len(extra)} removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
