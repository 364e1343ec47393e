"""Treatment-plan records <-> the ITP CarePlan: lossless both ways, valid."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.validation import Validator
from mappings import codes, treatment_plan
from mappings.treatment_plan import STATUSES, TreatmentPlanRecord

KEYS = st.from_regex(r"[a-z0-9][a-z0-9\-]{0,11}", fullmatch=True) | st.from_regex(r"[A-Za-z0-9.\-]{40}", fullmatch=True)
TEXT = st.from_regex(r"[A-Za-zÀ-ÿ0-9<&>][A-Za-zÀ-ÿ0-9 .,'/&<>-]{0,18}[A-Za-zÀ-ÿ0-9]", fullmatch=True)
DATES = st.dates(date(1990, 1, 1), date(2100, 12, 31))
LETTERS = codes.table("service-component").local_codes

records = st.builds(
    TreatmentPlanRecord, member_id=KEYS, member_name=TEXT, team_name=TEXT,
    status=st.sampled_from(tuple(s for s in STATUSES if s != "entered-in-error")), start=DATES, created=DATES,
    author_id=KEYS, author_name=st.none() | TEXT,
    components=st.lists(st.sampled_from(LETTERS), min_size=1, max_size=10, unique=True).map(tuple),
)


@given(records)
def test_record_fhir_record(record):
    assert treatment_plan.from_fhir(treatment_plan.to_fhir(record)) == record


@given(records)
def test_fhir_record_fhir(record):
    resources = json.loads(json.dumps(treatment_plan.to_fhir(record)))
    served = [{**r, "meta": {**r["meta"], "versionId": "7"}} for r in resources]
    again = [{**r, "meta": {k: v for k, v in r["meta"].items() if k != "versionId"}}
             for r in treatment_plan.to_fhir(treatment_plan.from_fhir(served))]
    assert again == resources


@pytest.fixture(scope="module")
def validator(definitions) -> Validator:
    return Validator(definitions)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=records)
def test_generated_records_give_valid_resources(validator, record):
    for body in treatment_plan.to_fhir(record):
        problems = [f"{i.expression}: {i.diagnostics}" for i in validator.validate(body) if i.is_error]
        assert problems == [], body


def test_a_component_outside_a_to_j_names_the_concept_map():
    record = TreatmentPlanRecord(member_id="m", member_name="A B", team_name="T", start=date(2026, 1, 1),
                                 created=date(2026, 1, 1), author_id="x", components=("k",))
    with pytest.raises(codes.UnmappedCode, match=r"'k'.*ConceptMap/service-component"):
        treatment_plan.to_fhir(record)


def test_a_component_listed_twice_is_refused():
    record = TreatmentPlanRecord(member_id="m", member_name="A B", team_name="T", start=date(2026, 1, 1),
                                 created=date(2026, 1, 1), author_id="x", components=("a", "a"))
    with pytest.raises(ValueError, match="twice"):
        treatment_plan.to_fhir(record)
