"""The client's search builder, URL building and exchange helpers: pure, no server."""

from __future__ import annotations

import pytest

from adapter.client import FhirClient, Item, Retries, SearchSet, UnsafeURLError, compare, dependency_order
from adapter.client._search import build_url, parse_query, resolve_link

BASE = "https://fhir.example.org/r4"


@pytest.fixture
def client() -> FhirClient:
    return FhirClient(BASE + "/")


def test_builder_returns_clones_and_leaves_the_original_alone(client):
    base = client.resources("Encounter").search(subject="Patient/1")
    sorted_ = base.sort("-date")
    limited = sorted_.limit(50)
    assert base.params == (("subject", "Patient/1"),)
    assert sorted_.params == (("subject", "Patient/1"), ("_sort", "-date"))
    assert limited.params == (("subject", "Patient/1"), ("_sort", "-date"), ("_count", "50"))
    assert limited is not sorted_ and isinstance(limited, SearchSet)


def test_repeatable_params_append_while_count_and_sort_replace(client):
    search = (client.resources("Encounter").search(date="ge2024-01-01").search(date="lt2025-01-01")
              .limit(10).limit(20).sort("date").sort("-date", "_id"))
    assert search.params == (("date", "ge2024-01-01"), ("date", "lt2025-01-01"), ("_count", "20"),
                             ("_sort", "-date,_id"))


def test_keyword_modifiers_pairs_lists_and_includes(client):
    search = (client.resources("Observation").search(code__text="weight", status=["final", "amended"])
              .search(("subject:Patient.name", "Ng"), {"_lastUpdated": "gt2024"}, active=True)
              .include("Observation", "subject", "Patient").revinclude("Provenance", "target", iterate=True))
    assert search.params == (
        ("code:text", "weight"), ("status", "final"), ("status", "amended"),
        ("subject:Patient.name", "Ng"), ("_lastUpdated", "gt2024"), ("active", "true"),
        ("_include", "Observation:subject:Patient"), ("_revinclude:iterate", "Provenance:target"))


def test_query_and_equality(client):
    search = client.resources("Encounter").search(subject="Patient/1").sort("-date")
    assert search.query == "Encounter?subject=Patient%2F1&_sort=-date"
    assert search == client.resources("Encounter").search(subject="Patient/1").sort("-date")
    assert search != search.limit(1)


def test_build_url_and_parse_query():
    assert build_url(BASE, "Patient/1") == f"{BASE}/Patient/1"
    assert build_url(BASE, "", [("_count", "1")]) == f"{BASE}?_count=1"
    assert build_url(BASE + "/", "metadata") == f"{BASE}/metadata"
    assert build_url(BASE, "Patient", [("identifier", "http://x|1")]) == f"{BASE}/Patient?identifier=http%3A%2F%2Fx%7C1"
    assert parse_query("CarePlan?status=active&_count=10&status=draft") == (
        "CarePlan", (("status", "active"), ("_count", "10"), ("status", "draft")))
    assert parse_query("/Patient") == ("Patient", ())


@pytest.mark.parametrize("link", [
    f"{BASE}/Patient?_offset=20", "Patient?_offset=20", "/r4/Patient?_offset=20", f"{BASE}?_getpages=x",
])
def test_next_links_under_the_base_are_followed(link):
    assert resolve_link(BASE, link).startswith(BASE)


@pytest.mark.parametrize("link", [
    "https://evil.example.com/r4/Patient?_offset=20", "http://fhir.example.org/r4/Patient",
    "https://fhir.example.org:8443/r4/Patient", "https://fhir.example.org/r5/Patient", "/other/Patient",
    "https://fhir.example.org/r4x/Patient",
])
def test_next_links_outside_the_base_are_refused(link):
    with pytest.raises(UnsafeURLError):
        resolve_link(BASE, link)


def test_retry_waits_back_off_exponentially_and_honour_retry_after():
    retries = Retries(total=3, backoff=0.5, max_wait=5)
    assert [retries.wait(n, None) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert retries.wait(0, 3) == 3 and retries.wait(0, 60) == 5
    assert retries.should_retry("POST", 503) and retries.should_retry("POST", 429)
    assert retries.should_retry("GET", 504) and not retries.should_retry("POST", 504)
    assert not retries.should_retry("GET", 500)


def _item(resource_type: str, resource_id: str | None, *refs: str, full_url: str | None = None) -> Item:
    resource = {"resourceType": resource_type, "ref": [{"reference": r} for r in refs]}
    if resource_id:
        resource["id"] = resource_id
    return Item(f"{resource_type}-{resource_id}", resource, full_url)


def test_dependency_order_puts_referenced_resources_first_and_keeps_input_order_otherwise():
    items = [_item("Encounter", "e1", "Patient/p1", "Practitioner/x"), _item("Claim", "c1", "Encounter/e1"),
             _item("Patient", "p1", "http://elsewhere/fhir/Organization/o1/_history/2"),
             _item("Observation", "o9"), _item("Organization", "o1"),
             _item("Observation", None, "urn:uuid:u1"), _item("Patient", None, full_url="urn:uuid:u1")]
    order = [item.key for item in dependency_order(items)]
    assert order == ["Observation/o9", "Organization/o1", "Patient/p1", "Encounter/e1", "Claim/c1",
                     "urn:uuid:u1", items[5].key]


def test_dependency_order_survives_cycles():
    items = [_item("A", "1", "B/1"), _item("B", "1", "A/1"), _item("C", "1")]
    assert sorted(item.key for item in dependency_order(items)) == ["A/1", "B/1", "C/1"]


def test_compare_ignores_server_meta_but_not_data():
    sent = {"resourceType": "Patient", "id": "1", "meta": {"profile": ["p"]}, "name": [{"family": "Ng"}]}
    stored = {**sent, "meta": {"versionId": "3", "lastUpdated": "2026-01-01T00:00:00Z", "source": "#x",
                               "profile": ["p"], "tag": [{"code": "server"}]}}
    assert compare(sent, stored) == []
    assert compare(sent, {**stored, "name": [{"family": "Ny"}]}) == ['Patient.name[0].family: "Ng" != "Ny"']
    assert compare(sent, {**stored, "gender": "male"}) == ['Patient.gender: added "male"']
    assert compare(sent, {**stored, "meta": {"profile": []}}) == ['meta.profile: missing ["p"]']
