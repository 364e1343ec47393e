"""batch and transaction Bundles: all-or-nothing, urn:uuid rewriting, conditional entries (R4 §3.1.0.11)."""

from __future__ import annotations

from tests.integration.fhir_helpers import issues, patient, post_json


def transaction(*entries: dict, kind: str = "transaction") -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def post_entry(full_url: str, resource: dict, **request: str) -> dict:
    return {"fullUrl": full_url, "resource": resource,
            "request": {"method": "POST", "url": resource["resourceType"], **request}}


def encounter_for(subject: str) -> dict:
    return {"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": subject}}


def test_transaction_rewrites_urn_uuid_references(client):
    bundle = transaction(
        post_entry("urn:uuid:0c0e7a3b-0000-4000-8000-000000000002",
                   encounter_for("urn:uuid:0c0e7a3b-0000-4000-8000-000000000001")),
        post_entry("urn:uuid:0c0e7a3b-0000-4000-8000-000000000001", patient()),
    )
    response = post_json(client, "/fhir", bundle)
    assert response.status_code == 200, response.get_data(as_text=True)
    result = response.get_json(force=True)
    assert result["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["201 Created", "201 Created"]
    encounter_location, patient_location = (e["response"]["location"] for e in result["entry"])
    encounter = client.get("/fhir/" + encounter_location.split("/_history")[0]).get_json(force=True)
    assert encounter["subject"]["reference"] == patient_location.split("/_history")[0]


def test_transaction_is_all_or_nothing(client):
    bad = patient(gender="not-a-gender")
    bundle = transaction(post_entry("urn:uuid:1", patient()), post_entry("urn:uuid:2", bad))
    response = post_json(client, "/fhir", bundle)
    assert response.status_code == 422
    found = issues(response)
    assert any("Bundle.entry[1]" in (i.get("expression") or [""])[0] for i in found)
    assert client.get("/fhir/Patient").get_json(force=True)["total"] == 0


def test_transaction_order_and_conditional_entries(client):
    post_json(client, "/fhir/Patient", patient(family="Existing"))
    bundle = transaction(
        {"request": {"method": "GET", "url": "Patient?identifier=urn:test:mrn|existing"}},
        post_entry("urn:uuid:a", patient(family="Existing"), ifNoneExist="identifier=urn:test:mrn|existing"),
        {"fullUrl": "urn:uuid:b", "resource": patient(family="Baker"),
         "request": {"method": "PUT", "url": "Patient?identifier=urn:test:mrn|baker"}},
        post_entry("urn:uuid:c", encounter_for("Patient?identifier=urn:test:mrn|existing")),
    )
    response = post_json(client, "/fhir", bundle)
    assert response.status_code == 200, response.get_data(as_text=True)
    entries = response.get_json(force=True)["entry"]
    assert entries[0]["resource"]["type"] == "searchset"
    assert entries[1]["response"]["status"] == "200 OK"  # matched, not created
    assert entries[2]["response"]["status"] == "201 Created"
    assert entries[3]["response"]["status"] == "201 Created"
    assert client.get("/fhir/Patient").get_json(force=True)["total"] == 2


def test_transaction_with_an_unresolvable_urn_is_400(client):
    bundle = transaction(post_entry("urn:uuid:x", encounter_for("urn:uuid:missing")))
    assert post_json(client, "/fhir", bundle).status_code == 400
    assert client.get("/fhir/Encounter").get_json(force=True)["total"] == 0


def test_transaction_update_and_delete_with_if_match(client):
    pid = post_json(client, "/fhir/Patient", patient()).get_json(force=True)["id"]
    bundle = transaction({"resource": patient(id=pid, family="New"),
                          "request": {"method": "PUT", "url": f"Patient/{pid}", "ifMatch": 'W/"9"'}})
    assert post_json(client, "/fhir", bundle).status_code == 412
    bundle = transaction({"request": {"method": "DELETE", "url": f"Patient/{pid}"}})
    assert post_json(client, "/fhir", bundle).status_code == 200
    assert client.get(f"/fhir/Patient/{pid}").status_code == 410


def test_batch_reports_each_entry(client):
    bundle = transaction(post_entry("urn:uuid:1", patient()), post_entry("urn:uuid:2", patient(gender="bad")),
                         {"request": {"method": "GET", "url": "Patient/nope"}}, kind="batch")
    response = post_json(client, "/fhir", bundle)
    assert response.status_code == 200
    entries = response.get_json(force=True)["entry"]
    assert entries[0]["response"]["status"] == "201 Created"
    assert entries[1]["response"]["status"].startswith("422")
    assert entries[1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert entries[2]["response"]["status"].startswith("404")
    assert client.get("/fhir/Patient").get_json(force=True)["total"] == 1


def test_posting_a_non_transaction_bundle_is_400(client):
    assert post_json(client, "/fhir", {"resourceType": "Bundle", "type": "collection"}).status_code == 400
    assert post_json(client, "/fhir", patient()).status_code == 400


def test_prefer_representation_returns_resources(client):
    bundle = transaction(post_entry("urn:uuid:1", patient()))
    response = post_json(client, "/fhir", bundle, Prefer="return=representation")
    assert response.get_json(force=True)["entry"][0]["resource"]["resourceType"] == "Patient"
