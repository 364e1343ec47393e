"""The audit trail: one BALP-style AuditEvent per REST interaction, written with the change it records,
searchable, never writable by clients; request ids in responses and log lines; no PHI in the logs."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest
from flask import g
from sqlalchemy import text

from adapter.errors import Issue
from tests.integration.fhir_helpers import patient, post_json, put_json


def audit_events(client, query: str = "") -> list[dict]:
    """The stored AuditEvents (what is batched is stored first: reads' events wait up to audit_flush_ms)."""
    queue = client.application.extensions.get("cmp_audit_queue")
    if queue is not None:
        queue.flush()
    bundle = client.get(f"/fhir/AuditEvent?_count=1000{'&' if query else ''}{query}").get_json(force=True)
    assert bundle["resourceType"] == "Bundle", bundle
    return [entry["resource"] for entry in bundle.get("entry", [])]


def summary(event: dict) -> tuple[str, str, str]:
    return event["subtype"][0]["code"], event["action"], event["outcome"]


def references(event: dict) -> list[str]:
    return [entity["what"]["reference"] for entity in event.get("entity", []) if "reference" in entity.get("what", {})]


def test_every_interaction_is_recorded_once_with_its_subtype_action_and_outcome(client):
    created = post_json(client, "/fhir/Patient", patient("Audit"))
    pid = created.get_json()["id"]
    assert client.get(f"/fhir/Patient/{pid}").status_code == 200
    assert client.get(f"/fhir/Patient/{pid}/_history/1").status_code == 200
    assert put_json(client, f"/fhir/Patient/{pid}", {**patient("Audit"), "id": pid}).status_code == 200
    assert client.get("/fhir/Patient?family=Audit").status_code == 200
    assert client.get(f"/fhir/Patient/{pid}/_history").status_code == 200
    assert client.get("/fhir/_history").status_code == 200
    assert client.post("/fhir/Patient/$validate", data=json.dumps(patient("V")),
                       headers={"Content-Type": "application/fhir+json"}).status_code == 200
    assert client.get("/fhir/Patient/no-such").status_code == 404
    assert post_json(client, "/fhir/Patient", {"resourceType": "Patient", "gender": "nonsense"}).status_code == 422
    assert client.delete(f"/fhir/Patient/{pid}").status_code == 200

    found = Counter(summary(event) for event in audit_events(client))
    assert found == Counter({
        ("create", "C", "0"): 1, ("read", "R", "0"): 1, ("vread", "R", "0"): 1, ("update", "U", "0"): 1,
        ("search-type", "E", "0"): 1, ("history-instance", "R", "0"): 1, ("history-system", "R", "0"): 1,
        ("operation", "E", "0"): 1, ("read", "R", "4"): 1, ("create", "C", "4"): 1, ("delete", "D", "0"): 1,
    })


def test_an_event_names_client_server_resource_version_patient_and_request_id(client):
    pid = post_json(client, "/fhir/Patient", patient("Member")).get_json()["id"]
    encounter = {"resourceType": "Encounter", "status": "finished", "class": {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{pid}"}}
    eid = post_json(client, "/fhir/Encounter", encounter).get_json()["id"]
    response = client.get(f"/fhir/Encounter/{eid}", headers={"X-Request-ID": "trace-123"})
    assert response.headers["X-Request-ID"] == "trace-123"

    [event] = [e for e in audit_events(client, "subtype=read")]
    client_agent, server_agent = event["agent"]
    assert client_agent["who"]["reference"] == "Device/anonymous" and client_agent["requestor"] is True
    assert client_agent["network"]["address"] == "127.0.0.1"
    assert server_agent["requestor"] is False and server_agent["network"]["address"] == "http://localhost/fhir"
    assert event["source"]["observer"]["display"] == "cmp-fhir-adapter"
    assert f"Encounter/{eid}/_history/1" in references(event)
    roles = {entity["role"]["code"]: entity for entity in event["entity"] if "role" in entity}
    assert roles["1"]["what"]["reference"] == f"Patient/{pid}"  # the member, BALP PatientRead
    assert {"value": "trace-123"} in [entity["what"].get("identifier") for entity in event["entity"]]


def test_a_search_records_its_query_and_the_patient_it_names(client):
    client.get("/fhir/Encounter?subject=Patient/p-42&status=finished")
    [event] = audit_events(client, "subtype=search-type")
    query = next(entity for entity in event["entity"] if entity.get("role", {}).get("code") == "24")
    assert base64.b64decode(query["query"]) == b"subject=Patient/p-42&status=finished"
    assert "Patient/p-42" in references(event)


def test_the_trail_is_searchable_by_date_agent_entity_and_subtype(app, client):
    @app.before_request
    def _authenticated() -> None:  # what the authorization layer does for a valid token
        g.client_id = "acme-ehr"

    pid = post_json(client, "/fhir/Patient", patient("Searchable")).get_json()["id"]
    client.get(f"/fhir/Patient/{pid}")
    assert len(audit_events(client, "agent=Device/acme-ehr")) == 2
    assert len(audit_events(client, f"entity=Patient/{pid}")) == 2
    assert len(audit_events(client, "subtype=create")) == 1
    assert len(audit_events(client, "date=ge2000-01-01&subtype=read&agent=Device/acme-ehr")) == 1
    assert audit_events(client, "agent=Device/anonymous") == []


def test_a_write_and_its_record_commit_together(services, client):
    """A check that vetoes the write rolls back its AuditEvent too; the refusal is then recorded."""
    def refuse(_services, _conn, changes):
        return [Issue("error", "business-rule", "refused")] if changes[0].res_type == "Organization" else []

    services.write_checks.append(refuse)
    try:
        assert post_json(client, "/fhir/Organization", {"resourceType": "Organization", "name": "X"}).status_code == 422
    finally:
        services.write_checks.remove(refuse)
    assert [summary(e) for e in audit_events(client)] == [("create", "C", "4")]
    with services.store.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM resources WHERE res_type = 'Organization'")).scalar_one() == 0


def test_a_transaction_is_one_event_naming_every_resource_and_a_batch_records_each_entry(client):
    entries = [{"fullUrl": f"urn:uuid:0000000{n}-0000-4000-8000-000000000000", "resource": patient(f"T{n}"),
                "request": {"method": "POST", "url": "Patient"}} for n in range(3)]
    response = post_json(client, "/fhir", {"resourceType": "Bundle", "type": "transaction", "entry": entries})
    assert response.status_code == 200
    [event] = audit_events(client)
    assert summary(event) == ("transaction", "E", "0")
    assert sum(ref.startswith("Patient/") and "/_history/" in ref for ref in references(event)) == 3

    batch = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": patient("B1"), "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient/nowhere"}}]}
    assert post_json(client, "/fhir", batch).status_code == 200
    found = Counter(summary(e) for e in audit_events(client))
    assert found[("create", "C", "0")] == 1 and found[("batch", "E", "0")] == 1


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_clients_cannot_write_audit_events(client, method):
    body = json.dumps({"resourceType": "AuditEvent", "id": "forged"})
    url = "/fhir/AuditEvent" if method == "POST" else "/fhir/AuditEvent/forged"
    response = client.open(url, method=method, data=body, headers={"Content-Type": "application/fhir+json"})
    assert response.status_code == 405
    assert response.get_json()["resourceType"] == "OperationOutcome"
    [event] = audit_events(client)  # the attempt is recorded; nothing forged is stored
    assert event["outcome"] == "4" and event.get("id") != "forged"


def test_a_bundle_cannot_write_audit_events_either(client):
    forged = {"resourceType": "AuditEvent", "type": {"code": "rest"}, "recorded": "2020-01-01T00:00:00Z",
              "agent": [{"requestor": True}], "source": {"observer": {"display": "x"}}}
    for kind in ("transaction", "batch"):
        bundle = {"resourceType": "Bundle", "type": kind,
                  "entry": [{"resource": forged, "request": {"method": "POST", "url": "AuditEvent"}}]}
        response = post_json(client, "/fhir", bundle)
        if kind == "transaction":
            assert response.status_code in (405, 422), response.get_json()
        else:
            assert response.get_json()["entry"][0]["response"]["status"].startswith(("405", "422"))
    assert all(e["agent"][0]["who"].get("reference") == "Device/anonymous" for e in audit_events(client))
    assert not [e for e in audit_events(client) if e["recorded"].startswith("2020")]


def test_the_setting_turns_the_trail_off(settings, definitions):
    from adapter.app import create_app
    from adapter.services.container import Services

    services = Services.build(settings.replace(audit=False), definitions=definitions)
    try:
        client = create_app(settings.replace(audit=False), services=services).test_client()
        post_json(client, "/fhir/Patient", patient("Off"))
        client.get("/fhir/Patient?family=Off")
        assert audit_events(client) == []
    finally:
        services.close()


def test_when_the_record_cannot_be_written_the_data_is_not_served(settings, services):
    """Unbatched (audit_flush_ms=0): a database fault that hits only the audit write (its date index table is
    gone) is a 503, not the data."""
    from adapter.app import create_app
    from adapter.services.container import Services

    unbatched = settings.replace(audit_flush_ms=0)
    services.close()
    services = Services.build(unbatched, definitions=services.definitions)
    client = create_app(unbatched, services=services).test_client()
    pid = post_json(client, "/fhir/Patient", patient("Guarded")).get_json()["id"]
    with services.store.begin() as conn:
        conn.execute(text("ALTER TABLE search_date RENAME TO search_date_away"))
    try:
        response = client.get(f"/fhir/Patient/{pid}")
        assert response.status_code == 503
        assert response.get_json()["resourceType"] == "OperationOutcome"
        assert "Guarded" not in response.get_data(as_text=True)
    finally:
        with services.store.begin() as conn:
            conn.execute(text("ALTER TABLE search_date_away RENAME TO search_date"))


def test_request_ids_are_echoed_generated_or_replaced_when_unsafe(client):
    assert client.get("/fhir/metadata", headers={"X-Request-ID": "abc-1.2_3"}).headers["X-Request-ID"] == "abc-1.2_3"
    generated = client.get("/fhir/metadata").headers["X-Request-ID"]
    assert len(generated) == 32
    forged = client.get("/fhir/metadata", headers={"X-Request-ID": "x FAKE log line %s"}).headers["X-Request-ID"]
    assert "FAKE" not in forged and len(forged) == 32


PHI = ("Zacharias", "Quetzalcoatl", "MRN-99887766", "1961-07-04", "555-0199")


def test_log_lines_carry_the_request_id_and_no_phi(client, caplog):
    """Requests full of PHI (bodies, searches, failed writes that quote values): no PHI in any log line, and
    every line logged during a request carries its id."""
    caplog.set_level(logging.DEBUG)
    member = {"resourceType": "Patient", "identifier": [{"system": "urn:test:mrn", "value": PHI[2]}],
              "name": [{"family": PHI[0], "given": [PHI[1]]}], "birthDate": PHI[3],
              "telecom": [{"system": "phone", "value": PHI[4]}]}
    headers = {"X-Request-ID": "phi-test"}
    post_json(client, "/fhir/Patient", member, **headers)
    post_json(client, "/fhir/Patient", member, **headers)
    client.get(f"/fhir/Patient?family={PHI[0]}&identifier=urn:test:mrn|{PHI[2]}", headers=headers)
    post_json(client, "/fhir/Patient", member, **{"If-None-Exist": f"identifier=urn:test:mrn|{PHI[2]}"}, **headers)
    post_json(client, "/fhir/Patient", {**member, "birthDate": f"{PHI[0]}-not-a-date"}, **headers)
    put_json(client, "/fhir/Patient/p1", {**member, "id": f"{PHI[0]}"}, **headers)
    client.get(f"/fhir/Patient?birthdate=gt{PHI[0]}", headers={**headers, "Prefer": "handling=strict"})
    client.post("/fhir/Patient", data=f'{{"resourceType": "Patient", "name": "{PHI[1]}"',
                headers={"Content-Type": "application/fhir+json", **headers})
    # the lines of these requests: the test client serves them on this thread (other threads' background
    # work, e.g. an earlier test's worker, logs without a request id)
    request_lines = [record for record in caplog.records if record.name.startswith(("adapter", "werkzeug"))
                     and record.thread == threading.get_ident()]
    assert request_lines, "the failures above are logged"
    for record in caplog.records:
        line = record.getMessage() + (record.exc_text or "")
        assert not [value for value in PHI if value in line], line
    assert {record.request_id for record in request_lines} == {"phi-test"}, [
        (r.name, r.getMessage()[:80]) for r in request_lines if r.request_id != "phi-test"]


def test_a_read_is_spooled_before_its_answer_and_stored_by_the_flush(app, client, settings):
    spool = Path(settings.data_dir) / "audit-spool"
    client.get("/fhir/Patient?family=Spooled")
    [line] = [line for path in spool.glob("*.jsonl") for line in path.read_bytes().splitlines()]
    assert json.loads(line)["subtype"][0]["code"] == "search-type"
    queue = app.extensions["cmp_audit_queue"]
    assert queue.flush() == 1
    assert list(spool.glob("*.jsonl")) == []
    [event] = audit_events(client)
    assert event["id"] == json.loads(line)["id"]


def test_the_spool_of_a_killed_worker_is_stored_by_the_next_one_once(services, settings, client):
    """A worker killed after spooling (some of them already stored): the next start stores the rest, once,
    and ignores a torn last line."""
    from adapter.audit.queue import AuditQueue, store_events

    spool = Path(settings.data_dir) / "audit-spool"
    spool.mkdir(parents=True, exist_ok=True)
    dead = _dead_pid()
    events = [{"resourceType": "AuditEvent", "id": f"spooled-{n}", "type": {"code": "rest"},
               "recorded": "2026-01-01T00:00:00Z", "agent": [{"requestor": True}],
               "source": {"observer": {"display": "x"}}} for n in range(3)]
    store_events(services, [dict(events[0])])  # stored before the kill, its file not yet deleted
    lines = b"".join(json.dumps(event).encode() + b"\n" for event in events) + b'{"resourceType": "Audi'
    (spool / f"{dead}-1-0.jsonl").write_bytes(lines)
    (spool / f"{os.getpid()}-1-0.jsonl").write_bytes(b"")  # a live worker's own file is left alone
    assert AuditQueue.recover(services, spool) == 2
    assert sorted(e["id"] for e in audit_events(client)) == ["spooled-0", "spooled-1", "spooled-2"]
    assert [p.name for p in spool.iterdir()] == [f"{os.getpid()}-1-0.jsonl"]


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_queued_events_survive_a_database_outage(app, client, services):
    """A flush that fails keeps its events (and their spool file) for the next one."""
    client.get("/fhir/Patient?family=Outage")
    queue = app.extensions["cmp_audit_queue"]
    with services.store.begin() as conn:
        conn.execute(text("ALTER TABLE search_date RENAME TO search_date_away"))
    try:
        with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises for the missing table
            queue.flush()
        client.get("/fhir/Patient?family=Outage2")
    finally:
        with services.store.begin() as conn:
            conn.execute(text("ALTER TABLE search_date_away RENAME TO search_date"))
    assert queue.flush() == 2
    assert len(audit_events(client, "subtype=search-type")) == 2


def test_a_closed_service_queue_opens_no_more_connections(settings, definitions):
    """Services.close() (the end of a test, of a CLI run) first stores what the queue holds, then stops it:
    no connection is opened again behind the closed engine's back, and nothing is left spooled."""
    from adapter.app import create_app
    from adapter.services.container import Services

    services = Services.build(settings, definitions=definitions)
    app = create_app(settings, services=services)
    app.test_client().get("/fhir/Patient?family=Closing")
    services.close()
    checked_out = services.store.engine.pool.checkedin() + services.store.engine.pool.checkedout()
    assert app.extensions["cmp_audit_queue"].flush() == 0
    assert services.store.engine.pool.checkedin() + services.store.engine.pool.checkedout() == checked_out == 0
    assert list((Path(settings.data_dir) / "audit-spool").glob("*.jsonl")) == []
    reopened = Services.build(settings, definitions=definitions)
    try:
        with reopened.store.connect() as conn:
            stored = reopened.store.history(conn, res_type="AuditEvent", res_id=None, since=None, at=None,
                                            count=10, offset=0)[1]
    finally:
        reopened.close()
    assert stored == 1  # the search's record, stored at the close
