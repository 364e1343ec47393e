"""The measure operations over the REST API: $evaluate-measure (GET, POST, store=true, report types) and
$cmp-compliance, with their errors; stored reports searchable by period, subject and reporter."""

from __future__ import annotations

import string

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.services.container import Services
from tests.integration.fhir_helpers import post_json
from tests.measures import builders
from tests.measures import edge_scenario as scenario

WEEKLY = "/fhir/Measure/cmp-weekly-contact/$evaluate-measure"
MARCH = "periodStart=2026-03&periodEnd=2026-03"


@pytest.fixture
def loaded(services: Services, client: FlaskClient) -> FlaskClient:
    builders.store(services, scenario.cmp_resources())
    for res_type, res_id in scenario.DELETED:
        builders.delete(services, res_type, res_id)
    return client


def _counts(report: dict, group: int = 0) -> dict[str, int]:
    return {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][group]["population"]}


def _parts(parameter: dict) -> list[tuple[str, object]]:
    return [(part["name"], next(v for k, v in part.items() if k.startswith("value") or k == "part"))
            for part in parameter["part"]]


def test_a_team_summary_conforms_to_the_profile(loaded: FlaskClient, services: Services) -> None:
    response = loaded.get(f"{WEEKLY}?{MARCH}&subject=Organization/pact-a")
    assert response.status_code == 200
    report = response.get_json(force=True)
    assert (report["resourceType"], report["type"], report["status"]) == ("MeasureReport", "summary", "complete")
    assert report["measure"] == "https://cmp-adapter.org/fhir/Measure/cmp-weekly-contact"
    assert report["reporter"] == {"reference": "Organization/pact-a"}
    assert report["period"] == {"start": "2026-03-01", "end": "2026-03-31"}
    assert _counts(report) == {"initial-population": 10, "denominator": 10, "numerator": 6}
    assert report["group"][0]["measureScore"]["value"] == 0.6
    assert report["meta"]["profile"] == ["https://cmp-adapter.org/fhir/StructureDefinition/cmp-measure-report"]
    errors = [i for i in services.validator.validate(report) if i.is_error]
    assert errors == []


def test_individual_and_subject_list_reports(loaded: FlaskClient, services: Services) -> None:
    individual = loaded.get(f"{WEEKLY}?{MARCH}&subject=Patient/m1").get_json(force=True)
    assert (individual["type"], individual["subject"]) == ("individual", {"reference": "Patient/m1"})
    assert _counts(individual)["numerator"] == 3
    group = loaded.get(f"{WEEKLY}?{MARCH}&subject=Group/caseload").get_json(force=True)
    assert (group["type"], group["subject"], "reporter" in group) == ("summary", {"reference": "Group/caseload"}, False)
    assert _counts(group) == {"initial-population": 8, "denominator": 8, "numerator": 4}
    listed = loaded.get(f"{WEEKLY}?{MARCH}&subject=Organization/mct-b&reportType=subject-list").get_json(force=True)
    assert listed["type"] == "subject-list"
    lists = {item["id"]: item for item in listed["contained"]}
    numerator = next(p for p in listed["group"][0]["population"] if p["code"]["coding"][0]["code"] == "numerator")
    members = lists[numerator["subjectResults"]["reference"][1:]]
    assert [entry["item"]["reference"] for entry in members["entry"]] == ["Patient/m3"]
    assert [i for i in services.validator.validate(listed) if i.is_error] == []


def test_stored_reports_are_searchable_by_period_subject_and_reporter(loaded: FlaskClient) -> None:
    created = loaded.post(f"{WEEKLY}?{MARCH}&subject=Organization/pact-a&store=true")
    assert created.status_code == 201, created.get_json(force=True)
    assert created.headers["Location"].startswith("http://localhost/fhir/MeasureReport/")
    assert loaded.post(f"{WEEKLY}?{MARCH}&subject=Patient/m1&store=true").status_code == 201
    assert loaded.post(f"{WEEKLY}?periodStart=2026-04&periodEnd=2026-04&subject=Patient/m1&store=true"
                       ).status_code == 201

    def found(query: str) -> int:
        return loaded.get(f"/fhir/MeasureReport?{query}").get_json(force=True)["total"]

    assert found("reporter=Organization/pact-a&period=2026-03") == 1
    assert found("subject=Patient/m1&period=2026-03") == 1
    assert found("subject=Patient/m1") == 2
    assert found("period=2026-04&measure=https://cmp-adapter.org/fhir/Measure/cmp-weekly-contact") == 1
    assert loaded.get(f"{WEEKLY}?{MARCH}&store=true").status_code == 400  # a GET changes nothing


def test_type_level_post_with_a_parameters_body(loaded: FlaskClient) -> None:
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "measure", "valueString": "cmp-team-meeting"}, {"name": "periodStart", "valueDate": "2026-03-01"},
        {"name": "periodEnd", "valueDate": "2026-03-31"}, {"name": "subject", "valueString": "Organization/pact-a"}]}
    report = post_json(loaded, "/fhir/Measure/$evaluate-measure", body).get_json(force=True)
    assert report["measure"].endswith("/cmp-team-meeting")
    assert _counts(report) == {"initial-population": 10, "denominator": 10, "numerator": 3}


@pytest.mark.parametrize(("query", "status"), [
    ("periodEnd=2026-03-31", 400),
    (f"{MARCH}&subject=Practitioner/x", 400),
    (f"{MARCH}&subject=Patient/nobody", 404),
    (f"{MARCH}&subject=Organization/pact-a&reportType=individual", 400),
    (f"{MARCH}&reportType=everything", 400),
    ("periodStart=2026-03-31&periodEnd=2026-03-01", 400),
    ("periodStart=March&periodEnd=2026-03-31", 400),
])
def test_bad_requests_are_4xx(loaded: FlaskClient, query: str, status: int) -> None:
    response = loaded.get(f"{WEEKLY}?{query}")
    assert response.status_code == status
    assert response.get_json(force=True)["resourceType"] == "OperationOutcome"


def test_an_unknown_measure_is_404(loaded: FlaskClient) -> None:
    assert loaded.get(f"/fhir/Measure/no-such-measure/$evaluate-measure?{MARCH}").status_code == 404


def test_cmp_compliance_parameters(loaded: FlaskClient) -> None:
    response = loaded.get("/fhir/Patient/m1/$cmp-compliance?start=2026-03-01&end=2026-03-31")
    assert response.status_code == 200
    answer = response.get_json(force=True)
    assert answer["resourceType"] == "Parameters"
    top = {p["name"]: p for p in answer["parameter"] if p["name"] != "week"}
    assert top["subject"]["valueReference"] == {"reference": "Patient/m1"}
    assert top["compliant"]["valueBoolean"] is False
    weeks = [p for p in answer["parameter"] if p["name"] == "week"]
    assert len(weeks) == 5
    first = _parts(weeks[0])
    assert ("start", "2026-03-01") in first and ("end", "2026-03-07") in first
    assert ("team", {"reference": "Organization/pact-a"}) in first
    contact = dict(_parts(next(p for p in weeks[0]["part"] if p["name"] == "qualityContact")))
    assert contact["encounter"] == {"reference": "Encounter/c1-sun-late"}
    assert contact["mode"]["code"] == "AMB"
    assert contact["date"] == "2026-03-01"
    assert ("teamReview", {"reference": "Encounter/t1-a"}) in first
    assert ("billableDaysClaimed", 4) in first
    rules = [dict(_parts(p))["rule"] for p in weeks[0]["part"] if p["name"] == "ruleBroken"]
    assert rules == ["CMP-BILL-2", "CMP-BILL-1", "CMP-BILL-1", "CMP-BILL-1"]
    assert ("compliant", True) in _parts(weeks[1])


@pytest.mark.parametrize(("url", "status"), [
    ("/fhir/Patient/m1/$cmp-compliance?end=2026-03-31", 400),
    ("/fhir/Patient/nobody/$cmp-compliance?start=2026-03-01&end=2026-03-31", 404),
    ("/fhir/Patient/m1/$cmp-compliance?start=2026-03-01&end=2046-03-31", 400),
])
def test_cmp_compliance_errors(loaded: FlaskClient, url: str, status: int) -> None:
    assert loaded.get(url).status_code == status


def test_the_capability_statement_lists_the_operations(client: FlaskClient) -> None:
    statement = client.get("/fhir/metadata").get_json(force=True)
    operations = {(resource["type"], op["name"]) for resource in statement["rest"][0]["resource"]
                  for op in resource.get("operation", [])}
    assert {("Measure", "evaluate-measure"), ("Patient", "cmp-compliance")} <= operations


words = st.one_of(st.sampled_from(["2026", "2026-03", "2026-03-31", "0001", "9999-12-31", "2026-02-30", "",
                                   "Patient/m1", "Organization/pact-a", "Group/g", "Patient/", "a/b/c",
                                   "subject-list", "population", "true", "x"]),
                  st.text(alphabet=string.printable, max_size=12))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(["periodStart", "periodEnd", "subject", "reportType", "reporter",
                                               "store", "measure", "start", "end"]), words, max_size=5))
def test_arbitrary_operation_parameters_never_5xx(client: FlaskClient, params: dict[str, str]) -> None:
    for url in (WEEKLY, "/fhir/Measure/$evaluate-measure", "/fhir/Patient/m1/$cmp-compliance"):
        response = client.get(url, query_string=params)
        assert response.status_code < 500, response.get_data(as_text=True)
        if response.status_code >= 400:
            assert response.get_json(force=True)["resourceType"] == "OperationOutcome"
