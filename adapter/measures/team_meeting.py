"""``cmp-team-meeting`` (CMP-TM-1): enrolled member-weeks in which the team reviewed the member.

Initial population = denominator: the member-weeks of CMP enrollment (:func:`cmp_weeks.enrollment_weeks`).
Numerator: those with a finished ``team-meeting`` Encounter about the member starting in the week.
"""

from __future__ import annotations

from sqlalchemy import Connection

from adapter.measures import cmp_weeks
from adapter.measures.core import Period, Scope
from adapter.measures.results import Evaluation
from adapter.rules.config import ProgramRules

URL = "https://cmp-adapter.org/fhir/Measure/cmp-team-meeting"
PROGRAM = "cmp"


def evaluate(conn: Connection, rules: ProgramRules, period: Period, scope: Scope, *,
             with_subjects: bool = False) -> Evaluation:
    group = cmp_weeks.weekly_proportion(conn, rules.program(PROGRAM), period, scope, cmp_weeks.review_weeks,
                                        code="CMP-TM-1", with_subjects=with_subjects)
    return Evaluation([group])
