"""read, vread, create, update, delete, history and conditional interactions over HTTP (R4 http.html)."""

from __future__ import annotations

import json
import time

from tests.integration.fhir_helpers import FHIR_JSON, issues, link, local, patient, post_json, put_json


def create_patient(client, **extra):
    response = post_json(client, "/fhir/Patient", patient(**extra))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response


def test_create_returns_201_with_location_etag_and_last_modified(client):
    response = create_patient(client)
    body = response.get_json(force=True)
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Location"].endswith(f"/fhir/Patient/{body['id']}/_history/1")
    assert "GMT" in response.headers["Last-Modified"]
    assert response.content_type.startswith(FHIR_JSON)
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"].endswith("+00:00")


def test_create_ignores_a_client_id(client):
    response = post_json(client, "/fhir/Patient", patient(id="mine"))
    assert response.status_code == 201
    assert response.get_json(force=True)["id"] != "mine"


def test_read_serves_the_stored_bytes_with_decimals_exact(client):
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "copay"},
                   "valueQuantity": {"value": 105.00, "unit": "USD"}}
    raw = json.dumps(observation).replace("105.0", "105.00")
    created = client.post("/fhir/Observation", data=raw, headers={"Content-Type": FHIR_JSON})
    assert created.status_code == 201
    read = client.get(created.headers["Location"].split("/_history")[0])
    assert read.status_code == 200
    assert b'"value":105.00' in read.get_data()
    assert read.get_data() == created.get_data()


def test_read_unknown_id_is_404_and_unknown_type_is_404(client):
    assert client.get("/fhir/Patient/nope").status_code == 404
    response = client.get("/fhir/Spaceship/1")
    assert response.status_code == 404
    assert "Spaceship" in issues(response)[0]["diagnostics"]


def test_update_creates_versions_and_vread_reads_each(client):
    pid = create_patient(client).get_json(force=True)["id"]
    changed = patient(family="Lopez-Diaz", id=pid)
    response = put_json(client, f"/fhir/Patient/{pid}", changed)
    assert response.status_code == 200
    assert response.headers["ETag"] == 'W/"2"'
    assert client.get(f"/fhir/Patient/{pid}/_history/1").get_json(force=True)["name"][0]["family"] == "Lopez"
    assert client.get(f"/fhir/Patient/{pid}/_history/2").get_json(force=True)["name"][0]["family"] == "Lopez-Diaz"
    assert client.get(f"/fhir/Patient/{pid}/_history/3").status_code == 404


def test_update_as_create_uses_the_client_id(client):
    response = put_json(client, "/fhir/Patient/member-42", patient(id="member-42"))
    assert response.status_code == 201
    assert response.headers["Location"].endswith("/fhir/Patient/member-42/_history/1")


def test_update_body_id_must_match_url_and_be_present(client):
    assert put_json(client, "/fhir/Patient/a", patient(id="b")).status_code == 400
    assert put_json(client, "/fhir/Patient/a", patient()).status_code == 400
    assert client.get("/fhir/Patient/a").status_code == 404


def test_if_match_conflict_is_412_and_nothing_changes(client):
    pid = create_patient(client).get_json(force=True)["id"]
    stale = put_json(client, f"/fhir/Patient/{pid}", patient(family="X", id=pid), **{"If-Match": 'W/"7"'})
    assert stale.status_code == 412
    fresh = put_json(client, f"/fhir/Patient/{pid}", patient(family="Y", id=pid), **{"If-Match": 'W/"1"'})
    assert fresh.status_code == 200
    assert client.get(f"/fhir/Patient/{pid}").get_json(force=True)["name"][0]["family"] == "Y"
    assert put_json(client, f"/fhir/Patient/{pid}", patient(id=pid), **{"If-Match": "junk"}).status_code == 400


def test_delete_then_read_is_410_and_history_keeps_versions(client):
    pid = create_patient(client).get_json(force=True)["id"]
    deleted = client.delete(f"/fhir/Patient/{pid}")
    assert deleted.status_code == 200
    assert deleted.headers["ETag"] == 'W/"2"'
    assert client.get(f"/fhir/Patient/{pid}").status_code == 410
    assert client.get(f"/fhir/Patient/{pid}/_history/1").status_code == 200
    assert client.get(f"/fhir/Patient/{pid}/_history/2").status_code == 410
    history = client.get(f"/fhir/Patient/{pid}/_history").get_json(force=True)
    assert history["type"] == "history"
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "POST"]
    again = client.delete(f"/fhir/Patient/{pid}")
    assert again.status_code == 200  # idempotent
    recreated = put_json(client, f"/fhir/Patient/{pid}", patient(id=pid))
    assert recreated.status_code == 200
    assert recreated.headers["ETag"] == 'W/"3"'


def test_history_type_and_system_with_paging(client):
    for n in range(5):
        create_patient(client, gender="male" if n % 2 else "female")
    post_json(client, "/fhir/Organization", {"resourceType": "Organization", "name": "PACT"})
    type_history = client.get("/fhir/Patient/_history?_count=2").get_json(force=True)
    assert type_history["total"] == 5
    assert len(type_history["entry"]) == 2
    next_url = link(type_history, "next")
    seen = [e["fullUrl"] for e in type_history["entry"]]
    while next_url:
        page = client.get(local(next_url)).get_json(force=True)
        seen += [e["fullUrl"] for e in page["entry"]]
        next_url = link(page, "next")
    assert len(seen) == len(set(seen)) == 5
    assert client.get("/fhir/_history").get_json(force=True)["total"] == 6
    since = client.get("/fhir/_history?_since=2999-01-01T00:00:00Z").get_json(force=True)
    assert since["total"] == 0
    assert client.get("/fhir/_history?_since=yesterday").status_code == 400


def test_conditional_create(client):
    headers = {"If-None-Exist": "identifier=urn:test:mrn|lopez"}
    first = post_json(client, "/fhir/Patient", patient(), **headers)
    assert first.status_code == 201
    second = post_json(client, "/fhir/Patient", patient(), **headers)
    assert second.status_code == 200
    assert second.get_json(force=True)["id"] == first.get_json(force=True)["id"]
    post_json(client, "/fhir/Patient", patient())  # a duplicate without the condition
    assert post_json(client, "/fhir/Patient", patient(), **headers).status_code == 412


def test_conditional_update_and_delete(client):
    created = put_json(client, "/fhir/Patient?identifier=urn:test:mrn|okafor", patient(family="Okafor"))
    assert created.status_code == 201
    pid = created.get_json(force=True)["id"]
    updated = put_json(client, "/fhir/Patient?identifier=urn:test:mrn|okafor", patient(family="Okafor", gender="male"))
    assert updated.status_code == 200
    assert updated.get_json(force=True)["id"] == pid
    assert client.delete("/fhir/Patient?identifier=urn:test:mrn|okafor").status_code == 200
    assert client.get(f"/fhir/Patient/{pid}").status_code == 410
    assert client.delete("/fhir/Patient?identifier=urn:test:mrn|nobody").status_code == 200


def test_prefer_return(client):
    minimal = post_json(client, "/fhir/Patient", patient(), Prefer="return=minimal")
    assert minimal.status_code == 201 and minimal.get_data() == b""
    assert minimal.headers["Location"]
    outcome = post_json(client, "/fhir/Patient", patient(), Prefer="return=OperationOutcome")
    assert outcome.get_json(force=True)["resourceType"] == "OperationOutcome"
    representation = post_json(client, "/fhir/Patient", patient(), Prefer="return=representation")
    assert representation.get_json(force=True)["resourceType"] == "Patient"


def test_if_none_match_gives_304(client):
    response = create_patient(client)
    location = response.headers["Location"].split("/_history")[0]
    assert client.get(location, headers={"If-None-Match": 'W/"1"'}).status_code == 304


def test_invalid_resources_are_422_and_not_stored(client):
    for bad in (patient(gender="xyz"), patient(birthDate="1978-02-30"), patient(nickname="Mo"),
                {"resourceType": "Encounter", "class": {"code": "AMB"}}):
        response = post_json(client, f"/fhir/{bad['resourceType']}", bad)
        assert response.status_code == 422, bad
        found = issues(response)
        assert all(i["severity"] in ("error", "fatal", "warning", "information") for i in found)
        assert any(i.get("expression") for i in found)
    assert client.get("/fhir/Patient").get_json(force=True)["total"] == 0
    assert client.get("/fhir/_history").get_json(force=True)["total"] == 0


def test_wrong_resource_type_for_url_is_400(client):
    response = post_json(client, "/fhir/Observation", patient())
    assert response.status_code == 400


def test_history_at_gives_the_versions_current_at_that_moment(client):
    pid = create_patient(client).get_json(force=True)["id"]
    first = client.get(f"/fhir/Patient/{pid}").get_json(force=True)["meta"]["lastUpdated"]
    time.sleep(0.01)
    put_json(client, f"/fhir/Patient/{pid}", patient(family="Second", id=pid))
    then = client.get(f"/fhir/Patient/_history?_at={first.replace('+', '%2B')}").get_json(force=True)
    assert [e["resource"]["meta"]["versionId"] for e in then["entry"]] == ["1"]
    now = client.get("/fhir/Patient/_history?_at=2999-01-01T00:00:00Z").get_json(force=True)
    assert [e["resource"]["meta"]["versionId"] for e in now["entry"]] == ["2"]
