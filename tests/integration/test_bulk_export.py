"""Bulk Data ``$export`` through the app (SQLite and PostgreSQL): kick-off checks, manifest and files against
the store, ``_type``/``_since``/``_typeFilter``, compartments, the consistent cut, cancel, leases, cleanup.

Most tests let the app's own worker threads run the job; those that must act between the kick-off and the
run (the consistent cut, leases) disable the pool (``export_workers=0``) and claim the job themselves.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from adapter.services.bulk_export import BulkExports
from adapter.services.bulk_runner import ERROR_FILE, job_folder, run_job
from adapter.store.export_jobs import COMPLETED, FAILED, IN_PROGRESS
from adapter.store.schema import resources
from adapter.store.sql import now_utc

FHIR_JSON = {"Content-Type": "application/fhir+json"}
ASYNC = {"Prefer": "respond-async"}


@pytest.fixture
def bulk_settings(settings):
    return settings.replace(export_retry_after_seconds=1, export_lease_seconds=5, export_page_size=7,
                            export_file_max_resources=10)


@pytest.fixture
def app(bulk_settings, services) -> Iterator[Flask]:
    from adapter.app import create_app

    services.settings = bulk_settings
    app = create_app(bulk_settings, services=services)
    yield app
    app.extensions["cmp_bulk"].close()


@pytest.fixture
def manual_app(bulk_settings, services) -> Iterator[Flask]:
    """An app whose export jobs only run when the test runs them."""
    from adapter.app import create_app

    manual = bulk_settings.replace(export_workers=0)
    services.settings = manual
    app = create_app(manual, services=services)
    yield app
    app.extensions["cmp_bulk"].close()


def _create(client: FlaskClient, resource: dict) -> dict:
    response = client.post(f"/fhir/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _story(client: FlaskClient) -> dict[str, list[dict]]:
    """Three patients (two on a team panel), their observations and encounters, and unrelated resources."""
    patients = [_create(client, {"resourceType": "Patient", "name": [{"family": f"P{i}"}]}) for i in range(3)]
    created: dict[str, list[dict]] = {"Patient": patients, "Observation": [], "Encounter": []}
    for number, patient in enumerate(patients):
        for status in ("final", "preliminary"):
            created["Observation"].append(_create(client, {
                "resourceType": "Observation", "status": status, "code": {"text": f"obs {number}"},
                "subject": {"reference": f"Patient/{patient['id']}"}}))
        created["Encounter"].append(_create(client, {
            "resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
            "subject": {"reference": f"Patient/{patient['id']}"}}))
    created["Organization"] = [_create(client, {"resourceType": "Organization", "name": f"Org {i}"})
                               for i in range(12)]
    created["Group"] = [_create(client, {
        "resourceType": "Group", "type": "person", "actual": True,
        "member": [{"entity": {"reference": f"Patient/{p['id']}"}} for p in patients[:2]]})]
    return created


def _kick_off(client: FlaskClient, path: str, **params) -> str:
    response = client.get(path, query_string=params, headers=ASYNC)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.headers["Content-Location"].removeprefix("http://localhost")


def _wait(client: FlaskClient, status_url: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(status_url)
        if response.status_code != 202:
            assert response.status_code == 200, response.get_data(as_text=True)
            assert response.content_type == "application/json"
            assert "Expires" in response.headers
            return response.get_json()
        assert response.headers["X-Progress"] and int(response.headers["Retry-After"]) >= 1
        time.sleep(0.1)
    raise AssertionError("export did not finish")


def _download(client: FlaskClient, manifest: dict) -> dict[str, list[bytes]]:
    """Lines per type, from every output file."""
    lines: dict[str, list[bytes]] = {}
    for output in manifest["output"]:
        response = client.get(output["url"].removeprefix("http://localhost"))
        assert response.status_code == 200
        assert response.mimetype == "application/fhir+ndjson"
        body = response.get_data().splitlines()
        assert len(body) == output["count"]
        lines.setdefault(output["type"], []).extend(body)
    return lines


def _stored(services, res_type: str) -> list[bytes]:
    with services.store.connect() as conn:
        return list(conn.execute(select(resources.c.content).where(
            resources.c.res_type == res_type, resources.c.deleted.is_(False)).order_by(resources.c.pk)).scalars())


def _ids(lines: list[bytes]) -> set[str]:
    return {json.loads(line)["id"] for line in lines}


# --- kick-off checks -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, headers, fragment", [
    ({}, {}, "respond-async"),
    ({"_outputFormat": "text/csv"}, ASYNC, "_outputFormat"),
    ({"_type": "NoSuchType"}, ASYNC, "NoSuchType"),
    ({"_since": "2026-01-05"}, ASYNC, "instant"),
    ({"_since": "yesterday"}, ASYNC, "instant"),
    ({"_typeFilter": "Observation"}, ASYNC, "Type?search"),
    ({"_typeFilter": "Observation?nonsense=1"}, ASYNC, "nonsense"),
    ({"_typeFilter": "Observation?_sort=date"}, ASYNC, "_sort"),
    ({"_elements": "id"}, ASYNC, "_elements"),
])
def test_a_bad_kick_off_is_400_with_an_operation_outcome(client, query, headers, fragment):
    response = client.get("/fhir/$export", query_string=query, headers=headers)
    assert response.status_code == 400
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert fragment in outcome["issue"][0]["diagnostics"]


def test_a_post_kick_off_takes_a_parameters_body(client):
    created = _story(client)
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "_type", "valueString": "Observation"}, {"name": "_outputFormat", "valueString": "ndjson"},
        {"name": "_typeFilter", "valueString": "Observation?status=final"}]}
    response = client.post("/fhir/Patient/$export", json=body, headers={**ASYNC, **FHIR_JSON})
    assert response.status_code == 202
    lines = _download(client, _wait(client, response.headers["Content-Location"].removeprefix("http://localhost")))
    assert _ids(lines["Observation"]) == {o["id"] for o in created["Observation"] if o["status"] == "final"}
    unsupported = {"resourceType": "Parameters", "parameter": [{"name": "patient",
                                                                "valueReference": {"reference": "Patient/x"}}]}
    refused = client.post("/fhir/$export", json=unsupported, headers={**ASYNC, **FHIR_JSON})
    assert refused.status_code == 400 and "patient" in refused.get_json()["issue"][0]["diagnostics"]
    not_parameters = client.post("/fhir/$export", json={"resourceType": "Patient"}, headers={**ASYNC, **FHIR_JSON})
    assert not_parameters.status_code == 400


def test_a_type_outside_the_patient_compartment_is_400_at_patient_level(client):
    response = client.get("/fhir/Patient/$export", query_string={"_type": "Organization"}, headers=ASYNC)
    assert response.status_code == 400


def test_group_export_of_an_unknown_group_is_404(client):
    assert client.get("/fhir/Group/nope/$export", headers=ASYNC).status_code == 404


def test_lenient_handling_ignores_what_is_unsupported_and_says_so_in_the_error_file(client):
    _story(client)
    strict = client.get("/fhir/$export", query_string={"_type": "Patient,NoSuchType"}, headers=ASYNC)
    assert strict.status_code == 400
    lenient = client.get("/fhir/$export", query_string={"_type": "Patient,NoSuchType", "_elements": "id"},
                         headers={"Prefer": "respond-async, handling=lenient"})
    assert lenient.status_code == 202
    manifest = _wait(client, lenient.headers["Content-Location"].removeprefix("http://localhost"))
    assert {o["type"] for o in manifest["output"]} == {"Patient"}
    assert len(manifest["error"]) == 1 and manifest["error"][0]["type"] == "OperationOutcome"
    errors = [json.loads(line) for line in client.get(manifest["error"][0]["url"].removeprefix("http://localhost"))
              .get_data().splitlines()]
    diagnostics = " ".join(issue["diagnostics"] for outcome in errors for issue in outcome["issue"])
    assert "NoSuchType" in diagnostics and "_elements" in diagnostics


# --- what an export contains ---------------------------------------------------------------------------------

def test_system_export_files_hold_exactly_the_stored_resources(client, services):
    created = _story(client)
    status = _kick_off(client, "/fhir/$export", _outputFormat="application/fhir+ndjson")
    manifest = _wait(client, status)
    assert manifest["request"].endswith("/fhir/$export?_outputFormat=application/fhir%2Bndjson")
    assert manifest["requiresAccessToken"] is False
    assert manifest["error"] == []
    lines = _download(client, manifest)
    assert set(lines) == set(created)
    for res_type in created:
        assert lines[res_type] == _stored(services, res_type)  # the stored bytes, in store order
    organizations = [o for o in manifest["output"] if o["type"] == "Organization"]
    assert [o["count"] for o in organizations] == [10, 2]  # split at export_file_max_resources


def test_type_since_and_type_filter(client):
    created = _story(client)
    time.sleep(0.01)
    cut = now_utc()
    time.sleep(0.01)
    late = _create(client, {"resourceType": "Observation", "status": "final", "code": {"text": "late"},
                            "subject": {"reference": f"Patient/{created['Patient'][0]['id']}"}})
    manifest = _wait(client, _kick_off(client, "/fhir/$export", _type="Observation,Patient"))
    assert [o["type"] for o in manifest["output"]] == ["Observation", "Patient"]  # in _type's order
    since = cut.isoformat() + "Z"
    lines = _download(client, _wait(client, _kick_off(client, "/fhir/$export", _type="Observation", _since=since)))
    assert _ids(lines["Observation"]) == {late["id"]}
    filtered = _download(client, _wait(client, _kick_off(
        client, "/fhir/$export", _type="Observation,Encounter", _typeFilter="Observation?status=preliminary")))
    assert _ids(filtered["Observation"]) == {o["id"] for o in created["Observation"] if o["status"] == "preliminary"}
    assert len(filtered["Encounter"]) == 3  # no filter for Encounter: all of them
    either = client.get("/fhir/$export", headers=ASYNC, query_string=[
        ("_type", "Observation"), ("_typeFilter", "Observation?status=preliminary"),
        ("_typeFilter", f"Observation?_id={late['id']}")])
    lines = _download(client, _wait(client, either.headers["Content-Location"].removeprefix("http://localhost")))
    assert _ids(lines["Observation"]) == {o["id"] for o in created["Observation"] if o["status"] == "preliminary"} \
        | {late["id"]}


def test_patient_and_group_exports_take_the_patient_compartments(client):
    created = _story(client)
    everyone = _download(client, _wait(client, _kick_off(client, "/fhir/Patient/$export")))
    assert "Organization" not in everyone  # not in the Patient compartment
    assert len(everyone["Patient"]) == 3 and len(everyone["Observation"]) == 6
    group = created["Group"][0]
    panel = _download(client, _wait(client, _kick_off(client, f"/fhir/Group/{group['id']}/$export")))
    members = {p["id"] for p in created["Patient"][:2]}
    assert _ids(panel["Patient"]) == members
    assert {json.loads(line)["subject"]["reference"] for line in panel["Observation"]} == {
        f"Patient/{i}" for i in members}
    assert len(panel["Encounter"]) == 2
    assert _ids(panel["Group"]) == {group["id"]}


def test_the_export_is_a_consistent_cut_at_its_transaction_time(manual_app, services):
    client = manual_app.test_client()
    created = _story(client)
    changed, removed = created["Observation"][0], created["Observation"][1]
    status = _kick_off(client, "/fhir/$export", _type="Observation")
    assert client.get(status).headers["X-Progress"] == "queued"
    time.sleep(0.01)
    # After the kick-off: one observation updated, one deleted, one created.
    updated = client.put(f"/fhir/Observation/{changed['id']}", headers=FHIR_JSON,
                         json={**changed, "status": "amended"})
    assert updated.status_code == 200
    assert client.delete(f"/fhir/Observation/{removed['id']}").status_code == 200
    _create(client, {"resourceType": "Observation", "status": "final", "code": {"text": "after"}})
    exports: BulkExports = manual_app.extensions["cmp_bulk"]
    job = exports.jobs.claim("test-owner", 30, 3)
    assert job is not None and job.state == IN_PROGRESS
    run_job(services, exports.jobs, job, "test-owner")
    manifest = _wait(client, status)
    assert manifest["transactionTime"] < updated.get_json()["meta"]["lastUpdated"]
    lines = _download(client, manifest)["Observation"]
    assert sorted(lines) == sorted(json.dumps(o, separators=(",", ":")).encode() for o in created["Observation"])


# --- cancel, failure, leases, cleanup ----------------------------------------------------------------------

def test_delete_cancels_and_removes_the_files(client, services, app):
    _story(client)
    status = _kick_off(client, "/fhir/$export")
    manifest = _wait(client, status)
    job_id = status.rsplit("/", 1)[1]
    folder = job_folder(services, job_id)
    assert folder.is_dir()
    file_url = manifest["output"][0]["url"].removeprefix("http://localhost")
    response = client.delete(status)
    assert response.status_code == 202
    assert not folder.exists()
    assert client.get(status).status_code == 404
    assert client.delete(status).status_code == 404
    assert client.get(file_url).status_code == 404


def test_cancelling_a_running_job_stops_it(manual_app, services):
    client = manual_app.test_client()
    _story(client)
    status = _kick_off(client, "/fhir/$export")
    exports: BulkExports = manual_app.extensions["cmp_bulk"]
    job = exports.jobs.claim("test-owner", 30, 3)
    assert client.delete(status).status_code == 202  # the lease is live: the runner cleans up
    assert exports.jobs.get(job.id) is not None
    exports.workers._run(job)
    assert exports.jobs.get(job.id) is None
    assert not job_folder(services, job.id).exists()
    assert client.get(status).status_code == 404


def test_unknown_jobs_and_files_are_404(client):
    assert client.get("/fhir/$export-status/nope").status_code == 404
    assert client.delete("/fhir/$export-status/nope").status_code == 404
    _story(client)
    status = _kick_off(client, "/fhir/$export", _type="Patient")
    _wait(client, status)
    job_id = status.rsplit("/", 1)[1]
    assert client.get(f"/fhir/$export-files/{job_id}/Patient-1.ndjson").status_code == 200
    assert client.get(f"/fhir/$export-files/{job_id}/Group-1.ndjson").status_code == 404
    assert client.get(f"/fhir/$export-files/{job_id}/..%2Fx").status_code == 404
    assert client.get(f"/fhir/$export-files/nope/{ERROR_FILE}").status_code == 404


def test_an_expired_lease_is_reclaimed_and_the_job_restarts(manual_app, services):
    client = manual_app.test_client()
    _story(client)
    status = _kick_off(client, "/fhir/$export", _type="Patient")
    exports: BulkExports = manual_app.extensions["cmp_bulk"]
    assert exports.jobs.claim("dead-worker", 1, 3) is not None
    assert exports.jobs.claim("other", 1, 3) is None  # the lease is live
    time.sleep(1.1)
    job = exports.jobs.claim("survivor", 30, 3)
    assert job is not None and job.attempts == 2
    assert not exports.jobs.heartbeat(job.id, "dead-worker", 30, progress="", exported=0, total=0, output=[])
    run_job(services, exports.jobs, job, "survivor")
    manifest = _wait(client, status)
    assert len(_download(client, manifest)["Patient"]) == 3
    assert manifest["error"]  # the restart is reported
    notes = client.get(manifest["error"][0]["url"].removeprefix("http://localhost")).get_data(as_text=True)
    assert "restarted" in notes


def test_concurrent_claimers_never_take_the_same_job(manual_app):
    """Eight threads claim from six waiting jobs at once: each job goes to exactly one of them (PostgreSQL:
    FOR UPDATE SKIP LOCKED; SQLite: the single-writer lock)."""
    client = manual_app.test_client()
    statuses = {_kick_off(client, "/fhir/$export", _type="Patient").rsplit("/", 1)[1] for _ in range(6)}
    exports: BulkExports = manual_app.extensions["cmp_bulk"]
    start = threading.Barrier(8)

    def claim_all(number: int) -> list[str]:
        start.wait()
        taken = []
        while (job := exports.jobs.claim(f"worker-{number}", 30, 3)) is not None:
            taken.append(job.id)
        return taken

    with ThreadPoolExecutor(8) as pool:
        claimed = [job_id for taken in pool.map(claim_all, range(8)) for job_id in taken]
    assert sorted(claimed) == sorted(statuses)


def test_a_job_interrupted_too_often_fails_with_an_operation_outcome(manual_app):
    client = manual_app.test_client()
    status = _kick_off(client, "/fhir/$export")
    exports: BulkExports = manual_app.extensions["cmp_bulk"]
    assert exports.jobs.claim("dead-1", 1, 2) is not None
    time.sleep(1.1)
    assert exports.jobs.claim("dead-2", 1, 2) is not None
    time.sleep(1.1)
    assert exports.jobs.claim("third", 30, 2) is None  # failed instead of claimed
    response = client.get(status)
    assert response.status_code == 500
    outcome = response.get_json()
    assert outcome["issue"][-1]["severity"] == "fatal" and "interrupted 2 times" in outcome["issue"][-1]["diagnostics"]
    job_id = status.rsplit("/", 1)[1]
    failed = exports.jobs.get(job_id)
    assert failed.state == FAILED and failed.expires_at == failed.finished_at + timedelta(seconds=3600)


def test_finished_jobs_are_deleted_after_the_retention_time(app, services):
    client = app.test_client()
    _story(client)
    status = _kick_off(client, "/fhir/$export", _type="Patient")
    _wait(client, status)
    job_id = status.rsplit("/", 1)[1]
    exports: BulkExports = app.extensions["cmp_bulk"]
    assert exports.workers.sweep() == []  # within the retention time
    job = exports.jobs.get(job_id)
    assert job.state == COMPLETED
    assert job.expires_at - job.finished_at == timedelta(seconds=3600)
    with services.store.begin() as conn:  # let the retention time pass
        from adapter.store.schema import export_jobs

        conn.execute(export_jobs.update().where(export_jobs.c.id == job_id)
                     .values(expires_at=now_utc() - timedelta(seconds=1)))
    orphan = services.settings.exports_dir / "orphan"
    orphan.mkdir(parents=True)
    assert exports.workers.sweep() == [job_id]
    assert not job_folder(services, job_id).exists() and not orphan.exists()
    assert client.get(status).status_code == 404


def test_the_capability_statement_lists_the_export_operations(client):
    statement = client.get("/fhir/metadata").get_json()
    rest = statement["rest"][0]
    assert {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"} \
        in rest["operation"]
    by_type = {r["type"]: r for r in rest["resource"]}
    assert {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"} \
        in by_type["Patient"]["operation"]
    assert {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"} \
        in by_type["Group"]["operation"]
