"""The walk over a resource's JSON: known elements, JSON shape, nulls and empties, cardinality.

This is FHIR R4's JSON format (§2.6.2) and the base rules every element obeys, applied with the plans
compiled from the type model: a property must be an element of its scope (a choice only with one of its
types; ``_x`` only next to a primitive, holding ``id``/``extension``); arrays where ``max > 1`` and single
values where ``max = 1``; no ``null`` except as a placeholder in a primitive array aligned with its
``_x`` array; no empty object, array or string (``ele-1``: every element has a value or children);
``min`` inside every object that exists and ``max`` everywhere. Element-level checks of each property
(bindings, references, ...) run on every value; nested resources (``contained``,
``Bundle.entry.resource``, ``Parameters.parameter.resource``) are walked as resources, continuing the
expression (``Bundle.entry[2].resource.subject``).
"""

from __future__ import annotations

from typing import Any

from adapter.errors import Issue
from adapter.validation.plans import COMPLEX, PRIMITIVE, PlanCompiler, PropertyPlan, ScopePlan
from adapter.validation.primitives import describe_json

#: Stands for "no value property, only its ``_x`` companion" (distinct from a JSON null).
_ABSENT: Any = object()


class StructureWalker:
    """Walks resources with the plans of a :class:`PlanCompiler`, appending issues to a list."""

    def __init__(self, compiler: PlanCompiler) -> None:
        self._compiler = compiler
        self._types = compiler.types

    # --- resources ------------------------------------------------------------------------------------------

    def resource(self, value: Any, expression: str | None, issues: list[Issue],
                 expected: str | None = None) -> None:
        """Check a resource: the root (``expression`` None) or one nested at ``expression``."""
        if type(value) is not dict:
            problem = f"a resource must be a JSON object, not {describe_json(value)}"
            issues.append(_error("structure", expression, f"{expression}: {problem}" if expression else problem))
            return
        resource_type = value.get("resourceType")
        problem = self._resource_type_problem(resource_type, expected)
        if problem is not None:
            issues.append(_error("structure", expression, f"{expression}: {problem}" if expression else problem))
            return
        self.object(value, self._compiler.plan(resource_type), expression or resource_type, issues)

    def _resource_type_problem(self, resource_type: Any, expected: str | None) -> str | None:
        if resource_type is None:
            return "the resource has no resourceType"
        if type(resource_type) is not str:
            return f"resourceType must be a string, not {describe_json(resource_type)}"
        type_def = self._types.types.get(resource_type)
        if type_def is None or type_def.kind != "resource":
            return f'"{resource_type}" is not an R4 resource type'
        if type_def.abstract:
            return f'"{resource_type}" is an abstract type; use a concrete resource type'
        if expected and not self._types.inherits(resource_type, expected):
            return f'a {resource_type} is not allowed here, only a {expected}'
        return None

    # --- objects --------------------------------------------------------------------------------------------

    def object(self, obj: dict, plan: ScopePlan, path: str, issues: list[Issue]) -> None:
        """Check every property of an object of ``plan``'s scope, then the required elements."""
        properties = plan.properties
        choices: dict[str, str] = {}
        for key, value in obj.items():
            prop = properties.get(key)
            if prop is None:
                prop = plan.companions.get(key)
                if prop is None:
                    self._unknown(key, plan, path, issues)
                    continue
                if prop.json_name in obj:
                    continue  # checked with its value
                value = _ABSENT
            if prop.unusual and not self._allowed_here(prop, choices, path, issues):
                continue
            quick = prop.plain_rule
            if quick is not None and quick.accepts(value) and prop.companion_key not in obj:
                continue  # the common case: a valid single primitive with nothing more to check
            if prop.value_kind == PRIMITIVE:
                self._primitive_property(prop, value, obj.get(prop.companion_key), path, issues)
            elif prop.is_array:
                self._complex_array(prop, value, f"{path}.{prop.expr_name}", issues)
            else:
                self._complex_value(prop, value, f"{path}.{prop.expr_name}", issues)
        for requirement in plan.requirements:
            if _present(obj, requirement.keys) < requirement.minimum:
                expression = f"{path}.{requirement.label}"
                issues.append(_error("required", expression, f"{expression}: required element missing "
                                                             f"(min {requirement.minimum})"))

    def _allowed_here(self, prop: PropertyPlan, choices: dict[str, str], path: str,
                      issues: list[Issue]) -> bool:
        """``max = 0`` forbids a property; a choice takes one type (not ``valueString`` + ``valueQuantity``)."""
        name = prop.element.name
        if prop.element.max == 0:
            expression = f"{path}.{prop.expr_name}"
            issues.append(_error("structure", expression, f"{expression}: {prop.json_name} is not allowed "
                                                          "here (max 0)"))
            return False
        other = choices.setdefault(name, prop.json_name)
        if other != prop.json_name:
            expression = f"{path}.{name}"
            issues.append(_error("structure", expression, f"{expression}: only one of {other} and "
                                                          f"{prop.json_name} may be present ({name}[x] "
                                                          "takes a single type)"))
        return True

    def _unknown(self, key: str, plan: ScopePlan, path: str, issues: list[Issue]) -> None:
        if key == "resourceType" and plan.is_resource:
            return
        issues.append(_error("structure", f"{path}.{key}", self._unknown_message(key, plan, path)))

    def _unknown_message(self, key: str, plan: ScopePlan, path: str) -> str:
        """Say *why* a property is unknown: a wrong choice type, a misplaced ``_x``, or no such element."""
        where = f"{path}.{key}"
        if key.startswith("_"):
            base = plan.properties.get(key[1:])
            if base is not None:
                return (f"{where}: {key} is only allowed next to a primitive element, and {key[1:]} is a "
                        f"{base.type_code}")
        for element in self._types.children.get(plan.scope, ()):
            if element.choice and key.startswith(element.name) and key[len(element.name):][:1].isupper():
                allowed = ", ".join(element.types)
                return (f"{where}: {key[len(element.name):]} is not an allowed type for {element.name}[x] "
                        f"(allowed: {allowed})")
        return f'{where}: unknown element "{key}" (not defined for {plan.label})'

    # --- primitive properties --------------------------------------------------------------------------------

    def _primitive_property(self, prop: PropertyPlan, value: Any, companion: Any, path: str,
                            issues: list[Issue]) -> None:
        """A primitive and its ``_x`` companion; ``value`` is :data:`_ABSENT` when only ``_x`` is there."""
        expression = f"{path}.{prop.expr_name}"
        if prop.is_array:
            self._primitive_array(prop, value, companion, expression, issues)
        elif type(value) is list or type(companion) is list:
            name = prop.json_name if type(value) is list else prop.companion_key
            issues.append(_error("structure", expression, f"{expression}: {name} must be a single value, "
                                                          f"not an array (max {prop.element.max})"))
        else:
            if value is None:
                issues.append(_error("structure", expression, f"{expression}: null is not allowed (leave "
                                                              "the element out)"))
            elif value is not _ABSENT:
                self._primitive_value(prop, value, expression, issues)
            if companion is not None or value is _ABSENT:
                self._companion(prop, companion, expression, issues)

    def _primitive_array(self, prop: PropertyPlan, values: Any, companions: Any, expression: str,
                         issues: list[Issue]) -> None:
        """A repeating primitive: ``values`` and ``_x`` ``companions`` are aligned arrays, null-padded."""
        count = None if values is _ABSENT else self._array_shape(prop, values, expression, issues)
        if companions is not None:
            companion_count = self._array_shape(prop, companions, expression, issues, companion=True)
            if companion_count is None:
                companions = None
            elif count is not None and companion_count != count:
                issues.append(_error("structure", expression, f"{expression}: the _{prop.json_name} array "
                                                              f"has {companion_count} items but "
                                                              f"{prop.json_name} has {count}; they must "
                                                              "align, with null for a missing side"))
                companions = None
        if count is None and companions is None:
            return
        for index in range(count if count is not None else len(companions)):
            value = values[index] if count is not None else None
            companion = companions[index] if companions is not None else None
            item = f"{expression}[{index}]"
            if value is not None:
                self._primitive_value(prop, value, item, issues)
            if companion is not None:
                self._companion(prop, companion, item, issues)
            elif value is None:
                issues.append(_error("structure", item, f"{item}: null is only allowed where the "
                                                        f"_{prop.json_name} array has an extension or id "
                                                        "at the same position"))

    def _primitive_value(self, prop: PropertyPlan, value: Any, expression: str, issues: list[Issue]) -> None:
        rule = prop.primitive
        if rule is None or rule.check(value, expression, issues):
            for check in prop.checks:
                check(value, expression, issues)

    def _companion(self, prop: PropertyPlan, companion: Any, expression: str, issues: list[Issue]) -> None:
        """The ``_x`` object of a primitive: only ``id`` and ``extension``."""
        if type(companion) is not dict:
            issues.append(_error("structure", expression, f"{expression}: _{prop.json_name} must hold an "
                                                          f"object with id/extension, not "
                                                          f"{describe_json(companion)}"))
            return
        if not companion:
            issues.append(_error("invariant", expression, f"{expression}: _{prop.json_name} is an empty "
                                                          "object; every element needs a value or children",
                                 "ele-1"))
            return
        self.object(companion, self._compiler.companion_plan(prop.type_code), expression, issues)

    # --- complex properties ----------------------------------------------------------------------------------

    def _complex_array(self, prop: PropertyPlan, value: Any, expression: str, issues: list[Issue]) -> None:
        if self._array_shape(prop, value, expression, issues) is None:
            return
        for index, item in enumerate(value):
            self._complex_value(prop, item, f"{expression}[{index}]", issues)

    def _complex_value(self, prop: PropertyPlan, value: Any, expression: str, issues: list[Issue]) -> None:
        if type(value) is not dict:
            if value is None:
                what = "null is not allowed (leave the element out)"
            elif type(value) is list:
                what = f"{prop.json_name} must be a single value, not an array (max {prop.element.max})"
            else:
                what = f"a {prop.type_code} must be a JSON object, not {describe_json(value)}"
            issues.append(_error("structure", expression, f"{expression}: {what}"))
            return
        if not value:
            issues.append(_error("invariant", expression, f"{expression}: empty object; every element "
                                                          "needs a value or children", "ele-1"))
            return
        if prop.value_kind == COMPLEX:
            self.object(value, prop.child or self._compiler.child_plan(prop), expression, issues)
        else:
            self.resource(value, expression, issues, expected=prop.type_code)
        for check in prop.checks:
            check(value, expression, issues)

    # --- shared -----------------------------------------------------------------------------------------------

    def _array_shape(self, prop: PropertyPlan, value: Any, expression: str, issues: list[Issue],
                     companion: bool = False) -> int | None:
        """The length of a valid array property, or None (with an issue saying what is wrong)."""
        name = ("_" if companion else "") + prop.json_name
        if value is None:
            issues.append(_error("structure", expression, f"{expression}: {name} is null (leave the "
                                                          "element out)"))
            return None
        if type(value) is not list:
            issues.append(_error("structure", expression, f"{expression}: {name} must be an array "
                                                          f"(it repeats), not {describe_json(value)}"))
            return None
        if not value:
            issues.append(_error("structure", expression, f"{expression}: {name} is an empty array; "
                                                          "leave the element out instead"))
            return None
        maximum = prop.element.max
        if maximum is not None and len(value) > maximum and not companion:
            issues.append(_error("structure", expression, f"{expression}: {len(value)} values, but at most "
                                                          f"{maximum} allowed"))
        return len(value)


def _present(obj: dict, keys: tuple[tuple[str, str | None], ...]) -> int:
    """How many values of an element an object has, counting ``_x``-only primitives (they exist)."""
    count = 0
    for key, companion_key in keys:
        value = obj.get(key)
        companion = obj.get(companion_key) if companion_key else None
        if value is None and companion is None:
            continue
        sizes = [len(v) if type(v) is list else 1 for v in (value, companion) if v is not None]
        count += max(sizes)
    return count


def _error(code: str, expression: str | None, diagnostics: str, rule_id: str | None = None) -> Issue:
    return Issue("error", code, diagnostics, expression, rule_id)
