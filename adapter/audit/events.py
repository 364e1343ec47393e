"""AuditEvent resources in the IHE Basic Audit Log Patterns (BALP) shape, built from plain facts.

Pure: no Flask, no database. :mod:`adapter.audit.trail` gathers the facts of a request (who, what
interaction, which resources, which query, how it ended) and this module turns them into an R4 AuditEvent
like BALP's RESTful patterns (``IHE.BasicAudit.Create/Read/Update/Delete/Query`` and their ``Patient*``
variants): ``type`` rest, ``subtype`` the FHIR interaction, ``action`` C/R/U/D/E, ``recorded``,
``outcome`` 0/4/8, the client as the Source Role agent (requestor), this server as the Destination Role
agent and as ``source``, and entities for the resources touched, the patient and the query.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from adapter.store.sql import format_instant, now_utc

#: The resource type of the audit trail.
AUDIT_TYPE = "AuditEvent"

EVENT_TYPE = {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest",
              "display": "Restful Operation"}
INTERACTION_SYSTEM = "http://hl7.org/fhir/restful-interaction"
OPERATION_SYSTEM = "urn:ietf:rfc:3986"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
SOURCE_ROLE = {"system": DICOM, "code": "110153", "display": "Source Role ID"}
DESTINATION_ROLE = {"system": DICOM, "code": "110152", "display": "Destination Role ID"}
SOURCE_TYPE = {"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4",
               "display": "Application Server"}
ENTITY_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
ENTITY_ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/object-role"
BALP_ENTITY_TYPE_SYSTEM = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
#: How a client is named in ``agent.who.identifier`` (its SMART client id, or ``anonymous``).
CLIENT_ID_SYSTEM = "https://cmp-adapter.org/fhir/sid/client-id"
SERVER_NAME = "cmp-fhir-adapter"
ANONYMOUS = "anonymous"

#: The R4 restful-interaction codes we record, and the BALP action each implies.
ACTIONS: dict[str, str] = {
    "create": "C", "read": "R", "vread": "R", "update": "U", "patch": "U", "delete": "D",
    "history-instance": "R", "history-type": "R", "history-system": "R", "search-type": "E",
    "search-system": "E", "capabilities": "R", "transaction": "E", "batch": "E", "operation": "E",
}

#: Top-level elements through which a resource of our types points at its member (a practical stand-in for
#: the Patient CompartmentDefinition over the types BRIEF §3 stores).
PATIENT_ELEMENTS = ("subject", "patient", "beneficiary")

_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


@dataclass(frozen=True, slots=True)
class EntityRef:
    """A resource an interaction touched: ``Type/id``, with its version when one was read or written."""

    res_type: str
    res_id: str | None = None
    version: int | str | None = None

    @property
    def reference(self) -> str:
        if self.res_id is None:
            return self.res_type
        return f"{self.res_type}/{self.res_id}" + (f"/_history/{self.version}" if self.version else "")


@dataclass(frozen=True, slots=True)
class AuditFacts:
    """Everything one AuditEvent says, gathered by the REST layer or a write transaction."""

    subtype: str
    """A restful-interaction code (a key of :data:`ACTIONS`)."""
    status: int
    """The HTTP status of the answer (writes audited before commit: the status they will get, 2xx)."""
    client_id: str
    client_address: str | None
    server_base: str
    request_id: str
    entities: Sequence[EntityRef] = ()
    patients: Sequence[str] = ()
    """Patient ids the interaction concerned (from the resources or the search parameters)."""
    query: bytes | None = None
    """The search or conditional query as sent (``name=x&birthdate=y``)."""
    operation: str | None = None
    """``$validate`` etc. for subtype ``operation``."""
    action: str | None = None
    """Overrides the action implied by ``subtype`` (a batch entry's create, a conditional update's create)."""
    extra_subtypes: Sequence[Mapping[str, str]] = field(default_factory=tuple)


def outcome_code(status: int) -> str:
    """BALP outcome: 0 success, 4 minor failure (the client's request was refused), 8 serious (ours)."""
    if status < 400:
        return "0"
    return "4" if status < 500 else "8"


def client_agent(client_id: str, address: str | None) -> dict:
    """The client as the requesting Source Role agent; ``who`` is ``Device/<client id>`` when the id is a
    valid FHIR id, so that ``AuditEvent?agent=Device/<client id>`` finds its events."""
    who: dict = {"identifier": {"system": CLIENT_ID_SYSTEM, "value": client_id}, "display": client_id}
    if _ID.fullmatch(client_id):
        who = {"reference": f"Device/{client_id}", **who}
    agent: dict = {"type": {"coding": [SOURCE_ROLE]}, "who": who, "altId": client_id, "requestor": True}
    if address:
        agent["network"] = {"address": address, "type": "2"}
    return agent


def server_agent(server_base: str) -> dict:
    return {"type": {"coding": [DESTINATION_ROLE]},
            "who": {"identifier": {"system": OPERATION_SYSTEM, "value": server_base}, "display": SERVER_NAME},
            "requestor": False, "network": {"address": server_base, "type": "5"}}


def audit_event(facts: AuditFacts) -> dict:
    """The AuditEvent resource (no id: the store assigns one)."""
    subtype = [{"system": INTERACTION_SYSTEM, "code": facts.subtype, "display": facts.subtype}]
    if facts.operation:
        subtype.append({"system": OPERATION_SYSTEM, "code": facts.operation, "display": facts.operation})
    subtype.extend(dict(extra) for extra in facts.extra_subtypes)
    event: dict = {
        "resourceType": AUDIT_TYPE,
        "type": dict(EVENT_TYPE),
        "subtype": subtype,
        "action": facts.action or ACTIONS.get(facts.subtype, "E"),
        "recorded": format_instant(now_utc()),
        "outcome": outcome_code(facts.status),
        "outcomeDesc": f"HTTP {facts.status}",
        "agent": [client_agent(facts.client_id, facts.client_address), server_agent(facts.server_base)],
        "source": {"site": facts.server_base,
                   "observer": {"identifier": {"system": OPERATION_SYSTEM, "value": facts.server_base},
                                "display": SERVER_NAME},
                   "type": [dict(SOURCE_TYPE)]},
    }
    entities = _entities(facts)
    if entities:
        event["entity"] = entities
    return event


def _entities(facts: AuditFacts) -> list[dict]:
    entities = []
    for patient_id in dict.fromkeys(facts.patients):
        entities.append({"what": {"reference": f"Patient/{patient_id}"},
                         "type": _coding(ENTITY_TYPE_SYSTEM, "1", "Person"),
                         "role": _coding(ENTITY_ROLE_SYSTEM, "1", "Patient")})
    for entity in facts.entities:
        entities.append({"what": {"reference": entity.reference},
                         "type": _coding(ENTITY_TYPE_SYSTEM, "2", "System Object"),
                         "role": _coding(ENTITY_ROLE_SYSTEM, "4", "Domain Resource")})
    if facts.query is not None:
        entities.append({"type": _coding(ENTITY_TYPE_SYSTEM, "2", "System Object"),
                         "role": _coding(ENTITY_ROLE_SYSTEM, "24", "Query"),
                         "query": base64.b64encode(facts.query).decode("ascii")})
    entities.append({"what": {"identifier": {"value": facts.request_id}},
                     "type": _coding(BALP_ENTITY_TYPE_SYSTEM, "XrequestId", "X-Request-ID")})
    return entities


def _coding(system: str, code: str, display: str) -> dict:
    return {"system": system, "code": code, "display": display}


def patient_of(res_type: str, res_id: str | None, resource: Mapping | None) -> str | None:
    """The member a resource belongs to: itself for a Patient, else the Patient its ``subject``,
    ``patient`` or ``beneficiary`` points at."""
    if res_type == "Patient":
        return res_id
    if not isinstance(resource, Mapping):
        return None
    for element in PATIENT_ELEMENTS:
        found = _patient_id(resource.get(element))
        if found:
            return found
    return None


def patient_from_search(res_type: str, pairs: Sequence[tuple[str, str]]) -> list[str]:
    """Patient ids a search names: ``patient=``/``subject=``/``beneficiary=`` (``Patient/x`` or ``x``), and
    ``_id`` on Patient."""
    found = []
    for name, value in pairs:
        base = name.split(":", 1)[0]
        for item in value.split(","):
            if base in PATIENT_ELEMENTS:
                patient = _patient_id({"reference": item if "/" in item or base != "patient" else f"Patient/{item}"})
            elif base == "_id" and res_type == "Patient":
                patient = item if _ID.fullmatch(item) else None
            else:
                patient = None
            if patient:
                found.append(patient)
    return found


def _patient_id(value: object) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, Mapping) or not isinstance(value.get("reference"), str):
        return None
    parts = value["reference"].split("/")
    if "Patient" in parts[:-1]:
        candidate = parts[parts.index("Patient") + 1]
        return candidate if _ID.fullmatch(candidate) else None
    return None
