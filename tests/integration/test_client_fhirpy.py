"""Conformance with a client nobody here wrote: fhirpy (beda-software/fhir-py), sync and async.

Drives the same server as ``test_client.py`` (this adapter on 127.0.0.1, or ``CMP_ADAPTER_SANDBOX_URL``)
through CRUD, search with paging and ``_include``, a transaction and ``$validate``, and checks that the
searchset and transaction-response Bundles we send satisfy it.
"""

from __future__ import annotations

import asyncio
import uuid

import fhirpy
import pytest
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from tests.integration.test_client import ENCOUNTER_CLASS, sandbox_url  # noqa: F401  (the fixture)


def _family() -> str:
    return "Zz" + uuid.uuid4().hex[:10]


def test_fhirpy_sync_crud(sandbox_url):  # noqa: F811
    client = fhirpy.SyncFHIRClient(sandbox_url)
    patient = client.resource("Patient", name=[{"family": _family()}], gender="female")
    patient.save()
    first_version = patient["meta"]["versionId"]
    assert patient.id and first_version
    patient["gender"] = "male"
    patient.save()
    assert client.reference("Patient", patient.id).to_resource()["gender"] == "male"
    patient.refresh()
    assert patient["meta"]["versionId"] != first_version and patient["gender"] == "male"

    with pytest.raises(OperationOutcome) as invalid:
        client.resource("Patient", gender="not-a-gender").save()
    assert invalid.value.resource["resourceType"] == "OperationOutcome"

    patient.delete()
    with pytest.raises(ResourceNotFound):
        client.reference("Patient", patient.id).to_resource()


def test_fhirpy_sync_transaction_paging_include_and_validate(sandbox_url):  # noqa: F811
    client = fhirpy.SyncFHIRClient(sandbox_url)
    family = _family()
    entries = [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": {"resourceType": "Patient",
                                                                   "name": [{"family": family}]},
                "request": {"method": "POST", "url": "Patient"}} for _ in range(5)]
    entries.append({"resource": {"resourceType": "Encounter", "status": "finished", "class": ENCOUNTER_CLASS,
                                 "subject": {"reference": entries[0]["fullUrl"]}},
                    "request": {"method": "POST", "url": "Encounter"}})
    response = client.execute("", method="post", data={"resourceType": "Bundle", "type": "transaction",
                                                       "entry": entries})
    assert response["type"] == "transaction-response"
    assert all(e["response"]["status"].startswith("201") for e in response["entry"])

    patients = client.resources("Patient").search(family=family).limit(2)
    assert len(patients.fetch()) == 2
    assert len(patients.fetch_all()) == 5  # fhirpy follows our next links
    assert patients.count() == 5

    encounter_id = response["entry"][5]["response"]["location"].split("/")[1]
    bundle = (client.resources("Encounter").search(_id=encounter_id).include("Encounter", "subject")
              .fetch_raw())
    assert sorted(e.resource.resourceType for e in bundle.entry) == ["Encounter", "Patient"]

    outcome = client.resources("Patient").execute("$validate", data={"resourceType": "Patient", "gender": "x"})
    assert outcome["resourceType"] == "OperationOutcome"
    assert any(issue["severity"] == "error" for issue in outcome["issue"])


def test_fhirpy_async_crud_and_paging(sandbox_url):  # noqa: F811
    async def scenario() -> None:
        client = fhirpy.AsyncFHIRClient(sandbox_url)
        family = _family()
        created = [client.resource("Practitioner", name=[{"family": family, "given": [str(n)]}]) for n in range(5)]
        for practitioner in created:
            await practitioner.save()
        found = await client.resources("Practitioner").search(family=family).limit(2).fetch_all()
        assert sorted(p["name"][0]["given"][0] for p in found) == ["0", "1", "2", "3", "4"]
        first = created[0]
        first["active"] = True
        await first.save()
        assert (await client.reference("Practitioner", first.id).to_resource())["active"] is True
        await first.delete()
        with pytest.raises(ResourceNotFound):
            await client.reference("Practitioner", first.id).to_resource()

    asyncio.run(scenario())
