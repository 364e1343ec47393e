"""The fast FHIRPath subset agrees with fhirpathpy, and answers where fhirpathpy is known to be wrong.

The differential test walks official examples with the type model and evaluates, at every resource and
every datatype value, the constraints of its base definition twice: with the fast evaluator and with
fhirpathpy alone. Wherever fhirpathpy can evaluate an expression and the fast evaluator does not hand it
over, the two must agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import simplejson

from adapter.conformance.definitions import Definitions
from adapter.conformance.structure import TypeModel
from adapter.errors import Issue
from adapter.validation.fhirpath_fast import Env, Fallback, Node
from adapter.validation.fhirpath_functions import function_table
from adapter.validation.invariants import Invariant, InvariantCompiler, NotEvaluable, evaluate, report
from adapter.validation.resolution import Scope, Session
from adapter.validation.snapshots import Snapshots
from adapter.validation.terminology import Terminology

CORE = "http://hl7.org/fhir/StructureDefinition/"


class _NoProfiles:
    """``conformsTo()`` is not used by base constraints."""

    def conforms(self, value: Any, profile: str, scope: Scope) -> bool | None:
        return None


@pytest.fixture(scope="module")
def compiler(definitions: Definitions) -> InvariantCompiler:
    return InvariantCompiler(definitions.types)


@pytest.fixture(scope="module")
def root_constraints(definitions: Definitions, compiler: InvariantCompiler) -> dict[str, list[Invariant]]:
    """Per base type: the invariants of its root element (``ele-1`` excluded)."""
    snapshots = Snapshots(definitions)
    found: dict[str, list[Invariant]] = {}
    for name in definitions.types.types:
        elements = snapshots.elements(CORE + name) if definitions.resource(CORE + name) else ()
        constraints = elements[0].get("constraint", []) if elements else []
        found[name] = [i for i in (compiler.compile(c, name) for c in constraints) if i is not None]
    return found


def values(value: Any, scope: str, types: TypeModel) -> Iterator[tuple[Any, str]]:
    """Every typed value in a resource: (value, type name), following the type model."""
    if type(value) is not dict:
        return
    if isinstance(value.get("resourceType"), str):
        scope = value["resourceType"]
    if scope in types.types:
        yield value, scope
    for key, child in value.items():
        prop = types.property(scope, key)
        if prop is None:
            continue
        element, type_code = prop
        for item in child if type(child) is list else [child]:
            yield from values(item, element.children_scope or type_code, types)


def outcome(invariant: Invariant, value: Any, type_path: str, scope: Scope, terminology: Terminology,
            fast: bool) -> bool | str:
    functions = function_table(scope, terminology, _NoProfiles())
    try:
        return evaluate(invariant, value, None, type_path, scope, lambda _: functions, fast=fast)
    except NotEvaluable:
        return "not evaluable"


def test_fast_evaluator_agrees_with_fhirpathpy(definitions: Definitions, r4_examples_dir: Path,
                                               root_constraints: dict[str, list[Invariant]]) -> None:
    terminology = Terminology(definitions)
    disagreements: list[str] = []
    compared = answered_fast = 0
    for path in sorted(r4_examples_dir.glob("*.json"))[::20]:
        resource = simplejson.loads(path.read_bytes(), use_decimal=True)
        if not isinstance(resource, dict) or "resourceType" not in resource:
            continue
        scope = Scope(resource, Session())
        for value, type_name in values(resource, resource["resourceType"], definitions.types):
            for invariant in root_constraints.get(type_name, ()):
                if invariant.fast is None:
                    continue
                focus = [Node(value, type_name)]
                try:
                    invariant.fast(focus, Env(focus, resource, resource))
                except Fallback:
                    continue
                answered_fast += 1
                reference = outcome(invariant, value, type_name, scope, terminology, fast=False)
                if reference == "not evaluable":
                    continue
                compared += 1
                mine = outcome(invariant, value, type_name, scope, terminology, fast=True)
                if mine != reference:
                    disagreements.append(f"{path.name} {type_name} {invariant.key}: fast {mine}, fhirpathpy "
                                         f"{reference}")
    assert compared > 1000, (compared, answered_fast)
    assert not disagreements, "\n".join(disagreements[:20])


# --- the corrections --------------------------------------------------------------------------------------


def run(compiler: InvariantCompiler, expression: str, value: dict, type_path: str,
        definitions: Definitions) -> bool | str:
    invariant = compiler.compile({"key": "t", "expression": expression}, "test")
    assert invariant is not None
    scope = Scope(value, Session())
    return outcome(invariant, value, type_path, scope, Terminology(definitions), fast=True)


def test_a_boolean_operand_of_several_items_means_they_exist(compiler: InvariantCompiler,
                                                              definitions: Definitions) -> None:
    """US Core pd-1 ``telecom or endpoint`` on a PractitionerRole with two telecoms."""
    role = {"resourceType": "PractitionerRole", "telecom": [{"system": "phone", "value": "1"},
                                                            {"system": "email", "value": "a@b.c"}]}
    assert run(compiler, "telecom or endpoint", role, "PractitionerRole", definitions) is True
    assert run(compiler, "endpoint.exists() or telecom.exists().not()", role, "PractitionerRole",
               definitions) is False


def test_is_with_a_system_type_matches_the_fhir_primitive(compiler: InvariantCompiler,
                                                           definitions: Definitions) -> None:
    """que-7 ``answer is Boolean`` on ``answerBoolean``; US Core's ``$this is DateTime``."""
    when = {"question": "q", "operator": "exists", "answerBoolean": True}
    assert run(compiler, "operator = 'exists' implies (answer is Boolean)", when,
               "Questionnaire.item.enableWhen", definitions) is True


def test_hasvalue_of_a_primitive_with_only_an_extension(compiler: InvariantCompiler,
                                                        definitions: Definitions) -> None:
    period = {"start": "2020-01-01", "_end": {"extension": [{"url": "http://x.org/e", "valueString": "?"}]}}
    expression = "start.hasValue().not() or end.hasValue().not() or (start <= end)"
    assert run(compiler, expression, period, "Period", definitions) is True
    assert run(compiler, "end.exists() and end.hasValue().not()", period, "Period", definitions) is True


def test_dates_compare_at_the_same_precision(compiler: InvariantCompiler, definitions: Definitions) -> None:
    expression = "start.hasValue().not() or end.hasValue().not() or (start <= end)"
    assert run(compiler, expression, {"start": "2020-02-01", "end": "2020-01-31"}, "Period", definitions) is False
    assert run(compiler, expression, {"start": "2020-01-01T10:00:00+01:00", "end": "2020-01-01T09:30:00Z"},
               "Period", definitions) is True
    # different precisions: fhirpathpy decides (2020 against 2020-06-01 is not comparable: empty, so true)
    assert run(compiler, expression, {"start": "2020", "end": "2020-06-01"}, "Period", definitions) is True


def test_dom3_with_contained_resources(compiler: InvariantCompiler, definitions: Definitions) -> None:
    dom3 = ("contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) "
            "| %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where("
            "reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants()"
            ".where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()")
    referenced = {"resourceType": "Observation", "contained": [{"resourceType": "Practitioner", "id": "p"}],
                  "performer": [{"reference": "#p"}]}
    orphan = {"resourceType": "Observation", "contained": [{"resourceType": "Practitioner", "id": "p"}],
              "performer": [{"reference": "#q"}]}
    assert run(compiler, dom3, referenced, "Observation", definitions) is True
    assert run(compiler, dom3, orphan, "Observation", definitions) is False


def test_a_date_and_a_date_time_on_the_same_day_are_not_ordered(compiler: InvariantCompiler,
                                                                  definitions: Definitions) -> None:
    """fhirpathpy says ``2020-06-01T10:00:00Z <= 2020-06-01`` is false, which would break per-1 on a valid
    Period; FHIRPath says it is empty (different precisions), so per-1 holds."""
    expression = "start.hasValue().not() or end.hasValue().not() or (start <= end)"
    period = {"start": "2020-06-01T10:00:00Z", "end": "2020-06-01"}
    assert run(compiler, expression, period, "Period", definitions) is True
    assert run(compiler, expression, {"start": "2020-06-02T10:00:00Z", "end": "2020-06-01"}, "Period",
               definitions) is False


def test_an_expression_fhirpathpy_cannot_evaluate_is_a_warning(compiler: InvariantCompiler,
                                                               definitions: Definitions) -> None:
    """Neither evaluator knows ``nosuchfunction()``: the constraint is reported as not checked (a warning
    with its key), never as a failure and never as an exception."""
    invariant = compiler.compile({"key": "x-1", "severity": "error", "human": "Names are short",
                                  "expression": "name.nosuchfunction()"}, "profile 'Test'")
    assert invariant is not None
    result = run(compiler, "name.nosuchfunction()", {"resourceType": "Patient", "name": [{"family": "Lee"}]},
                 "Patient", definitions)
    assert result == "not evaluable"
    issues: list[Issue] = []
    report(invariant, "Not implemented: nosuchfunction", "Patient", issues)
    [issue] = issues
    assert (issue.severity, issue.code, issue.rule_id) == ("warning", "invariant", "x-1")
    assert "could not be evaluated (Not implemented: nosuchfunction), so it was not checked" in issue.diagnostics
