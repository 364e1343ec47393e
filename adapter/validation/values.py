"""Value constraints of a profile element: ``fixed[x]``, ``pattern[x]``, ``maxLength``, ``min/maxValue[x]``.

ElementDefinition (R4 elementdefinition.html) gives their meaning:

- ``fixed[x]``: the value SHALL be exactly this, "missing elements/attributes must also be missing";
- ``pattern[x]``: the value SHALL contain what the pattern has; for arrays, each item of the pattern
  must be matched by some item of the value, and other items and elements may be present;
- ``maxLength``: the most characters a string may have;
- ``minValue[x]``/``maxValue[x]``: inclusive bounds for numbers, dates, times and quantities.

JSON values compare by FHIR value: ``1.0`` and ``1`` are the same decimal, ``true`` is not ``1``.
Every check has the profile check signature ``(value, expression, scope, issues)``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from adapter.errors import Issue
from adapter.validation.primitives import shown

_NUMBER = (int, Decimal, float)


def same_value(actual: Any, expected: Any) -> bool:
    """Exact FHIR equality of two JSON values (``fixed[x]``)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and actual.keys() == expected.keys() and \
            all(same_value(actual[key], expected[key]) for key in expected)
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and \
            all(same_value(a, e) for a, e in zip(actual, expected, strict=True))
    return _same_primitive(actual, expected)


def matches_pattern(actual: Any, pattern: Any) -> bool:
    """Whether ``actual`` has everything ``pattern`` has (``pattern[x]``)."""
    if isinstance(pattern, dict):
        return isinstance(actual, dict) and \
            all(key in actual and matches_pattern(actual[key], expected) for key, expected in pattern.items())
    if isinstance(pattern, list):
        items = actual if isinstance(actual, list) else [actual]
        return all(any(matches_pattern(item, expected) for item in items) for expected in pattern)
    return _same_primitive(actual, pattern)


def _same_primitive(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(actual, _NUMBER) and isinstance(expected, _NUMBER):
        return Decimal(str(actual)) == Decimal(str(expected))
    return type(actual) is type(expected) and actual == expected


def describe(value: Any, limit: int = 160) -> str:
    """A value as a message shows it: codings as ``system|code``, identifiers by system, else compact JSON."""
    if isinstance(value, dict):
        codings = value.get("coding")
        if isinstance(codings, list) and set(value) <= {"coding", "text"}:
            shown_codings = ", ".join(describe(c) for c in codings)
            return f"a CodeableConcept with coding {shown_codings}" if len(codings) == 1 else \
                f"a CodeableConcept with codings {shown_codings}"
        if "code" in value and set(value) <= {"system", "code", "display", "version"}:
            system = value.get("system")
            return f"{system}|{value['code']}" if system else f"code {value['code']!r}"
    if isinstance(value, (dict, list)):
        text = json.dumps(value, default=str, separators=(", ", ": "))
        return text if len(text) <= limit else text[: limit - 4] + "...}"
    return shown(value)


class FixedValue:
    """``fixed[x]``: the value must be exactly the fixed one."""

    __slots__ = ("_expected", "_source")

    def __init__(self, expected: Any, source: str) -> None:
        self._expected = expected
        self._source = source

    def __call__(self, value: Any, expression: str, scope: object, issues: list[Issue]) -> None:
        if not same_value(value, self._expected):
            issues.append(Issue("error", "value", f"{expression}: must be exactly {describe(self._expected)} "
                                f"(fixed by {self._source}), but is {describe(value)}", expression, "fixed"))


class PatternValue:
    """``pattern[x]``: the value must contain the pattern."""

    __slots__ = ("_pattern", "_source")

    def __init__(self, pattern: Any, source: str) -> None:
        self._pattern = pattern
        self._source = source

    def __call__(self, value: Any, expression: str, scope: object, issues: list[Issue]) -> None:
        if not matches_pattern(value, self._pattern):
            issues.append(Issue("error", "value", f"{expression}: must contain {describe(self._pattern)} "
                                f"(pattern of {self._source}), but is {describe(value)}", expression, "pattern"))


class MaxLength:
    """``maxLength``: at most this many characters."""

    __slots__ = ("_limit", "_source")

    def __init__(self, limit: int, source: str) -> None:
        self._limit = limit
        self._source = source

    def __call__(self, value: Any, expression: str, scope: object, issues: list[Issue]) -> None:
        if isinstance(value, str) and len(value) > self._limit:
            issues.append(Issue("error", "value", f"{expression}: {len(value)} characters, but {self._source} "
                                f"allows at most {self._limit}", expression, "max-length"))


class ValueBound:
    """``minValue[x]`` or ``maxValue[x]``: an inclusive bound on a number, date, time or Quantity."""

    __slots__ = ("_bound", "_is_min", "_source")

    def __init__(self, bound: Any, is_min: bool, source: str) -> None:
        self._bound = bound
        self._is_min = is_min
        self._source = source

    def __call__(self, value: Any, expression: str, scope: object, issues: list[Issue]) -> None:
        order = compare(value, self._bound)
        if order is None or (order >= 0 if self._is_min else order <= 0):
            return
        word, rule = ("at least", "min-value") if self._is_min else ("at most", "max-value")
        issues.append(Issue("error", "value", f"{expression}: {describe(value)} is out of range; "
                            f"{self._source} requires {word} {describe(self._bound)}", expression, rule))


def compare(value: Any, bound: Any) -> int | None:
    """-1, 0 or 1 comparing a value with a bound of the same kind; None when they do not compare.

    Quantities compare by value when their units (``system``/``code``) agree. Dates, date-times and times
    compare on the precision both have (``2020`` against ``2019-06-01`` compares the years), which is
    right for the ISO 8601 forms FHIR uses when both carry the same time zone or none.
    """
    if isinstance(value, dict) and isinstance(bound, dict):
        if (value.get("system"), value.get("code")) != (bound.get("system"), bound.get("code")):
            return None
        return compare(value.get("value"), bound.get("value"))
    if isinstance(value, bool) or isinstance(bound, bool):
        return None
    if isinstance(value, _NUMBER) and isinstance(bound, _NUMBER):
        left, right = Decimal(str(value)), Decimal(str(bound))
        return (left > right) - (left < right)
    if isinstance(value, str) and isinstance(bound, str):
        common = min(len(value), len(bound), 19)
        left, right = value[:common], bound[:common]
        return (left > right) - (left < right)
    return None
