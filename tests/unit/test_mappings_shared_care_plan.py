"""Shared care plan records <-> CarePlan, CareTeam, ServiceRequests and the form response: lossless, valid."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.validation import Validator
from mappings import codes, shared_care_plan
from mappings.shared_care_plan import PlanService, SharedCarePlanRecord

KEYS = st.from_regex(r"[a-z0-9][a-z0-9\-]{0,11}", fullmatch=True) | st.from_regex(r"[A-Za-z0-9.\-]{40}", fullmatch=True)
TEXT = st.from_regex(r"[A-Za-zÀ-ÿ0-9<&][A-Za-zÀ-ÿ0-9 .,;'()/&<>-]{0,24}[A-Za-zÀ-ÿ0-9]", fullmatch=True)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cmp"
DATES = st.dates(date(2000, 1, 1), date(2090, 12, 31))
ZONES = st.sampled_from([timezone(timedelta(hours=h)) for h in (-5, -4, 0)])


def local(map_id: str) -> st.SearchStrategy[str]:
    return st.sampled_from(codes.table(map_id).local_codes)


SLUGS = st.from_regex(r"[a-z0-9][a-z0-9\-]{0,10}", fullmatch=True) | st.from_regex(r"[a-z0-9.\-]{19}", fullmatch=True)
services = st.builds(PlanService, slug=SLUGS, service_code=st.none() | local("service-code"), text=TEXT,
                     coordinator=local("service-responsibility"), coverage=local("plan-coverage"))


@st.composite
def plan_records(draw: st.DrawFn) -> SharedCarePlanRecord:
    plan_manager, home_manager = draw(st.lists(KEYS, min_size=2, max_size=2, unique=True))
    plan_id, home_id = draw(st.lists(KEYS, min_size=2, max_size=2, unique=True))
    return SharedCarePlanRecord(
        member_id=draw(KEYS), member_name=draw(TEXT), program=draw(st.sampled_from(("MLTCP", "MAP"))),
        plan_id=plan_id, plan_name=draw(TEXT), health_home_id=home_id, health_home_name=draw(TEXT),
        plan_manager_id=plan_manager, plan_manager_name=draw(TEXT), home_manager_id=home_manager,
        home_manager_name=draw(TEXT), lead=draw(local("service-responsibility")), basis=draw(local("lead-basis")),
        basis_text=draw(TEXT), start=draw(DATES), lead_agreed_on=draw(DATES),
        form_authored=draw(st.datetimes(datetime(2000, 1, 1), datetime(2090, 1, 1), timezones=ZONES)),
        meeting_frequency=draw(TEXT),
        services=tuple(draw(st.lists(services, min_size=1, max_size=5, unique_by=lambda s: s.slug))),
    )


@given(plan_records())
def test_record_fhir_record(record):
    assert shared_care_plan.from_fhir(shared_care_plan.to_fhir(record)) == record


@given(plan_records())
def test_fhir_record_fhir(record):
    resources = json.loads(json.dumps(shared_care_plan.to_fhir(record)))
    served = [{**r, "meta": {**r["meta"], "versionId": "5"}} for r in resources]
    again = [{**r, "meta": {k: v for k, v in r["meta"].items() if k != "versionId"}}
             for r in shared_care_plan.to_fhir(shared_care_plan.from_fhir(served[::-1]))]
    assert again == resources


@given(plan_records())
def test_every_service_says_who_coordinates_it_and_how_it_is_paid(record):
    """SCP-3: each ServiceRequest carries its coordinator, its plan coverage and the matching Coverage."""
    bodies = shared_care_plan.to_fhir(record)
    requests = [b for b in bodies if b["resourceType"] == "ServiceRequest"]
    assert len(requests) == len(record.services)
    for body, service in zip(requests, record.services, strict=True):
        in_plan = service.coverage == "IN"
        assert body["insurance"][0]["reference"].endswith("-medicaid") is not in_plan


@pytest.fixture(scope="module")
def validator(definitions) -> Validator:
    return Validator(definitions)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=plan_records())
def test_generated_records_give_valid_resources(validator, record):
    for body in shared_care_plan.to_fhir(record):
        problems = [f"{i.expression}: {i.diagnostics}" for i in validator.validate(body) if i.is_error]
        assert problems == [], body


def test_a_missing_part_is_named():
    record = json.loads((EXAMPLES / "shared_care_plan.json").read_text(encoding="utf-8"))[0]
    bodies = shared_care_plan.to_fhir(SharedCarePlanRecord.model_validate(record))
    with pytest.raises(ValueError, match="CareTeam/sct-m-101"):
        shared_care_plan.from_fhir([b for b in bodies if b["resourceType"] != "CareTeam"])
