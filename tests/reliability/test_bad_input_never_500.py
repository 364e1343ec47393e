"""Arbitrary bodies and search queries never become a 5xx, and a rejected write stores nothing."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.reliability

_SETTINGS = settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                    st.text(max_size=20))
json_values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.sampled_from(["id", "name", "given", "value", "reference", "status", "code", "url",
                                     "extension", "_birthDate", "coding", "system", "text", "x"]),
                    children, max_size=4)), max_leaves=20)
bodies = st.fixed_dictionaries(
    {"resourceType": st.sampled_from(["Patient", "Encounter", "Bundle", "Observation", "Nope", ""])},
    optional={"id": scalars, "name": json_values, "status": json_values, "meta": json_values,
              "subject": json_values, "entry": json_values, "type": json_values, "birthDate": scalars})


def _assert_clean_refusal(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.get_json(force=True)["resourceType"] == "OperationOutcome"


@_SETTINGS
@given(body=bodies)
@example(body={"resourceType": "Patient", "meta": 1})  # once crashed the validate-on-write policy
@example(body={"resourceType": "Encounter", "meta": {"profile": [1]}, "type": "quality-contact"})
def test_arbitrary_json_bodies_are_accepted_or_refused_cleanly(client, body):
    url = "/fhir" if body["resourceType"] == "Bundle" else f"/fhir/{body['resourceType'] or 'Patient'}"
    response = client.post(url, data=json.dumps(body), headers={"Content-Type": "application/fhir+json"})
    _assert_clean_refusal(response)


@_SETTINGS
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_are_refused_cleanly_and_store_nothing(client, raw):
    for content_type in ("application/fhir+json", "application/fhir+xml"):
        response = client.post("/fhir/Patient", data=raw, headers={"Content-Type": content_type})
        _assert_clean_refusal(response)
    assert client.get("/fhir/_history?_summary=count").get_json(force=True)["total"] == 0


query_names = st.one_of(st.sampled_from(["name", "birthdate", "identifier", "_id", "_lastUpdated", "_count",
                                         "_sort", "_include", "_revinclude", "general-practitioner",
                                         "general-practitioner:Practitioner.name", "_summary", "_elements",
                                         "gender:not", "name:exact", "_total", "_offset", "address-city"]),
                        st.text(alphabet=string.ascii_letters + ":._-", max_size=12))
query_values = st.text(alphabet=string.printable, max_size=25)


@_SETTINGS
@given(pairs=st.lists(st.tuples(query_names, query_values), max_size=4),
       strict=st.booleans())
def test_arbitrary_search_queries_never_fail_with_5xx(client, pairs, strict):
    headers = {"Prefer": "handling=strict"} if strict else {}
    response = client.get("/fhir/Patient", query_string=pairs, headers=headers)
    _assert_clean_refusal(response)
