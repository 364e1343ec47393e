"""``cmp-adapter push | pull | sandbox-check`` end to end: click's runner in-process, the server a real
process over HTTP (this adapter on 127.0.0.1, or ``CMP_ADAPTER_SANDBOX_URL``; see ``test_client.py``)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from click.testing import CliRunner

from adapter.cli import main
from adapter.client import FhirClient
from tests.integration.test_client import ENCOUNTER_CLASS, sandbox_url  # noqa: F401  (the fixture)

REPO = Path(__file__).resolve().parents[2]


def _ndjson(path: Path, resources: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources))


def test_push_in_dependency_order_across_batches_with_urn_references(sandbox_url, tmp_path):  # noqa: F811
    tag = uuid.uuid4().hex[:10]
    folder = tmp_path / "in"
    folder.mkdir()
    _ndjson(folder / "a.ndjson", [  # the Encounter comes before the Patient it refers to
        {"resourceType": "Encounter", "id": f"e-{tag}", "status": "finished", "class": ENCOUNTER_CLASS,
         "subject": {"reference": f"Patient/p-{tag}"}},
        {"resourceType": "Patient", "id": f"p-{tag}", "name": [{"family": f"Zz{tag}"}]},
        {"resourceType": "Practitioner", "id": f"x-{tag}"}])
    urn = f"urn:uuid:{uuid.uuid4()}"
    (folder / "b.json").write_text(json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": urn, "resource": {"resourceType": "Patient", "name": [{"family": f"Zz{tag}"}]},
         "request": {"method": "POST", "url": "Patient"}}]}))
    _ndjson(folder / "c.ndjson", [{"resourceType": "Observation", "status": "final", "code": {"text": tag},
                                   "subject": {"reference": urn}}])

    result = CliRunner().invoke(main, ["push", "--to", sandbox_url, "--batch-size", "2", str(folder)])
    assert result.exit_code == 0, result.output
    assert "5 accepted, 0 rejected" in result.output

    with FhirClient(sandbox_url) as client:
        assert client.read("Encounter", f"e-{tag}")["subject"]["reference"] == f"Patient/p-{tag}"
        observation = client.resources("Observation").search(code__text=tag).first()
        kind, _, patient_id = observation["subject"]["reference"].partition("/")
        assert kind == "Patient" and client.read("Patient", patient_id)["name"][0]["family"] == f"Zz{tag}"

    again = CliRunner().invoke(main, ["push", "--to", sandbox_url, str(folder / "a.ndjson")])
    assert again.exit_code == 0 and "3 accepted" in again.output  # ids are PUT: pushing twice keeps one copy
    with FhirClient(sandbox_url) as client:
        assert client.resources("Patient").search(_id=f"p-{tag}").count() == 1


def test_push_reports_rejections_with_the_servers_outcome(sandbox_url, tmp_path):  # noqa: F811
    tag = uuid.uuid4().hex[:10]
    path = tmp_path / "mixed.ndjson"
    _ndjson(path, [{"resourceType": "Patient", "id": f"ok-{tag}"},
                   {"resourceType": "Patient", "id": f"bad-{tag}", "gender": "not-a-gender"}])
    result = CliRunner().invoke(main, ["push", "--to", sandbox_url, "--batch-size", "1", str(path)])
    assert result.exit_code == 1
    assert "1 accepted, 1 rejected" in result.output
    assert f"rejected Patient/bad-{tag} ({path}:2): error" in result.output
    assert "gender" in result.output  # the OperationOutcome's location or diagnostics


def test_push_refuses_files_it_cannot_read(sandbox_url, tmp_path):  # noqa: F811
    (tmp_path / "x.xml").write_text("<Patient/>")
    result = CliRunner().invoke(main, ["push", "--to", sandbox_url, str(tmp_path / "x.xml")])
    assert result.exit_code == 1 and "JSON" in result.output


def test_pull_pages_into_ndjson_per_type(sandbox_url, tmp_path):  # noqa: F811
    tag = uuid.uuid4().hex[:10]
    with FhirClient(sandbox_url) as client:
        client.transaction([{"resource": {"resourceType": "Patient", "id": f"{tag}-{n}",
                                          "name": [{"family": f"Zz{tag}"}]},
                             "request": {"method": "PUT", "url": f"Patient/{tag}-{n}"}} for n in range(5)]
                           + [{"resource": {"resourceType": "Encounter", "id": f"{tag}-e", "status": "finished",
                                            "class": ENCOUNTER_CLASS, "subject": {"reference": f"Patient/{tag}-0"}},
                               "request": {"method": "PUT", "url": f"Encounter/{tag}-e"}}])
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["pull", "--from", sandbox_url, "--out", str(out),
                                       "--query", f"Patient?family=Zz{tag}&_count=2",
                                       "--query", f"Encounter?_id={tag}-e&_include=Encounter:subject"])
    assert result.exit_code == 0, result.output
    patients = [json.loads(line) for line in (out / "Patient.ndjson").read_text().splitlines()]
    encounters = [json.loads(line) for line in (out / "Encounter.ndjson").read_text().splitlines()]
    assert sorted(p["id"] for p in patients) == [f"{tag}-{n}" for n in range(5)]  # the included one once
    assert [e["id"] for e in encounters] == [f"{tag}-e"]
    assert "pulled 6 resources" in result.output


def test_sandbox_check_round_trips_the_example_story(sandbox_url):  # noqa: F811
    result = CliRunner().invoke(main, ["sandbox-check", "--base", sandbox_url])
    assert result.exit_code == 0, result.output[-3000:]
    lines = result.output.splitlines()
    assert any(line.startswith("Encounter") and line.endswith("PASS") for line in lines)
    assert any(line.startswith("CarePlan") and line.endswith("PASS") for line in lines)
    assert lines[-1] == "PASS"


def test_sandbox_check_fails_on_a_resource_the_server_refuses(sandbox_url, tmp_path):  # noqa: F811
    tag = uuid.uuid4().hex[:10]
    _ndjson(tmp_path / "story.ndjson", [
        {"resourceType": "Patient", "id": f"good-{tag}", "gender": "female"},
        {"resourceType": "Observation", "id": f"bad-{tag}", "status": "not-a-status", "code": {"text": "x"}}])
    result = CliRunner().invoke(main, ["sandbox-check", "--base", sandbox_url, "--examples", str(tmp_path),
                                       "--batch-size", "1"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("Patient") and line.endswith("PASS") for line in lines)
    assert any(line.startswith("Observation") and line.endswith("FAIL") for line in lines)
    assert f"Observation/bad-{tag}: rejected on push" in result.output
    assert lines[-1] == "FAIL"
