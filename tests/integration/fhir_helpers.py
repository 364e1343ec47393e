"""Small builders for test resources and requests (no logic of the product)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"


def patient(family: str = "Lopez", given: str = "Maria", **extra: Any) -> dict:
    resource = {"resourceType": "Patient", "identifier": [{"system": "urn:test:mrn", "value": family.lower()}],
                "name": [{"family": family, "given": [given]}], "gender": "female", "birthDate": "1978-04-12"}
    resource.update(extra)
    return resource


def post_json(client, url: str, resource: dict, **headers: str):
    return client.post(url, data=json.dumps(resource), headers={"Content-Type": FHIR_JSON, **headers})


def put_json(client, url: str, resource: dict, **headers: str):
    return client.put(url, data=json.dumps(resource), headers={"Content-Type": FHIR_JSON, **headers})


def issues(response) -> list[dict]:
    body = response.get_json(force=True)
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"]


def local(url: str) -> str:
    """The path and query of an absolute link, for the Flask test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def link(bundle: dict, relation: str) -> str | None:
    return next((item["url"] for item in bundle.get("link", []) if item["relation"] == relation), None)
