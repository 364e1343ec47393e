"""The scenario generator itself: deterministic, and its answers consistent with the rules they encode."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapter.rules.weeks import week_start
from tests.scenarios.generator import ScenarioSettings, default_rules, generate

RULES = default_rules()
CMP = RULES.program("cmp")


def test_the_same_seed_gives_the_same_scenario() -> None:
    first, again = generate(ScenarioSettings(seed=3, weeks=8)), generate(ScenarioSettings(seed=3, weeks=8))
    assert first.writes == again.writes and first.member_weeks == again.member_weeks
    assert generate(ScenarioSettings(seed=4, weeks=8)).writes != first.writes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_answers_follow_the_rules(seed: int) -> None:
    scenario = generate(ScenarioSettings(seed=seed, weeks=10))
    for (member, week), answer in scenario.member_weeks.items():
        assert week == week_start(CMP, week) and member == answer.member_id
        assert len(answer.billed_days) <= CMP.billable_days_per_week
        assert set(answer.billed_days) <= set(answer.contact_days)
        assert all(week <= day < week + timedelta(days=7) for day in answer.contact_days + answer.billed_days)
        assert ("CMP-QC-1" in answer.rules_broken) == (not answer.contacts)
        assert ("CMP-TM-1" in answer.rules_broken) == (not answer.reviewed)
        assert answer.rules_broken <= answer.rules_broken_if_warned
    assert {r for w in scenario.refused_writes() for r in w.refused_by} == {"CMP-BILL-1", "CMP-BILL-2"}
    for team in scenario.teams.values():
        assert team.active_cmp_members <= team.cmp_limit
    assert scenario.teams["team-01"].active_cmp_members == scenario.teams["team-01"].cmp_limit


def test_the_transferred_member_belongs_to_both_teams_in_the_week_of_the_move() -> None:
    scenario = generate(ScenarioSettings(seed=1, weeks=12))
    both = [key for key, answer in scenario.member_weeks.items() if len(answer.teams) == 2]
    assert len(both) == 1
    member, week = both[0]
    assert scenario.weekly_contact[("team-01", week)].denominator >= {member}
    assert scenario.weekly_contact[("team-02", week)].denominator >= {member}


def test_follow_up_answers_exclude_deaths_and_transfers() -> None:
    scenario = generate(ScenarioSettings(seed=2, weeks=12, pccm_members=8))
    for answer in scenario.followup.values():
        assert answer.numerator <= answer.denominator <= answer.initial
    dispositions = {w.resource["hospitalization"]["dischargeDisposition"]["coding"][0]["code"]: w.res_id
                    for w in scenario.writes if w.res_id.startswith("ip-")}
    for code in ("exp", "other-hcf"):
        if code in dispositions:
            assert all(dispositions[code] not in a.denominator for a in scenario.followup.values())


def test_too_small_a_scenario_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        generate(ScenarioSettings(weeks=4))
