"""The measures and $cmp-compliance against the shared scenario generator's known answers
(tests/scenarios/generator.py), loaded once per database through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from adapter.conformance.definitions import Definitions
from adapter.measures import registry
from adapter.measures.compliance import member_compliance
from adapter.measures.core import Period, Scope
from adapter.services.container import Services
from adapter.settings import Settings
from tests.conftest import POSTGRES_URL
from tests.measures import builders
from tests.scenarios import loader
from tests.scenarios.databases import fresh_database
from tests.scenarios.generator import PRACTICE, Scenario, ScenarioSettings, generate

WEEKLY = registry.CANONICAL_BASE + "cmp-weekly-contact"
MEETING = registry.CANONICAL_BASE + "cmp-team-meeting"
FOLLOWUP = registry.CANONICAL_BASE + "followup-after-discharge"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate(ScenarioSettings(seed=6))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, base_settings: Settings,
           definitions: Definitions, scenario: Scenario) -> Iterator[Services]:
    """Services on a database holding the scenario (one load per database for the whole module)."""
    if request.param == "postgres" and not POSTGRES_URL:
        pytest.skip("CMP_ADAPTER_TEST_POSTGRES_URL is not set")
    folder = tmp_path_factory.mktemp("scenario")
    with fresh_database(request.param, folder) as url:
        services = Services.build(base_settings.replace(database_url=url, data_dir=str(folder / "data")),
                                  definitions=definitions)
        loader.load(services, scenario)
        builders.analyze(services)
        yield services
        services.close()


def _week(first_day: date) -> Period:
    return Period(first_day, first_day + timedelta(days=6))


def _counts(services: Services, url: str, period: Period, scope: Scope, **kwargs) -> tuple[int, int]:
    with services.store.connect() as conn:
        group = registry.evaluate(conn, services.program_rules, url, period, scope, **kwargs).groups[0]
    return group.counts["denominator"], group.counts["numerator"]


@pytest.mark.parametrize(("url", "answers"), [(WEEKLY, "weekly_contact"), (MEETING, "team_meeting")])
def test_team_weeks(loaded: Services, scenario: Scenario, url: str, answers: str) -> None:
    """Every team's every week: denominator and numerator exactly as the generator knows them."""
    expected = {key: (len(p.denominator), len(p.numerator)) for key, p in getattr(scenario, answers).items()}
    found = {(team, week): _counts(loaded, url, _week(week), Scope("Organization", team)) for team, week in expected}
    assert found == expected


def test_subject_lists_of_a_team_week(loaded: Services, scenario: Scenario) -> None:
    (team, week), answer = max(scenario.weekly_contact.items(), key=lambda item: len(item[1].denominator))
    with loaded.store.connect() as conn:
        group = registry.evaluate(conn, loaded.program_rules, WEEKLY, _week(week), Scope("Organization", team),
                                  with_subjects=True).groups[0]
    assert group.subjects["denominator"] == sorted(answer.denominator)
    assert group.subjects["numerator"] == sorted(answer.numerator)


def test_program_over_the_whole_scenario(loaded: Services, scenario: Scenario) -> None:
    """All members over all weeks: each member-week once (a transfer week too)."""
    period = Period(scenario.weeks[0], scenario.weeks[-1] + timedelta(days=6))
    weeks = scenario.member_weeks.values()
    assert _counts(loaded, WEEKLY, period, Scope()) == (len(weeks), sum(1 for w in weeks if w.contacts))
    assert _counts(loaded, MEETING, period, Scope()) == (len(weeks), sum(1 for w in weeks if w.reviewed))


def test_member_compliance(loaded: Services, scenario: Scenario) -> None:
    period = Period(scenario.weeks[0], scenario.weeks[-1] + timedelta(days=6))
    members = sorted({member for member, _ in scenario.member_weeks})
    expected, found = {}, {}
    with loaded.store.connect() as conn:
        for member in members:
            for week in member_compliance(conn, loaded.program_rules, member, period):
                found[(member, week.week.first_day)] = (
                    tuple(week.teams), tuple(c.encounter_id for c in week.contacts),
                    tuple(c.mode for c in week.contacts), tuple(week.reviews),
                    tuple(sorted(day for day, _ in week.claimed_days)), frozenset(r.rule_id for r in week.broken))
    for key, answer in scenario.member_weeks.items():
        expected[key] = (answer.teams, answer.contacts, answer.modes, answer.meetings,
                         tuple(sorted(answer.billed_days)), answer.rules_broken)
    assert found == expected


def test_followup_after_discharge_by_month(loaded: Services, scenario: Scenario) -> None:
    expected, found = {}, {}
    for (practice, month), answer in scenario.followup.items():
        expected[(practice, month)] = (len(answer.initial), len(answer.denominator), len(answer.numerator))
        first = date.fromisoformat(f"{month}-01")
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        with loaded.store.connect() as conn:
            group = registry.evaluate(conn, loaded.program_rules, FOLLOWUP, Period(first, last),
                                      Scope("Organization", practice)).groups[0]
        found[(practice, month)] = (group.counts["initial-population"], group.counts["denominator"],
                                    group.counts["numerator"])
    assert found == expected
    assert any(practice == PRACTICE for practice, _ in expected)
