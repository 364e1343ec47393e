"""The measures on the hand-made edge scenario (tests/measures/edge_scenario.py), on SQLite and PostgreSQL:
Sunday 23:30 local, the daylight-saving change, a mid-week enrollment, a transfer between teams, cancelled,
entered-in-error and deleted contacts, cancelled claims, discharge exclusions and the follow-up window."""

from __future__ import annotations

from datetime import date

import pytest

from adapter.measures import registry
from adapter.measures.compliance import member_compliance
from adapter.measures.core import Period, Scope
from adapter.services.container import Services
from tests.measures import builders
from tests.measures import edge_scenario as scenario


def _scope(reference: str | None) -> Scope:
    if reference is None:
        return Scope()
    kind, _, res_id = reference.partition("/")
    return Scope(kind, res_id)


def _period(bounds: tuple[str, str]) -> Period:
    return Period(date.fromisoformat(bounds[0]), date.fromisoformat(bounds[1]))


@pytest.fixture
def cmp_services(services: Services) -> Services:
    builders.store(services, scenario.cmp_resources())
    for res_type, res_id in scenario.DELETED:
        builders.delete(services, res_type, res_id)
    return services


@pytest.fixture
def pcmh_services(services: Services) -> Services:
    builders.store(services, scenario.pcmh_resources())
    return services


def test_weekly_measures_count_member_weeks_exactly(cmp_services: Services) -> None:
    found = {}
    with cmp_services.store.connect() as conn:
        for (reference, measure) in scenario.CMP_EXPECTED:
            evaluation = registry.evaluate(conn, cmp_services.program_rules, registry.CANONICAL_BASE + measure,
                                           _period(scenario.MARCH), _scope(reference))
            counts = evaluation.groups[0].counts
            assert counts["initial-population"] == counts["denominator"]
            found[(reference, measure)] = (counts["denominator"], counts["numerator"])
    assert found == scenario.CMP_EXPECTED


def test_subject_lists_name_each_member_once(cmp_services: Services) -> None:
    with cmp_services.store.connect() as conn:
        group = registry.evaluate(conn, cmp_services.program_rules, registry.CANONICAL_BASE + "cmp-weekly-contact",
                                  _period(scenario.MARCH), Scope("Organization", scenario.TEAM_A),
                                  with_subjects=True).groups[0]
    assert group.subjects == {"initial-population": ["m1", "m2", "m3"], "denominator": ["m1", "m2", "m3"],
                              "numerator": ["m1", "m2", "m3"]}
    assert (group.counts["denominator"], group.counts["numerator"]) == (10, 6)


def test_a_week_starting_in_the_period_counts_and_one_before_does_not(cmp_services: Services) -> None:
    """Weeks belong to the period holding their first day: Mar 1-3 holds one (Mar 1); Feb 26-Mar 3 too."""
    with cmp_services.store.connect() as conn:
        def counts(start: str, end: str) -> tuple[int, int]:
            group = registry.evaluate(conn, cmp_services.program_rules,
                                      registry.CANONICAL_BASE + "cmp-weekly-contact",
                                      Period(date.fromisoformat(start), date.fromisoformat(end)),
                                      Scope("Patient", "m1")).groups[0]
            return group.counts["denominator"], group.counts["numerator"]

        assert counts("2026-03-01", "2026-03-03") == (1, 1)
        assert counts("2026-03-02", "2026-03-07") == (0, 0)
        assert counts("2026-02-26", "2026-03-14") == (2, 2)


def test_member_compliance_week_by_week(cmp_services: Services) -> None:
    with cmp_services.store.connect() as conn:
        weeks = member_compliance(conn, cmp_services.program_rules, "m1", _period(scenario.MARCH))
    found = [(w.week.first_day.isoformat(), [c.encounter_id for c in w.contacts], w.reviews, len(w.claimed_days),
              [r.rule_id for r in w.broken]) for w in weeks]
    assert found == scenario.M1_COMPLIANCE
    first = weeks[0]
    assert [(day.isoformat(), claim) for day, claim in first.claimed_days] == [
        ("2026-03-01", "k1"), ("2026-03-02", "k1"), ("2026-03-03", "k2"), ("2026-03-04", "k2")]
    assert first.contacts[0].day.isoformat() == "2026-03-01"  # local date, though Mar 2 in UTC
    assert all(w.teams == [scenario.TEAM_A] and w.enrollment_ids == ["e1"] for w in weeks)


def test_compliance_follows_a_transfer_and_a_mid_week_start(cmp_services: Services) -> None:
    with cmp_services.store.connect() as conn:
        m3 = member_compliance(conn, cmp_services.program_rules, "m3", _period(scenario.MARCH))
        m2 = member_compliance(conn, cmp_services.program_rules, "m2", _period(scenario.MARCH))
        m4 = member_compliance(conn, cmp_services.program_rules, "m4", _period(scenario.MARCH))
    assert [(w.week.first_day.isoformat(), w.teams, w.enrollment_ids) for w in m3] == [
        ("2026-03-01", ["pact-a"], ["e3-a"]), ("2026-03-08", ["mct-b", "pact-a"], ["e3-a", "e3-b"]),
        ("2026-03-15", ["mct-b"], ["e3-b"]), ("2026-03-22", ["mct-b"], ["e3-b"]), ("2026-03-29", ["mct-b"], ["e3-b"])]
    assert [w.week.first_day.isoformat() for w in m2] == ["2026-03-15", "2026-03-22", "2026-03-29"]
    assert m2[0].contacts[0].mode == "VR"
    assert m4 == []


def test_followup_after_discharge(pcmh_services: Services) -> None:
    found = {}
    with pcmh_services.store.connect() as conn:
        for reference in scenario.FOLLOWUP_EXPECTED:
            counts = registry.evaluate(conn, pcmh_services.program_rules,
                                       registry.CANONICAL_BASE + "followup-after-discharge",
                                       _period(scenario.APRIL), _scope(reference)).groups[0].counts
            found[reference] = (counts["initial-population"], counts["denominator"], counts["numerator"])
    assert found == scenario.FOLLOWUP_EXPECTED


def test_pcmh_incentive_groups(pcmh_services: Services) -> None:
    with pcmh_services.store.connect() as conn:
        evaluation = registry.evaluate(conn, pcmh_services.program_rules, registry.CANONICAL_BASE + "pcmh-incentive",
                                       _period(scenario.APRIL), Scope("Organization", scenario.PRACTICE),
                                       with_subjects=True)
    found = {g.code: (g.counts["initial-population"], g.counts["denominator"], g.counts["numerator"])
             for g in evaluation.groups}
    assert found == scenario.INCENTIVE_EXPECTED
    utilization = next(g for g in evaluation.groups if g.code == "inpatient-utilization")
    assert utilization.subjects == {"initial-population": ["p1", "p2"], "denominator": ["p1", "p2"],
                                    "numerator": ["p2"]}
