"""Quality-contact records <-> the quality-contact Encounter: lossless both ways, valid."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.validation import Validator
from mappings import codes, quality_contact
from mappings.common import ENCOUNTER_STATUSES as STATUSES
from mappings.quality_contact import QualityContactRecord
from mappings.records import StaffRef

KEYS = st.from_regex(r"[a-z0-9][a-z0-9\-]{0,11}", fullmatch=True) | st.from_regex(r"[A-Za-z0-9.\-]{40}", fullmatch=True)
TEXT = st.from_regex(r"[A-Za-zÀ-ÿ0-9][A-Za-zÀ-ÿ0-9 .,'/-]{0,18}[A-Za-zÀ-ÿ0-9]", fullmatch=True)
ZONES = st.sampled_from([timezone(timedelta(hours=h)) for h in (-7, -5, 0, 1)])
SYSTEMS = st.from_regex(r"https://[a-z]{1,10}\.example\.org/[a-z\-]{1,12}", fullmatch=True)


def as_written(draw: st.DrawFn, moment: datetime) -> str:
    """A dateTime as clients write it: ``Z`` or an offset, with or without a fraction of a second."""
    text = moment.replace(microsecond=0).isoformat()
    fraction = draw(st.sampled_from(("", ".5", ".250", ".123456789")))
    text = text[:19] + fraction + text[19:]
    return text[:-6] + "Z" if text.endswith("+00:00") and draw(st.booleans()) else text


@st.composite
def contact_records(draw: st.DrawFn) -> QualityContactRecord:
    moment = draw(st.datetimes(datetime(2000, 1, 1), datetime(2090, 1, 1), timezones=ZONES))
    start = as_written(draw, moment)
    minutes = draw(st.none() | st.integers(1, 600))
    end = None if minutes is None else as_written(draw, moment + timedelta(minutes=minutes))
    return QualityContactRecord(
        contact_id=draw(KEYS), contact_id_system=draw(SYSTEMS), member_id=draw(KEYS),
        member_name=draw(st.none() | TEXT), team_id=draw(KEYS), team_name=draw(st.none() | TEXT),
        status=draw(st.sampled_from(STATUSES)), mode=draw(st.sampled_from(codes.table("contact-mode").local_codes)),
        start=start, end=end,
        staff=tuple(draw(st.lists(st.builds(StaffRef, staff_id=KEYS, name=st.none() | TEXT), min_size=1, max_size=3,
                                  unique_by=lambda s: s.staff_id))),
        purposes=tuple(draw(st.lists(st.sampled_from(codes.table("quality-contact-purpose").local_codes),
                                     min_size=1, max_size=6, unique=True))),
    )


@given(contact_records())
def test_record_fhir_record(record):
    assert quality_contact.from_fhir(quality_contact.to_fhir(record)) == record


@given(contact_records())
def test_fhir_record_fhir(record):
    resources = json.loads(json.dumps(quality_contact.to_fhir(record)))
    served = [{**r, "meta": {**r["meta"], "versionId": "1"}} for r in resources]
    again = [{**r, "meta": {k: v for k, v in r["meta"].items() if k != "versionId"}}
             for r in quality_contact.to_fhir(quality_contact.from_fhir(served))]
    assert again == resources


@pytest.fixture(scope="module")
def validator(definitions) -> Validator:
    return Validator(definitions)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=contact_records())
def test_generated_records_give_valid_resources(validator, record):
    for body in quality_contact.to_fhir(record):
        problems = [f"{i.expression}: {i.diagnostics}" for i in validator.validate(body) if i.is_error]
        assert problems == [], body


def test_face_to_face_and_telehealth_are_amb_and_vr():
    record = QualityContactRecord(contact_id="c1", contact_id_system="https://t.example.org/c", member_id="m",
                                  team_id="t", mode="T", start=datetime(2026, 1, 5, 9, tzinfo=UTC),
                                  staff=(StaffRef(staff_id="s"),), purposes=("a", "e"))
    (encounter,) = quality_contact.to_fhir(record)
    assert encounter["class"]["code"] == "VR"
    assert [e["valueCodeableConcept"]["coding"][0]["code"] for e in encounter["extension"][:2]] == [
        "self-advocacy", "health-monitoring"]


def test_a_purpose_outside_a_to_f_names_the_concept_map():
    record = QualityContactRecord(contact_id="c1", contact_id_system="https://t.example.org/c", member_id="m",
                                  team_id="t", mode="F", start=datetime(2026, 1, 5, 9, tzinfo=UTC),
                                  staff=(StaffRef(staff_id="s"),), purposes=("g",))
    with pytest.raises(codes.UnmappedCode, match=r"'g'.*ConceptMap/quality-contact-purpose"):
        quality_contact.to_fhir(record)


def test_datetimes_stay_as_written():
    record = QualityContactRecord(contact_id="c1", contact_id_system="https://t.example.org/c", member_id="m",
                                  team_id="t", mode="F", start="2026-01-05T09:00:00.5Z",
                                  end="2026-01-05T09:45:00+00:00", staff=(StaffRef(staff_id="s"),), purposes=("a",))
    (encounter,) = quality_contact.to_fhir(record)
    assert encounter["period"] == {"start": "2026-01-05T09:00:00.5Z", "end": "2026-01-05T09:45:00+00:00"}
    with pytest.raises(ValueError, match="start"):
        record.model_validate({**record.model_dump(), "start": "2026-02-30T09:00:00Z"})
    with pytest.raises(ValueError, match="start"):
        record.model_validate({**record.model_dump(), "start": "2026-01-05T09:00:00"})
