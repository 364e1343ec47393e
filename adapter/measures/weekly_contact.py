"""``cmp-weekly-contact`` (CMP-QC-1): enrolled member-weeks with at least one quality contact.

Initial population = denominator: the member-weeks of CMP enrollment (:func:`cmp_weeks.enrollment_weeks`).
Numerator: those with a finished ``quality-contact`` Encounter of class AMB or VR starting in the week.
"""

from __future__ import annotations

from sqlalchemy import Connection

from adapter.measures import cmp_weeks
from adapter.measures.core import Period, Scope
from adapter.measures.results import Evaluation
from adapter.rules.config import ProgramRules

URL = "https://cmp-adapter.org/fhir/Measure/cmp-weekly-contact"
PROGRAM = "cmp"


def evaluate(conn: Connection, rules: ProgramRules, period: Period, scope: Scope, *,
             with_subjects: bool = False) -> Evaluation:
    group = cmp_weeks.weekly_proportion(conn, rules.program(PROGRAM), period, scope, cmp_weeks.contact_weeks,
                                        code="CMP-QC-1", with_subjects=with_subjects)
    return Evaluation([group])
