"""Claim records <-> CMP per-diem and care-management fee Claims: lossless both ways, valid."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import simplejson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.validation import Validator
from mappings import claim, codes
from mappings.claim import BilledDay, ClaimRecord

KEYS = st.from_regex(r"[a-z0-9][a-z0-9\-]{0,11}", fullmatch=True) | st.from_regex(r"[A-Za-z0-9.\-]{40}", fullmatch=True)
TEXT = st.from_regex(r"[A-Za-zÀ-ÿ0-9][A-Za-zÀ-ÿ0-9 .,'/-]{0,18}[A-Za-zÀ-ÿ0-9]", fullmatch=True)
DATES = st.dates(date(2000, 1, 1), date(2090, 12, 1))
RATES = st.decimals(Decimal("0.00"), Decimal("99999.99"), places=2)
DIAGNOSES = st.sampled_from(("F20.0", "F25.1", "F31.81", "F33.2", "F43.10"))


@st.composite
def per_diem_claims(draw: st.DrawFn) -> ClaimRecord:
    """A member-week: at most three distinct days inside a period of at most seven days (CMP-BILL-2)."""
    start = draw(DATES)
    end = start + timedelta(days=draw(st.integers(0, 6)))
    offsets = sorted(draw(st.lists(st.integers(0, (end - start).days), min_size=1, max_size=3, unique=True)))
    diagnosis = draw(DIAGNOSES)
    return ClaimRecord(
        claim_id=draw(KEYS), kind="per-diem", member_id=draw(KEYS), coverage_id=draw(KEYS), payer_id=draw(KEYS),
        provider_id=draw(KEYS), provider_name=draw(st.none() | TEXT), period_start=start, period_end=end,
        created=draw(DATES), service_code="CMP-PD", rate=draw(RATES), diagnosis=diagnosis,
        diagnosis_display=draw(st.none() | TEXT),
        days=tuple(BilledDay(day=start + timedelta(days=o), contact_id=draw(KEYS)) for o in offsets),
    )


@st.composite
def fee_claims(draw: st.DrawFn) -> ClaimRecord:
    """One calendar month (PCMH-1)."""
    first = draw(DATES).replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return ClaimRecord(
        claim_id=draw(KEYS), kind="care-management-fee", member_id=draw(KEYS), coverage_id=draw(KEYS),
        payer_id=draw(KEYS), provider_id=draw(KEYS), provider_name=draw(st.none() | TEXT), period_start=first,
        period_end=last, created=draw(DATES), service_code="CM-FEE", rate=draw(RATES),
        diagnosis=draw(st.none() | DIAGNOSES),
    )


claims = per_diem_claims() | fee_claims()


def as_json(resources: list[dict]) -> list[dict]:
    """Through JSON text as a client sends it (decimals kept as written)."""
    return simplejson.loads(simplejson.dumps(resources, use_decimal=True), use_decimal=True)


@given(claims)
def test_record_fhir_record(record):
    assert claim.from_fhir(claim.to_fhir(record)) == record
    assert claim.from_fhir(as_json(claim.to_fhir(record))) == record


@given(claims)
def test_fhir_record_fhir(record):
    resources = as_json(claim.to_fhir(record))
    served = [{**r, "meta": {**r["meta"], "versionId": "4"}} for r in resources]
    again = as_json([{**r, "meta": {k: v for k, v in r["meta"].items() if k != "versionId"}}
                     for r in claim.to_fhir(claim.from_fhir(served))])
    assert simplejson.dumps(again, use_decimal=True) == simplejson.dumps(resources, use_decimal=True)


@given(per_diem_claims())
def test_money_stays_decimal_with_its_cents(record):
    (body,) = claim.to_fhir(record)
    assert body["total"]["value"] == record.rate * len(record.days)
    assert all(type(i["net"]["value"]) is Decimal for i in body["item"])


@pytest.fixture(scope="module")
def validator(definitions) -> Validator:
    return Validator(definitions)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=claims)
def test_generated_records_give_valid_resources(validator, record):
    for body in claim.to_fhir(record):
        problems = [f"{i.expression}: {i.diagnostics}" for i in validator.validate(body) if i.is_error]
        assert problems == [], body


def test_the_kind_decides_what_is_billed():
    with pytest.raises(ValueError, match="at least one day"):
        ClaimRecord(claim_id="c", kind="per-diem", member_id="m", coverage_id="c", payer_id="p", provider_id="t",
                    period_start=date(2026, 1, 5), period_end=date(2026, 1, 11), created=date(2026, 1, 13),
                    service_code="CMP-PD", rate=Decimal("1.00"))


def test_an_unmapped_service_code_names_the_concept_map():
    record = ClaimRecord(claim_id="c", kind="care-management-fee", member_id="m", coverage_id="c", payer_id="p",
                         provider_id="s", period_start=date(2026, 1, 1), period_end=date(2026, 1, 31),
                         created=date(2026, 2, 1), service_code="99213", rate=Decimal("8.50"))
    with pytest.raises(codes.UnmappedCode, match=r"'99213'.*ConceptMap/service-code"):
        claim.to_fhir(record)
