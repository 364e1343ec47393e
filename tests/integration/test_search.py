"""Search against the real store, on SQLite and PostgreSQL (``database_url`` from tests/conftest.py).

Every test gets a fresh database with the same small population, written through
``ResourceStore`` so the index rows are the ones production writes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from adapter.conformance.definitions import Definitions
from adapter.search.engine import SearchPage, run_search
from adapter.search.index import Indexer
from adapter.search.params import parse_search
from adapter.store.sql import ResourceStore, now_utc

ADMIN_GENDER = "http://hl7.org/fhir/administrative-gender"
MR = "http://terminology.hl7.org/CodeSystem/v2-0203"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PROFILE = "http://example.org/StructureDefinition/cmp-patient"


def _patient(pid: str, family: str, given: str, gender: str, birth: str, **extra: object) -> dict:
    return {"resourceType": "Patient", "id": pid, "name": [{"family": family, "given": [given]}],
            "gender": gender, "birthDate": birth, **extra}


POPULATION: list[dict] = [
    {"resourceType": "Organization", "id": "o1", "name": "Acme Health"},
    {"resourceType": "Organization", "id": "o2", "name": "Other Org", "partOf": {"reference": "Organization/o1"}},
    _patient("p1", "Chalmers", "Peter", "male", "1974-12-25",
             identifier=[{"type": {"coding": [{"system": MR, "code": "MR"}], "text": "Medical record"},
                          "system": "urn:mrn", "value": "111"}],
             managingOrganization={"reference": "Organization/o1"},
             meta={"tag": [{"system": "urn:tags", "code": "cmp"}], "profile": [PROFILE]}),
    _patient("p2", "Ångström", "Zoë", "female", "1980-03", identifier=[{"system": "urn:mrn", "value": "222"}],
             managingOrganization={"reference": "Organization/o2"}),
    _patient("p3", "Beam", "Jim", "male", "2001-05-06"),
    _patient("p4", "Deleted", "Peter", "male", "1950"),
    {"resourceType": "Encounter", "id": "e1", "status": "finished", "subject": {"reference": "Patient/p1"},
     "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
     "period": {"start": "2020-03-01T10:00:00Z", "end": "2020-03-01T12:00:00Z"},
     "length": {"value": 140, "unit": "min", "system": UCUM, "code": "min"},
     "serviceProvider": {"reference": "Organization/o1"}},
    {"resourceType": "Encounter", "id": "e2", "status": "in-progress", "subject": {"reference": "Patient/p2"},
     "class": {"code": "AMB"}, "period": {"start": "2020-03-15"}},
    {"resourceType": "Encounter", "id": "e3", "status": "finished", "subject": {"reference": "Patient/p3"},
     "class": {"code": "AMB"}, "period": {"start": "2019-12-30", "end": "2020-01-02"}},
    {"resourceType": "Observation", "id": "ob1", "status": "final", "subject": {"reference": "Patient/p1"},
     "encounter": {"reference": "Encounter/e1"},
     "code": {"coding": [{"system": LOINC, "code": "29463-7", "display": "Body Weight"}]},
     "effectiveDateTime": "2016-03-28",
     "valueQuantity": {"value": 185, "unit": "lbs", "system": UCUM, "code": "[lb_av]"}},
    {"resourceType": "Observation", "id": "ob2", "status": "final", "subject": {"reference": "Patient/p2"},
     "code": {"coding": [{"system": LOINC, "code": "8867-4"}], "text": "Heart rate"},
     "effectiveDateTime": "2020-03-15T08:30:00+01:00",
     "valueQuantity": {"value": Decimal("72.5"), "unit": "/min", "system": UCUM, "code": "/min"}},
    {"resourceType": "RiskAssessment", "id": "ra1", "status": "final", "subject": {"reference": "Patient/p1"},
     "prediction": [{"probabilityDecimal": Decimal("0.25")}]},
    {"resourceType": "RiskAssessment", "id": "ra2", "status": "final", "subject": {"reference": "Patient/p2"},
     "prediction": [{"probabilityDecimal": Decimal("0.7")}]},
    {"resourceType": "RiskAssessment", "id": "ra3", "status": "final", "subject": {"reference": "Patient/p3"},
     "prediction": [{"probabilityDecimal": 1}]},
    {"resourceType": "ValueSet", "id": "vs1", "status": "active", "url": "http://hl7.org/fhir/ValueSet/example-a"},
    {"resourceType": "ValueSet", "id": "vs2", "status": "active", "url": "http://example.org/fhir/ValueSet/b"},
    {"resourceType": "Provenance", "id": "prov1", "target": [{"reference": "Patient/p1"}],
     "recorded": "2020-01-01T00:00:00Z", "agent": [{"who": {"reference": "Organization/o1"}}]},
]


@pytest.fixture(scope="module")
def indexer(definitions: Definitions) -> Indexer:
    return Indexer(definitions)


@pytest.fixture
def store(database_url: str, indexer: Indexer) -> Iterator[ResourceStore]:
    """The real store on a fresh database, holding :data:`POPULATION` (p4 deleted)."""
    store = ResourceStore(ResourceStore.create_engine(database_url), indexer)
    store.create_schema()
    with store.begin() as conn:
        for resource in POPULATION:
            store.update(conn, resource["resourceType"], resource["id"], dict(resource))
        store.delete(conn, "Patient", "p4")
    yield store
    store.engine.dispose()


@pytest.fixture
def search(store: ResourceStore, definitions: Definitions):
    def search(resource_type: str, *pairs: tuple[str, str], max_count: int = 100) -> SearchPage:
        query = parse_search(definitions, resource_type, list(pairs), handling="strict", max_count=max_count)
        with store.connect() as conn:
            return run_search(conn, definitions, resource_type, query)

    return search


@pytest.fixture
def ids(search):
    """The ids of the matches, in result order."""
    def ids(resource_type: str, *pairs: tuple[str, str]) -> list[str]:
        return [row.res_id for row in search(resource_type, *pairs).matches]

    return ids


def _same(found: list[str], expected: str) -> bool:
    return sorted(found) == sorted(expected.split()) if expected else found == []


# --- string ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("name", "peter", "p1"),            # prefix, case-insensitive; p4 is deleted
    ("name", "PET", "p1"),
    ("name", "angstrom", "p2"),         # accent-insensitive
    ("given", "zoe", "p2"),
    ("name", "eter", ""),               # default is starts-with
    ("family:exact", "Ångström", "p2"),
    ("family:exact", "angstrom", ""),
    ("family:exact", "Ångströ", ""),
    ("name:contains", "EAM", "p3"),
    ("name:contains", "ström", "p2"),
    ("name", "peter,jim", "p1 p3"),     # OR within a parameter
    ("name", "100%", ""),               # LIKE wildcards are escaped
    ("name:contains", "_", ""),
])
def test_string(ids, name: str, value: str, expected: str) -> None:
    assert _same(ids("Patient", (name, value)), expected)


def test_parameters_are_anded(ids) -> None:
    assert ids("Patient", ("name", "peter,jim"), ("gender", "male"), ("birthdate", "ge2000")) == ["p3"]


# --- token -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("gender", "male", "p1 p3"),
    ("gender", f"{ADMIN_GENDER}|female", "p2"),    # the implicit system of a bound code
    ("gender", "|female", ""),
    ("identifier", "urn:mrn|111", "p1"),
    ("identifier", "111", "p1"),
    ("identifier", "|111", ""),                    # it has a system
    ("identifier", "urn:mrn|", "p1 p2"),
    ("identifier", "urn:other|111", ""),
    ("gender:not", "male", "p2"),
    ("identifier:not", "urn:mrn|111", "p2 p3"),    # :not includes resources without a value
    ("identifier:text", "medical", "p1"),
    ("identifier:of-type", f"{MR}|MR|111", "p1"),
    ("identifier:of-type", f"{MR}|MR|222", ""),
    ("_tag", "urn:tags|cmp", "p1"),
    ("_profile", PROFILE, "p1"),
])
def test_token(ids, name: str, value: str, expected: str) -> None:
    assert _same(ids("Patient", (name, value)), expected)


@pytest.mark.parametrize(("value", "expected"), [
    ("AMB", "e1 e2 e3"),
    ("|AMB", "e2 e3"),                                            # codings without a system
    ("http://terminology.hl7.org/CodeSystem/v3-ActCode|AMB", "e1"),
    ("http://terminology.hl7.org/CodeSystem/v3-ActCode|", "e1"),
])
def test_token_systems(ids, value: str, expected: str) -> None:
    assert _same(ids("Encounter", ("class", value)), expected)


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("code", f"{LOINC}|29463-7", "ob1"),
    ("code", "8867-4,29463-7", "ob1 ob2"),
    ("code:text", "body", "ob1"),       # Coding.display
    ("code:text", "heart", "ob2"),      # CodeableConcept.text
    ("status", "final", "ob1 ob2"),
])
def test_token_on_codeable_concepts(ids, name: str, value: str, expected: str) -> None:
    assert _same(ids("Observation", (name, value)), expected)


# --- reference ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("resource_type", "name", "value", "expected"), [
    ("Encounter", "subject", "Patient/p1", "e1"),
    ("Encounter", "subject", "p2", "e2"),
    ("Encounter", "subject:Patient", "p3", "e3"),
    ("Encounter", "patient", "Patient/p1,Patient/p3", "e1 e3"),
    ("Encounter", "subject", "Patient/nobody", ""),
    ("Encounter", "subject:Patient.name", "zoe", "e2"),          # chained, type given
    ("Encounter", "patient.birthdate", "lt1990", "e1 e2"),       # chained, the only target type
    ("Observation", "subject.name", "peter", "ob1"),             # chained, tried on each target type
    ("Observation", "subject.identifier", "urn:mrn|222", "ob2"),
    ("Encounter", "service-provider.name", "acme", "e1"),
    ("Encounter", "subject:Patient.name", "Deleted", ""),        # deleted targets do not match
    ("Organization", "partof", "Organization/o1", "o2"),
])
def test_reference(ids, resource_type: str, name: str, value: str, expected: str) -> None:
    assert _same(ids(resource_type, (name, value)), expected)


# --- date --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    # p1 1974-12-25, p2 1980-03 (a month), p3 2001-05-06
    ("1974", "p1"),
    ("1980", "p2"),
    ("1980-03-05", ""),          # eq: March 1980 is not within that day
    ("2001-05-01", ""),
    ("ap2001-05-01", "p3"),      # within 10% of the distance from now
    ("ne1974-12-25", "p2 p3"),
    ("lt1980", "p1"),
    ("lt1980-03-10", "p1 p2"),   # p2 starts before the 10th
    ("le1980-03", "p1 p2"),
    ("gt1980-03", "p3"),
    ("gt1980-03-10", "p2 p3"),   # p2 ends after the 10th
    ("ge1980-03", "p2 p3"),
    ("sa1980", "p3"),
    ("sa1980-03-10", "p3"),      # p2 does not start after the 10th
    ("eb1980", "p1"),
    ("eb1980-03-10", "p1"),
    ("1974-12-25T12:00:00Z", ""),
    ("1974-12-25T00:00:00-05:00", ""),
])
def test_date_prefixes_on_partial_dates(ids, value: str, expected: str) -> None:
    assert _same(ids("Patient", ("birthdate", value)), expected)


@pytest.mark.parametrize(("value", "expected"), [
    # e1 2020-03-01 10:00-12:00Z, e2 from 2020-03-15 (open end), e3 2019-12-30..2020-01-02
    ("2020-03", "e1"),
    ("2020-03-01", "e1"),
    ("2020-03-01T11:00:00+01:00", ""),
    ("ne2020-03-01", "e2 e3"),
    ("ge2020-03-10", "e2"),
    ("gt2020", "e2"),
    ("lt2020-01-01", "e3"),
    ("le2020-01-01", "e3"),
    ("le2019", ""),              # e3 neither starts before 2019 nor lies within it
    ("sa2020-01-02", "e1 e2"),
    ("eb2020-03-01", "e3"),
    ("eb2020-03-02", "e1 e3"),
    ("ge2020-01-01,lt2019-12-31", "e1 e2 e3"),
    ("ap2020-03-01", "e1 e2 e3"),   # ± 10% of the years since then
    ("ap2010", ""),
])
def test_date_prefixes_on_periods(ids, value: str, expected: str) -> None:
    assert _same(ids("Encounter", ("date", value)), expected)


def test_date_range_from_two_parameters(ids) -> None:
    assert ids("Encounter", ("date", "ge2020-02"), ("date", "lt2020-03-10")) == ["e1"]


def test_date_on_observation_with_time_zone(ids) -> None:
    assert ids("Observation", ("date", "2020-03-15T07:30:00Z")) == ["ob2"]
    assert ids("Observation", ("date", "2020-03-15")) == ["ob2"]


# --- number and quantity -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    # ra1 0.25 (± 0.005), ra2 0.7 (± 0.05), ra3 1 (an exact integer)
    ("0.25", "ra1"),
    ("0.250", ""),               # the search is more precise than the stored value
    ("0.3", ""),
    ("0.7", "ra2"),
    ("1", "ra2 ra3"),            # [0.5, 1.5] holds 0.7 too
    ("1.0", "ra3"),
    ("ne0.25", "ra2 ra3"),
    ("gt0.5", "ra2 ra3"),
    ("lt0.5", "ra1"),
    ("ge0.7", "ra2 ra3"),
    ("le0.25", "ra1"),
    ("gt0.25", "ra2 ra3"),
    ("lt1", "ra1 ra2"),
    ("sa0.6", "ra2 ra3"),
    ("eb0.7", "ra1"),
    ("ap0.24", "ra1"),
    ("ap0.95", "ra3"),
])
def test_number(ids, value: str, expected: str) -> None:
    assert _same(ids("RiskAssessment", ("probability", value)), expected)


@pytest.mark.parametrize(("value", "expected"), [
    ("185", "ob1"),
    (f"185|{UCUM}|[lb_av]", "ob1"),
    ("185||lbs", "ob1"),                 # the unit text
    ("185||kg", ""),
    ("185|urn:other|[lb_av]", ""),
    ("gt100", "ob1"),
    ("lt100", "ob2"),
    ("72.5||/min", "ob2"),
    ("72||/min", ""),
    ("ap72||/min", "ob2"),
    ("le72.5", "ob2"),
    ("lt72.5", ""),
])
def test_quantity(ids, value: str, expected: str) -> None:
    assert _same(ids("Observation", ("value-quantity", value)), expected)


def test_quantity_on_encounter_length(ids) -> None:
    assert ids("Encounter", ("length", "140||min")) == ["e1"]
    assert ids("Encounter", ("length", "gt2||h")) == []


# --- uri, missing, _id, _lastUpdated -----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("url", "http://hl7.org/fhir/ValueSet/example-a", "vs1"),
    ("url", "http://hl7.org/fhir/ValueSet/example", ""),
    ("url:below", "http://hl7.org/fhir/", "vs1"),
    ("url:below", "http://example.org", "vs2"),
    ("url:above", "http://example.org/fhir/ValueSet/b/_history/1", "vs2"),
    ("url:above", "http://example.org/fhir", ""),
])
def test_uri(ids, name: str, value: str, expected: str) -> None:
    assert _same(ids("ValueSet", (name, value)), expected)


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("identifier:missing", "true", "p3"),
    ("identifier:missing", "false", "p1 p2"),
    ("organization:missing", "true", "p3"),
    ("birthdate:missing", "false", "p1 p2 p3"),
    ("_tag:missing", "false", "p1"),
])
def test_missing(ids, name: str, value: str, expected: str) -> None:
    assert _same(ids("Patient", (name, value)), expected)


def test_id(ids) -> None:
    assert ids("Patient", ("_id", "p3,p1")) == ["p1", "p3"]
    assert ids("Patient", ("_id", "p4")) == []


def test_last_updated(store: ResourceStore, ids) -> None:
    time.sleep(0.01)
    mark = now_utc().isoformat() + "Z"
    time.sleep(0.01)
    with store.begin() as conn:
        store.update(conn, "Patient", "p2", dict(POPULATION[3]))
    assert ids("Patient", ("_lastUpdated", f"gt{mark}")) == ["p2"]
    assert ids("Patient", ("_lastUpdated", f"lt{mark}")) == ["p1", "p3"]
    assert ids("Patient", ("_lastUpdated", "gt2000-01-01")) == ["p1", "p2", "p3"]
    assert ids("Patient", ("_lastUpdated", "lt2000")) == []


# --- sort, paging, totals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("sort", "expected"), [
    ("birthdate", ["p1", "p2", "p3"]),
    ("-birthdate", ["p3", "p2", "p1"]),
    ("gender,-birthdate", ["p2", "p3", "p1"]),
    ("-gender,birthdate", ["p1", "p3", "p2"]),
    ("family", ["p2", "p3", "p1"]),      # ångström sorts as angstrom
    ("identifier", ["p1", "p2", "p3"]),  # no value: last
    ("-identifier", ["p2", "p1", "p3"]),
    ("_id", ["p1", "p2", "p3"]),
    ("-_id", ["p3", "p2", "p1"]),
])
def test_sort(ids, sort: str, expected: list[str]) -> None:
    assert ids("Patient", ("_sort", sort)) == expected


def test_sort_by_last_updated(store: ResourceStore, ids) -> None:
    time.sleep(0.01)
    with store.begin() as conn:
        store.update(conn, "Patient", "p1", dict(POPULATION[2]))
    assert ids("Patient", ("_sort", "-_lastUpdated"))[0] == "p1"
    assert ids("Patient", ("_sort", "_lastUpdated"))[-1] == "p1"


def test_default_order_is_insertion(store: ResourceStore, ids) -> None:
    with store.begin() as conn:
        store.create(conn, "Patient", {"resourceType": "Patient", "name": [{"family": "Aaron"}]})
    assert ids("Patient")[:3] == ["p1", "p2", "p3"]
    assert len(ids("Patient")) == 4


@pytest.mark.parametrize("sort", [None, "family", "-birthdate"])
def test_paging_neither_skips_nor_repeats(store: ResourceStore, search, sort: str | None) -> None:
    with store.begin() as conn:
        for n in range(22):
            store.update(conn, "Patient", f"bulk{n:02d}", {
                "resourceType": "Patient", "name": [{"family": f"Bulk{n % 5}"}], "birthDate": f"19{n % 3 + 60}"})
    extra = [("_sort", sort)] if sort else []
    seen: list[str] = []
    offset = 0
    while True:
        page = search("Patient", ("_count", "10"), ("_offset", str(offset)), *extra)
        assert page.total == 25
        assert (page.offset, page.count) == (offset, 10)
        seen += [row.res_id for row in page.matches]
        if not page.has_next:
            break
        offset += page.count
    assert len(seen) == 25
    assert len(set(seen)) == 25
    assert offset == 20


def test_count_is_bounded_by_the_maximum(search) -> None:
    page = search("Patient", ("_count", "500"), max_count=2)
    assert page.count == 2
    assert len(page.matches) == 2
    assert page.has_next


def test_total(search) -> None:
    assert search("Patient", ("gender", "male")).total == 2
    assert search("Patient", ("gender", "male"), ("_total", "accurate")).total == 2
    assert search("Patient", ("gender", "male"), ("_total", "estimate")).total == 2
    page = search("Patient", ("gender", "male"), ("_total", "none"))
    assert page.total is None
    assert len(page.matches) == 2


def test_total_beyond_the_last_page_and_with_count_zero(search) -> None:
    page = search("Patient", ("_offset", "10"))
    assert (page.total, page.matches, page.has_next) == (3, [], False)
    page = search("Patient", ("_count", "0"))
    assert (page.total, page.matches, page.has_next) == (3, [], False)
    assert search("Patient", ("_count", "2"), ("_offset", "2")).total == 3


def test_summary_count(search) -> None:
    page = search("Patient", ("_summary", "count"), ("_include", "Patient:organization"))
    assert (page.total, page.matches, page.includes, page.has_next) == (3, [], [], False)


def test_rows_carry_the_stored_bytes(search) -> None:
    row = search("Patient", ("_id", "p1")).matches[0]
    assert (row.res_type, row.res_id, row.version) == ("Patient", "p1", 1)
    assert b'"Chalmers"' in bytes(row.content)
    assert row.last_updated is not None


# --- _include, _revinclude, :iterate -----------------------------------------------------------------------


def _refs(rows: list) -> list[str]:
    return sorted(f"{row.res_type}/{row.res_id}" for row in rows)


def test_include(search) -> None:
    page = search("Encounter", ("_include", "Encounter:subject"))
    assert _refs(page.includes) == ["Patient/p1", "Patient/p2", "Patient/p3"]
    page = search("Encounter", ("_id", "e1"), ("_include", "Encounter:subject"),
                  ("_include", "Encounter:service-provider"))
    assert _refs(page.includes) == ["Organization/o1", "Patient/p1"]


def test_include_with_target_type_and_wildcard(search) -> None:
    assert search("Encounter", ("_include", "Encounter:subject:Group")).includes == []
    page = search("Encounter", ("_id", "e1"), ("_include", "*"))
    assert _refs(page.includes) == ["Organization/o1", "Patient/p1"]
    page = search("Observation", ("_id", "ob1"), ("_include", "Observation:*"))
    assert _refs(page.includes) == ["Encounter/e1", "Patient/p1"]


def test_include_is_deduplicated_and_never_repeats_a_match(search) -> None:
    page = search("Observation", ("_include", "Observation:subject"), ("_include", "Observation:patient"))
    assert _refs(page.includes) == ["Patient/p1", "Patient/p2"]
    page = search("Organization", ("_include", "Organization:partof"))
    assert _refs(page.matches) == ["Organization/o1", "Organization/o2"]
    assert page.includes == []


def test_include_only_for_the_page(search) -> None:
    page = search("Encounter", ("_count", "1"), ("_include", "Encounter:subject"))
    assert _refs(page.includes) == ["Patient/p1"]


def test_include_skips_deleted_targets(store: ResourceStore, search) -> None:
    with store.begin() as conn:
        store.delete(conn, "Patient", "p3")
    assert _refs(search("Encounter", ("_include", "Encounter:subject")).includes) == ["Patient/p1", "Patient/p2"]


def test_revinclude(search) -> None:
    page = search("Patient", ("_id", "p1"), ("_revinclude", "Provenance:target"),
                  ("_revinclude", "Encounter:subject"))
    assert _refs(page.includes) == ["Encounter/e1", "Provenance/prov1"]
    page = search("Patient", ("_revinclude", "Observation:subject"))
    assert _refs(page.includes) == ["Observation/ob1", "Observation/ob2"]
    assert search("Patient", ("_id", "p3"), ("_revinclude", "Provenance:target")).includes == []


def test_include_iterate(search) -> None:
    page = search("Observation", ("_id", "ob1"), ("_include", "Observation:subject"),
                  ("_include:iterate", "Patient:organization"))
    assert _refs(page.includes) == ["Organization/o1", "Patient/p1"]


def test_include_without_iterate_applies_to_matches_only(definitions: Definitions) -> None:
    query = parse_search(definitions, "Observation", [("_id", "ob1"), ("_include", "Observation:subject"),
                                                      ("_include", "Patient:organization")])
    assert [i.text for i in query.includes] == ["Observation:subject"]
    assert len(query.ignored) == 1


def test_revinclude_iterate(search) -> None:
    page = search("Patient", ("_id", "p1"), ("_revinclude", "Encounter:subject"),
                  ("_revinclude:iterate", "Observation:encounter"))
    assert _refs(page.includes) == ["Encounter/e1", "Observation/ob1"]


def test_iterate_mixes_include_and_revinclude(search) -> None:
    page = search("Organization", ("_id", "o2"), ("_revinclude", "Patient:organization"),
                  ("_revinclude:iterate", "Encounter:subject"), ("_include:iterate", "Patient:organization"))
    assert _refs(page.includes) == ["Encounter/e2", "Patient/p2"]
