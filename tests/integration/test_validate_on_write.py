"""Validate-on-write: base R4, declared profiles and the policy's profiles, enforced on every write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapter.services.validation_policy import PolicyError, ValidationPolicy
from tests.integration.fhir_helpers import issues, post_json, put_json

VALID = Path(__file__).resolve().parents[2] / "examples" / "fhir" / "valid"
QUALITY_CONTACT = "Encounter-qc-m-001-20260106.json"


def example(name: str) -> dict:
    return json.loads((VALID / name).read_text())


def undeclared(resource: dict) -> dict:
    """The resource without meta.profile: only the policy can say which profile applies."""
    resource = dict(resource)
    resource.pop("meta", None)
    return resource


def test_policy_applies_the_quality_contact_profile_by_content(client):
    contact = undeclared(example(QUALITY_CONTACT))
    contact.pop("episodeOfCare")
    response = put_json(client, f"/fhir/Encounter/{contact['id']}", contact)
    assert response.status_code == 422
    found = issues(response)
    assert any("episodeOfCare" in (i.get("expression") or [""])[0] for i in found), found
    assert client.get(f"/fhir/Encounter/{contact['id']}").status_code == 404


def test_a_conforming_contact_is_accepted_without_declaring_its_profile(client):
    contact = undeclared(example(QUALITY_CONTACT))
    assert put_json(client, f"/fhir/Encounter/{contact['id']}", contact).status_code == 201


def test_an_unknown_declared_profile_is_an_error_not_a_pass(client):
    patient = {"resourceType": "Patient", "meta": {"profile": ["https://example.org/StructureDefinition/nope"]}}
    response = post_json(client, "/fhir/Patient", patient)
    assert response.status_code == 422
    assert "https://example.org/StructureDefinition/nope" in issues(response)[0]["diagnostics"]


def test_warnings_come_back_with_prefer_operation_outcome(client):
    patient = {"resourceType": "Patient",
               "extension": [{"url": "https://example.org/unknown-extension", "valueString": "x"}]}
    response = post_json(client, "/fhir/Patient", patient, Prefer="return=OperationOutcome")
    assert response.status_code == 201
    found = issues(response)
    assert any(i["severity"] == "warning" and "unknown-extension" in i["diagnostics"] for i in found), found


def test_a_declare_one_of_rule_rejects_undeclared_claims(tmp_path, settings, definitions):
    from adapter.app import create_app
    from adapter.services.container import Services

    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"rules": [{"name": "claims", "ruleIds": ["CMP-BILL-3"], "resourceType": "Claim",
                                             "declareOneOf": ["https://cmp-adapter.org/fhir/StructureDefinition/cmp-claim"]}]}))
    # the claim's contacts are not in this empty store: CMP-BILL-1 (a write rule, not a profile) is off here
    strict = settings.replace(validation_policy=str(policy), rule_enforcement=("CMP-BILL-1=off",))
    services = Services.build(strict, definitions=definitions)
    client = create_app(strict, services=services).test_client()
    claim = undeclared(example("Claim-clm-m-001-w1.json"))
    response = put_json(client, f"/fhir/Claim/{claim['id']}", claim)
    assert response.status_code == 422
    rule = issues(response)[-1]
    assert rule["details"]["coding"][0]["code"] == "CMP-BILL-3"
    declared = example("Claim-clm-m-001-w1.json")
    assert put_json(client, f"/fhir/Claim/{declared['id']}", declared).status_code == 201
    services.close()


@pytest.mark.parametrize("document, message", [
    ("{not json", "cannot read"),
    (json.dumps({"rules": [{"conformTo": []}]}), "resourceType is required"),
    (json.dumps({"rules": [{"resourceType": "Encounter", "when": "type.where("}]}), "not valid FHIRPath"),
    (json.dumps({"rules": [{"resourceType": "Encounter", "conformTo": "one-url"}]}), "lists of profile URLs"),
])
def test_a_malformed_policy_stops_the_start_up(tmp_path, document, message):
    path = tmp_path / "policy.json"
    path.write_text(document)
    with pytest.raises(PolicyError, match=message):
        ValidationPolicy.load(path)


def test_disabled_rules_are_not_enforced(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"rules": [{"resourceType": "Claim", "declareOneOf": ["x"], "enabled": False}]}))
    assert ValidationPolicy.load(path).declaration_issues({"resourceType": "Claim"}) == []
