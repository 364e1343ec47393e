"""$export-cmp and X12 $import-cmp over real HTTP, against the real server (gunicorn) holding the story.

Set ``CMP_ADAPTER_TEST_BASE_URL`` to run these against an adapter already running with the story loaded
(``cmp-adapter serve --load examples/fhir/valid``); otherwise one is started on an SQLite file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.live_server import story_server
from tests.integration.test_export_cmp import MEMBER_KINDS, transaction_sets

REPO = Path(__file__).resolve().parents[2]
CMP = REPO / "examples" / "cmp"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, base_settings) -> Iterator[str]:
    with story_server(tmp_path_factory.mktemp("live-export"), base_settings) as base:
        yield base


def test_the_loaded_story_exports_as_the_story_records(base_url):
    for member_id in ("m-001", "m-101", "m-201"):
        response = requests.get(f"{base_url}/Patient/{member_id}/$export-cmp", timeout=60)
        assert response.status_code == 200, response.text[:2000]
        body = response.json()
        for kind in MEMBER_KINDS:
            story = [r for r in json.loads((CMP / f"{kind}.json").read_text()) if r["member_id"] == member_id]
            assert sorted(body[kind], key=json.dumps) == sorted(story, key=json.dumps), (member_id, kind)
        assert any(body[kind] for kind in MEMBER_KINDS if kind != "member")


def test_x12_in_over_http_and_the_same_claims_out(base_url):
    text = (CMP / "claims.x12").read_text()
    response = requests.post(f"{base_url}/$import-cmp?source=mmis", data=text.encode("ascii"),
                             headers={"Content-Type": "application/edi-x12"}, timeout=120)
    assert response.status_code == 200, response.text[:2000]
    assert response.json()["type"] == "transaction-response"
    expected = transaction_sets(text)
    for claim_id in ("clm-m-001-w1", "clm-m-002-w5", list(expected)[-1]):
        exported = requests.get(f"{base_url}/Claim/{claim_id}/$export-cmp", params={"format": "x12"}, timeout=60)
        assert exported.status_code == 200, exported.text[:2000]
        assert transaction_sets(exported.text) == {claim_id: expected[claim_id]}


def test_an_unknown_patient_is_a_404_outcome(base_url):
    response = requests.get(f"{base_url}/Patient/nobody/$export-cmp", timeout=60)
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"
