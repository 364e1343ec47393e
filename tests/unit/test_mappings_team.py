"""Team records <-> team Organization, Practitioners and PractitionerRoles: lossless both ways, valid."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.validation import Validator
from mappings import codes, team
from mappings.team import Staff, TeamRecord

KEYS = st.from_regex(r"[a-z0-9][a-z0-9\-]{0,11}", fullmatch=True) | st.from_regex(r"[A-Za-z0-9.\-]{40}", fullmatch=True)
TEXT = st.from_regex(r"[A-Za-zÀ-ÿ0-9][A-Za-zÀ-ÿ0-9 .,'/-]{0,18}[A-Za-zÀ-ÿ0-9]", fullmatch=True)
DATES = st.dates(date(1990, 1, 1), date(2100, 12, 31))
NPIS = st.from_regex(r"1[0-9]{9}", fullmatch=True)


def local(map_id: str) -> st.SearchStrategy[str]:
    return st.sampled_from(codes.table(map_id).local_codes)


staff_records = st.builds(Staff, staff_id=KEYS, given=TEXT, family=TEXT, prefix=st.none() | TEXT,
                          role=local("staff-role"), npi=NPIS, license=st.none() | TEXT, phone=TEXT)

team_records = st.builds(
    TeamRecord, team_id=KEYS, name=TEXT, team_type=local("team-type"), approved_since=DATES, npi=NPIS,
    medicaid_provider_id=st.none() | TEXT, tax_id=st.none() | TEXT, phone=st.none() | TEXT, address_line=TEXT,
    city=TEXT, state=TEXT, postal_code=TEXT,
    staff=st.lists(staff_records, max_size=4, unique_by=lambda s: s.staff_id).map(tuple),
)


@given(team_records)
def test_record_fhir_record(record):
    assert team.from_fhir(team.to_fhir(record)) == record


@given(team_records)
def test_fhir_record_fhir(record):
    resources = json.loads(json.dumps(team.to_fhir(record)))
    served = [{**r, "meta": {**r["meta"], "versionId": "2"}} for r in resources]
    again = [{**r, "meta": {k: v for k, v in r["meta"].items() if k != "versionId"}}
             for r in team.to_fhir(team.from_fhir(served))]
    assert again == resources


@pytest.fixture(scope="module")
def validator(definitions) -> Validator:
    return Validator(definitions)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=team_records)
def test_generated_records_give_valid_resources(validator, record):
    for body in team.to_fhir(record):
        problems = [f"{i.expression}: {i.diagnostics}" for i in validator.validate(body) if i.is_error]
        assert problems == [], body


def test_an_unmapped_staff_role_names_the_concept_map():
    record = TeamRecord(team_id="t", name="T", team_type="MCT", approved_since=date(2025, 1, 1), npi="1000000004",
                        address_line="1 Main", city="Helena", state="MT", postal_code="59601",
                        staff=(Staff(staff_id="x", given="A", family="B", role="WIZARD", npi="1000000004",
                                     phone="555"),))
    with pytest.raises(codes.UnmappedCode, match=r"'WIZARD'.*ConceptMap/staff-role"):
        team.to_fhir(record)
