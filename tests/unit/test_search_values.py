"""Value semantics shared by indexing and querying: date ranges, number ranges, text, references."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.search.dates import MAX_INSTANT, date_range
from adapter.search.params import split_unescaped, unescape
from adapter.search.values import (
    ReferenceTarget,
    decimal_range,
    normalize,
    number_range,
    parse_decimal,
    parse_reference,
)

RESOURCE_TYPES = frozenset({"Patient", "Observation", "ValueSet"})


@pytest.mark.parametrize(("text", "low", "high"), [
    ("2020", datetime(2020, 1, 1), datetime(2020, 12, 31, 23, 59, 59, 999999)),
    ("2020-03", datetime(2020, 3, 1), datetime(2020, 3, 31, 23, 59, 59, 999999)),
    ("2020-02", datetime(2020, 2, 1), datetime(2020, 2, 29, 23, 59, 59, 999999)),
    ("2021-02", datetime(2021, 2, 1), datetime(2021, 2, 28, 23, 59, 59, 999999)),
    ("2020-03-05", datetime(2020, 3, 5), datetime(2020, 3, 5, 23, 59, 59, 999999)),
    ("2020-03-05T10:00", datetime(2020, 3, 5, 10), datetime(2020, 3, 5, 10, 0, 59, 999999)),
    ("2020-03-05T10:00:00Z", datetime(2020, 3, 5, 10), datetime(2020, 3, 5, 10, 0, 0, 999999)),
    ("2020-03-05T10:00:00.5Z", datetime(2020, 3, 5, 10, 0, 0, 500000), datetime(2020, 3, 5, 10, 0, 0, 599999)),
    ("2020-03-05T10:00:00.123456789Z", datetime(2020, 3, 5, 10, 0, 0, 123456),
     datetime(2020, 3, 5, 10, 0, 0, 123456)),
    # Time zones: the instant in UTC.
    ("2020-03-05T10:00:00+02:00", datetime(2020, 3, 5, 8), datetime(2020, 3, 5, 8, 0, 0, 999999)),
    ("2020-03-05T23:30:00-05:00", datetime(2020, 3, 6, 4, 30), datetime(2020, 3, 6, 4, 30, 0, 999999)),
    ("2020-01-01T00:00:00+14:00", datetime(2019, 12, 31, 10), datetime(2019, 12, 31, 10, 0, 0, 999999)),
    ("9999", datetime(9999, 1, 1), MAX_INSTANT),
])
def test_date_ranges_follow_precision_and_zone(text: str, low: datetime, high: datetime) -> None:
    assert date_range(text) == (low, high)


@pytest.mark.parametrize("text", ["", "20", "2020-13", "2020-02-30", "2020-01-01T25:00:00Z", "abc",
                                  "2020-01-01T10", "2020/01/01", "2020-01-01T10:00:00+0200"])
def test_malformed_dates_are_none(text: str) -> None:
    assert date_range(text) is None


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
def test_every_second_precision_instant_covers_itself(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    low, high = date_range(moment.isoformat() + "Z")
    assert low == moment
    assert (high - low).total_seconds() == pytest.approx(0.999999)


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("100"), (99.5, 100.5)),
    (Decimal("100.00"), (99.995, 100.005)),
    (Decimal("1.5"), (1.45, 1.55)),
    (Decimal("1E+2"), (50.0, 150.0)),
    (Decimal("-3.25"), (-3.255, -3.245)),
    (185, (185.0, 185.0)),
])
def test_number_ranges_follow_written_precision(value: Decimal | int, expected: tuple[float, float]) -> None:
    assert number_range(value) == pytest.approx(expected)


def test_search_numbers_parse_or_refuse() -> None:
    assert parse_decimal("1.50") == Decimal("1.50")
    assert decimal_range(parse_decimal("5.4")) == pytest.approx((5.35, 5.45))
    assert parse_decimal("abc") is None
    assert parse_decimal("NaN") is None
    assert parse_decimal("Infinity") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("Chalmers", "chalmers"),
    ("Zoë  Ångström", "zoe angstrom"),
    ("  Müller\tDüsseldorf ", "muller dusseldorf"),
    ("ÉCOLE", "ecole"),
])
def test_normalize_folds_case_accents_and_spaces(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_normalize_cuts_to_column_width() -> None:
    assert len(normalize("a" * 1000)) == 255


@pytest.mark.parametrize(("text", "expected"), [
    ("Patient/123", ReferenceTarget("Patient", "123")),
    ("Patient/123/_history/4", ReferenceTarget("Patient", "123", None, "4")),
    ("http://other.org/fhir/Patient/123", ReferenceTarget("Patient", "123", "http://other.org/fhir/Patient/123")),
    ("http://other.org/fhir/Patient/123/_history/2",
     ReferenceTarget("Patient", "123", "http://other.org/fhir/Patient/123", "2")),
    ("http://hl7.org/fhir/ValueSet/example|4.0.1",
     ReferenceTarget(None, None, "http://hl7.org/fhir/ValueSet/example", "4.0.1")),
    ("http://example.org/fhir/questionnaire", ReferenceTarget(None, None, "http://example.org/fhir/questionnaire")),
    ("urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
     ReferenceTarget(None, None, "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a")),
    ("Unknown/123", ReferenceTarget(None, None, "Unknown/123")),
])
def test_references_split_into_columns(text: str, expected: ReferenceTarget) -> None:
    assert parse_reference(text, RESOURCE_TYPES) == expected


@pytest.mark.parametrize("text", ["#contained", "", "   "])
def test_contained_and_blank_references_are_not_indexed(text: str) -> None:
    assert parse_reference(text, RESOURCE_TYPES) is None


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("|", "\\|").replace("$", "\\$")


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_escaped_lists_split_back_into_their_items(items: list[str]) -> None:
    joined = ",".join(_escape(item) for item in items)
    assert [unescape(part) for part in split_unescaped(joined, ",")] == items
