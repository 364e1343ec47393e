"""An :class:`~adapter.measures.results.Evaluation` as an R4 MeasureReport of our ``cmp-measure-report``.

Shape (the IG's example reports, plus what the report type asks for):

- ``type``: ``individual`` (a ``Patient`` subject), ``subject-list`` or ``summary``;
- ``subject``: the Patient or Group evaluated (R4 allows no Organization subject: a team or practice is the
  ``reporter``);
- ``reporter``: the team or practice (``subject=Organization/x``, or the ``reporter`` parameter); only a
  report with a reporter declares the ``cmp-measure-report`` profile, which requires one;
- each group: ``code.text`` the rule or group id, the three populations with their counts and
  ``measureScore`` = numerator / denominator (0 when the denominator is 0, invariant ``cmp-mr-1``);
- subject-list reports: each population's ``subjectResults`` references a contained ``List`` of the
  Patients in it (each Patient once, however many member-weeks or discharges they count for).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from adapter.measures.core import Period, Scope
from adapter.measures.results import POPULATION_DISPLAY, POPULATIONS, Evaluation, GroupResult

PROFILE = "https://cmp-adapter.org/fhir/StructureDefinition/cmp-measure-report"
POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"


def measure_report(measure_url: str, evaluation: Evaluation, period: Period, scope: Scope, report_type: str,
                   reporter: str | None = None, *, now: datetime | None = None) -> dict:
    """The MeasureReport resource (a dict, no id: the store assigns one when it is kept)."""
    reporter = reporter or (scope.reference if scope.kind == "Organization" else None)
    report: dict = {"resourceType": "MeasureReport"}
    if reporter:
        report["meta"] = {"profile": [PROFILE]}
    contained: list[dict] = []
    groups = [_group(group, report_type, contained) for group in evaluation.groups]
    if contained:
        report["contained"] = contained
    report.update({"status": "complete", "type": report_type, "measure": measure_url})
    if scope.kind in ("Patient", "Group"):
        report["subject"] = {"reference": scope.reference}
    report["date"] = _instant(now or datetime.now(UTC))
    if reporter:
        report["reporter"] = {"reference": reporter}
    report["period"] = {"start": period.start.isoformat(), "end": period.end.isoformat()}
    report["group"] = groups
    return report


def _group(group: GroupResult, report_type: str, contained: list[dict]) -> dict:
    populations = []
    for code in POPULATIONS:
        population: dict = {"code": {"coding": [{"system": POPULATION_SYSTEM, "code": code,
                                                 "display": POPULATION_DISPLAY[code]}]},
                            "count": group.counts.get(code, 0)}
        if report_type == "subject-list" and group.subjects is not None:
            list_id = _id(f"{group.code}-{code}")
            contained.append(_subject_list(list_id, group.subjects.get(code, []), f"{group.code} {code}"))
            population["subjectResults"] = {"reference": f"#{list_id}"}
        populations.append(population)
    return {"code": {"text": group.code}, "population": populations, "measureScore": {"value": group.score}}


def _subject_list(list_id: str, members: list[str], title: str) -> dict:
    resource: dict = {"resourceType": "List", "id": list_id, "status": "current", "mode": "snapshot",
                      "title": title}
    if members:
        resource["entry"] = [{"item": {"reference": f"Patient/{member}"}} for member in members]
    else:
        resource["emptyReason"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
                                               "code": "nilknown"}]}
    return resource


def _id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9\-.]", "-", text)[:64]


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
