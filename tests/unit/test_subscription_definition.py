"""Reading a Subscription: criteria split, channel headers, payload types (no server, no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.subscriptions.definition import PAYLOAD_FORMATS, _split_header, read_subscription, split_criteria


def test_criteria_split_into_type_and_decoded_pairs():
    criteria = split_criteria("CarePlan?category=https://x.example/cs|shared-care-plan&subject=Patient%2Fm-101")
    assert criteria.res_type == "CarePlan"
    assert criteria.pairs == (("category", "https://x.example/cs|shared-care-plan"), ("subject", "Patient/m-101"))
    assert split_criteria("Encounter").pairs == ()


@pytest.mark.parametrize("bad", ["", "?status=active", "CarePlan/123?x=1"])
def test_criteria_without_a_type_are_refused(bad):
    with pytest.raises(ValueError):
        split_criteria(bad)


_TOKEN = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd"), max_codepoint=127) | st.sampled_from(
    "-_"), min_size=1, max_size=20)
_VALUE = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs", "Cc")),
                 max_size=40)


@given(_TOKEN, _VALUE)
def test_header_name_and_value_round_trip(name, value):
    assert _split_header(f"{name}: {value}") == (name, value.strip())


@pytest.mark.parametrize("bad", ["no colon", ": value", "Bad Name: v", "X-A: b\r\nX-Injected: c", 42])
def test_malformed_headers_are_refused(bad):
    with pytest.raises(ValueError):
        _split_header(bad)


def test_a_stored_subscription_reads_back():
    spec = read_subscription({
        "resourceType": "Subscription", "id": "s1", "status": "active", "criteria": "CarePlan?status=active",
        "channel": {"type": "rest-hook", "endpoint": "https://v.example/fhir", "payload": "application/fhir+json",
                    "header": ["Authorization: Bearer t"]}})
    assert (spec.id, spec.criteria.res_type, spec.channel.headers, spec.channel.payload) == (
        "s1", "CarePlan", (("Authorization", "Bearer t"),), "application/fhir+json")
    assert set(PAYLOAD_FORMATS.values()) == {"json", "xml"}
