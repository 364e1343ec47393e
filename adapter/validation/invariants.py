"""FHIRPath invariants (``ElementDefinition.constraint``), compiled once and evaluated per element.

Each constraint's ``expression`` is parsed once per process (parsing costs 1-3 ms, evaluating a parsed
expression 0.02-0.5 ms) and evaluated on every instance of its element, with the element as the focus,
``%resource`` the resource that holds it and ``%rootResource`` its container (R4 §2.1.9 "FHIRPath in
FHIR"). A constraint fails only when its expression yields ``false``; an empty result is not a failure
(the element it talks about is absent). Its severity (``error``/``warning``) is the constraint's own.

fhirpathpy reports evaluation problems (a function it lacks, a singleton expected) with a bare
``Exception``; only that exact class and the standard lookup/type errors are caught, around the one call
into the library, and reported as "could not be evaluated" (a warning, never a false error). Errors of any
other class propagate.

``ele-1`` ("every element has a value or children") is not evaluated: the structural walk checks it on
every element already, far faster.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import InvalidOperation
from typing import TYPE_CHECKING, Any

from antlr4.error.Errors import ParseCancellationException, RecognitionException
from fhirpathpy.engine import do_eval
from fhirpathpy.engine.invocations.constants import constants
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.engine.util import get_data
from fhirpathpy.models import models
from fhirpathpy.parser import parse

from adapter.conformance.structure import TypeModel
from adapter.errors import Issue
from adapter.validation.fhirpath_fast import Compiled, Env, Fallback, FastCompiler, Node

if TYPE_CHECKING:
    from adapter.validation.resolution import Scope

#: Constraints the structural walk already enforces on every element.
STRUCTURALLY_CHECKED = frozenset({"ele-1"})

#: The FHIR R4 model for fhirpathpy: choice types (``value`` -> ``valueQuantity``), paths to types.
R4_MODEL = models["r4"]

#: What fhirpathpy raises besides bare ``Exception`` when an expression cannot be evaluated on some data.
_EVALUATION_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError,
                      InvalidOperation, RecursionError)


class NotEvaluable(Exception):
    """A constraint expression that cannot be parsed or evaluated."""


@dataclass(frozen=True, slots=True)
class Invariant:
    """One constraint of one element, ready to run."""

    key: str
    severity: str
    human: str
    expression: str
    source: str
    """Who defines it, for messages (``Period``, ``US Core Patient Profile``)."""
    parsed: dict | None
    problem: str | None = None
    """Why the expression cannot be parsed, when it cannot."""
    fast: Compiled | None = None
    """The expression compiled for :mod:`~adapter.validation.fhirpath_fast`."""


class InvariantCompiler:
    """Parses constraint expressions once each; shared by every profile of a validator."""

    def __init__(self, types: TypeModel) -> None:
        self._parsed: dict[str, tuple[dict | None, str | None, Compiled | None]] = {}
        self._fast = FastCompiler(types)
        self._lock = threading.Lock()

    def compile(self, constraint: dict, source: str) -> Invariant | None:
        """The invariant for a constraint, or None when there is nothing to evaluate."""
        key = constraint.get("key") or "?"
        expression = constraint.get("expression")
        if key in STRUCTURALLY_CHECKED or not isinstance(expression, str) or not expression.strip():
            return None
        parsed, problem, fast = self._parse(expression)
        return Invariant(key=key, severity=_severity(constraint.get("severity")),
                         human=constraint.get("human") or expression, expression=expression, source=source,
                         parsed=parsed, problem=problem, fast=fast)

    def _parse(self, expression: str) -> tuple[dict | None, str | None, Compiled | None]:
        found = self._parsed.get(expression)
        if found is None:
            with self._lock:
                try:
                    parsed = parse(expression)
                    found = (parsed, None, self._fast.compile(parsed))
                except (ParseCancellationException, RecognitionException, *_EVALUATION_ERRORS) as exc:
                    found = (None, f"it does not parse: {exc}", None)
                self._parsed[expression] = found
        return found


def _severity(value: Any) -> str:
    return "warning" if value == "warning" else "error"


def _ignore_trace(label: str, value: Any) -> None:
    """``trace()`` in constraints (dom-3 uses it) must not print to the server's stdout."""


#: Gives the FHIRPath function table of a scope; called only when fhirpathpy is needed.
FunctionsFor = Callable[["Scope"], dict[str, dict]]


def evaluate(invariant: Invariant, value: Any, companion: Any, type_path: str, scope: Scope,
             functions: FunctionsFor, fast: bool = True) -> bool:
    """Whether ``value`` satisfies the invariant.

    The fast evaluator (:mod:`~adapter.validation.fhirpath_fast`) answers first when it can (and
    ``fast`` is true: tests compare both); otherwise
    this is fhirpathpy's ``apply_parsed_path`` without its per-call set-up: the evaluation context is
    built here with the scope's function table (``functions(scope)``, see
    :mod:`~adapter.validation.fhirpath_functions`) passed as is, so functions see typed nodes.

    Raises:
        NotEvaluable: the expression does not parse, or fhirpathpy cannot evaluate it on this value.
    """
    if invariant.parsed is None:
        raise NotEvaluable(invariant.problem or "it does not parse")
    if fast and invariant.fast is not None:
        try:
            focus = [Node(value if value is not None else companion, type_path)]
            found = invariant.fast(focus, Env(focus, scope.resource, scope.root_resource))
            return not (len(found) == 1 and found[0].value is False)
        except Fallback:
            pass
    node = ResourceNode.create_node(value, type_path, companion if type(companion) is dict else None)
    constants.reset()
    context = {
        "dataRoot": [node], "model": R4_MODEL, "userInvocationTable": functions(scope), "traceFn": _ignore_trace,
        "vars": {"context": node, "ucum": "http://unitsofmeasure.org", "resource": scope.resource,
                 "rootResource": scope.root_resource},
    }
    try:
        result = do_eval(context, context["dataRoot"], invariant.parsed["children"][0])
    except _EVALUATION_ERRORS as exc:
        raise NotEvaluable(f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # fhirpathpy raises bare Exception for evaluation errors (see module doc)
        if type(exc) is not Exception:
            raise
        raise NotEvaluable(str(exc)) from exc
    return not (len(result) == 1 and get_data(result[0]) is False)


def outcome_of(invariant: Invariant, value: Any, companion: Any, type_path: str, scope: Scope,
               functions: FunctionsFor) -> bool | str:
    """True (satisfied), False (violated) or why it could not be evaluated; cacheable per value."""
    try:
        return evaluate(invariant, value, companion, type_path, scope, functions)
    except NotEvaluable as exc:
        return str(exc)


def report(invariant: Invariant, outcome: bool | str, expression: str, issues: list[Issue]) -> None:
    """The issue for an outcome: a failure with the constraint's severity, a warning when not evaluable."""
    if outcome is True:
        return
    if outcome is False:
        issues.append(Issue(invariant.severity, "invariant", f"{expression}: {invariant.human} (constraint "
                            f"{invariant.key} of {invariant.source}: {invariant.expression})", expression,
                            invariant.key))
        return
    issues.append(Issue("warning", "invariant", f"{expression}: constraint {invariant.key} of {invariant.source} "
                        f"could not be evaluated ({outcome}), so it was not checked: {invariant.human}",
                        expression, invariant.key))
