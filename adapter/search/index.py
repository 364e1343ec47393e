"""Search index extraction: the rows a resource contributes to the ``search_*`` tables.

Every write calls :meth:`Indexer.rows`, so this is on the hot path of the 400 creates/s target. Running
each SearchParameter's FHIRPath with fhirpathpy costs 0.1-0.6 ms per parameter (Patient has about 30),
which alone would eat the budget, so each expression is compiled once per resource type by
:mod:`adapter.search.paths` into plain look-ups; only expressions outside that subset run on fhirpathpy
(compiled once too), and their results are typed by shape.

The conversion of found values into rows follows R4 search §3.1.1.4 and is documented on each converter
below.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import fhirpathpy
from fhirpathpy.models import models as fhirpath_models

from adapter.conformance.definitions import Definitions, SearchParamDef
from adapter.conformance.structure import ElementDef, TypeModel
from adapter.search.dates import MAX_INSTANT, MIN_INSTANT, date_range
from adapter.search.paths import (
    CODE_SYSTEM_MARK,
    Item,
    PathContext,
    Program,
    UnsupportedExpression,
    applicable_branches,
    compile_expression,
    root_keys,
)
from adapter.search.values import (
    NUMBER_MAX,
    NUMBER_MIN,
    clip,
    normalize,
    number_range,
    parse_reference,
)

#: Parameters that are columns of ``resources`` rather than index rows.
COLUMN_PARAMS = frozenset({"_id", "_lastUpdated"})
#: Value columns of each index table, in the order the converters produce them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "string": ("value_norm", "value_exact"),
    "token": ("system", "code", "text_norm"),
    "date": ("low", "high"),
    "number": ("low", "high"),
    "quantity": ("system", "code", "low", "high"),
    "reference": ("target_type", "target_id", "target_url", "target_version"),
    "uri": ("value",),
}
#: Suffix of the synthetic token parameter that serves ``identifier:of-type`` (type system, type code|value).
OF_TYPE_SUFFIX = ":of-type"

Out = list[tuple[str, tuple]]
"""Converter output: (param code, value columns) pairs."""


class Indexer:
    """Turns resources into search index rows; compiled programs are built once per resource type.

    :param definitions: supplies the search parameters of each type and the R4 type model.
    """

    def __init__(self, definitions: Definitions) -> None:
        self._definitions = definitions
        self._types: TypeModel = definitions.types
        self._resource_types = frozenset(self._types.resource_types())
        self._plans: dict[str, tuple[_ParamPlan, ...]] = {}
        self._fallbacks: dict[str, Program] = {}
        self._code_systems: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def rows(self, resource: dict) -> dict[str, list[dict]]:
        """Index rows by table key (``string``, ``token`` ...): ``param`` plus that table's value columns.

        Duplicates within a parameter are dropped. ``resource_pk``/``res_type`` are the store's to add.
        """
        plans = self._plans.get(resource["resourceType"])
        if plans is None:
            plans = self.plans(resource["resourceType"])
        rows: dict[str, list[dict]] = {}
        present = resource.keys()
        for plan in plans:
            if plan.keys is not None and plan.keys.isdisjoint(present):
                continue
            found = self._plan_rows(plan, resource)
            if found:
                rows.setdefault(plan.table, []).extend(found)
        return rows

    def _plan_rows(self, plan: _ParamPlan, resource: dict) -> list[dict]:
        items = plan.program(resource)
        if not items:
            return []
        out: Out = []
        convert = plan.converter
        for value, type_code in items:
            convert(self, value, type_code, plan.code, out)
        columns = COLUMNS[plan.table]
        found = []
        for param, values in dict.fromkeys(out):
            row = dict(zip(columns, values, strict=True))
            row["param"] = param
            found.append(row)
        return found

    def plans(self, resource_type: str) -> tuple[_ParamPlan, ...]:
        """The compiled extraction plans of a type (built on first use, then cached on this indexer)."""
        plans = self._plans.get(resource_type)
        if plans is None:
            built = tuple(self._build_plans(resource_type))
            with self._lock:
                plans = self._plans.setdefault(resource_type, built)
        return plans

    def is_fast(self, resource_type: str, code: str) -> bool:
        """Whether a parameter runs on a compiled program rather than fhirpathpy (for tests and tuning)."""
        return any(p.code == code and p.fast for p in self.plans(resource_type))

    # --- building ------------------------------------------------------------------------------------------

    def _build_plans(self, resource_type: str) -> Iterable[_ParamPlan]:
        for param in self._definitions.search_params(resource_type).values():
            if not indexable(param):
                continue
            branches = applicable_branches(param.expression or "", resource_type, self._resource_types)
            if not branches:
                continue
            ctx = PathContext(self._types, resource_type, self._code_system)
            try:
                program, keys = compile_expression(ctx, branches), root_keys(ctx, branches)
                fast = True
            except UnsupportedExpression:
                program, keys = self._fallback(param.expression or ""), None
                fast = False
            yield _ParamPlan(param.code, param.type, program, _CONVERTERS[param.type], fast, keys)

    def _fallback(self, expression: str) -> Program:
        compiled = self._fallbacks.get(expression)
        if compiled is None:
            evaluate = fhirpathpy.compile(expression, model=fhirpath_models["r4"])

            def compiled(resource: dict) -> list[Item]:
                return [(value, None) for value in evaluate(resource, {}) if value is not None]

            self._fallbacks[expression] = compiled
        return compiled

    def _code_system(self, element: ElementDef) -> str | None:
        """The one code system a ``code`` element's required value set draws from, or None.

        Only a required binding pins the system (an extensible one allows codes from elsewhere). A
        value set that mixes systems, imports other value sets or is not in the packages gives None
        rather than a guess.
        """
        url = element.binding_value_set
        if not url or element.binding_strength != "required":
            return None
        if url not in self._code_systems:
            self._code_systems[url] = _single_system(self._definitions.resource(url))
        return self._code_systems[url]

    # --- used by the converters ----------------------------------------------------------------------------

    def reference_target(self, text: str) -> tuple | None:
        target = parse_reference(text, self._resource_types)
        if target is None:
            return None
        return (target.target_type, target.target_id, target.target_url, target.target_version)

    def extension_value(self, extension: dict) -> Item | None:
        """The ``value[x]`` of an Extension and its type, found through the type model's property names."""
        properties = self._types.properties.get("Extension", {})
        for key, value in extension.items():
            if key.startswith("value"):
                found = properties.get(key)
                return value, found[1] if found else None
        return None


@dataclass(frozen=True, slots=True)
class _ParamPlan:
    code: str
    table: str
    program: Program
    converter: Callable[[Indexer, Any, str | None, str, Out], None]
    fast: bool
    keys: frozenset[str] | None
    """Top-level properties the program starts from: when the resource has none, it is skipped."""


def _single_system(value_set: dict | None) -> str | None:
    compose = (value_set or {}).get("compose") or {}
    includes = compose.get("include") or []
    systems = {include.get("system") for include in includes}
    if len(systems) != 1 or any(include.get("valueSet") for include in includes):
        return None
    return systems.pop()


def indexable(param: SearchParamDef) -> bool:
    """Whether a parameter gets index rows: a value type with a table, an expression, not a column."""
    return param.type in COLUMNS and bool(param.expression) and param.code not in COLUMN_PARAMS


# --- value conversion ----------------------------------------------------------------------------------

_QUANTITY_TYPES = frozenset({"Quantity", "Age", "Duration", "Count", "Distance", "SimpleQuantity",
                             "MoneyQuantity"})
_CONTACT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})
_DATE_TYPES = frozenset({"date", "dateTime", "instant"})


def _value_type(value: Any, type_code: str | None) -> str:
    """The FHIR type of a value: the static type when known, else a guess from its shape."""
    if type_code is not None:
        return "Quantity" if type_code in _QUANTITY_TYPES else type_code
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | Decimal | float):
        return "decimal"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return _shape_type(value)
    return ""


def _shape_type(value: dict) -> str:
    if "resourceType" in value:
        return "Resource"
    if "reference" in value:
        return "Reference"
    if "coding" in value:
        return "CodeableConcept"
    if "family" in value or "given" in value:
        return "HumanName"
    if {"line", "city", "postalCode", "country", "state"} & value.keys():
        return "Address"
    if "start" in value or "end" in value:
        return "Period"
    if "low" in value or "high" in value:
        return "Range"
    if "url" in value and any(k.startswith("value") for k in value):
        return "Extension"
    if "currency" in value:
        return "Money"
    if "value" in value and isinstance(value["value"], int | Decimal | float):
        return "Quantity"
    if "code" in value:
        return "Coding"
    if "value" in value:
        return "ContactPoint" if value.get("system") in _CONTACT_SYSTEMS else "Identifier"
    if "event" in value or "repeat" in value:
        return "Timing"
    return "CodeableConcept" if "text" in value else ""


def _unwrap_extension(indexer: Indexer, value: Any, param: str, out: Out,
                      convert: Callable[[Indexer, Any, str | None, str, Out], None]) -> None:
    found = indexer.extension_value(value) if isinstance(value, dict) else None
    if found is not None:
        convert(indexer, found[0], found[1], param, out)


# string: R4 §3.1.1.4.9. HumanName and Address are searched by any of their parts, and their text.

_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")
_STRING_PARTS = {"HumanName": _NAME_PARTS, "Address": _ADDRESS_PARTS, "CodeableConcept": ("text",),
                 "Coding": ("display",), "Annotation": ("text",), "Attachment": ("title",)}


def _string_rows(indexer: Indexer, value: Any, type_code: str | None, param: str, out: Out) -> None:
    if isinstance(value, str):
        out.append((param, (normalize(value), value)))
        return
    kind = _value_type(value, type_code)
    if kind == "Extension":
        _unwrap_extension(indexer, value, param, out, _string_rows)
        return
    parts = _STRING_PARTS.get(kind)
    if parts is None or not isinstance(value, dict):
        return
    for part in parts:
        found = value.get(part)
        for text in found if isinstance(found, list) else (found,):
            if isinstance(text, str):
                out.append((param, (normalize(text), text)))


# token: R4 §3.1.1.4.10 — (system, code) for Coding and CodeableConcept.coding, (system, value) for
# Identifier and ContactPoint (its system is phone/email/...), the value itself for code/string/uri/id
# and "true"/"false" for boolean. text_norm carries Coding.display, CodeableConcept.text and
# Identifier.type.text for the :text modifier.


def _token_rows(indexer: Indexer, value: Any, type_code: str | None, param: str, out: Out) -> None:
    if isinstance(value, bool):
        out.append((param, (None, "true" if value else "false", None)))
        return
    if isinstance(value, str):
        system = type_code.partition(CODE_SYSTEM_MARK)[2] or None if type_code else None
        out.append((param, (system, clip(value), None)))
        return
    if isinstance(value, int | Decimal):
        out.append((param, (None, str(value), None)))
        return
    if not isinstance(value, dict):
        return
    handler = _TOKEN_HANDLERS.get(_value_type(value, type_code))
    if handler is not None:
        handler(indexer, value, param, out)


def _coding(coding: dict, param: str, out: Out, text: str | None = None) -> None:
    code, display = coding.get("code"), coding.get("display")
    label = display if isinstance(display, str) else text
    if code is None and coding.get("system") is None and not label:
        return
    out.append((param, (clip(coding.get("system")), clip(code), normalize(label) if label else None)))


def _codeable_concept(indexer: Indexer, value: dict, param: str, out: Out) -> None:
    for coding in value.get("coding", ()):
        if isinstance(coding, dict):
            _coding(coding, param, out)
    text = value.get("text")
    if isinstance(text, str):
        out.append((param, (None, None, normalize(text))))


def _identifier(indexer: Indexer, value: dict, param: str, out: Out) -> None:
    system, code = clip(value.get("system")), value.get("value")
    id_type = value.get("type") if isinstance(value.get("type"), dict) else {}
    type_text = id_type.get("text")
    if code is not None or system is not None:
        out.append((param, (system, clip(code), normalize(type_text) if isinstance(type_text, str) else None)))
    if code is None:
        return
    for coding in id_type.get("coding", ()):
        if isinstance(coding, dict) and coding.get("code"):
            out.append((param + OF_TYPE_SUFFIX,
                        (clip(coding.get("system")), clip(f"{coding['code']}|{code}"), None)))


def _contact_point(indexer: Indexer, value: dict, param: str, out: Out) -> None:
    if value.get("value") is not None:
        out.append((param, (clip(value.get("system")), clip(value["value"]), None)))


_TOKEN_HANDLERS: dict[str, Callable[[Indexer, dict, str, Out], None]] = {
    "Coding": lambda indexer, value, param, out: _coding(value, param, out),
    "CodeableConcept": _codeable_concept,
    "Identifier": _identifier,
    "ContactPoint": _contact_point,
    "Extension": lambda indexer, value, param, out: _unwrap_extension(indexer, value, param, out, _token_rows),
}


# date: R4 §3.1.1.4.7 — a value is the range its precision implies; a Period from its start's low to
# its end's high (open ends unbounded); a Timing only by its outer limits (events and bounds).


def _date_rows(indexer: Indexer, value: Any, type_code: str | None, param: str, out: Out) -> None:
    if isinstance(value, str):
        if type_code is None or type_code in _DATE_TYPES:
            found = date_range(value)
            if found is not None:
                out.append((param, found))
        return
    kind = _value_type(value, type_code)
    if kind == "Period":
        _period(value, param, out)
    elif kind == "Timing":
        _timing(value, param, out)
    elif kind == "Extension":
        _unwrap_extension(indexer, value, param, out, _date_rows)


def _period(value: dict, param: str, out: Out) -> None:
    start = date_range(value["start"]) if isinstance(value.get("start"), str) else None
    end = date_range(value["end"]) if isinstance(value.get("end"), str) else None
    if start is None and end is None:
        return
    out.append((param, (start[0] if start else MIN_INSTANT, end[1] if end else MAX_INSTANT)))


def _timing(value: dict, param: str, out: Out) -> None:
    ranges = [r for r in (date_range(e) for e in value.get("event", ()) if isinstance(e, str)) if r]
    bounds = (value.get("repeat") or {}).get("boundsPeriod")
    if isinstance(bounds, dict):
        bounded: Out = []
        _period(bounds, param, bounded)
        ranges.extend(values for _, values in bounded)
    if ranges:
        out.append((param, (min(r[0] for r in ranges), max(r[1] for r in ranges))))


# number and quantity: R4 §3.1.1.4.8 and §3.1.1.4.13 — the interval implied by the written precision.
# A quantity is indexed by (system, code) and, when the unit text differs from the code, also by the
# unit alone, because "5.4||mg" may name a unit as well as a code.


def _number_rows(indexer: Indexer, value: Any, type_code: str | None, param: str, out: Out) -> None:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        out.append((param, number_range(value)))
    elif isinstance(value, dict):
        kind = _value_type(value, type_code)
        if kind == "Quantity" and isinstance(value.get("value"), int | Decimal):
            out.append((param, number_range(value["value"])))
        elif kind == "Range":
            ranged: Out = []
            _range(value, param, ranged)
            out.extend((param, values[2:]) for _, values in ranged)
        elif kind == "Extension":
            _unwrap_extension(indexer, value, param, out, _number_rows)


def _quantity_rows(indexer: Indexer, value: Any, type_code: str | None, param: str, out: Out) -> None:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        out.append((param, (None, None, *number_range(value))))
        return
    if not isinstance(value, dict):
        return
    kind = _value_type(value, type_code)
    if kind == "Quantity":
        _quantity(value, param, out)
    elif kind == "Money":
        amount = value.get("value")
        if isinstance(amount, int | Decimal):
            out.append((param, ("urn:iso:std:iso:4217", value.get("currency"), *number_range(amount))))
    elif kind == "Range":
        _range(value, param, out)
    elif kind == "Extension":
        _unwrap_extension(indexer, value, param, out, _quantity_rows)


def _quantity(value: dict, param: str, out: Out) -> None:
    amount = value.get("value")
    if not isinstance(amount, int | Decimal) or isinstance(amount, bool):
        return
    low, high = number_range(amount)
    code, unit = value.get("code"), value.get("unit")
    out.append((param, (clip(value.get("system")), clip(code if code is not None else unit), low, high)))
    if code is not None and isinstance(unit, str) and unit != code:
        out.append((param, (None, clip(unit), low, high)))


def _range(value: dict, param: str, out: Out) -> None:
    low_q = value.get("low") if isinstance(value.get("low"), dict) else {}
    high_q = value.get("high") if isinstance(value.get("high"), dict) else {}
    low_v, high_v = low_q.get("value"), high_q.get("value")
    if not isinstance(low_v, int | Decimal) and not isinstance(high_v, int | Decimal):
        return
    low = number_range(low_v)[0] if isinstance(low_v, int | Decimal) else NUMBER_MIN
    high = number_range(high_v)[1] if isinstance(high_v, int | Decimal) else NUMBER_MAX
    unit = low_q if low_v is not None else high_q
    out.append((param, (clip(unit.get("system")), clip(unit.get("code") or unit.get("unit")), low, high)))


# reference: R4 §3.1.1.4.11 — Reference.reference split by parse_reference (contained "#x" references
# are skipped: they are not separately searchable resources), canonical/uri values as target_url with the
# "|version" split off, and an inline resource (Bundle.entry[0].resource) by its own type and id.


def _reference_rows(indexer: Indexer, value: Any, type_code: str | None, param: str, out: Out) -> None:
    if isinstance(value, str):
        target = indexer.reference_target(value)
        if target is not None:
            out.append((param, target))
        return
    if not isinstance(value, dict):
        return
    kind = _value_type(value, type_code)
    if kind == "Reference" and isinstance(value.get("reference"), str):
        target = indexer.reference_target(value["reference"])
        if target is not None:
            out.append((param, target))
    elif kind == "Resource" or "resourceType" in value:
        if isinstance(value.get("id"), str):
            out.append((param, (value.get("resourceType"), value["id"], None, None)))
    elif kind == "Extension":
        _unwrap_extension(indexer, value, param, out, _reference_rows)


# uri: R4 §3.1.1.4.14 — the value as written.


def _uri_rows(indexer: Indexer, value: Any, type_code: str | None, param: str, out: Out) -> None:
    if isinstance(value, str):
        out.append((param, (clip(value),)))
    elif isinstance(value, dict) and _value_type(value, type_code) == "Extension":
        _unwrap_extension(indexer, value, param, out, _uri_rows)


_CONVERTERS: dict[str, Callable[[Indexer, Any, str | None, str, Out], None]] = {
    "string": _string_rows,
    "token": _token_rows,
    "date": _date_rows,
    "number": _number_rows,
    "quantity": _quantity_rows,
    "reference": _reference_rows,
    "uri": _uri_rows,
}
