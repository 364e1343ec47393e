"""Validation plans compiled from the type model: per scope, what each JSON property is and what to check.

A :class:`ScopePlan` is computed once per scope (``Patient``, ``HumanName``, ``Patient.contact``) and
reused for every instance, so validating a value is a dict lookup and a few calls, never a search
through StructureDefinitions. The element-level checks attached to each property come from a list of
:data:`CheckBuilder` functions fed by the element definitions (bindings, reference targets, extensions
by URL). Adding a check means adding a builder, not editing the walk. Profiles have their own compiled
rules (:mod:`~adapter.validation.profile_tree`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from adapter.conformance.structure import ElementDef, TypeModel
from adapter.errors import Issue
from adapter.validation.primitives import PrimitiveRule, compile_rules

if TYPE_CHECKING:
    from adapter.conformance.definitions import Definitions
    from adapter.validation.terminology import Terminology

#: A check on one value of one element: ``check(value, expression, issues)`` appends what is wrong.
Check = Callable[[Any, str, list[Issue]], None]

#: R4 declares ``Resource.id`` as a FHIRPath ``System.String`` tagged ``string`` in the
#: StructureDefinitions, but the specification (resource.html#id, "Resource.id : id") says a resource's
#: logical id is an ``id``: 1-64 of ``[A-Za-z0-9\-.]``. The HL7 validator applies the same correction.
RESOURCE_ID_TYPE = "id"

_FHIRPATH_SYSTEM = "http://hl7.org/fhirpath/System."

PRIMITIVE = "primitive"
COMPLEX = "complex"
RESOURCE = "resource"


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What check builders may consult: the type model, the definitions and the terminology."""

    types: TypeModel
    definitions: Definitions
    terminology: Terminology


class CheckBuilder(Protocol):
    """Makes the check for values of ``element`` of type ``type_code``, or None when it does not apply."""

    def __call__(self, element: ElementDef, type_code: str, context: CheckContext) -> Check | None: ...


@dataclass(slots=True)
class PropertyPlan:
    """One JSON property of a scope (``valueQuantity``): its element, type and checks."""

    json_name: str
    element: ElementDef
    type_code: str
    expr_name: str
    """The property in an expression: ``name``, or ``value.ofType(Quantity)`` for a choice."""
    value_kind: str
    """:data:`PRIMITIVE`, :data:`COMPLEX` or :data:`RESOURCE`."""
    companion_key: str | None
    """``_name`` for primitives (the JSON property holding their id and extensions)."""
    primitive: PrimitiveRule | None
    child_scope: str | None
    checks: tuple[Check, ...]
    is_array: bool
    """``max > 1``: the JSON value is an array."""
    unusual: bool
    """A choice (only one type may be present) or ``max = 0``: the walker looks closer."""
    plain_rule: PrimitiveRule | None
    """The rule of a single primitive with no element checks, whose valid value (without ``_x``) needs
    nothing more; None for every other property."""
    child: ScopePlan | None = None
    """The child scope's plan, resolved on first use (scopes can be recursive)."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """An element with ``min > 0``: the JSON properties that may satisfy it (every choice, with ``_x``)."""

    label: str
    minimum: int
    keys: tuple[tuple[str, str | None], ...]


@dataclass(slots=True)
class ScopePlan:
    """Everything the walker needs to check an object of one scope."""

    scope: str
    properties: dict[str, PropertyPlan]
    companions: dict[str, PropertyPlan]
    """``_birthDate`` -> the plan of ``birthDate``; only primitives have companions."""
    requirements: tuple[Requirement, ...]
    is_resource: bool
    label: str
    """What the scope is called in messages (``Patient``, ``HumanName``, ``the _x object of a code``)."""


class PlanCompiler:
    """Compiles and caches scope plans; one per validator, so nothing is global."""

    def __init__(self, context: CheckContext, builders: Sequence[CheckBuilder]) -> None:
        self.context = context
        self.types = context.types
        self._builders = tuple(builders)
        self.primitives = compile_rules(context.types, context.definitions)
        self._plans: dict[str, ScopePlan] = {}

    def plan(self, scope: str) -> ScopePlan:
        """The plan for a scope; an unknown scope gets an empty plan (every property is then unknown)."""
        found = self._plans.get(scope)
        if found is None:
            found = self._plans[scope] = self._compile(scope, self.types.children.get(scope, ()))
        return found

    def companion_plan(self, type_code: str) -> ScopePlan:
        """The plan of a primitive's ``_x`` object: the type's elements except ``value`` (id, extension)."""
        key = "_" + type_code
        found = self._plans.get(key)
        if found is None:
            members = tuple(e for e in self.types.children.get(type_code, ()) if e.name != "value")
            found = self._plans[key] = self._compile(type_code, members,
                                                     f"the _x object of a {type_code} (id and extension only)")
        return found

    def child_plan(self, prop: PropertyPlan) -> ScopePlan:
        child = prop.child
        if child is None:
            child = prop.child = self.plan(prop.child_scope or prop.type_code)
        return child

    # --- compiling ------------------------------------------------------------------------------------------

    def _compile(self, scope: str, members: Sequence[ElementDef], label: str | None = None) -> ScopePlan:
        type_def = self.types.types.get(scope)
        is_resource = type_def is not None and type_def.kind == "resource"
        properties: dict[str, PropertyPlan] = {}
        for element in members:
            for type_code in element.types:
                if is_resource and element.name == "id":
                    type_code = RESOURCE_ID_TYPE
                prop = self._property(element, type_code)
                properties[prop.json_name] = prop
        companions = {p.companion_key: p for p in properties.values() if p.companion_key}
        requirements = tuple(_requirement(e, properties) for e in members if e.min > 0)
        return ScopePlan(scope, properties, companions, requirements, is_resource, label or scope)

    def _property(self, element: ElementDef, type_code: str) -> PropertyPlan:
        json_name = element.name + type_code[0].upper() + type_code[1:] if element.choice else element.name
        kind = self._value_kind(type_code)
        rule = self.primitives.get(type_code)
        if rule is None and type_code.startswith(_FHIRPATH_SYSTEM):
            rule = self.primitives.get("string")
        checks = tuple(c for c in (b(element, type_code, self.context) for b in self._builders) if c)
        return PropertyPlan(
            json_name=json_name, element=element, type_code=type_code,
            expr_name=f"{element.name}.ofType({type_code})" if element.choice else element.name,
            value_kind=kind, companion_key="_" + json_name if kind == PRIMITIVE else None,
            primitive=rule, child_scope=self.types.scope_of(element, type_code) if kind == COMPLEX else None,
            checks=checks, is_array=element.is_array, unusual=element.choice or element.max == 0,
            plain_rule=None if element.is_array or checks else rule,
        )

    def _value_kind(self, type_code: str) -> str:
        type_def = self.types.types.get(type_code)
        if type_def is None:
            return PRIMITIVE if type_code.startswith(_FHIRPATH_SYSTEM) else COMPLEX
        if type_def.kind == "primitive-type":
            return PRIMITIVE
        return RESOURCE if type_def.kind == "resource" else COMPLEX


def _requirement(element: ElementDef, properties: dict[str, PropertyPlan]) -> Requirement:
    keys = tuple((p.json_name, p.companion_key) for p in properties.values() if p.element is element)
    return Requirement(element.name, element.min, keys)
