"""Content negotiation (JSON/XML, _format, _pretty), _summary/_elements, and error responses."""

from __future__ import annotations

import json

import pytest

from tests.integration.fhir_helpers import FHIR_JSON, FHIR_XML, issues, patient, post_json

XML_PATIENT = b"""<?xml version="1.0" encoding="UTF-8"?>
<Patient xmlns="http://hl7.org/fhir">
  <identifier><system value="urn:test:mrn"/><value value="x1"/></identifier>
  <name><family value="Nguyen"/><given value="Linh"/></name>
  <gender value="female"/>
  <birthDate value="1990-01-05"/>
</Patient>"""


def test_xml_in_json_out_and_json_in_xml_out(client):
    created = client.post("/fhir/Patient", data=XML_PATIENT, headers={"Content-Type": FHIR_XML, "Accept": FHIR_JSON})
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json(force=True)
    assert body["name"][0]["family"] == "Nguyen"
    as_xml = client.get(f"/fhir/Patient/{body['id']}", headers={"Accept": FHIR_XML})
    assert as_xml.content_type.startswith(FHIR_XML)
    assert b'<family value="Nguyen"/>' in as_xml.get_data()
    assert client.get(f"/fhir/Patient/{body['id']}?_format=xml").content_type.startswith(FHIR_XML)
    assert client.get(f"/fhir/Patient/{body['id']}?_format=json",
                      headers={"Accept": FHIR_XML}).content_type.startswith(FHIR_JSON)


def test_pretty_and_unacceptable_formats(client):
    pid = post_json(client, "/fhir/Patient", patient()).get_json(force=True)["id"]
    assert b"\n  " in client.get(f"/fhir/Patient/{pid}?_pretty=true").get_data()
    assert client.get(f"/fhir/Patient/{pid}", headers={"Accept": "text/html"}).status_code == 406
    assert client.get(f"/fhir/Patient/{pid}?_format=turtle").status_code == 406
    assert client.get(f"/fhir/Patient/{pid}", headers={"Accept": "text/html,*/*;q=0.8"}).status_code == 200


def test_summary_and_elements_mark_the_resource_subsetted(client):
    pid = post_json(client, "/fhir/Patient", patient(maritalStatus={"text": "married"})).get_json(force=True)["id"]
    elements = client.get(f"/fhir/Patient/{pid}?_elements=name").get_json(force=True)
    assert set(elements) == {"resourceType", "id", "meta", "name"}
    assert any(tag["code"] == "SUBSETTED" for tag in elements["meta"]["tag"])
    summary = client.get(f"/fhir/Patient/{pid}?_summary=true").get_json(force=True)
    assert "maritalStatus" not in summary and "name" in summary


@pytest.mark.parametrize("body, content_type", [
    (b'{"resourceType": "Patient", ', FHIR_JSON),
    (b"[1, 2]", FHIR_JSON),
    (b'{"name": []}', FHIR_JSON),
    (b"\xff\xfe{}", FHIR_JSON),
    (b'{"resourceType":"Patient","birthDate":NaN}', FHIR_JSON),
    (b"<Patient xmlns='http://hl7.org/fhir'><gender value='male'>", FHIR_XML),
    (b"", FHIR_JSON),
])
def test_malformed_bodies_are_400(client, body, content_type):
    response = client.post("/fhir/Patient", data=body, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert issues(response)[0]["diagnostics"]


def test_xxe_and_billion_laughs_are_refused(client):
    xxe = b"""<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Patient xmlns="http://hl7.org/fhir"><name><family value="&x;"/></name></Patient>"""
    laughs = b"""<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<Patient xmlns="http://hl7.org/fhir"><name><family value="&d;"/></name></Patient>"""
    for body in (xxe, laughs):
        response = client.post("/fhir/Patient", data=body, headers={"Content-Type": FHIR_XML})
        assert response.status_code == 400
        assert b"root:" not in response.get_data()
    assert client.get("/fhir/Patient").get_json(force=True)["total"] == 0


def test_deep_nesting_is_400(client):
    body = '{"resourceType":"Patient","extension":' + '[{"url":"u","extension":' * 100 + "[]" + "}]" * 100 + "}"
    assert client.post("/fhir/Patient", data=body, headers={"Content-Type": FHIR_JSON}).status_code == 400


def test_unsupported_media_type_is_415(client):
    response = client.post("/fhir/Patient", data=json.dumps(patient()), headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert issues(response)[0]["code"] == "not-supported"


def test_body_over_the_limit_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    big = patient(name=[{"family": "x" * 5000}])
    assert post_json(client, "/fhir/Patient", big).status_code == 413


def test_unknown_route_and_method_are_outcomes(client):
    response = client.get("/nothing-here")
    assert response.status_code == 404
    assert issues(response)[0]["code"] == "not-found"
    response = client.patch("/fhir/Patient/1")
    assert response.status_code == 405
    assert issues(response)


def test_errors_follow_the_requested_format(client):
    response = client.get("/fhir/Patient/none?_format=xml")
    assert response.status_code == 404
    assert response.content_type.startswith(FHIR_XML)
    assert b"<OperationOutcome" in response.get_data()


def test_capability_statement_reflects_the_server(client):
    statement = client.get("/fhir/metadata").get_json(force=True)
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    assert {"application/fhir+json", "application/fhir+xml"} <= set(statement["format"])
    rest = statement["rest"][0]
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch", "history-system"}
    by_type = {r["type"]: r for r in rest["resource"]}
    assert {"Patient", "Encounter", "CarePlan", "Claim", "AuditEvent", "StructureDefinition"} <= set(by_type)
    patient_codes = {i["code"] for i in by_type["Patient"]["interaction"]}
    assert patient_codes == {"read", "vread", "update", "delete", "history-instance", "history-type", "create",
                             "search-type"}
    params = {p["name"]: p for p in by_type["Encounter"]["searchParam"]}
    assert params["subject"]["type"] == "reference"
    assert params["date"]["definition"] == "http://hl7.org/fhir/SearchParameter/clinical-date"
    assert "_lastUpdated" in params
