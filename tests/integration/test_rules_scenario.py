"""The write-time program rules and the rule operations against a generated scenario with known answers.

One scenario (12 weeks from 2026-01-04, across the 2026-03-08 daylight-saving change) is loaded once per
database (SQLite and PostgreSQL) through the service, rules enforced; every test then checks the store,
the refusals and the operations against the generator's answers.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from adapter import fhirjson
from adapter.app import create_app
from adapter.conformance.definitions import Definitions
from adapter.errors import Unprocessable
from adapter.rest.outcome import RULE_SYSTEM
from adapter.rules import billing, claim_generation
from adapter.rules.config import Program
from adapter.rules.weeks import local_day, week_of_day, week_start
from adapter.services import bundles, resources
from adapter.services.container import Services
from adapter.settings import Settings
from tests.scenarios import loader
from tests.scenarios.databases import POSTGRES_URL, fresh_database
from tests.scenarios.generator import Scenario, ScenarioSettings, generate

SCENARIO = generate(ScenarioSettings(seed=11, weeks=12))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def loaded(request: pytest.FixtureRequest, base_settings: Settings, definitions: Definitions,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    if request.param == "postgres" and not POSTGRES_URL:
        pytest.skip("CMP_ADAPTER_TEST_POSTGRES_URL is not set")
    folder = tmp_path_factory.mktemp("rules")
    with fresh_database(request.param, folder) as url:
        services = Services.build(base_settings.replace(database_url=url, data_dir=str(folder / "data")),
                                  definitions=definitions)
        loader.load(services, SCENARIO)
        yield services
        services.close()


@pytest.fixture
def client(loaded: Services) -> FlaskClient:
    return create_app(loaded.settings, services=loaded).test_client()


def _program(services: Services) -> Program:
    return services.program_rules.program("cmp")


def _stored(services: Services, res_type: str, res_id: str) -> dict | None:
    with services.store.connect() as conn:
        found = services.store.read(conn, res_type, res_id)
    if found is None or found.deleted:
        return None
    return fhirjson.loads(found.content)


# --- the refusals ---------------------------------------------------------------------------------------------


def test_the_scenario_has_every_kind_of_refusal() -> None:
    notes = {w.note for w in SCENARIO.refused_writes()}
    assert {"a 4th billable day in the week", "a billable day without a valid contact",
            "spans two weeks; the second week exceeds the limit"} <= notes


def test_every_refused_claim_is_refused_by_its_rules_and_nothing_is_stored(loaded: Services) -> None:
    for write in SCENARIO.refused_writes():
        with pytest.raises(Unprocessable) as refused:
            loader.write_one(loaded, write)
        assert {issue.rule_id for issue in refused.value.issues} == set(write.refused_by), write.note
        assert all(issue.resource == write.url for issue in refused.value.issues)
        assert _stored(loaded, write.res_type, write.res_id) is None


def test_a_refusal_over_http_is_a_422_naming_the_rule_and_the_resource(client: FlaskClient) -> None:
    write = next(w for w in SCENARIO.refused_writes() if w.refused_by == {"CMP-BILL-1"})
    response = client.put(f"/fhir/{write.url}", data=fhirjson.dumps(write.resource),
                          content_type="application/fhir+json")
    assert response.status_code == 422
    issue = response.get_json()["issue"][0]
    assert issue["details"]["coding"] == [{"system": RULE_SYSTEM, "code": "CMP-BILL-1"}]
    assert issue["diagnostics"].startswith(f"{write.url}: CMP-BILL-1: the billable day ")
    assert issue["expression"][0].startswith("Claim.item[")
    assert client.get(f"/fhir/{write.url}").status_code == 404


def test_a_claim_spanning_two_weeks_is_refused_for_the_week_it_overfills_only(loaded: Services) -> None:
    write = next(w for w in SCENARIO.refused_writes() if w.note.startswith("spans two weeks"))
    days = [date.fromisoformat(item["servicedDate"]) for item in write.resource["item"]]
    first, second = sorted({week_start(_program(loaded), d) for d in days})
    with pytest.raises(Unprocessable) as refused:
        loader.write_one(loaded, write)
    (issue,) = refused.value.issues
    assert f"in the week {second}.." in issue.diagnostics and f"in the week {first}.." not in issue.diagnostics
    spanning = [w for w in SCENARIO.accepted_writes() if w.res_type == "Claim" and w.res_id.endswith("-span")]
    assert spanning and all(_stored(loaded, "Claim", w.res_id) for w in spanning)


def test_a_voided_claim_does_not_count_but_reactivating_it_does(loaded: Services) -> None:
    void = next(w for w in SCENARIO.accepted_writes() if w.res_id.endswith("-void"))
    assert void.resource["status"] in ("cancelled", "entered-in-error")
    assert _stored(loaded, "Claim", void.res_id.removesuffix("-void"))["status"] == "active"
    revived = {**copy.deepcopy(void.resource), "status": "active"}
    with pytest.raises(Unprocessable) as refused:
        resources.update(loaded, "Claim", void.res_id, revived)
    assert {issue.rule_id for issue in refused.value.issues} == {"CMP-BILL-2"}
    assert _stored(loaded, "Claim", void.res_id)["status"] == void.resource["status"]


def test_a_deleted_contact_backs_no_day(loaded: Services) -> None:
    deleted = {w.res_id for w in SCENARIO.writes if w.method == "DELETE"}
    write = next(w for w in SCENARIO.refused_writes()
                 if w.note.startswith("a billable day without") and w.resource["item"][0]["encounter"][0]
                 ["reference"].removeprefix("Encounter/") in deleted)
    assert _stored(loaded, "Encounter", write.resource["item"][0]["encounter"][0]["reference"].split("/")[1]) is None
    with pytest.raises(Unprocessable, match="CMP-BILL-1"):
        loader.write_one(loaded, write)


# --- the store against the answers ---------------------------------------------------------------------------


def test_contacts_fall_on_their_local_days_and_weeks(loaded: Services) -> None:
    """Every member-week's valid contact days, from the index, are the answer's: 23:30 local on the first and
    last day of a week, across the DST change, cancelled, entered-in-error and deleted ones left out."""
    program = _program(loaded)
    days = [SCENARIO.weeks[0] + timedelta(days=n) for n in range(7 * len(SCENARIO.weeks))]
    members = {member for member, _ in SCENARIO.member_weeks}
    with loaded.store.connect() as conn:
        found = billing.contact_days(conn, program, members, days)
    by_week: dict[tuple[str, date], set[date]] = defaultdict(set)
    for member, day in found:
        by_week[(member, week_start(program, day))].add(day)
    for key, answer in SCENARIO.member_weeks.items():
        assert by_week.get(key, set()) == set(answer.contact_days), key


def test_the_late_contacts_back_their_local_day_not_the_utc_one(loaded: Services) -> None:
    program = _program(loaded)
    deleted = {w.res_id for w in SCENARIO.writes if w.method == "DELETE"}
    late = [w.resource for w in SCENARIO.accepted_writes() if w.res_type == "Encounter" and w.method == "PUT"
            and w.resource["period"]["start"].endswith("T23:30:00" + w.resource["period"]["start"][-6:])
            and w.resource["status"] == "finished" and w.res_id.startswith("qc-") and w.res_id not in deleted]
    weekdays = {local_day(program, datetime.fromisoformat(e["period"]["start"])).weekday() for e in late}
    assert {5, 6} <= weekdays  # Saturday and Sunday late contacts exist
    for encounter in late:
        start = datetime.fromisoformat(encounter["period"]["start"])
        member = encounter["subject"]["reference"].split("/")[1]
        with loaded.store.connect() as conn:
            found = billing.contact_days(conn, program, [member], [start.date(), start.date() + timedelta(days=1)])
        assert encounter["id"] in found[(member, start.date())]
        assert encounter["id"] not in found.get((member, start.date() + timedelta(days=1)), [])


def test_the_dst_week_has_contacts_on_its_first_and_last_local_day(loaded: Services) -> None:
    program = _program(loaded)
    dst_week = next(w for w in SCENARIO.weeks
                    if week_of_day(program, w).end_utc - week_of_day(program, w).start_utc != timedelta(days=7))
    answer = SCENARIO.member_weeks[("m-01001", dst_week)]
    assert dst_week in answer.contact_days and dst_week + timedelta(days=6) in answer.contact_days
    assert dst_week in answer.billed_days  # the 23:30 contact on the day the clocks change backs that day


def test_the_active_claims_bill_the_answers_days(loaded: Services) -> None:
    program = _program(loaded)
    members = {member for member, _ in SCENARIO.member_weeks}
    with loaded.store.connect() as conn:
        rows = billing.billed_days(conn, members, SCENARIO.weeks[0], SCENARIO.weeks[-1] + timedelta(days=7))
    by_week: dict[tuple[str, date], list[date]] = defaultdict(list)
    for member, _, day in rows:
        by_week[(member, week_start(program, day))].append(day)
    for key, answer in SCENARIO.member_weeks.items():
        assert sorted(by_week.get(key, [])) == list(answer.billed_days), key
        assert len(answer.billed_days) <= program.billable_days_per_week


# --- a transaction Bundle with contacts and the claim together -------------------------------------------------


def _contact_and_claim(member: str, day: date, *, contact_status: str, suffix: str) -> tuple[dict, dict]:
    """A new contact of ``member`` on ``day`` (a week after the scenario) and a claim billing it."""
    template = next(w.resource for w in SCENARIO.accepted_writes() if w.res_type == "Encounter"
                    and w.method == "PUT" and w.res_id.startswith(f"qc-{member}-")
                    and w.resource["status"] == "finished")
    contact = copy.deepcopy(template)
    start = datetime.fromisoformat(template["period"]["start"])
    moved = datetime.combine(day, start.timetz())
    contact.update(id=f"qc-{member}-tx{suffix}", status=contact_status,
                   identifier=[{**template["identifier"][0], "value": f"qc-{member}-tx{suffix}"}],
                   period={"start": moved.isoformat(), "end": (moved + timedelta(minutes=20)).isoformat()})
    claim_template = next(w.resource for w in SCENARIO.accepted_writes()
                          if w.res_type == "Claim" and w.resource["patient"]["reference"] == f"Patient/{member}")
    claim = copy.deepcopy(claim_template)
    item = {**claim["item"][0], "sequence": 1, "servicedDate": day.isoformat(),
            "encounter": [{"reference": f"Encounter/{contact['id']}"}]}
    claim.update(id=f"clm-{member}-tx{suffix}", item=[item], total=item["net"],
                 billablePeriod={"start": day.isoformat(), "end": day.isoformat()})
    return contact, claim


def _transaction(*resources_: dict) -> dict:
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in resources_]}


def test_a_transaction_with_the_contact_and_its_claim_passes(loaded: Services) -> None:
    day = SCENARIO.weeks[-1] + timedelta(days=9)
    contact, claim = _contact_and_claim("m-02001", day, contact_status="finished", suffix="ok")
    response = bundles.process(loaded, _transaction(claim, contact), "http://test/fhir")
    assert [e["response"]["status"][:3] for e in response["entry"]] == ["201", "201"]


def test_a_transaction_whose_contact_is_cancelled_is_refused_whole(loaded: Services) -> None:
    day = SCENARIO.weeks[-1] + timedelta(days=10)
    contact, claim = _contact_and_claim("m-02002", day, contact_status="cancelled", suffix="no")
    with pytest.raises(Unprocessable) as refused:
        bundles.process(loaded, _transaction(contact, claim), "http://test/fhir")
    (issue,) = refused.value.issues
    assert issue.rule_id == "CMP-BILL-1"
    assert issue.expression == "Bundle.entry[1].resource.item[0].servicedDate"
    assert _stored(loaded, "Encounter", contact["id"]) is None and _stored(loaded, "Claim", claim["id"]) is None


# --- the operations ------------------------------------------------------------------------------------------


def test_eligibility_answers_each_criterion_with_its_evidence(client: FlaskClient) -> None:
    for member, answer in SCENARIO.eligibility.items():
        response = client.get(f"/fhir/Patient/{member}/$cmp-eligibility")
        assert response.status_code == 200
        parameters = response.get_json()["parameter"]
        got = {}
        for criterion in (p for p in parameters if p["name"] == "criterion"):
            parts = criterion["part"]
            got[parts[0]["valueCode"]] = (parts[1]["valueCode"], tuple(sorted(
                p["valueReference"]["reference"] for p in parts if p["name"] == "evidence")))
        assert got == {rule: (answer.status[rule], tuple(sorted(answer.evidence[rule]))) for rule in answer.status}
        eligible = next(p["valueCode"] for p in parameters if p["name"] == "eligible")
        statuses = set(answer.status.values())
        assert eligible == ("not-met" if "not-met" in statuses else "met" if statuses == {"met"} else "unknown")


def test_eligibility_takes_the_latest_determination(client: FlaskClient) -> None:
    parameters = client.get("/fhir/Patient/m-a-reassessed/$cmp-eligibility").get_json()["parameter"]
    assert next(p for p in parameters if p["name"] == "determination")["valueReference"]["reference"] == \
        "Observation/sdmi-m-a-reassessed"
    assert next(p["valueCode"] for p in parameters if p["name"] == "eligible") == "met"


def test_eligibility_of_an_unknown_patient_is_404(client: FlaskClient) -> None:
    assert client.get("/fhir/Patient/nobody/$cmp-eligibility").status_code == 404


def expected_drafts(scenario: Scenario, team: str, week: date, program: Program) -> dict[str, list[str]]:
    """The generator's answer to $generate-cmp-claims: the team's valid contact days not yet billed."""
    deleted = {w.res_id for w in scenario.writes if w.method == "DELETE"}
    team_days: dict[str, set[date]] = defaultdict(set)
    for write in scenario.accepted_writes():
        body = write.resource
        if write.res_type != "Encounter" or not write.res_id.startswith("qc-") or write.res_id in deleted:
            continue
        if body["status"] == "finished" and body["serviceProvider"]["reference"] == f"Organization/{team}":
            day = local_day(program, datetime.fromisoformat(body["period"]["start"]))
            if week <= day < week + timedelta(days=7):
                team_days[body["subject"]["reference"].split("/")[1]].add(day)
    drafts = {}
    for (member, first), answer in scenario.member_weeks.items():
        if first != week or team not in answer.teams:
            continue
        room = program.billable_days_per_week - len(answer.billed_days)
        days = sorted(team_days[member] - set(answer.billed_days))[:max(room, 0)]
        if days:
            drafts[member] = [d.isoformat() for d in days]
    return drafts


def _drafts(response_json: dict) -> dict[str, list[str]]:
    return {e["resource"]["patient"]["reference"].split("/")[1]: [i["servicedDate"] for i in e["resource"]["item"]]
            for e in response_json.get("entry", []) if e["resource"]["resourceType"] == "Claim"}


def test_generated_claims_bill_the_unbilled_contact_days_of_each_team_week(client: FlaskClient,
                                                                          loaded: Services) -> None:
    program = _program(loaded)
    generated = 0
    for team in SCENARIO.teams:
        for week in SCENARIO.weeks:
            response = client.post(f"/fhir/Claim/$generate-cmp-claims?team={team}&week={week + timedelta(days=3)}")
            assert response.status_code == 200
            got = _drafts(response.get_json())
            assert got == expected_drafts(SCENARIO, team, week, program), (team, week)
            generated += len(got)
            assert all(e["resource"]["status"] == "draft" for e in response.get_json().get("entry", [])
                       if e["resource"]["resourceType"] == "Claim")
    assert generated > 0
    assert _stored(loaded, "Claim", f"clm-m-01001-{SCENARIO.weeks[0]:%Y%m%d}-gen") is None  # not stored


def test_generated_claims_are_stored_when_asked_and_can_be_activated(client: FlaskClient, loaded: Services) -> None:
    team, week = next((t, w) for t in SCENARIO.teams for w in SCENARIO.weeks
                      if expected_drafts(SCENARIO, t, w, _program(loaded)))
    response = client.post(f"/fhir/Claim/$generate-cmp-claims?team={team}&week={week}&store=true")
    assert response.status_code == 200
    claims = [e["resource"] for e in response.get_json()["entry"] if e["resource"]["resourceType"] == "Claim"]
    assert claims and all(c["meta"]["versionId"] == "1" for c in claims)
    again = client.post(f"/fhir/Claim/$generate-cmp-claims?team={team}&week={week}&store=true").get_json()
    assert _drafts(again) == _drafts(response.get_json())  # the same drafts, updated in place
    claim = {k: v for k, v in claims[0].items() if k != "meta"} | {"meta": {"profile": claims[0]["meta"]["profile"]}}
    activated = client.put(f"/fhir/Claim/{claim['id']}", data=fhirjson.dumps({**claim, "status": "active"}),
                           content_type="application/fhir+json")
    assert activated.status_code == 200
    kept = client.post(f"/fhir/Claim/$generate-cmp-claims?team={team}&week={week}").get_json()
    member = claim["patient"]["reference"].split("/")[1]
    assert member not in _drafts(kept)


@pytest.mark.parametrize("query", ["week=2026-01-05", "team=team-01", "team=team-01&week=monday",
                                   "team=team-01&week=2026-01-05&store=maybe"])
def test_generate_claims_refuses_bad_parameters(client: FlaskClient, query: str) -> None:
    assert client.post(f"/fhir/Claim/$generate-cmp-claims?{query}").status_code == 400


def test_generate_claims_for_an_unknown_team_is_404(client: FlaskClient) -> None:
    assert client.post("/fhir/Claim/$generate-cmp-claims?team=nope&week=2026-01-05").status_code == 404




def test_the_capability_statement_lists_the_rule_operations(client: FlaskClient) -> None:
    resources_ = {r["type"]: r for r in client.get("/fhir/metadata").get_json()["rest"][0]["resource"]}
    assert "cmp-eligibility" in {o["name"] for o in resources_["Patient"]["operation"]}
    assert "generate-cmp-claims" in {o["name"] for o in resources_["Claim"]["operation"]}


def test_enrollment_starting_mid_week_and_a_transfer_place_members_in_the_right_team_weeks(loaded: Services) -> None:
    program = _program(loaded)
    with loaded.store.connect() as conn:
        for team in SCENARIO.teams:
            for week in SCENARIO.weeks:
                found = set(claim_generation.enrolled_members(conn, team, week_of_day(program, week)))
                expected = {m for (m, w), answer in SCENARIO.member_weeks.items() if w == week and team in answer.teams}
                assert found == expected, (team, week)
    moved = [key for key, answer in SCENARIO.member_weeks.items() if len(answer.teams) == 2]
    late = [m for m in SCENARIO.team_members["team-01"] if (m, SCENARIO.weeks[0]) not in SCENARIO.member_weeks]
    assert moved and late  # the scenario has both edges
