"""ConceptMap/$translate over the mappings' code tables (R4 conceptmap-operation-translate)."""

from __future__ import annotations

from tests.integration.fhir_helpers import post_json

CONTACT_MODE = "https://cmp-adapter.org/fhir/ConceptMap/contact-mode"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def parameter(answer: dict, name: str):
    return next(p for p in answer["parameter"] if p["name"] == name)


def test_translate_a_local_code_forward_and_back(client):
    forward = client.get("/fhir/ConceptMap/contact-mode/$translate?code=T").get_json(force=True)
    assert parameter(forward, "result")["valueBoolean"] is True
    concept = next(p for p in parameter(forward, "match")["part"] if p["name"] == "concept")["valueCoding"]
    assert (concept["system"], concept["code"]) == (ACT_CODE, "VR")
    back = client.get(f"/fhir/ConceptMap/$translate?url={CONTACT_MODE}&system={ACT_CODE}&code=VR&reverse=true")
    concept = next(p for p in parameter(back.get_json(force=True), "match")["part"] if p["name"] == "concept")
    assert concept["valueCoding"]["code"] == "T"


def test_translate_with_a_parameters_body(client):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": CONTACT_MODE}, {"name": "coding", "valueCoding": {"code": "F"}}]}
    answer = post_json(client, "/fhir/ConceptMap/$translate", body).get_json(force=True)
    assert parameter(answer, "result")["valueBoolean"] is True


def test_an_unmapped_code_is_a_false_result_naming_the_map(client):
    answer = client.get("/fhir/ConceptMap/contact-mode/$translate?code=ZZ").get_json(force=True)
    assert parameter(answer, "result")["valueBoolean"] is False
    assert "ZZ" in parameter(answer, "message")["valueString"]
    assert CONTACT_MODE in parameter(answer, "message")["valueString"]


def test_unusable_translate_requests(client):
    assert client.get("/fhir/ConceptMap/no-such-map/$translate?code=T").status_code == 404
    assert client.get("/fhir/ConceptMap/$translate?code=T").status_code == 400
    assert client.get("/fhir/ConceptMap/contact-mode/$translate").status_code == 400
    assert client.get("/fhir/ConceptMap/..%2F..%2Fpyproject/$translate?code=T").status_code in (400, 404)


def test_capability_lists_translate_on_concept_map_only(client):
    resources = {r["type"]: r for r in client.get("/fhir/metadata").get_json(force=True)["rest"][0]["resource"]}
    assert {"name": "translate", "definition": "http://hl7.org/fhir/OperationDefinition/ConceptMap-translate"} \
        in resources["ConceptMap"]["operation"]
    assert all(op["name"] != "translate" for op in resources["Patient"]["operation"])
