"""The real server under gunicorn, driven over HTTP from another process.

Set ``CMP_ADAPTER_TEST_BASE_URL`` to run these against an adapter that is already running (anywhere);
otherwise each test module starts one on 127.0.0.1 with an SQLite file (and one on PostgreSQL when
``CMP_ADAPTER_TEST_POSTGRES_URL`` is set).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.integration.live_server import story_server

FHIR_JSON = "application/fhir+json"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, base_settings) -> Iterator[str]:
    with story_server(tmp_path_factory.mktemp("live"), base_settings) as base:
        yield base


def test_metadata_over_http(base_url):
    response = requests.get(f"{base_url}/metadata", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(FHIR_JSON)
    assert response.json()["fhirVersion"] == "4.0.1"


def test_example_data_was_loaded(base_url):
    bundle = requests.get(f"{base_url}/Patient", params={"_count": 3}, timeout=10).json()
    assert bundle["total"] >= 5
    assert len(bundle["entry"]) == 3


def test_crud_round_trip_over_http(base_url):
    session = requests.Session()
    resource = {"resourceType": "Practitioner", "name": [{"family": "Live", "given": ["Test"]}]}
    created = session.post(f"{base_url}/Practitioner", json=resource, headers={"Content-Type": FHIR_JSON}, timeout=10)
    assert created.status_code == 201
    location = created.headers["Location"]
    url = location.split("/_history")[0]
    body = created.json()
    body["active"] = True
    updated = session.put(url, json=body, headers={"Content-Type": FHIR_JSON, "If-Match": created.headers["ETag"]},
                          timeout=10)
    assert updated.status_code == 200 and updated.headers["ETag"] == 'W/"2"'
    stale = session.put(url, json=body, headers={"Content-Type": FHIR_JSON, "If-Match": created.headers["ETag"]},
                        timeout=10)
    assert stale.status_code == 412
    as_xml = session.get(url, headers={"Accept": "application/fhir+xml"}, timeout=10)
    assert as_xml.text.startswith("<Practitioner") or "<Practitioner" in as_xml.text
    assert session.delete(url, timeout=10).status_code == 200
    assert session.get(url, timeout=10).status_code == 410


def test_client_errors_are_outcomes_over_http(base_url):
    response = requests.post(f"{base_url}/Patient", data=b"{not json", headers={"Content-Type": FHIR_JSON},
                             timeout=10)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
