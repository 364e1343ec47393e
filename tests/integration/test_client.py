"""``FhirClient`` against a real FHIR server over HTTP: CRUD, conditional create, If-Match, paging,
``_include``, transaction and ``$validate``.

By default the tests start this adapter (``cmp-adapter serve``, gunicorn, empty SQLite) on 127.0.0.1. Set
``CMP_ADAPTER_SANDBOX_URL`` to a FHIR R4 base URL (HAPI, Firely, another adapter) to run them there instead:
they use only standard R4 interactions and make their data unique per run, so a shared server is fine.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from adapter.client import (
    Conflict,
    FhirClient,
    HTTPStatusError,
    PreconditionFailed,
    ResourceGone,
    ResourceNotFound,
    read_many,
)
from tests.integration.live_server import running_server

SANDBOX_ENV = "CMP_ADAPTER_SANDBOX_URL"
ENCOUNTER_CLASS = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}


@pytest.fixture(scope="module")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory, base_settings) -> Iterator[str]:
    """A FHIR R4 base URL: ``CMP_ADAPTER_SANDBOX_URL``, or a fresh adapter process on 127.0.0.1."""
    external = os.environ.get(SANDBOX_ENV)
    if external:
        yield external.rstrip("/")
        return
    env = {"CMP_ADAPTER_DATA_DIR": str(tmp_path_factory.mktemp("sandbox")),
           "CMP_ADAPTER_FHIR_PACKAGES": base_settings.fhir_packages,
           "CMP_ADAPTER_COMPILED_CACHE_DIR": base_settings.effective_compiled_cache_dir}
    with running_server(env) as base:
        yield base


@pytest.fixture
def fhir(sandbox_url: str) -> Iterator[FhirClient]:
    with FhirClient(sandbox_url, timeout=(5, 120)) as client:
        yield client


def unique() -> str:
    return "Zz" + uuid.uuid4().hex[:10]


def test_capabilities(fhir):
    statement = fhir.capabilities()
    assert statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"].startswith("4.0")


def test_crud_and_if_match(fhir):
    created = fhir.create({"resourceType": "Patient", "name": [{"family": unique()}], "gender": "female"})
    assert created["id"] and created["meta"]["versionId"]
    assert fhir.read("Patient", created["id"])["gender"] == "female"
    first_version = created["meta"]["versionId"]

    updated = fhir.update({**created, "gender": "male"}, if_match=True)
    assert updated["meta"]["versionId"] != first_version
    assert fhir.vread("Patient", created["id"], first_version)["gender"] == "female"

    with pytest.raises((PreconditionFailed, Conflict)) as stale:  # 412 in R4; HAPI says 409
        fhir.update({**created, "gender": "other"}, if_match=first_version)
    assert stale.value.outcome["resourceType"] == "OperationOutcome"
    assert fhir.read("Patient", created["id"])["gender"] == "male"

    fhir.delete("Patient", created["id"])
    with pytest.raises(ResourceGone) as gone:
        fhir.read("Patient", created["id"])
    assert gone.value.status_code == 410
    with pytest.raises(ResourceNotFound) as missing:
        fhir.read("Patient", "no-such-" + unique().lower())
    assert missing.value.outcome is None or missing.value.outcome["resourceType"] == "OperationOutcome"


def test_conditional_create(fhir):
    system = f"urn:test:{unique()}"
    patient = {"resourceType": "Patient", "identifier": [{"system": system, "value": "42"}]}
    first, created = fhir.conditional_create(patient, {"identifier": f"{system}|42"})
    again, created_again = fhir.conditional_create(patient, f"identifier={system}|42")
    assert created and not created_again
    assert again["id"] == first["id"]
    assert fhir.resources("Patient").search(identifier=f"{system}|42").count() == 1


def test_search_follows_next_links_over_several_pages(fhir):
    family = unique()
    fhir.transaction([{"resource": {"resourceType": "Practitioner", "name": [{"family": family, "given": [str(n)]}]},
                       "request": {"method": "POST", "url": "Practitioner"}} for n in range(7)])
    search = fhir.resources("Practitioner").search(family=family).limit(3)
    pages = list(search.pages())
    assert len(pages) == 3 and all(page["type"] == "searchset" for page in pages)
    found = list(search)
    assert sorted(p["name"][0]["given"][0] for p in found) == [str(n) for n in range(7)]
    assert len(search.fetch()) == 3
    assert search.count() == 7


def test_include_returns_the_referenced_resource_alongside(fhir):
    patient = fhir.create({"resourceType": "Patient", "name": [{"family": unique()}]})
    encounter = fhir.create({"resourceType": "Encounter", "status": "finished", "class": ENCOUNTER_CLASS,
                             "subject": {"reference": f"Patient/{patient['id']}"}})
    search = fhir.resources("Encounter").search(_id=encounter["id"]).include("Encounter", "subject")
    bundle = next(search.pages())
    modes = {(e["resource"]["resourceType"], e["search"]["mode"]) for e in bundle["entry"]}
    assert modes == {("Encounter", "match"), ("Patient", "include")}
    assert [r["id"] for r in search] == [encounter["id"]]  # iteration yields matches only


def test_transaction_resolves_urn_references_and_is_all_or_nothing(fhir):
    family = unique()
    response = fhir.transaction([
        {"fullUrl": "urn:uuid:0c6a2a0e-0000-4000-8000-000000000001",
         "resource": {"resourceType": "Patient", "name": [{"family": family}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "weight"},
                      "subject": {"reference": "urn:uuid:0c6a2a0e-0000-4000-8000-000000000001"}},
         "request": {"method": "POST", "url": "Observation"}},
    ])
    assert response["type"] == "transaction-response"
    assert [e["response"]["status"][:3] for e in response["entry"]] == ["201", "201"]
    patient_id = response["entry"][0]["response"]["location"].split("/")[1]
    observation_id = response["entry"][1]["response"]["location"].split("/")[1]
    assert fhir.read("Observation", observation_id)["subject"]["reference"] == f"Patient/{patient_id}"

    with pytest.raises(HTTPStatusError) as refused:
        fhir.transaction([
            {"resource": {"resourceType": "Patient", "name": [{"family": family + "x"}]},
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Patient", "gender": "not-a-gender"},
             "request": {"method": "POST", "url": "Patient"}}])
    assert 400 <= refused.value.status_code < 500
    assert refused.value.outcome["resourceType"] == "OperationOutcome"
    assert fhir.resources("Patient").search(family=family + "x").count() == 0


def test_validate_operation(fhir):
    good = fhir.validate({"resourceType": "Patient", "gender": "female"})
    assert good["resourceType"] == "OperationOutcome"
    assert not [i for i in good.get("issue", []) if i["severity"] in ("error", "fatal")]
    bad = fhir.validate({"resourceType": "Patient", "gender": "not-a-gender"})
    assert [i for i in bad["issue"] if i["severity"] in ("error", "fatal")]


def test_read_many_uses_a_batch_of_reads_and_reports_the_missing(fhir):
    patient = fhir.create({"resourceType": "Patient", "name": [{"family": unique()}]})
    missing = "Patient/no-such-" + unique().lower()
    found = read_many(fhir, [f"Patient/{patient['id']}", missing], batch_size=10)
    assert found[f"Patient/{patient['id']}"]["id"] == patient["id"]
    assert isinstance(found[missing], str) and found[missing].startswith("404")


def test_typed_models_are_accepted_and_dicts_come_back(fhir):
    from fhir.resources.patient import Patient

    model = Patient(name=[{"family": unique()}], gender="female")
    created = fhir.create(model)
    assert isinstance(created, dict) and created["gender"] == "female"
    assert fhir.validate(Patient(gender="male"))["resourceType"] == "OperationOutcome"
    with pytest.raises(TypeError):
        fhir.create(object())
