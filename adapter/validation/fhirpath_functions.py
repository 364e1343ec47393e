"""The FHIR-specific FHIRPath functions fhirpathpy does not implement, bound to one resource's scope.

FHIRPath itself is implemented by fhirpathpy; FHIR adds functions (fhirpath.html#functions, R4 §2.1.9)
that need to know where the resource sits or what the server holds:

- ``hasValue()``: a primitive has a value (not only extensions). fhirpathpy reads a primitive and its
  ``_x`` object as separate items, so the extension-only items are left out first;
- ``resolve()``: the resource a reference names, within the Bundle or the contained resources only (a
  validator makes no network calls);
- ``memberOf(valueset)``: the code is in the ValueSet, by our terminology service; empty when it cannot
  tell (a code system we do not hold), so the invariant passes rather than failing wrongly;
- ``conformsTo(profile)``: the resource conforms to the profile, by this validator;
- ``htmlChecks()``: the narrative rules of txt-1 and txt-2. The XHTML itself is parsed by the wire
  layer; here only what makes narrative unsafe (``<script>``, event-handler attributes, ``javascript:``
  links) or empty (no text and no image) is checked, which never rejects a well-formed example.

Two FHIRPath rules fhirpathpy gets wrong are corrected here too, because R4 and US Core invariants
depend on them:

- the boolean operators (``and``, ``or``, ``xor``, ``implies``) evaluate a single non-boolean item as
  ``true`` (FHIRPath §5.1.3 "Singleton evaluation of collections"; US Core's ``telecom or endpoint``);
  fhirpathpy rejects it;
- ``as(type)`` on a collection keeps the items of that type, as ``dom-3``
  (``%resource.descendants().as(canonical)``) needs and the HL7 validator does; fhirpathpy rejects a
  collection.

Each function table is built per :class:`~adapter.validation.resolution.Scope` (one per resource checked)
and closes over it. Functions receive fhirpathpy's context and typed input nodes, as its own do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from fhirpathpy.engine.invocations.filtering import of_type_fn
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.engine.util import get_data

from adapter.validation.bindings import read_codes
from adapter.validation.resolution import Scope
from adapter.validation.terminology import Terminology

#: What makes narrative XHTML unsafe (narrative.html#xhtml: no scripts, no event handlers, no forms).
_UNSAFE_TAGS = ("<script", "<form", "<iframe", "<object", "<embed", "javascript:")
_EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=")
_TEXT = re.compile(r">\s*[^<\s]")


class ConformanceChecker(Protocol):
    """Answers ``conformsTo``: whether a resource conforms to a profile (the profile engine)."""

    def conforms(self, value: Any, profile: str, scope: Scope) -> bool | None: ...


def _has_value(context: dict, inputs: list[Any]) -> bool:
    values = [item for item in map(get_data, inputs) if not _extension_only(item)]
    return len(values) == 1 and not isinstance(values[0], (dict, list))


def _extension_only(item: Any) -> bool:
    return isinstance(item, dict) and "resourceType" not in item and set(item) <= {"id", "extension"}


def html_checks(values: list[Any]) -> bool:
    """txt-1 and txt-2 on narrative ``div`` values: safe XHTML with some content (text or an image).

    Substring tests on the lower-cased text first: narratives are long, and this runs on every one.
    """
    for value in values:
        if not isinstance(value, str):
            return False
        lowered = value.lower()
        if any(tag in lowered for tag in _UNSAFE_TAGS) or (" on" in lowered and _EVENT_HANDLER.search(lowered)):
            return False
        if "<img" not in lowered and _TEXT.search(value) is None:
            return False
    return True


def _html_checks(context: dict, inputs: list[Any]) -> bool:
    return html_checks([get_data(item) for item in inputs])


def _truth(operand: list[Any]) -> bool | None:
    """A collection as a boolean operand: empty is unknown, one item is its value (true if not boolean).

    Several non-boolean items count as true, as in the HL7 validator: invariants such as US Core's
    ``telecom or endpoint`` mean "exists" and must hold for a resource with two telecoms.

    Raises:
        ValueError: several booleans (FHIRPath: an error; no reading of them is right).
    """
    if not operand:
        return None
    values = [get_data(item) for item in operand]
    if len(values) > 1:
        if all(isinstance(value, bool) for value in values):
            raise ValueError(f"a boolean operator got {len(values)} booleans where one was expected")
        return True
    return values[0] if isinstance(values[0], bool) else True


def _or(context: dict, left: list[Any], right: list[Any]) -> list[bool] | bool:
    a, b = _truth(left), _truth(right)
    if a is True or b is True:
        return True
    return False if a is False and b is False else []


def _and(context: dict, left: list[Any], right: list[Any]) -> list[bool] | bool:
    a, b = _truth(left), _truth(right)
    if a is False or b is False:
        return False
    return True if a is True and b is True else []


def _xor(context: dict, left: list[Any], right: list[Any]) -> list[bool] | bool:
    a, b = _truth(left), _truth(right)
    return [] if a is None or b is None else a != b


def _implies(context: dict, left: list[Any], right: list[Any]) -> list[bool] | bool:
    a, b = _truth(left), _truth(right)
    if a is False or b is True:
        return True
    return False if a is True and b is False else []


#: (function, arity) of the scope-independent functions; arity None takes no parameters.
_FIXED: dict[str, tuple[Callable[..., Any], dict[int, list[Any]] | None]] = {
    "hasValue": (_has_value, None),
    "htmlChecks": (_html_checks, None),
    "as": (of_type_fn, {1: ["TypeSpecifier"]}),
    "or": (_or, {2: ["Any", "Any"]}),
    "and": (_and, {2: ["Any", "Any"]}),
    "xor": (_xor, {2: ["Any", "Any"]}),
    "implies": (_implies, {2: ["Any", "Any"]}),
}


def function_table(scope: Scope, terminology: Terminology, checker: ConformanceChecker) -> dict[str, dict]:
    """The user invocation table for fhirpathpy, bound to ``scope``."""

    def resolve(context: dict, inputs: list[Any]) -> list[ResourceNode]:
        found = []
        for item in map(get_data, inputs):
            reference = item.get("reference") if isinstance(item, dict) else item
            if isinstance(reference, str):
                target = scope.resolve(reference)
                if target is not None:
                    found.append(ResourceNode.create_node(target))
        return found

    def member_of(context: dict, inputs: list[Any], value_set: str) -> list[bool]:
        expansion = terminology.expand(value_set)
        verdicts = [expansion.contains(system, code) for item in map(get_data, inputs)
                    for system, code in read_codes(item)]
        if True in verdicts:
            return [True]
        return [] if None in verdicts or not verdicts else [False]

    def conforms_to(context: dict, inputs: list[Any], profile: str) -> list[bool]:
        verdicts = [checker.conforms(item, profile, scope) for item in map(get_data, inputs)
                    if isinstance(item, dict)]
        if not verdicts or None in verdicts:
            return []
        return [all(verdicts)]

    table = dict(_FIXED)
    table.update({"resolve": (resolve, None), "memberOf": (member_of, {1: ["String"]}),
                  "conformsTo": (conforms_to, {1: ["String"]})})
    return {name: ({"fn": fn} if arity is None else {"fn": fn, "arity": arity})
            for name, (fn, arity) in table.items()}
