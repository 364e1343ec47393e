"""The CMP record examples convert to exactly the FHIR examples; the generated files are not stale."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import simplejson

from adapter.validation import Validator
from mappings import KIND_NAMES, bundle, kind

REPO = Path(__file__).resolve().parents[2]
CMP = REPO / "examples" / "cmp"
VALID = REPO / "examples" / "fhir" / "valid"
WHEN = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


def example(resource_type: str, resource_id: str) -> dict:
    return simplejson.loads((VALID / f"{resource_type}-{resource_id}.json").read_text(encoding="utf-8"),
                            use_decimal=True)


@pytest.mark.parametrize("kind_name", KIND_NAMES)
def test_cmp_records_give_exactly_the_fhir_examples(kind_name):
    module = kind(kind_name)
    records = json.loads((CMP / f"{kind_name}.json").read_text(encoding="utf-8"))
    assert records
    for data in records:
        record = module.MODEL.model_validate(data)
        for body in module.to_fhir(record):
            assert body == example(body["resourceType"], body["id"])
        assert module.from_fhir(module.to_fhir(record)) == record


def test_the_examples_cover_the_story():
    produced = set()
    for kind_name in KIND_NAMES:
        module = kind(kind_name)
        for data in json.loads((CMP / f"{kind_name}.json").read_text(encoding="utf-8")):
            produced |= {f"{r['resourceType']}-{r['id']}" for r in module.to_fhir(module.MODEL.model_validate(data))}
    files = {p.stem for p in VALID.glob("*.json")}
    assert {"Organization-pact-billings", "Organization-mct-missoula", "Practitioner-p-okafor",
            "PractitionerRole-pr-whitehorse"} <= produced
    for prefix in ("Patient-", "Coverage-", "Observation-", "EpisodeOfCare-", "CareTeam-team-", "CarePlan-itp-",
                   "Encounter-qc-", "Encounter-tm-", "Claim-",
                   "CarePlan-scp-", "CareTeam-sct-", "ServiceRequest-", "QuestionnaireResponse-"):
        assert {f for f in files if f.startswith(prefix)} <= produced, prefix


@pytest.mark.parametrize("script", ["make_cmp_examples.py", "make_record_schemas.py"])
def test_generated_files_are_up_to_date(script):
    result = subprocess.run([sys.executable, str(REPO / "scripts" / script), "--check"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr


def references(value: object) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in references(v)]
    if isinstance(value, list):
        return [r for v in value for r in references(v)]
    return []


@pytest.mark.parametrize("kind_name", KIND_NAMES)
def test_references_resolve_inside_the_transaction(kind_name):
    """Every reference to a resource of the same record becomes that entry's fullUrl; others stay relative."""
    module = kind(kind_name)
    for data in json.loads((CMP / f"{kind_name}.json").read_text(encoding="utf-8")):
        resources = module.to_fhir(module.MODEL.model_validate(data))
        tx = bundle.transaction(resources, WHEN, "state-mmis", "cmp-json")
        full_urls = {e["fullUrl"] for e in tx["entry"]}
        assert len(full_urls) == len(tx["entry"])
        inside = {f"{r['resourceType']}/{r['id']}" for r in resources}
        for entry in tx["entry"]:
            for target in references(entry["resource"]):
                assert target in full_urls or (target.count("/") == 1 and target not in inside), target
            assert entry["request"]["method"] in ("PUT", "POST")


@pytest.mark.parametrize("kind_name", KIND_NAMES)
def test_the_transaction_of_the_first_example_is_valid(validator, kind_name):
    module = kind(kind_name)
    data = json.loads((CMP / f"{kind_name}.json").read_text(encoding="utf-8"))[0]
    tx = bundle.transaction(module.to_fhir(module.MODEL.model_validate(data)), WHEN, "state-mmis", "cmp-json")
    problems = [f"{i.expression}: {i.diagnostics}" for i in validator.validate(tx) if i.is_error]
    assert problems == []


@pytest.fixture(scope="module")
def validator(definitions) -> Validator:
    return Validator(definitions)
