"""Team records <-> team Organization, staff Practitioners and PractitionerRoles.

A team record is a PACT or MCT team (CMP-TEAM-1) with its type and size (``team-type`` ConceptMap: PACT
small/medium/large, MCT), the department's approval date, its provider numbers (NPI, Medicaid provider id,
tax id) and contact details, and its staff with their local roles (``staff-role`` ConceptMap -> NUCC taxonomy).

Resources and ids: ``Organization/{team_id}`` (``cmp-team-organization``), ``Practitioner/p-{staff_id}``
and ``PractitionerRole/pr-{staff_id}`` per staff member.
"""

from __future__ import annotations

from datetime import date

from pydantic import model_validator

from . import codes
from .common import (
    NPI,
    TERMINOLOGY,
    V2_0203,
    concept,
    full_name,
    identifier,
    identifier_value,
    lossless_from_fhir,
    parse_date,
    profile_url,
    reference,
    reference_id,
    resource,
    strip_prefix,
)
from .grouping import Anchor, Companion, RecordShape, Referenced, Referencing
from .records import Key, LocalCode, Record, Text, unique

KIND = "team"
PROVIDER_ID_SYSTEM = "https://dphhs.mt.gov/medicaid-provider-id"
LICENSE_SYSTEM = "https://example.org/state-license"
EIN_SYSTEM = "urn:oid:2.16.840.1.113883.4.4"
"""The IRS employer identification number (a US tax id), as US Core names it."""
PROVIDER = concept(f"{TERMINOLOGY}/organization-type", "prov", "Healthcare Provider")


class Staff(Record):
    staff_id: Key
    given: Text
    family: Text
    prefix: Text | None = None
    role: LocalCode
    """Local staff role (``staff-role`` ConceptMap)."""
    npi: Text
    license: Text | None = None
    phone: Text
    """Work phone (PractitionerRole.telecom is required, as in US Core)."""


class TeamRecord(Record):
    team_id: Key
    name: Text
    team_type: LocalCode
    """Local team type (``team-type`` ConceptMap: PACT-S, PACT-M, PACT-L, MCT)."""
    approved_since: date
    npi: Text
    medicaid_provider_id: Text | None = None
    tax_id: Text | None = None
    """The team's employer identification number (EIN): the 837P billing provider's tax id (REF*EI)."""
    phone: Text | None = None
    address_line: Text
    city: Text
    state: Text
    postal_code: Text
    staff: tuple[Staff, ...] = ()

    @model_validator(mode="after")
    def _staff_ids_unique(self) -> TeamRecord:
        unique([s.staff_id for s in self.staff], "staff ids")
        return self


MODEL = TeamRecord
"""The record model of this kind."""

#: Which resources make one record (see ``mappings/grouping.py``).
SHAPE = RecordShape(
    Anchor("Organization", ("cmp-team-organization",)),
    (Companion("PractitionerRole", "cmp-practitioner-role", Referencing("organization")),
     Companion("Practitioner", "cmp-practitioner", Referenced("practitioner", holder="cmp-practitioner-role"))),
)


def to_fhir(record: TeamRecord) -> list[dict]:
    """The team Organization, then a Practitioner and a PractitionerRole per staff member."""
    identifiers = [{"system": NPI, "value": record.npi}]
    if record.medicaid_provider_id is not None:
        identifiers.append(identifier(PROVIDER_ID_SYSTEM, record.medicaid_provider_id, "PRN", "Provider number"))
    if record.tax_id is not None:
        identifiers.append(identifier(EIN_SYSTEM, record.tax_id, "TAX", "Tax ID number"))
    out = [resource(
        "Organization", record.team_id, "cmp-team-organization",
        extension=[{"url": profile_url("cmp-approval"), "valuePeriod": {"start": record.approved_since.isoformat()}}],
        identifier=identifiers, active=True,
        type=[PROVIDER, codes.table("team-type").concept(record.team_type)],
        name=record.name,
        telecom=[{"system": "phone", "value": record.phone, "use": "work"}] if record.phone else None,
        address=[{"line": [record.address_line], "city": record.city, "state": record.state,
                  "postalCode": record.postal_code, "country": "US"}],
    )]
    for person in record.staff:
        out += _staff(record.team_id, person)
    return out


def _staff(team_id: str, person: Staff) -> list[dict]:
    identifiers = [{"system": NPI, "value": person.npi}]
    if person.license is not None:
        identifiers.append({"type": concept(V2_0203, "LN", "License number"), "system": LICENSE_SYSTEM,
                            "value": person.license})
    name: dict = {"family": person.family, "given": [person.given]}
    if person.prefix:
        name["prefix"] = [person.prefix]
    return [
        resource("Practitioner", f"p-{person.staff_id}", "cmp-practitioner", identifier=identifiers, active=True,
                 name=[name]),
        resource("PractitionerRole", f"pr-{person.staff_id}", "cmp-practitioner-role", active=True,
                 practitioner=reference("Practitioner", f"p-{person.staff_id}", full_name(person.given, person.family)),
                 organization=reference("Organization", team_id),
                 code=[codes.table("staff-role").concept(person.role)],
                 telecom=[{"system": "phone", "value": person.phone, "use": "work"}]),
    ]



def _record(resources: list[dict]) -> TeamRecord:
    """The team record of one team Organization with its Practitioners and PractitionerRoles.

    Raises:
        ValueError: not exactly one Organization, or a resource that does not follow our profiles.
        codes.UnmappedCode: a code outside the ConceptMaps.
    """
    organizations = [r for r in resources if r["resourceType"] == "Organization"]
    if len(organizations) != 1:
        raise ValueError(f"a team record needs exactly one Organization, got {len(organizations)}")
    org = organizations[0]
    team_types = codes.table("team-type")
    team_type = next(t for t in org["type"] if t["coding"][0]["system"] == team_types.target_system)
    address = org["address"][0]
    practitioners = {r["id"]: r for r in resources if r["resourceType"] == "Practitioner"}
    phone = next((t["value"] for t in org.get("telecom", []) if t.get("system") == "phone"), None)
    return TeamRecord(
        team_id=org["id"], name=org["name"], team_type=team_types.from_concept(team_type),
        approved_since=parse_date(org["extension"][0]["valuePeriod"]["start"]),
        npi=identifier_value(org["identifier"], NPI),
        medicaid_provider_id=identifier_value(org["identifier"], PROVIDER_ID_SYSTEM),
        tax_id=identifier_value(org["identifier"], EIN_SYSTEM),
        phone=phone,
        address_line=address["line"][0], city=address["city"], state=address["state"],
        postal_code=address["postalCode"],
        staff=tuple(_staff_record(role, practitioners) for role in resources
                    if role["resourceType"] == "PractitionerRole"),
    )


def _staff_record(role: dict, practitioners: dict[str, dict]) -> Staff:
    practitioner = practitioners[reference_id(role["practitioner"], "Practitioner")]
    name = practitioner["name"][0]
    phone = next((t["value"] for t in role.get("telecom", []) if t.get("system") == "phone"), None)
    return Staff(
        staff_id=strip_prefix(practitioner["id"], "p-"), given=name["given"][0], family=name["family"],
        prefix=(name.get("prefix") or [None])[0],
        role=codes.table("staff-role").from_concept(role["code"][0]),
        npi=identifier_value(practitioner["identifier"], NPI),
        license=identifier_value(practitioner["identifier"], LICENSE_SYSTEM),
        phone=phone,
    )


#: FHIR -> record: ``_record`` of the resources, refused unless ``to_fhir`` gives them back exactly.
from_fhir = lossless_from_fhir(_record, to_fhir)
