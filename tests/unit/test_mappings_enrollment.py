"""Enrollment records <-> EpisodeOfCare and CareTeam: lossless both ways, valid."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.validation import Validator
from mappings import codes, enrollment
from mappings.enrollment import STATUSES, CareTeamMember, EnrollmentRecord

KEYS = st.from_regex(r"[a-z0-9][a-z0-9\-]{0,11}", fullmatch=True) | st.from_regex(r"[A-Za-z0-9.\-]{40}", fullmatch=True)
TEXT = st.from_regex(r"[A-Za-zÀ-ÿ0-9][A-Za-zÀ-ÿ0-9 .,'/-]{0,18}[A-Za-zÀ-ÿ0-9]", fullmatch=True)
DATES = st.dates(date(1990, 1, 1), date(2100, 12, 31))

members = st.builds(CareTeamMember, staff_id=KEYS, name=st.none() | TEXT,
                    role=st.sampled_from(codes.table("staff-role").local_codes))


@st.composite
def enrollment_records(draw: st.DrawFn) -> EnrollmentRecord:
    start = draw(DATES)
    end = draw(st.none() | st.integers(0, 3000).map(lambda days: start + timedelta(days=days)))
    return EnrollmentRecord(
        member_id=draw(KEYS), member_name=draw(st.none() | TEXT), team_id=draw(KEYS),
        team_name=draw(st.none() | TEXT), status=draw(st.sampled_from(STATUSES)), start=start, end=end,
        care_team_name=draw(TEXT),
        care_team=tuple(draw(st.lists(members, min_size=1, max_size=4, unique_by=lambda m: m.staff_id))),
    )


@given(enrollment_records())
def test_record_fhir_record(record):
    assert enrollment.from_fhir(enrollment.to_fhir(record)) == record


@given(enrollment_records())
def test_fhir_record_fhir(record):
    resources = json.loads(json.dumps(enrollment.to_fhir(record)))
    served = [{**r, "meta": {**r["meta"], "lastUpdated": "2026-02-02T10:00:00Z"}} for r in resources]
    again = [{**r, "meta": {k: v for k, v in r["meta"].items() if k != "lastUpdated"}}
             for r in enrollment.to_fhir(enrollment.from_fhir(served))]
    assert again == resources


@pytest.fixture(scope="module")
def validator(definitions) -> Validator:
    return Validator(definitions)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=enrollment_records())
def test_generated_records_give_valid_resources(validator, record):
    for body in enrollment.to_fhir(record):
        problems = [f"{i.expression}: {i.diagnostics}" for i in validator.validate(body) if i.is_error]
        assert problems == [], body


def test_an_unknown_status_is_refused():
    record = EnrollmentRecord(member_id="m", team_id="t", status="paused", start=date(2026, 1, 1),
                              care_team_name="T", care_team=(CareTeamMember(staff_id="s", role="PEER"),))
    with pytest.raises(ValueError, match="paused"):
        enrollment.to_fhir(record)
