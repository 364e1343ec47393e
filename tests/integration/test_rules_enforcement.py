"""Each write rule enforced, warned or off; CMP-TEAM-2 and SCP-1/2/5 on small stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from adapter import fhirjson
from adapter.conformance.definitions import Definitions
from adapter.errors import Unprocessable
from adapter.rules import billing
from adapter.rules.weeks import week_start
from adapter.services import bundles, resources
from adapter.services.container import Services
from adapter.services.loader import load_paths
from adapter.settings import Settings
from tests.scenarios import loader
from tests.scenarios.generator import ScenarioSettings, generate

SMALL = generate(ScenarioSettings(seed=5, weeks=8))
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "fhir" / "valid"


def _services(settings: Settings, definitions: Definitions, *overrides: str) -> Services:
    return Services.build(settings.replace(rule_enforcement=overrides), definitions=definitions)


def _stored(services: Services, res_type: str, res_id: str) -> dict | None:
    with services.store.connect() as conn:
        found = services.store.read(conn, res_type, res_id)
    return fhirjson.loads(found.content) if found is not None and not found.deleted else None


def _rule_issues(issues: list) -> dict[str, str]:
    """The program rules' issues (validation's constraint warnings such as dom-6 left out)."""
    return {issue.rule_id: issue.severity for issue in issues if issue.code == "business-rule"}


# --- CMP-BILL-1/2 warned and off ------------------------------------------------------------------------------


def test_warned_claims_are_stored_with_a_warning_naming_the_rule(settings: Settings, definitions: Definitions) -> None:
    services = _services(settings, definitions, "CMP-BILL-1=warn", "CMP-BILL-2=warn")
    try:
        refused = loader.load(services, SMALL)
        for write in refused:
            result = loader.write_one(services, write)
            assert _rule_issues(result.issues) == dict.fromkeys(write.refused_by, "warning"), write.note
            assert _stored(services, "Claim", write.res_id) is not None
        program = services.program_rules.program("cmp")
        members = {member for member, _ in SMALL.member_weeks}
        with services.store.connect() as conn:
            rows = billing.billed_days(conn, members, SMALL.weeks[0], SMALL.weeks[-1] + timedelta(days=7))
        by_week: dict[tuple[str, date], list[date]] = defaultdict(list)
        for member, _, day in rows:
            by_week[(member, week_start(program, day))].append(day)
        for key, answer in SMALL.member_weeks.items():
            assert sorted(by_week.get(key, [])) == list(answer.billed_days_if_warned), key
        broken = {rule for answer in SMALL.member_weeks.values() for rule in answer.rules_broken_if_warned}
        assert {"CMP-BILL-1", "CMP-BILL-2"} <= broken
    finally:
        services.close()


def test_rules_switched_off_are_not_checked(settings: Settings, definitions: Definitions) -> None:
    services = _services(settings, definitions, "CMP-BILL-1=off", "CMP-BILL-2=off")
    try:
        for write in loader.load(services, SMALL):
            result = loader.write_one(services, write)
            assert _rule_issues(result.issues) == {}
    finally:
        services.close()


# --- CMP-TEAM-2 -----------------------------------------------------------------------------------------------

WITHOUT_CONTACTS = [w for w in SMALL.accepted_writes() if w.res_type not in ("Encounter", "Claim")]


def _load_members(services: Services) -> None:
    for start in range(0, len(WITHOUT_CONTACTS), 200):
        loader.write_in_transaction(services, WITHOUT_CONTACTS[start:start + 200])


def _new_member(services: Services, member: str, team: str) -> dict:
    """A new CMP member (copy of m-01001) and their active enrollment with ``team`` (not yet written)."""
    patient = copy.deepcopy(SMALL.resource("Patient", "m-01001"))
    patient["id"] = member
    patient["identifier"][0]["value"] = f"MT-{member}"
    resources.update(services, "Patient", member, patient)
    episode = copy.deepcopy(SMALL.resource("EpisodeOfCare", "enr-m-01001"))
    episode.update(id=f"enr-{member}", patient={"reference": f"Patient/{member}"},
                   managingOrganization={"reference": f"Organization/{team}"})
    return episode


def test_an_enrollment_over_the_cap_is_refused_and_under_it_accepted(services: Services) -> None:
    _load_members(services)
    assert SMALL.teams["team-01"].active_cmp_members == SMALL.teams["team-01"].cmp_limit  # full
    episode = _new_member(services, "m-extra", "team-01")
    with pytest.raises(Unprocessable) as refused:
        resources.update(services, "EpisodeOfCare", episode["id"], episode)
    (issue,) = refused.value.issues
    assert (issue.rule_id, issue.resource) == ("CMP-TEAM-2", "EpisodeOfCare/enr-m-extra")
    assert "Organization/team-01 would have 6 active CMP members for 25 PACT/MCT members" in issue.diagnostics
    assert _stored(services, "EpisodeOfCare", "enr-m-extra") is None
    episode["managingOrganization"] = {"reference": "Organization/team-02"}
    assert resources.update(services, "EpisodeOfCare", episode["id"], episode).created


def test_reactivating_an_enrollment_is_an_activation_but_editing_an_active_one_is_not(services: Services) -> None:
    _load_members(services)
    finished = next(w.resource for w in WITHOUT_CONTACTS if w.res_type == "EpisodeOfCare"
                    and w.resource["status"] == "finished" and "cmp" in str(w.resource["type"]))
    revived = {**copy.deepcopy(finished), "status": "active"}
    revived["period"] = {"start": finished["period"]["start"]}
    with pytest.raises(Unprocessable, match="CMP-TEAM-2"):
        resources.update(services, "EpisodeOfCare", finished["id"], revived)
    # a PACT member leaves: team-01 is now over the cap, yet editing an already active enrollment is allowed
    pact = next(w.resource for w in WITHOUT_CONTACTS if w.res_id.startswith("pact-p-team-01-"))
    resources.update(services, "EpisodeOfCare", pact["id"], {**pact, "status": "finished"})
    active = copy.deepcopy(SMALL.resource("EpisodeOfCare", "enr-m-01001"))
    active["period"]["start"] = (date.fromisoformat(active["period"]["start"]) - timedelta(days=1)).isoformat()
    result = resources.update(services, "EpisodeOfCare", active["id"], active)
    assert _rule_issues(result.issues) == {}


def test_a_team_without_recorded_pact_members_gets_a_warning(services: Services) -> None:
    _load_members(services)
    team = {**copy.deepcopy(SMALL.resource("Organization", "team-02")), "id": "team-new"}
    team["identifier"] = [{**team["identifier"][0], "value": "1999999999"}]
    resources.update(services, "Organization", "team-new", team)
    episode = _new_member(services, "m-newteam", "team-new")
    result = resources.update(services, "EpisodeOfCare", episode["id"], episode)
    assert _rule_issues(result.issues) == {"CMP-TEAM-2": "warning"}


def test_team_cap_warned(settings: Settings, definitions: Definitions) -> None:
    services = _services(settings, definitions, "CMP-TEAM-2=warn")
    try:
        _load_members(services)
        episode = _new_member(services, "m-extra", "team-01")
        result = resources.update(services, "EpisodeOfCare", episode["id"], episode)
        assert _rule_issues(result.issues) == {"CMP-TEAM-2": "warning"}
    finally:
        services.close()


# --- SCP-1, SCP-2, SCP-5 --------------------------------------------------------------------------------------

SHARED_PLAN_FILES = ("Organization-*", "Practitioner-*", "PractitionerRole-*", "Patient-m-10*", "Coverage-cov-m-10*",
                     "CareTeam-sct-*", "CarePlan-scp-*", "ServiceRequest-sps-*", "QuestionnaireResponse-ccf-*")


def _load_shared_plans(services: Services) -> None:
    files = sorted({path for pattern in SHARED_PLAN_FILES for path in EXAMPLES.glob(f"{pattern}.json")})
    report = load_paths(services, files)
    assert report.problems == []  # CarePlans come after their CareTeams whatever the file names


def _example(name: str) -> dict:
    return fhirjson.loads((EXAMPLES / f"{name}.json").read_bytes())


def test_a_second_active_shared_plan_is_refused(services: Services) -> None:
    _load_shared_plans(services)
    second = {**_example("CarePlan-scp-m-101"), "id": "scp-m-101-b"}
    with pytest.raises(Unprocessable) as refused:
        resources.update(services, "CarePlan", "scp-m-101-b", second)
    assert [(i.rule_id, i.resource) for i in refused.value.issues] == [("SCP-1", "CarePlan/scp-m-101-b")]
    assert "CarePlan/scp-m-101, CarePlan/scp-m-101-b" in refused.value.issues[0].diagnostics
    assert _stored(services, "CarePlan", "scp-m-101-b") is None
    assert resources.update(services, "CarePlan", "scp-m-101-b", {**second, "status": "draft"}).created


def test_a_second_lead_care_manager_is_refused(services: Services) -> None:
    _load_shared_plans(services)
    second = {**_example("CareTeam-sct-m-101"), "id": "sct-m-101-b"}
    with pytest.raises(Unprocessable) as refused:
        resources.update(services, "CareTeam", "sct-m-101-b", second)
    assert [i.rule_id for i in refused.value.issues] == ["SCP-2"]
    assert "found 2" in refused.value.issues[0].diagnostics
    assert resources.update(services, "CareTeam", "sct-m-101-b", {**second, "status": "inactive"}).created


def test_a_shared_plan_without_a_lead_is_refused(services: Services) -> None:
    _load_shared_plans(services)
    resources.delete(services, "CareTeam", "sct-m-102")
    with pytest.raises(Unprocessable) as refused:
        resources.update(services, "CarePlan", "scp-m-102", _example("CarePlan-scp-m-102"))
    assert [i.rule_id for i in refused.value.issues] == ["SCP-2"]
    assert "found 0" in refused.value.issues[0].diagnostics


def test_a_service_coordinated_by_both_parties_is_refused(services: Services) -> None:
    _load_shared_plans(services)
    same = copy.deepcopy(_example("ServiceRequest-sps-m-101-personal-care"))
    same["id"] = "sps-m-101-personal-care-hh"
    same["extension"][0]["valueCodeableConcept"]["coding"][0].update(code="health-home", display="Health Home")
    with pytest.raises(Unprocessable) as refused:
        resources.update(services, "ServiceRequest", same["id"], same)
    (issue,) = refused.value.issues
    assert issue.rule_id == "SCP-5" and "T1019" in issue.diagnostics
    assert "ServiceRequest/sps-m-101-personal-care-hh" in issue.diagnostics
    same["extension"][0]["valueCodeableConcept"]["coding"][0].update(code="mltc-plan", display="MLTC plan")
    assert resources.update(services, "ServiceRequest", same["id"], same).created  # one party: no SCP-5


def test_a_warned_shared_plan_rule_reaches_the_transaction_entry(settings: Settings,
                                                                 definitions: Definitions) -> None:
    services = _services(settings, definitions, "SCP-1=warn")
    try:
        _load_shared_plans(services)
        second = {**_example("CarePlan-scp-m-101"), "id": "scp-m-101-b"}
        patient = _example("Patient-m-101")
        response = bundles.process(services, {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": patient, "request": {"method": "PUT", "url": "Patient/m-101"}},
            {"resource": second, "request": {"method": "PUT", "url": "CarePlan/scp-m-101-b"}}]}, "http://test/fhir")
        first, plan = response["entry"]
        assert "outcome" not in first["response"]
        (issue,) = plan["response"]["outcome"]["issue"]
        assert issue["severity"] == "warning" and issue["details"]["coding"][0]["code"] == "SCP-1"
    finally:
        services.close()


def test_shared_plan_rules_switched_off_are_not_checked(settings: Settings, definitions: Definitions) -> None:
    services = _services(settings, definitions, "SCP-1=off", "SCP-2=off")
    try:
        _load_shared_plans(services)
        second_plan = {**_example("CarePlan-scp-m-101"), "id": "scp-m-101-b"}
        second_team = {**_example("CareTeam-sct-m-101"), "id": "sct-m-101-b"}
        assert _rule_issues(resources.update(services, "CarePlan", "scp-m-101-b", second_plan).issues) == {}
        assert _rule_issues(resources.update(services, "CareTeam", "sct-m-101-b", second_team).issues) == {}
    finally:
        services.close()
