"""``Measure/$evaluate-measure`` and ``Patient/$cmp-compliance``: parameters in, FHIR resources out.

Reads the operation parameters (query string or a Parameters body), checks them (400 for a bad one, 404
for an unknown measure or subject), runs the measure in SQL (:mod:`adapter.measures`) and builds the
MeasureReport or Parameters. ``$evaluate-measure`` affects no state (R4 leaves the report to the caller);
``store=true`` on a POST stores the report through the normal write path (validation, write checks), so
stored reports are searchable by ``period``, ``subject``, ``reporter`` and ``measure``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from adapter import fhirjson
from adapter.errors import BadRequest, NotFound
from adapter.measures import registry
from adapter.measures.compliance import compliance_parameters, member_compliance
from adapter.measures.core import Period, Scope
from adapter.measures.report import measure_report
from adapter.search.dates import date_range
from adapter.services import resources
from adapter.services.container import Services
from adapter.services.resources import WriteResult

SUBJECT_TYPES = ("Patient", "Organization", "Group")
#: reportType values: R4's own codes and the MeasureReport.type codes they produce.
REPORT_TYPES = {"subject": "individual", "individual": "individual", "subject-list": "subject-list",
                "population": "summary", "summary": "summary"}
#: The longest range evaluated in one request: ten years of weeks.
MAX_DAYS = 3660
#: Dates outside these years are refused (time-zone arithmetic near year 1 or 9999 overflows).
YEARS = (1900, 2999)


@dataclass
class EvaluateResult:
    report: dict
    stored: WriteResult | None = None


def operation_inputs(query: Mapping[str, str], body: dict | None) -> dict[str, str]:
    """The operation's parameters: the query string, overlaid by a Parameters body's primitive values."""
    inputs = dict(query)
    if body is not None:
        if body.get("resourceType") != "Parameters":
            raise BadRequest("the body of the operation must be a Parameters resource", expression="resourceType")
        for parameter in body.get("parameter") or []:
            if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
                continue
            value = next((v for k, v in parameter.items() if k.startswith("value")), None)
            if isinstance(value, str | bool):
                inputs[parameter["name"]] = str(value).lower() if isinstance(value, bool) else value
    return inputs


def evaluate_measure(services: Services, measure_id: str | None, inputs: Mapping[str, str], *,
                     may_store: bool = False) -> EvaluateResult:
    """Evaluate a measure (``Measure/{id}``, or ``measure=`` at type level) for a period and scope.

    :raise BadRequest: a missing or malformed period, subject or reportType, or ``store`` on a GET.
    :raise NotFound: no such measure here, or the subject does not exist.
    """
    url = _measure_url(services, measure_id or inputs.get("measure"))
    period = period_from(inputs.get("periodStart"), inputs.get("periodEnd"), "periodStart", "periodEnd")
    scope = _scope(services, inputs.get("subject") or inputs.get("patient"))
    report_type = _report_type(inputs.get("reportType"), scope)
    reporter = inputs.get("reporter")
    if reporter is not None:
        _existing(services, reporter, ("Organization",), "reporter")
    with services.store.connect() as conn, conn.begin():
        _plan_for_aggregates(conn)
        evaluation = registry.evaluate(conn, services.program_rules, url, period, scope,
                                       with_subjects=report_type == "subject-list")
    report = measure_report(url, evaluation, period, scope, report_type, reporter)
    store = _flag(inputs.get("store"), "store")
    if store and not may_store:
        raise BadRequest("store=true needs a POST: a GET does not change the server", expression="store")
    if not store:
        return EvaluateResult(report)
    return EvaluateResult(report, resources.create(services, "MeasureReport", report))


def cmp_compliance(services: Services, patient_id: str, inputs: Mapping[str, str]) -> dict:
    """The member's weekly CMP compliance as a Parameters resource.

    :raise BadRequest: a missing or malformed ``start``/``end``.
    :raise NotFound, Gone: no such Patient.
    """
    period = period_from(inputs.get("start"), inputs.get("end"), "start", "end")
    resources.read(services, "Patient", patient_id)
    with services.store.connect() as conn:
        weeks = member_compliance(conn, services.program_rules, patient_id, period)
    return compliance_parameters(patient_id, period, weeks)


#: PostgreSQL ``work_mem`` for one measure query: grouping hundreds of thousands of member-weeks in memory
#: instead of spilling them to disk (the server default is 4 MB). Set for the transaction only, with JIT
#: off: compiling the query's expressions cost about 0.5 s and saved less (docs/performance.md).
MEASURE_WORK_MEM = "64MB"


def _plan_for_aggregates(conn) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL work_mem = '{MEASURE_WORK_MEM}'")
        conn.exec_driver_sql("SET LOCAL jit = off")


def period_from(start: str | None, end: str | None, start_name: str, end_name: str) -> Period:
    """Local dates from FHIR date values: a start at the beginning of what it names (``2026`` is
    2026-01-01), an end at the end of what it names (``2026-02`` is 2026-02-28).

    :raise BadRequest: missing, malformed, reversed or longer than :data:`MAX_DAYS`.
    """
    first = _date(start, start_name, end=False)
    last = _date(end, end_name, end=True)
    if last < first:
        raise BadRequest(f"{end_name} {end} is before {start_name} {start}", expression=end_name)
    if (last - first).days > MAX_DAYS:
        raise BadRequest(f"the period {start}..{end} is longer than {MAX_DAYS} days", expression=end_name)
    return Period(first, last)


def _date(text: str | None, name: str, *, end: bool) -> date:
    if not text:
        raise BadRequest(f"the parameter {name} is required (a FHIR date such as 2026-01-31)", expression=name)
    bounds = date_range(text) if len(text) <= 10 else None
    if bounds is None:
        raise BadRequest(f"{name}={text!r} is not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)", expression=name)
    value = (bounds[1] if end else bounds[0]).date()
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise BadRequest(f"{name}={text!r} is outside the years {YEARS[0]}-{YEARS[1]}", expression=name)
    return value


def _measure_url(services: Services, measure: str | None) -> str:
    if not measure:
        raise BadRequest("which measure? Call Measure/{id}/$evaluate-measure or give measure=", expression="measure")
    url = measure if "/" in measure else registry.CANONICAL_BASE + measure
    if "/" not in measure:
        with services.store.connect() as conn:
            stored = services.store.read(conn, "Measure", measure)
        if stored is not None and not stored.deleted and stored.content:
            url = fhirjson.loads(stored.content).get("url") or url
    if url not in registry.MEASURES:
        raise NotFound(f"no measure {measure!r} is evaluated here; known: {sorted(registry.MEASURES)}",
                       expression="measure")
    return url


def _scope(services: Services, subject: str | None) -> Scope:
    if not subject:
        return Scope()
    res_type, res_id = _existing(services, subject, SUBJECT_TYPES, "subject")
    return Scope(res_type, res_id)


def _existing(services: Services, reference: str, types: tuple[str, ...], name: str) -> tuple[str, str]:
    """:raise BadRequest: not ``Type/id`` of an allowed type. :raise NotFound, Gone: no such resource."""
    res_type, _, res_id = reference.partition("/")
    if res_type not in types or not res_id or "/" in res_id:
        raise BadRequest(f"{name}={reference!r} must be a reference {' | '.join(t + '/[id]' for t in types)}",
                         expression=name)
    resources.read(services, res_type, res_id)
    return res_type, res_id


def _report_type(text: str | None, scope: Scope) -> str:
    if text is None:
        return "individual" if scope.kind == "Patient" else "summary"
    report_type = REPORT_TYPES.get(text)
    if report_type is None:
        raise BadRequest(f"reportType={text!r} is not one of {', '.join(REPORT_TYPES)}", expression="reportType")
    if report_type == "individual" and scope.kind != "Patient":
        raise BadRequest("an individual report needs subject=Patient/[id]", expression="reportType")
    return report_type


def _flag(text: str | None, name: str) -> bool:
    if text is None or text.lower() == "false":
        return False
    if text.lower() == "true":
        return True
    raise BadRequest(f"{name}={text!r} must be true or false", expression=name)
