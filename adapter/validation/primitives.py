"""Primitive values: their JSON kind, their type's regex, and the limits the definitions state.

Every rule here comes from the primitive types' StructureDefinitions: the regex extension on
``<type>.value``, ``minValueInteger``/``maxValueInteger``/``maxLength`` (inherited along the base chain,
so ``positiveInt`` gets ``integer``'s 32-bit range and its own regex forbids 0), and the FHIRPath system
type of the value (``System.Date``/``System.DateTime`` values must be real calendar dates, which a regex
cannot say: it accepts ``2019-02-30``). The JSON kind follows FHIR R4 §2.6.2: numbers and booleans are
JSON numbers and booleans, every other primitive is a JSON string.

Rules are compiled once per validator; checking a value is one type test and one ``fullmatch``.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from adapter.conformance.structure import JSON_BOOLEAN_TYPES, JSON_NUMBER_TYPES, TypeModel
from adapter.errors import Issue

if TYPE_CHECKING:
    from adapter.conformance.definitions import Definitions

#: FHIRPath system types of ``<type>.value`` whose values are calendar dates (R4 §2.24.0.1 date/dateTime:
#: "Dates SHALL be valid dates").
_CALENDAR_SYSTEM_TYPES = frozenset({"http://hl7.org/fhirpath/System.Date",
                                    "http://hl7.org/fhirpath/System.DateTime"})

_JSON_NUMBER = (int, Decimal, float)
_KIND_LABELS = {"number": "a JSON number", "boolean": "a JSON boolean (true or false)",
                "string": "a JSON string"}


@dataclass(frozen=True, slots=True)
class PrimitiveRule:
    """How to check one value of one primitive type."""

    type_code: str
    kind: str
    """``number``, ``boolean`` or ``string``: the JSON kind FHIR requires."""
    pattern: re.Pattern[str] | None
    min_value: int | None = None
    max_value: int | None = None
    max_length: int | None = None
    calendar_date: bool = False
    """The value must be a real calendar date (its FHIRPath type is Date or DateTime)."""

    def accepts(self, value: Any) -> bool:
        """The quick test for the common case, a valid value (this runs for every primitive of every
        resource). False means "look closer", not necessarily invalid: :meth:`check` decides."""
        kind = type(value)
        if kind is str:
            return (self.kind == "string" and value != ""
                    and (self.pattern is None or self.pattern.fullmatch(value) is not None)
                    and (self.max_length is None or len(value) <= self.max_length)
                    and (not self.calendar_date or value[8:10] <= "28"))
        if kind is bool:
            return self.kind == "boolean"
        return (kind in _JSON_NUMBER and self.kind == "number"
                and (self.pattern is None or self.pattern.fullmatch(str(value)) is not None)
                and self._range_problem(value) is None)

    def check(self, value: Any, expression: str, issues: list[Issue]) -> bool:
        """Append an issue when ``value`` is not a valid ``type_code``; return whether it is valid."""
        if self.accepts(value):
            return True
        problem = self._kind_problem(value) or self._value_problem(value)
        if problem is None:
            return True
        issues.append(Issue("error", "value", f"{expression}: {problem}", expression))
        return False

    def _kind_problem(self, value: Any) -> str | None:
        kind = type(value)
        if self.kind == "string":
            ok = kind is str
        elif self.kind == "boolean":
            ok = kind is bool
        else:
            ok = kind in _JSON_NUMBER
        if ok:
            return None
        return f"a {self.type_code} must be {_KIND_LABELS[self.kind]}, not {describe_json(value)}"

    def _value_problem(self, value: Any) -> str | None:
        if self.kind == "boolean":
            return None
        if self.kind == "string":
            if not value:
                return f"empty {self.type_code}: FHIR does not allow empty values (leave the element out)"
            if self.max_length is not None and len(value) > self.max_length:
                return f"a {self.type_code} may have at most {self.max_length} characters, this has {len(value)}"
            text = value
        else:
            text = str(value)
        if self.pattern is not None and self.pattern.fullmatch(text) is None:
            return (f"{shown(value)} is not a valid {self.type_code} "
                    f"(it must match the pattern {self.pattern.pattern})")
        return self._range_problem(value) or (self._calendar_problem(text) if self.calendar_date else None)

    def _range_problem(self, value: Any) -> str | None:
        if self.kind != "number":
            return None
        if (type(value) is Decimal and not value.is_finite()) or (type(value) is float and not math.isfinite(value)):
            return f"{value} is not a number"
        if (self.min_value is not None and value < self.min_value) or \
                (self.max_value is not None and value > self.max_value):
            return (f"{value} is out of range for the type {self.type_code} "
                    f"({_bound(self.min_value)}..{_bound(self.max_value)})")
        return None

    def _calendar_problem(self, text: str) -> str | None:
        """A regex-valid date with a day beyond the month's end (``2019-02-30``)."""
        if len(text) < 10 or text[8:10] <= "28":
            return None
        year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
        days = calendar.monthrange(year, month)[1]
        if day <= days:
            return None
        return (f"{shown(text)} is not a valid {self.type_code}: "
                f"{calendar.month_name[month]} {year} has {days} days")


def compile_rules(types: TypeModel, definitions: Definitions) -> dict[str, PrimitiveRule]:
    """One rule per primitive type of the model, from its definition."""
    rules: dict[str, PrimitiveRule] = {}
    for name, type_def in types.types.items():
        if type_def.kind != "primitive-type":
            continue
        facets = type_def.facets(types)
        rules[name] = PrimitiveRule(
            type_code=name, kind=_json_kind(name),
            pattern=re.compile(facets.regex, re.ASCII) if facets.regex else None,
            min_value=facets.min_value, max_value=facets.max_value, max_length=facets.max_length,
            calendar_date=_value_system_type(definitions, type_def.url, name) in _CALENDAR_SYSTEM_TYPES,
        )
    return rules


def _json_kind(type_code: str) -> str:
    if type_code in JSON_NUMBER_TYPES:
        return "number"
    if type_code in JSON_BOOLEAN_TYPES:
        return "boolean"
    return "string"


def _value_system_type(definitions: Definitions, url: str, type_code: str) -> str | None:
    """The FHIRPath system type of ``<type>.value`` (``http://hl7.org/fhirpath/System.Date``)."""
    structure = definitions.resource(url) or {}
    for element in structure.get("snapshot", {}).get("element", []):
        if element.get("path") == f"{type_code}.value":
            return next((t.get("code") for t in element.get("type", [])), None)
    return None


def _bound(value: int | None) -> str:
    return "" if value is None else str(value)


def shown(value: Any, limit: int = 80) -> str:
    """A value as a message quotes it: strings in quotes, long ones cut."""
    text = f'"{value}"' if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 4] + '..."'


def describe_json(value: Any) -> str:
    """What a JSON value is, for messages that say what was expected instead."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {shown(value)}"
    if isinstance(value, (int, Decimal, float)):
        return f"the number {value}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
