"""Member records <-> Patient, Coverage, SDMI determination and LOI ratings: lossless both ways, valid."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.validation import Validator
from mappings import codes, member
from mappings.member import Address, Coverage, MemberRecord, Sdmi

KEYS = st.from_regex(r"[a-z0-9][a-z0-9\-]{0,11}", fullmatch=True) | st.from_regex(r"[A-Za-z0-9.\-]{40}", fullmatch=True)
TEXT = st.from_regex(r"[A-Za-zÀ-ÿ0-9][A-Za-zÀ-ÿ0-9 .,'/-]{0,18}[A-Za-zÀ-ÿ0-9]", fullmatch=True)
DATES = st.dates(date(1900, 1, 1), date(2100, 12, 31))
ZONES = st.sampled_from([timezone(timedelta(hours=h)) for h in (-7, -5, 0, 1)])
DATETIMES = st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1), timezones=ZONES)


def local(map_id: str) -> st.SearchStrategy[str]:
    return st.sampled_from(codes.table(map_id).local_codes)


@st.composite
def sdmi_records(draw: st.DrawFn) -> Sdmi:
    """SDMI determinations; a "medical necessity met" one also meets CMP-ELIG-1..4 (the profile checks that)."""
    necessity = draw(st.booleans())
    area_3, area_4 = draw(local("loi-level")), draw(local("loi-level"))
    if necessity and area_3 in ("0", "1") and area_4 in ("0", "1"):
        area_4 = draw(st.sampled_from(("2", "3")))
    return Sdmi(
        assessed_at=draw(DATETIMES), assessor_id=draw(KEYS), assessor_name=draw(st.none() | TEXT),
        sdmi="Y" if necessity else draw(local("sdmi-status")), medical_necessity=necessity,
        danger_to_self_or_others=False if necessity else draw(st.booleans()),
        loi_area_3=area_3, loi_area_4=area_4, able_and_willing=True if necessity else draw(st.booleans()),
    )


@st.composite
def member_records(draw: st.DrawFn) -> MemberRecord:
    programs = draw(st.lists(local("program"), min_size=0, max_size=3, unique=True))
    coverages = tuple(Coverage(program=p, payor_id=draw(KEYS), start=draw(DATES),
                               plan_member_id=draw(st.none() | TEXT)) for p in programs)
    pcp = draw(st.none() | KEYS)
    return MemberRecord(
        member_id=draw(KEYS), medicaid_id=draw(TEXT), mrn=draw(st.none() | TEXT), given=draw(TEXT),
        family=draw(TEXT), gender=draw(local("gender")), birth_date=draw(DATES), phone=draw(st.none() | TEXT),
        address=draw(st.none() | st.builds(Address, line=TEXT, city=TEXT, state=TEXT, postal_code=TEXT)),
        pcp_id=pcp, pcp_name=draw(TEXT) if pcp and draw(st.booleans()) else None,
        coverages=coverages, sdmi=draw(st.none() | sdmi_records()),
    )


def without_server_meta(resources: list[dict]) -> list[dict]:
    """The resources without what a server assigns (``meta.versionId``, ``meta.lastUpdated``)."""
    out = []
    for body in resources:
        body = dict(body)
        meta = {k: v for k, v in body.get("meta", {}).items() if k not in ("versionId", "lastUpdated")}
        body["meta"] = meta
        out.append(body)
    return out


@given(member_records())
def test_record_fhir_record(record):
    assert member.from_fhir(member.to_fhir(record)) == record


@given(member_records())
def test_fhir_record_fhir(record):
    resources = json.loads(json.dumps(member.to_fhir(record)))
    served = [{**r, "meta": {**r["meta"], "versionId": "3", "lastUpdated": "2026-01-01T00:00:00Z"}} for r in resources]
    assert without_server_meta(member.to_fhir(member.from_fhir(served))) == resources


@given(member_records())
def test_ids_are_deterministic_and_distinct(record):
    first, second = member.to_fhir(record), member.to_fhir(record)
    assert first == second
    keys = [f"{r['resourceType']}/{r['id']}" for r in first]
    assert len(keys) == len(set(keys))


@pytest.fixture(scope="module")
def validator(definitions) -> Validator:
    return Validator(definitions)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=member_records())
def test_generated_records_give_valid_resources(validator, record):
    for body in member.to_fhir(record):
        assert body["meta"]["profile"]
        problems = [f"{i.expression}: {i.diagnostics}" for i in validator.validate(body) if i.is_error]
        assert problems == [], body


def test_an_unmapped_code_names_the_code_and_the_concept_map():
    record = MemberRecord(member_id="m-1", medicaid_id="X1", given="A", family="B", gender="Z",
                          birth_date=date(1980, 1, 1))
    with pytest.raises(codes.UnmappedCode, match=r"'Z'.*https://cmp-adapter.org/fhir/ConceptMap/gender"):
        member.to_fhir(record)


def test_unknown_fields_are_refused():
    with pytest.raises(ValueError, match="extra"):
        MemberRecord(member_id="m-1", medicaid_id="X1", given="A", family="B", gender="F",
                     birth_date=date(1980, 1, 1), shoe_size=9)
