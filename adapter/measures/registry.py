"""The measures this adapter evaluates, by canonical URL (the IG's Measure resources)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from adapter.measures import followup_after_discharge, pcmh_incentive, team_meeting, weekly_contact
from adapter.measures.core import Period, Scope
from adapter.measures.results import Evaluation
from adapter.rules.config import ProgramRules

CANONICAL_BASE = "https://cmp-adapter.org/fhir/Measure/"

Evaluator = Callable[..., Evaluation]
"""``evaluate(conn, rules, period, scope, *, with_subjects) -> Evaluation``"""

MEASURES: dict[str, Evaluator] = {
    weekly_contact.URL: weekly_contact.evaluate,
    team_meeting.URL: team_meeting.evaluate,
    followup_after_discharge.URL: followup_after_discharge.evaluate,
    pcmh_incentive.URL: pcmh_incentive.evaluate,
}
def evaluate(conn: Connection, rules: ProgramRules, url: str, period: Period, scope: Scope, *,
             with_subjects: bool = False) -> Evaluation:
    """:raise KeyError: no measure with that canonical URL."""
    return MEASURES[url](conn, rules, period, scope, with_subjects=with_subjects)
