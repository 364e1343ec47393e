"""Small builders of the resources the measures read: members, CMP enrollments, contacts, meetings,
claims, inpatient stays and follow-up contacts, shaped as the mappings and the IG examples shape them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from adapter.services import resources
from adapter.services.container import Services
from adapter.store.schema import INDEX_TABLES

ENCOUNTER_TYPE = "https://cmp-adapter.org/fhir/CodeSystem/cmp-encounter-type"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PROGRAM = "https://cmp-adapter.org/fhir/CodeSystem/cmp-program"
PCCM_MEMBER = "https://cmp-adapter.org/fhir/StructureDefinition/pccm-member"


def member(res_id: str, *, practitioner_role: str | None = None) -> dict:
    patient: dict = {"resourceType": "Patient", "id": res_id, "name": [{"family": res_id}]}
    if practitioner_role:
        patient["meta"] = {"profile": [PCCM_MEMBER]}
        patient["generalPractitioner"] = [{"reference": f"PractitionerRole/{practitioner_role}"}]
    return patient


def practitioner_role(res_id: str, organization: str) -> dict:
    return {"resourceType": "PractitionerRole", "id": res_id,
            "organization": {"reference": f"Organization/{organization}"}}


def organization(res_id: str) -> dict:
    return {"resourceType": "Organization", "id": res_id, "name": res_id}


def enrollment(res_id: str, patient: str, team: str, start: str, end: str | None = None,
               status: str = "active") -> dict:
    period = {"start": start, **({"end": end} if end else {})}
    return {"resourceType": "EpisodeOfCare", "id": res_id, "status": status,
            "type": [{"coding": [{"system": PROGRAM, "code": "cmp"}]}],
            "patient": {"reference": f"Patient/{patient}"},
            "managingOrganization": {"reference": f"Organization/{team}"}, "period": period}


def encounter(res_id: str, patient: str, start: str, *, kind: str | None = "quality-contact",
              mode: str = "AMB", status: str = "finished", end: str | None = None,
              discharge: str | None = None, team: str | None = None) -> dict:
    resource: dict = {"resourceType": "Encounter", "id": res_id, "status": status,
                      "class": {"system": ACT_CODE, "code": mode},
                      "subject": {"reference": f"Patient/{patient}"},
                      "period": {"start": start, **({"end": end} if end else {})}}
    if kind:
        resource["type"] = [{"coding": [{"system": ENCOUNTER_TYPE, "code": kind}]}]
    if discharge:
        resource["hospitalization"] = {"dischargeDisposition": {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": discharge}]}}
    if team:
        resource["serviceProvider"] = {"reference": f"Organization/{team}"}
    return resource


def meeting(res_id: str, patient: str, start: str, status: str = "finished") -> dict:
    return encounter(res_id, patient, start, kind="team-meeting", mode="VR", status=status)


def claim(res_id: str, patient: str, days: Sequence[str], status: str = "active") -> dict:
    return {"resourceType": "Claim", "id": res_id, "status": status,
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                                 "code": "professional"}]},
            "use": "claim", "patient": {"reference": f"Patient/{patient}"}, "created": days[0],
            "provider": {"reference": "Organization/pact-a"},
            "priority": {"coding": [{"code": "normal"}]},
            "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/c"}}],
            "item": [{"sequence": n + 1, "productOrService": {"coding": [{"code": "H0040"}]}, "servicedDate": day}
                     for n, day in enumerate(days)]}


def store(services: Services, items: Iterable[dict]) -> None:
    """Store resources with their search index rows, in one transaction, as a bulk load of history would:
    without profile validation or the write-time rules, so a scenario can hold what the rules now refuse
    (a fourth billed day, a claim without a contact) and the measures must still report."""
    with services.store.begin() as conn:
        for resource in items:
            services.store.update(conn, resource["resourceType"], resource["id"], resource)


def delete(services: Services, res_type: str, res_id: str) -> None:
    resources.delete(services, res_type, res_id)


def analyze(services: Services) -> None:
    """Refresh the planner's statistics after a bulk load, as autovacuum (PostgreSQL) or ``ANALYZE`` after an
    import (SQLite) would: a query planned on a never-analyzed table takes the index tables for empty."""
    with services.store.begin() as conn:
        for table in ("resources", *(table.name for table in INDEX_TABLES.values())):
            conn.exec_driver_sql(f"ANALYZE {table}")
