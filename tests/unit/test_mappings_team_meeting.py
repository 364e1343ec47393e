"""Team-meeting records <-> the team-meeting Encounter: lossless both ways, valid."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.validation import Validator
from mappings import codes, team_meeting
from mappings.common import ENCOUNTER_STATUSES as STATUSES
from mappings.records import StaffRef as Attendee
from mappings.team_meeting import TeamMeetingRecord

KEYS = st.from_regex(r"[a-z0-9][a-z0-9\-]{0,11}", fullmatch=True) | st.from_regex(r"[A-Za-z0-9.\-]{40}", fullmatch=True)
TEXT = st.from_regex(r"[A-Za-zÀ-ÿ0-9][A-Za-zÀ-ÿ0-9 .,'/-]{0,18}[A-Za-zÀ-ÿ0-9]", fullmatch=True)
ZONES = st.sampled_from([timezone(timedelta(hours=h)) for h in (-7, -5, 0, 1)])
SYSTEMS = st.from_regex(r"https://[a-z]{1,10}\.example\.org/[a-z\-]{1,12}", fullmatch=True)


members = st.builds(Attendee, staff_id=KEYS, name=st.none() | TEXT)


@st.composite
def contact_records(draw: st.DrawFn) -> TeamMeetingRecord:
    start = draw(st.datetimes(datetime(2000, 1, 1), datetime(2090, 1, 1), timezones=ZONES))
    end = draw(st.none() | st.integers(1, 600).map(lambda minutes: start + timedelta(minutes=minutes)))
    return TeamMeetingRecord(
        meeting_id=draw(KEYS), meeting_id_system=draw(SYSTEMS), member_id=draw(KEYS),
        member_name=draw(st.none() | TEXT), team_id=draw(KEYS), team_name=draw(st.none() | TEXT),
        status=draw(st.sampled_from(STATUSES)), mode=draw(st.sampled_from(codes.table("contact-mode").local_codes)),
        start=start, end=end,
        attendees=tuple(draw(st.lists(members, min_size=2, max_size=5, unique_by=lambda a: a.staff_id))),
    )


@given(contact_records())
def test_record_fhir_record(record):
    assert team_meeting.from_fhir(team_meeting.to_fhir(record)) == record


@given(contact_records())
def test_fhir_record_fhir(record):
    resources = json.loads(json.dumps(team_meeting.to_fhir(record)))
    served = [{**r, "meta": {**r["meta"], "versionId": "1"}} for r in resources]
    again = [{**r, "meta": {k: v for k, v in r["meta"].items() if k != "versionId"}}
             for r in team_meeting.to_fhir(team_meeting.from_fhir(served))]
    assert again == resources


@pytest.fixture(scope="module")
def validator(definitions) -> Validator:
    return Validator(definitions)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=contact_records())
def test_generated_records_give_valid_resources(validator, record):
    for body in team_meeting.to_fhir(record):
        problems = [f"{i.expression}: {i.diagnostics}" for i in validator.validate(body) if i.is_error]
        assert problems == [], body


def test_an_unknown_mode_names_the_concept_map():
    record = TeamMeetingRecord(meeting_id="c1", meeting_id_system="https://t.example.org/c", member_id="m",
                               team_id="t", mode="X", start=datetime(2026, 1, 5, 9, tzinfo=UTC),
                               attendees=(Attendee(staff_id="s"), Attendee(staff_id="t")))
    with pytest.raises(codes.UnmappedCode, match=r"'X'.*ConceptMap/contact-mode"):
        team_meeting.to_fhir(record)
