"""OperationOutcome resources built from issues: the only place that makes them."""

from __future__ import annotations

from collections.abc import Iterable

from adapter.errors import Issue

#: Where rule ids and constraint keys go in ``issue.details.coding`` (BRIEF §2 rule ids, FHIR constraint keys).
RULE_SYSTEM = "https://cmp-adapter.org/fhir/CodeSystem/rule-id"


def operation_outcome(issues: Iterable[Issue]) -> dict:
    """An OperationOutcome with one entry per issue (``details.coding`` carries the rule id)."""
    rendered = []
    for issue in issues:
        entry: dict = {"severity": issue.severity, "code": issue.code}
        if issue.rule_id:
            entry["details"] = {"coding": [{"system": RULE_SYSTEM, "code": issue.rule_id}]}
        entry["diagnostics"] = issue.diagnostics
        if issue.expression:
            entry["expression"] = [issue.expression]
        rendered.append(entry)
    if not rendered:
        rendered.append({"severity": "information", "code": "informational", "diagnostics": "All OK"})
    return {"resourceType": "OperationOutcome", "issue": rendered}


def information(message: str) -> dict:
    return operation_outcome([Issue("information", "informational", message)])
