"""Search query parsing: modifiers, prefixes, escapes, chains, result parameters, strict and lenient."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.conformance.definitions import Definitions
from adapter.errors import BadRequest
from adapter.search.engine import supported_params
from adapter.search.params import (
    DateValue,
    Include,
    MissingValue,
    NumberValue,
    OfTypeValue,
    ReferenceValue,
    SearchQuery,
    StringValue,
    TokenValue,
    parse_search,
)

END_OF_DAY = (23, 59, 59, 999999)


@pytest.fixture
def parse(definitions: Definitions):
    def parse(resource_type: str, *pairs: tuple[str, str], handling: str = "strict", max_count: int = 100
              ) -> SearchQuery:
        return parse_search(definitions, resource_type, list(pairs), handling=handling, default_count=10,
                            max_count=max_count)

    return parse


def _only(query: SearchQuery):
    assert len(query.criteria) == 1
    return query.criteria[0]


# --- criteria ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("modifier", [None, "exact", "contains"])
def test_string_modifiers(parse, modifier: str | None) -> None:
    name = "name" if modifier is None else f"name:{modifier}"
    criterion = _only(parse("Patient", (name, "Peter,Jim")))
    assert criterion.param.code == "name"
    assert criterion.modifier == modifier
    assert criterion.values == (StringValue("Peter"), StringValue("Jim"))


@pytest.mark.parametrize(("value", "expected"), [
    ("male", TokenValue(None, "male")),
    ("http://hl7.org/fhir/administrative-gender|male", TokenValue("http://hl7.org/fhir/administrative-gender", "male")),
    ("|male", TokenValue("", "male")),
    ("http://hl7.org/fhir/administrative-gender|", TokenValue("http://hl7.org/fhir/administrative-gender", None)),
])
def test_token_forms(parse, value: str, expected: TokenValue) -> None:
    assert _only(parse("Patient", ("gender", value))).values == (expected,)


def test_token_not_text_and_of_type(parse) -> None:
    query = parse("Patient", ("gender:not", "male"), ("identifier:text", "Medicaid"),
                  ("identifier:of-type", "http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345"))
    not_, text, of_type = query.criteria
    assert (not_.modifier, not_.values) == ("not", (TokenValue(None, "male"),))
    assert (text.modifier, text.values) == ("text", (StringValue("Medicaid"),))
    assert of_type.values == (OfTypeValue("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "12345"),)


def test_of_type_needs_three_parts(parse) -> None:
    with pytest.raises(BadRequest, match="identifier:of-type"):
        parse("Patient", ("identifier:of-type", "MR|12345"))


@pytest.mark.parametrize("param", ["name", "gender", "birthdate", "organization"])
@pytest.mark.parametrize("flag", ["true", "false"])
def test_missing(parse, param: str, flag: str) -> None:
    criterion = _only(parse("Patient", (f"{param}:missing", flag)))
    assert criterion.values == (MissingValue(flag == "true"),)


def test_missing_takes_a_boolean(parse) -> None:
    with pytest.raises(BadRequest, match="gender:missing"):
        parse("Patient", ("gender:missing", "yes"))


@pytest.mark.parametrize("prefix", ["eq", "ne", "lt", "gt", "le", "ge", "sa", "eb", "ap"])
def test_date_prefixes(parse, prefix: str) -> None:
    value = _only(parse("Patient", ("birthdate", f"{prefix}2020-03"))).values[0]
    assert value == DateValue(prefix, datetime(2020, 3, 1), datetime(2020, 3, 31, *END_OF_DAY))


def test_date_without_prefix_is_eq_and_zone_plus_survives_form_decoding(parse) -> None:
    value = _only(parse("Encounter", ("date", "2020-03-05T10:00:00 02:00"))).values[0]
    assert value == DateValue("eq", datetime(2020, 3, 5, 8), datetime(2020, 3, 5, 8, 0, 0, 999999))


@pytest.mark.parametrize("value", ["2020-13", "xx2020", "last-year", "2020-02-30", "gt"])
def test_bad_dates_are_bad_requests_naming_the_parameter(parse, value: str) -> None:
    with pytest.raises(BadRequest, match="birthdate"):
        parse("Patient", ("birthdate", value), handling="lenient")


@pytest.mark.parametrize("prefix", ["eq", "ne", "lt", "gt", "le", "ge", "sa", "eb", "ap"])
def test_number_prefixes(parse, prefix: str) -> None:
    value = _only(parse("RiskAssessment", ("probability", f"{prefix}0.50"))).values[0]
    assert value == NumberValue(prefix, Decimal("0.50"), 0.495, 0.505)


def test_quantity_forms(parse) -> None:
    query = parse("Observation", ("value-quantity", "5.4|http://unitsofmeasure.org|mg,gt5||mg,le10"))
    assert _only(query).values == (
        NumberValue("eq", Decimal("5.4"), 5.35, 5.45, "http://unitsofmeasure.org", "mg"),
        NumberValue("gt", Decimal("5"), 4.5, 5.5, None, "mg"),
        NumberValue("le", Decimal("10"), 9.5, 10.5),
    )


@pytest.mark.parametrize("value", ["abc", "5|mg", "zz5", "5.4|a|b|c"])
def test_bad_numbers_are_bad_requests(parse, value: str) -> None:
    with pytest.raises(BadRequest, match="value-quantity"):
        parse("Observation", ("value-quantity", value))


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("subject", "Patient/123", ReferenceValue("Patient", "123")),
    ("subject", "123", ReferenceValue(None, "123")),
    ("subject:Patient", "123", ReferenceValue("Patient", "123")),
    ("subject", "http://other.org/fhir/Patient/123",
     ReferenceValue(None, None, "http://other.org/fhir/Patient/123")),
    ("subject", "Patient/123/_history/2", ReferenceValue("Patient", "123")),
])
def test_reference_forms(parse, name: str, value: str, expected: ReferenceValue) -> None:
    criterion = _only(parse("Observation", (name, value)))
    assert criterion.values == (expected,)


def test_canonical_reference_with_version(parse) -> None:
    value = _only(parse("CarePlan", ("instantiates-canonical", "http://x.org/PlanDefinition/p|2.0"))).values[0]
    assert value == ReferenceValue(None, None, "http://x.org/PlanDefinition/p", "2.0")


def test_reference_type_modifier_must_be_a_target(parse) -> None:
    with pytest.raises(BadRequest, match="subject:Medication"):
        parse("Observation", ("subject:Medication", "1"))


@pytest.mark.parametrize("modifier", ["below", "above", None])
def test_uri_modifiers(parse, modifier: str | None) -> None:
    name = "url" if modifier is None else f"url:{modifier}"
    criterion = _only(parse("ValueSet", (name, "http://hl7.org/fhir/ValueSet")))
    assert (criterion.modifier, criterion.values) == (modifier, (StringValue("http://hl7.org/fhir/ValueSet"),))


def test_escapes(parse) -> None:
    query = parse("Patient", ("name", r"a\,b,c\$d,e\\f"), ("identifier", r"urn:a\|b|x\,y"))
    name, identifier = query.criteria
    assert name.values == (StringValue("a,b"), StringValue("c$d"), StringValue("e\\f"))
    assert identifier.values == (TokenValue("urn:a|b", "x,y"),)


def test_too_many_bars_in_a_token(parse) -> None:
    with pytest.raises(BadRequest, match="identifier"):
        parse("Patient", ("identifier", "a|b|c"))


def test_repeated_parameters_are_anded(parse) -> None:
    query = parse("Patient", ("birthdate", "ge2000"), ("birthdate", "lt2010"))
    assert [c.values[0].prefix for c in query.criteria] == ["ge", "lt"]


def test_empty_values_are_ignored(parse) -> None:
    assert parse("Patient", ("name", "")).criteria == ()


def test_id_and_last_updated(parse) -> None:
    query = parse("Patient", ("_id", "a,b"), ("_lastUpdated", "gt2020-01-01"))
    ids, updated = query.criteria
    assert ids.values == (TokenValue(None, "a"), TokenValue(None, "b"))
    assert updated.values[0].prefix == "gt"


def test_meta_parameters(parse) -> None:
    query = parse("Patient", ("_tag", "urn:tags|cmp"), ("_profile", "http://x/p"), ("_security", "R"),
                  ("_source", "urn:src"))
    assert [c.param.code for c in query.criteria] == ["_tag", "_profile", "_security", "_source"]


# --- chains ------------------------------------------------------------------------------------------------


def test_chain_with_explicit_type(parse) -> None:
    criterion = _only(parse("Observation", ("subject:Patient.name", "peter")))
    assert criterion.param.code == "subject"
    (target, inner), = criterion.chain
    assert target == "Patient"
    assert (inner.param.code, inner.values) == ("name", (StringValue("peter"),))


def test_chain_with_unique_target(parse) -> None:
    (target, inner), = _only(parse("Encounter", ("patient.birthdate", "1974"))).chain
    assert (target, inner.param.code) == ("Patient", "birthdate")


def test_chain_tries_every_target_type_that_has_the_parameter(parse) -> None:
    criterion = _only(parse("Observation", ("subject.name:exact", "Peter")))
    assert {target for target, _ in criterion.chain} == {"Patient", "Location"}  # Group, Device: no name
    assert {inner.modifier for _, inner in criterion.chain} == {"exact"}


def test_chain_value_is_checked_against_the_target_parameter(parse) -> None:
    with pytest.raises(BadRequest, match=r"patient\.birthdate"):
        parse("Encounter", ("patient.birthdate", "not-a-date"))


@pytest.mark.parametrize("name", ["subject.organization.name", "status.name", "subject.nonexistent",
                                  "subject:Medication.code", "subject:missing.name"])
def test_unsupported_chains(parse, name: str) -> None:
    with pytest.raises(BadRequest, match=name.split(".")[0]):
        parse("Observation", (name, "x"))
    assert parse("Observation", (name, "x"), handling="lenient").criteria == ()


# --- strict and lenient ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), [
    ("nonsense", "x"), ("name:above", "x"), ("gender:in", "http://vs"), ("birthdate:exact", "2020"),
    ("_has:Observation:patient:code", "x"), ("_text", "x"), ("_id:missing", "true"), ("age", "5"),
])
def test_strict_refuses_and_lenient_records(parse, name: str, value: str) -> None:
    with pytest.raises(BadRequest) as raised:
        parse("Patient", (name, value))
    assert name in str(raised.value)
    query = parse("Patient", (name, value), ("gender", "male"), handling="lenient")
    assert [c.param.code for c in query.criteria] == ["gender"]
    assert len(query.ignored) == 1
    assert name in query.ignored[0].diagnostics
    assert query.ignored[0].severity == "warning"
    assert name not in query.query_string()


# --- result parameters -------------------------------------------------------------------------------------


def test_count_offset_defaults_and_bounds(parse) -> None:
    assert (parse("Patient").count, parse("Patient").offset) == (10, 0)
    query = parse("Patient", ("_count", "5000"), ("_offset", "40"), max_count=100)
    assert (query.count, query.offset) == (100, 40)
    assert parse("Patient", ("_count", "0")).count == 0


@pytest.mark.parametrize(("name", "value"), [("_count", "abc"), ("_count", "-1"), ("_offset", "x"),
                                             ("_total", "maybe"), ("_summary", "short")])
def test_bad_result_parameters_are_bad_requests_even_when_lenient(parse, name: str, value: str) -> None:
    with pytest.raises(BadRequest, match=name):
        parse("Patient", (name, value), handling="lenient")


def test_sort(parse) -> None:
    query = parse("Patient", ("_sort", "-birthdate,name"), ("_sort", "_lastUpdated"))
    assert [key.text for key in query.sort] == ["-birthdate", "name", "_lastUpdated"]
    assert [key.descending for key in query.sort] == [True, False, False]


def test_sort_on_unknown_parameter(parse) -> None:
    with pytest.raises(BadRequest, match="nonsense"):
        parse("Patient", ("_sort", "nonsense"))
    assert parse("Patient", ("_sort", "nonsense,name"), handling="lenient").sort[0].text == "name"


@pytest.mark.parametrize("mode", ["none", "estimate", "accurate"])
def test_total(parse, mode: str) -> None:
    assert parse("Patient", ("_total", mode)).total == mode


@pytest.mark.parametrize("mode", ["true", "text", "data", "count", "false"])
def test_summary(parse, mode: str) -> None:
    assert parse("Patient", ("_summary", mode)).summary == mode


def test_elements_format_and_pretty(parse) -> None:
    query = parse("Patient", ("_elements", "name, birthDate"), ("_format", "xml"), ("_pretty", "true"))
    assert query.elements == ("name", "birthDate")
    assert "_format" not in query.query_string()


def test_include_and_revinclude(parse) -> None:
    query = parse("Observation", ("_include", "Observation:subject:Patient"), ("_include", "Observation:*"),
                  ("_include:iterate", "Patient:organization"), ("_include", "*"),
                  ("_revinclude", "Provenance:target"), ("_revinclude:iterate", "Observation:has-member"))
    assert query.includes == (
        Include("Observation", "subject", "Patient", False, "Observation:subject:Patient"),
        Include("Observation", None, None, False, "Observation:*"),
        Include("Patient", "organization", None, True, "Patient:organization"),
        Include(None, None, None, False, "*"),
    )
    assert query.revincludes == (Include("Provenance", "target", None, False, "Provenance:target"),
                                 Include("Observation", "has-member", None, True, "Observation:has-member"))


@pytest.mark.parametrize("value", ["Observation:status", "Nope:subject", "Observation:subject:Medication",
                                   "Patient:organization", "Observation"])
def test_bad_includes(parse, value: str) -> None:
    with pytest.raises(BadRequest, match="_include"):
        parse("Observation", ("_include", value))
    assert parse("Observation", ("_include", value), handling="lenient").includes == ()


# --- the canonical query string ----------------------------------------------------------------------------


def test_query_string_says_what_was_applied(parse) -> None:
    query = parse("Observation", ("subject:Patient.name", "peter"), ("code", "http://loinc.org|1234-5,x\\,y"),
                  ("bogus", "1"), ("_sort", "-date"), ("_include", "Observation:subject"), ("_count", "5"),
                  ("_offset", "10"), ("_total", "accurate"), handling="lenient")
    assert query.query_string() == (
        "subject:Patient.name=peter&code=http://loinc.org|1234-5,x%5C,y&_sort=-date"
        "&_include=Observation:subject&_total=accurate&_count=5&_offset=10")
    assert query.query_string(15).endswith("_count=5&_offset=15")
    assert query.query_string(0).endswith("_count=5")


def test_with_offset_is_a_copy(parse) -> None:
    query = parse("Patient", ("name", "a"), ("_count", "5"))
    later = query.with_offset(5)
    assert (query.offset, later.offset) == (0, 5)
    assert later.criteria == query.criteria
    with pytest.raises(AttributeError):
        query.offset = 3  # type: ignore[misc]


# NUL is refused (400): PostgreSQL text cannot hold it (tests/reliability/test_bad_input_never_500.py).
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                        min_size=1), min_size=1, max_size=4))
def test_string_values_survive_escaping_and_the_query_string(definitions: Definitions, items: list[str]) -> None:
    escaped = ",".join(i.replace("\\", "\\\\").replace(",", "\\,").replace("$", "\\$").replace("|", "\\|")
                       for i in items)
    query = parse_search(definitions, "Patient", [("family", escaped)])
    assert [v.text for v in query.criteria[0].values] == items
    assert query.pairs()[0] == ("family", escaped)


# --- the supported parameters ------------------------------------------------------------------------------


def test_supported_params(definitions: Definitions) -> None:
    codes = {p.code for p in supported_params(definitions, "Patient")}
    assert {"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source", "name", "birthdate",
            "identifier", "organization", "address-city"} <= codes
    assert not codes & {"_text", "_content", "_query", "age", "part-agree"}
