"""A transaction Bundle for the resources of one record, with the Provenance of the translation.

Each resource is written with a conditional update by its business identifier (``PUT
Type?identifier=system|value``) when it has one, so importing the same record twice updates rather than
duplicates; resources without an identifier (Observation, CareTeam, EpisodeOfCare, ...) are written with
``PUT Type/id``, which is just as idempotent because the ids are deterministic. Every entry gets a
``urn:uuid`` fullUrl derived from its ``Type/id``, and references between the resources of the Bundle are
rewritten to those fullUrls, so the server resolves them inside the transaction (R4 Bundle, "Resolving
references in Bundles").

The Provenance follows Da Vinci PDex's provenance of translated data: ``target`` is every resource of the
Bundle, the adapter is the ``assembler`` agent, the source system the ``author`` agent, and an ``entity``
with role ``source`` names the source format. The time is an argument: mappings read no clock.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import quote

from .common import NAMESPACE, rewrite_references

PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
ADAPTER_NAME = "cmp-fhir-adapter"


def full_url(resource_type: str, resource_id: str) -> str:
    """The ``urn:uuid`` fullUrl of a resource of a translated Bundle (stable across runs)."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{resource_type}/{resource_id}')}"


def request_of(resource: dict) -> dict:
    """The transaction request that writes ``resource``: conditional on its first identifier, else by id."""
    identifiers = [i for i in resource.get("identifier", []) if i.get("system") and i.get("value")]
    if identifiers:
        first = identifiers[0]
        query = quote(f"{first['system']}|{first['value']}", safe=":/|")
        return {"method": "PUT", "url": f"{resource['resourceType']}?identifier={query}"}
    return {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}


def requests_of(resources: list[dict]) -> list[dict]:
    """The request of each resource; resources that share a conditional URL are written by id instead.

    Two Coverages of one member may both carry the Medicaid id as member number: a conditional update on
    it would make the second write replace the first, so those are written by their (deterministic) ids.
    """
    requests = [request_of(r) for r in resources]
    urls = [r["url"] for r in requests]
    return [req if "?" not in req["url"] or urls.count(req["url"]) == 1
            else {"method": "PUT", "url": f"{body['resourceType']}/{body['id']}"}
            for req, body in zip(requests, resources, strict=True)]


def provenance(targets: list[str], recorded: datetime, source_system: str, source_format: str) -> dict:
    """The Provenance of one translation (PDex style).

    :param targets: fullUrls (or references) of the resources the translation created.
    :param recorded: when the translation happened (timezone-aware).
    :param source_system: who sent the record (a system name or URI).
    :param source_format: the record's format, e.g. ``cmp-json``, ``cmp-csv``, ``x12-837p``.
    """
    return {
        "resourceType": "Provenance",
        "target": [{"reference": t} for t in targets],
        "recorded": recorded.isoformat(),
        "activity": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
                                 "code": "CREATE", "display": "create"}]},
        "agent": [
            {"type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "assembler", "display": "Assembler"}]},
             "who": {"display": ADAPTER_NAME}},
            {"type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "author", "display": "Author"}]},
             "who": {"display": source_system}},
        ],
        "entity": [{"role": "source", "what": {"display": f"CMP record ({source_format})"}}],
    }


def transaction(resources: list[dict], recorded: datetime, source_system: str, source_format: str) -> dict:
    """A transaction Bundle writing ``resources`` (the ``to_fhir`` output of one record) plus its Provenance.

    The resources are deep-copied; the input is not changed.
    """
    urls = {f"{r['resourceType']}/{r['id']}": full_url(r["resourceType"], r["id"]) for r in resources}
    entries = [{"fullUrl": urls[f"{r['resourceType']}/{r['id']}"], "resource": rewrite_references(r, urls),
                "request": request} for r, request in zip(resources, requests_of(resources), strict=True)]
    prov = provenance(list(urls.values()), recorded, source_system, source_format)
    key = "|".join(sorted(urls.values()))
    entries.append({"fullUrl": f"urn:uuid:{uuid.uuid5(NAMESPACE, 'Provenance/' + key)}", "resource": prov,
                    "request": {"method": "POST", "url": "Provenance"}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
