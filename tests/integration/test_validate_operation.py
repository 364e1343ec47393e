"""$validate over HTTP and `cmp-adapter validate` offline (R4 resource-operation-validate)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from adapter.cli import main
from tests.integration.fhir_helpers import issues, post_json, put_json
from tests.integration.test_cli import cli_env

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "fhir"
CONTACT = json.loads((EXAMPLES / "valid" / "Encounter-qc-m-001-20260106.json").read_text())
MEMBER_PROFILE = "https://cmp-adapter.org/fhir/StructureDefinition/cmp-member"


def errors(response) -> list[dict]:
    return [i for i in issues(response) if i["severity"] in ("error", "fatal")]


def test_validate_a_valid_resource_is_200_without_errors(client):
    response = post_json(client, "/fhir/Encounter/$validate", CONTACT)
    assert response.status_code == 200
    assert errors(response) == []


def test_validate_an_invalid_resource_is_still_200_and_stores_nothing(client):
    broken = {**CONTACT, "status": "nonsense"}
    response = post_json(client, "/fhir/Encounter/$validate", broken)
    assert response.status_code == 200
    assert any("Encounter.status" in i["expression"][0] for i in errors(response))
    assert client.get("/fhir/Encounter").get_json(force=True)["total"] == 0


def test_validate_with_parameters_profile_and_mode(client):
    patient = {"resourceType": "Patient", "id": "p1", "gender": "female"}
    parameters = {"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": patient}, {"name": "profile", "valueUri": MEMBER_PROFILE},
        {"name": "mode", "valueCode": "create"}]}
    response = post_json(client, "/fhir/Patient/$validate", parameters)
    assert response.status_code == 200
    assert any(i.get("expression", [""])[0].startswith("Patient.identifier") for i in errors(response))
    assert errors(post_json(client, "/fhir/Patient/$validate", patient)) == []


def test_validate_a_stored_resource_against_a_profile_by_get(client):
    put_json(client, "/fhir/Patient/p2", {"resourceType": "Patient", "id": "p2", "gender": "male"})
    response = client.get(f"/fhir/Patient/p2/$validate?profile={MEMBER_PROFILE}")
    assert response.status_code == 200
    assert errors(response)
    assert client.get("/fhir/Patient/p2/$validate").status_code == 200
    assert client.get("/fhir/Patient/nobody/$validate").status_code == 404


def test_validate_modes(client):
    put_json(client, "/fhir/Patient/p3", {"resourceType": "Patient", "id": "p3"})
    assert client.post("/fhir/Patient/p3/$validate?mode=delete").status_code == 200
    mismatch = post_json(client, "/fhir/Patient/p3/$validate?mode=update", {"resourceType": "Patient", "id": "x"})
    assert mismatch.status_code == 400
    assert post_json(client, "/fhir/Patient/$validate?mode=destroy", {"resourceType": "Patient"}).status_code == 400


def test_unusable_validate_requests_are_400(client):
    assert post_json(client, "/fhir/Patient/$validate", CONTACT).status_code == 400  # an Encounter
    assert client.post("/fhir/Patient/$validate").status_code == 400  # no body
    assert post_json(client, "/fhir/Patient/$validate", {"resourceType": "Parameters"}).status_code == 400


def test_capability_statement_lists_validate(client):
    statement = client.get("/fhir/metadata").get_json(force=True)
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    assert {"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"} \
        in patient["operation"]


def test_cli_validate_passes_valid_and_fails_invalid_examples(settings):
    runner = CliRunner()
    valid = runner.invoke(main, ["validate", str(EXAMPLES / "valid")], env=cli_env(settings))
    assert valid.exit_code == 0, valid.output[-2000:]
    assert "with errors" in valid.output and ", 0 with errors" in valid.output
    invalid_file = sorted((EXAMPLES / "invalid").glob("Encounter-*.json"))[0]
    invalid = runner.invoke(main, ["validate", str(invalid_file)], env=cli_env(settings))
    assert invalid.exit_code == 1
    assert "FAIL" in invalid.output
    as_json = runner.invoke(main, ["validate", "--json", str(invalid_file)], env=cli_env(settings))
    outcome = json.loads(as_json.output.strip().splitlines()[-1])["outcome"]
    assert outcome["resourceType"] == "OperationOutcome"


def test_cli_validate_with_a_profile_option_and_a_bad_file(settings, tmp_path):
    patient = tmp_path / "p.json"
    patient.write_text(json.dumps({"resourceType": "Patient", "gender": "female"}))
    (tmp_path / "broken.json").write_text("{nope")
    result = CliRunner().invoke(main, ["validate", "--profile", MEMBER_PROFILE, str(tmp_path)], env=cli_env(settings))
    assert result.exit_code == 1
    assert "broken.json" in result.output and "Patient.identifier" in result.output
