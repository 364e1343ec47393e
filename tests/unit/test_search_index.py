"""Index extraction: the rows official examples and hand-made resources contribute to the search tables."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import simplejson

from adapter.conformance.definitions import Definitions
from adapter.search.dates import MAX_INSTANT, MIN_INSTANT
from adapter.search.index import COLUMNS, Indexer
from adapter.search.paths import split_union
from adapter.settings import DEFAULT_RESOURCE_TYPES
from adapter.store.schema import INDEX_TABLES

END_OF_DAY = (23, 59, 59, 999999)


@pytest.fixture(scope="module")
def indexer(definitions: Definitions) -> Indexer:
    return Indexer(definitions)


def _load(folder: Path, name: str) -> dict:
    return simplejson.loads((folder / name).read_text(encoding="utf-8"), use_decimal=True)


def _values(rows: dict[str, list[dict]], table: str, param: str, *columns: str) -> set:
    """The distinct value tuples of one parameter (a single column gives plain values)."""
    found = {tuple(row[c] for c in columns) for row in rows.get(table, []) if row["param"] == param}
    return {v[0] for v in found} if len(columns) == 1 else found


def _index(indexer: Indexer, resource: dict) -> dict[str, list[dict]]:
    return indexer.rows(resource)


# --- official examples -------------------------------------------------------------------------------------


def test_patient_example(indexer: Indexer, r4_examples_dir: Path) -> None:
    rows = _index(indexer, _load(r4_examples_dir, "Patient-example.json"))
    assert _values(rows, "string", "family", "value_exact") == {"Chalmers", "Windsor"}
    assert _values(rows, "string", "given", "value_norm") == {"peter", "james", "jim"}
    assert _values(rows, "string", "name", "value_norm") == {"chalmers", "windsor", "peter", "james", "jim"}
    assert ("pleasantville", "PleasantVille") in _values(rows, "string", "address", "value_norm", "value_exact")
    assert _values(rows, "string", "address-postalcode", "value_exact") == {"3999"}
    assert _values(rows, "token", "gender", "system", "code") == {("http://hl7.org/fhir/administrative-gender", "male")}
    assert _values(rows, "token", "active", "code") == {"true"}
    assert _values(rows, "token", "deceased", "code") == {"false"}
    assert _values(rows, "token", "identifier", "system", "code") == {("urn:oid:1.2.36.146.595.217.0.1", "12345")}
    assert _values(rows, "token", "identifier:of-type", "system", "code") == {
        ("http://terminology.hl7.org/CodeSystem/v2-0203", "MR|12345")}
    assert _values(rows, "token", "phone", "code") == {"(03) 5555 6473", "(03) 3410 5613", "(03) 5555 8834"}
    assert _values(rows, "token", "email", "code") == set()
    assert _values(rows, "date", "birthdate", "low", "high") == {
        (datetime(1974, 12, 25), datetime(1974, 12, 25, *END_OF_DAY))}
    assert _values(rows, "reference", "organization", "target_type", "target_id") == {("Organization", "1")}


def test_patient_example_contact_is_not_the_patient(indexer: Indexer, r4_examples_dir: Path) -> None:
    """Patient.contact has a name and a phone, but the patient's name/phone parameters do not include them."""
    rows = _index(indexer, _load(r4_examples_dir, "Patient-example.json"))
    assert "du marche" not in _values(rows, "string", "name", "value_norm")
    assert "+33 (237) 998327" not in _values(rows, "token", "phone", "code")


def test_encounter_example(indexer: Indexer, r4_examples_dir: Path) -> None:
    rows = _index(indexer, _load(r4_examples_dir, "Encounter-example.json"))
    assert _values(rows, "token", "status", "system", "code") == {
        ("http://hl7.org/fhir/encounter-status", "in-progress")}
    assert _values(rows, "token", "class", "system", "code", "text_norm") == {
        ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "IMP", "inpatient encounter")}
    assert _values(rows, "reference", "subject", "target_type", "target_id") == {("Patient", "example")}
    assert _values(rows, "reference", "patient", "target_type", "target_id") == {("Patient", "example")}


def test_encounter_f001_quantity_and_participant(indexer: Indexer, r4_examples_dir: Path) -> None:
    rows = _index(indexer, _load(r4_examples_dir, "Encounter-f001.json"))
    assert _values(rows, "quantity", "length", "system", "code", "low", "high") == {
        ("http://unitsofmeasure.org", "min", 140.0, 140.0)}
    assert _values(rows, "reference", "practitioner", "target_id") == {"f002"}
    assert _values(rows, "reference", "participant", "target_id") == {"f002"}
    assert _values(rows, "token", "identifier", "code") == {"v1451"}


def test_observation_example(indexer: Indexer, r4_examples_dir: Path) -> None:
    rows = _index(indexer, _load(r4_examples_dir, "Observation-example.json"))
    assert ("http://loinc.org", "29463-7", "body weight") in _values(rows, "token", "code", "system", "code",
                                                                      "text_norm")
    assert len(_values(rows, "token", "code", "code")) == 4
    assert _values(rows, "quantity", "value-quantity", "system", "code", "low", "high") == {
        ("http://unitsofmeasure.org", "[lb_av]", 185.0, 185.0), (None, "lbs", 185.0, 185.0)}
    assert _values(rows, "date", "date", "low", "high") == {
        (datetime(2016, 3, 28), datetime(2016, 3, 28, *END_OF_DAY))}
    assert _values(rows, "reference", "subject", "target_type", "target_id") == {("Patient", "example")}
    assert _values(rows, "reference", "patient", "target_id") == {"example"}
    assert _values(rows, "reference", "encounter", "target_type", "target_id") == {("Encounter", "example")}
    assert _values(rows, "token", "value-concept", "code") == set()


def _examples_of(folder: Path, types: tuple[str, ...]) -> list[str]:
    index = json.loads((folder / ".index.json").read_text(encoding="utf-8"))
    return [f["filename"] for f in index["files"] if f.get("resourceType") in types]


def test_every_example_of_the_served_types_indexes(indexer: Indexer, r4_examples_dir: Path) -> None:
    """All official examples of DEFAULT_RESOURCE_TYPES extract, every row fits its table's columns."""
    names = _examples_of(r4_examples_dir, DEFAULT_RESOURCE_TYPES)
    assert len(names) > 2500
    indexed_types = set()
    for name in names:
        resource = _load(r4_examples_dir, name)
        rows = indexer.rows(resource)
        for table, table_rows in rows.items():
            columns = set(INDEX_TABLES[table].c.keys())
            for row in table_rows:
                assert set(row) <= columns - {"resource_pk", "res_type"}, (name, row)
                assert set(row) == {"param", *COLUMNS[table]}
                assert len(row["param"]) <= 100
        if rows:
            indexed_types.add(resource["resourceType"])
    assert indexed_types >= set(DEFAULT_RESOURCE_TYPES) - {"Binary"}


def test_served_types_need_no_fhirpath_fallback_but_deceased(indexer: Indexer) -> None:
    """Every parameter of the served types runs on a compiled program, fhirpathpy is the exception."""
    slow = {(t, p.code) for t in DEFAULT_RESOURCE_TYPES for p in indexer.plans(t) if not p.fast}
    assert slow == set()
    assert indexer.is_fast("Patient", "deceased")


# --- expression shapes -------------------------------------------------------------------------------------


def test_union_split_respects_parentheses_and_quotes() -> None:
    assert split_union("(A.value as Quantity) | A.x.where(system='a|b') | B.c") == [
        "(A.value as Quantity)", "A.x.where(system='a|b')", "B.c"]


def test_resolve_is_filters_by_target_type(indexer: Indexer) -> None:
    rows = indexer.rows({"resourceType": "Observation", "subject": {"reference": "Group/g1"}})
    assert _values(rows, "reference", "subject", "target_type") == {"Group"}
    assert _values(rows, "reference", "patient", "target_id") == set()


def test_as_type_picks_one_choice(indexer: Indexer) -> None:
    rows = indexer.rows({"resourceType": "Observation", "valueString": "high",
                         "component": [{"valueCodeableConcept": {"coding": [{"system": "s", "code": "c"}]}},
                                       {"valueQuantity": {"value": Decimal("5.5"), "unit": "mg", "code": "mg"}}]})
    assert _values(rows, "quantity", "value-quantity", "code") == set()
    assert _values(rows, "token", "component-value-concept", "system", "code") == {("s", "c")}
    assert _values(rows, "quantity", "component-value-quantity", "code", "low", "high") == {
        ("mg", 5.45, 5.55)}


def test_extension_parameter(indexer: Indexer) -> None:
    url = "http://hl7.org/fhir/StructureDefinition/patient-extensions-Patient-mothersMaidenName"
    rows = indexer.rows({"resourceType": "Patient", "extension": [
        {"url": url, "valueString": "Smith"}, {"url": "http://other", "valueString": "Jones"}]})
    assert _values(rows, "string", "mothersMaidenName", "value_exact") == {"Smith"}


def test_bound_codes_carry_their_implicit_system(indexer: Indexer) -> None:
    """A code bound (required) to a one-system value set is indexed with that system; others without."""
    rows = indexer.rows({"resourceType": "Patient", "gender": "other", "communication": [
        {"language": {"coding": [{"code": "nl"}]}}], "contact": [{"gender": "male"}]})
    assert _values(rows, "token", "gender", "system", "code") == {
        ("http://hl7.org/fhir/administrative-gender", "other")}
    assert _values(rows, "token", "language", "system", "code") == {(None, "nl")}
    rows = indexer.rows({"resourceType": "Observation", "status": "final"})
    assert _values(rows, "token", "status", "system") == {"http://hl7.org/fhir/observation-status"}


def test_deceased_datetime_means_deceased(indexer: Indexer) -> None:
    rows = indexer.rows({"resourceType": "Patient", "deceasedDateTime": "2020-01-02T10:00:00Z"})
    assert _values(rows, "token", "deceased", "code") == {"true"}
    assert _values(rows, "date", "death-date", "low") == {datetime(2020, 1, 2, 10)}
    assert _values(indexer.rows({"resourceType": "Patient"}), "token", "deceased", "code") == {"false"}


# --- value conversions -------------------------------------------------------------------------------------


def test_periods_are_ranges_and_open_ends_unbounded(indexer: Indexer) -> None:
    rows = indexer.rows({"resourceType": "Encounter", "period": {"start": "2020-03", "end": "2020-04-02"}})
    assert _values(rows, "date", "date", "low", "high") == {(datetime(2020, 3, 1), datetime(2020, 4, 2, *END_OF_DAY))}
    rows = indexer.rows({"resourceType": "Encounter", "period": {"start": "2020-03-01T10:00:00+01:00"}})
    assert _values(rows, "date", "date", "low", "high") == {(datetime(2020, 3, 1, 9), MAX_INSTANT)}
    rows = indexer.rows({"resourceType": "Encounter", "period": {"end": "2020"}})
    assert _values(rows, "date", "date", "low", "high") == {(MIN_INSTANT, datetime(2020, 12, 31, *END_OF_DAY))}


def test_timing_is_indexed_by_its_outer_limits(indexer: Indexer) -> None:
    rows = indexer.rows({"resourceType": "ServiceRequest", "occurrenceTiming": {
        "event": ["2020-05-03", "2020-05-01T08:00:00Z"]}})
    assert _values(rows, "date", "occurrence", "low", "high") == {
        (datetime(2020, 5, 1, 8), datetime(2020, 5, 3, *END_OF_DAY))}


def test_codeable_concept_text_and_display_serve_text_search(indexer: Indexer) -> None:
    rows = indexer.rows({"resourceType": "Condition", "code": {
        "coding": [{"system": "http://snomed.info/sct", "code": "39065001", "display": "Burn of ear"}],
        "text": "Brûlure de l'oreille"}})
    assert _values(rows, "token", "code", "system", "code", "text_norm") == {
        ("http://snomed.info/sct", "39065001", "burn of ear"), (None, None, "brulure de l'oreille")}


def test_identifier_type_text_serves_text_search(indexer: Indexer) -> None:
    rows = indexer.rows({"resourceType": "Patient", "identifier": [
        {"type": {"text": "Medicaid ID"}, "system": "urn:mt:medicaid", "value": "A1"}]})
    assert _values(rows, "token", "identifier", "system", "code", "text_norm") == {
        ("urn:mt:medicaid", "A1", "medicaid id")}


def test_references_of_every_form(indexer: Indexer) -> None:
    rows = indexer.rows({"resourceType": "CarePlan", "subject": {"reference": "Patient/p1/_history/3"},
                         "contained": [{"resourceType": "Goal", "id": "g"}],
                         "goal": [{"reference": "#g"}, {"reference": "http://x.org/fhir/Goal/g2"}],
                         "instantiatesCanonical": ["http://example.org/PlanDefinition/pd|1.0"]})
    assert _values(rows, "reference", "subject", "target_type", "target_id", "target_version") == {
        ("Patient", "p1", "3")}
    assert _values(rows, "reference", "goal", "target_type", "target_id", "target_url") == {
        ("Goal", "g2", "http://x.org/fhir/Goal/g2")}
    assert _values(rows, "reference", "instantiates-canonical", "target_url", "target_version") == {
        ("http://example.org/PlanDefinition/pd", "1.0")}


def test_meta_parameters(indexer: Indexer) -> None:
    rows = indexer.rows({"resourceType": "Patient", "meta": {
        "profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"],
        "tag": [{"system": "urn:tags", "code": "cmp"}], "security": [{"system": "urn:sec", "code": "R"}],
        "source": "urn:cmp:loader", "lastUpdated": "2020-01-01T00:00:00Z"}})
    assert _values(rows, "uri", "_profile", "value") == {
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"}
    assert _values(rows, "token", "_tag", "system", "code") == {("urn:tags", "cmp")}
    assert _values(rows, "token", "_security", "code") == {"R"}
    assert _values(rows, "uri", "_source", "value") == {"urn:cmp:loader"}
    params = {row["param"] for table_rows in rows.values() for row in table_rows}
    assert "_id" not in params
    assert "_lastUpdated" not in params


def test_numbers_and_ranges(indexer: Indexer) -> None:
    rows = indexer.rows({"resourceType": "RiskAssessment", "prediction": [
        {"probabilityDecimal": Decimal("0.25")}, {"probabilityRange": {"low": {"value": 1}, "high": {"value": 3}}}]})
    assert _values(rows, "number", "probability", "low", "high") == {
        (0.245, 0.255), (1.0, 3.0)}
    rows = indexer.rows({"resourceType": "Condition", "onsetRange": {"low": {"value": 10, "unit": "a"}}})
    assert _values(rows, "quantity", "onset-age", "code", "low") == {("a", 10.0)}


def test_duplicates_are_dropped(indexer: Indexer) -> None:
    rows = indexer.rows({"resourceType": "Patient", "name": [{"given": ["Ann"]}, {"given": ["Ann"]}]})
    assert [r["value_exact"] for r in rows["string"] if r["param"] == "given"] == ["Ann"]


def test_long_values_are_cut_to_the_column(indexer: Indexer) -> None:
    rows = indexer.rows({"resourceType": "Patient", "identifier": [{"system": "s" * 400, "value": "v" * 300}]})
    row = next(r for r in rows["token"] if r["param"] == "identifier")
    assert len(row["system"]) == 255
    assert len(row["code"]) == 255
