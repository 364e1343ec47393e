"""A profile's snapshot compiled into a tree of element rules, once per profile.

Each :class:`ElementRule` is one snapshot element with what the validator must check on the instance
values it matches, decided at compile time so that validating is a dict lookup and a few calls:

- its cardinality, only where it is stricter than the base specification's (the base layer already
  enforces the base's, and repeating that would report every error twice);
- its allowed types, when narrower than the base's, with their profiles and reference target profiles;
- its value checks (``fixed[x]``, ``pattern[x]``, ``maxLength``, ``min/maxValue[x]``, a binding the
  profile adds or changes, reference targets it narrows);
- its invariants (every ``constraint``, inherited ones included, except ``ele-1``);
- its children, its slicing and slices.

Children are keyed by element name and found by JSON property name through :meth:`ElementRule.json_map`,
which lists every JSON spelling of a child, including choice types the profile removed (so that a value
of a removed type is reported, not skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adapter.conformance.structure import ElementDef, TypeModel
from adapter.errors import Issue
from adapter.validation.bindings import profile_binding_check
from adapter.validation.invariants import Invariant, InvariantCompiler
from adapter.validation.snapshots import split_id
from adapter.validation.values import FixedValue, MaxLength, PatternValue, ValueBound

if TYPE_CHECKING:
    from adapter.validation.resolution import Scope
    from adapter.validation.terminology import Terminology

#: A check on one value of one element: ``check(value, expression, scope, issues)``.
ProfileCheck = Callable[[Any, str, "Scope", list[Issue]], None]

_FHIR_TYPE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
_SYSTEM_PREFIX = "http://hl7.org/fhirpath/System."
#: Types whose children are defined inline, under the element's own path.
INLINE_TYPES = frozenset({"BackboneElement", "Element"})

#: Stands for "no fixed/pattern value" (JSON has no value that could be confused with it).
MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class ProfileInfo:
    """The profile a rule belongs to, for messages."""

    url: str
    label: str
    """``profile 'US Core Encounter Profile'`` or ``the Period datatype``."""


@dataclass(frozen=True, slots=True)
class TypeRule:
    """One allowed type of an element, with the profiles it must conform to."""

    code: str
    profiles: tuple[str, ...] = ()
    target_profiles: tuple[str, ...] = ()


@dataclass(eq=False, slots=True, repr=False)
class ElementRule:
    """One element of a profile's snapshot, compiled."""

    id: str
    path: str
    name: str
    """The element name without ``[x]`` (``value``)."""
    choice: bool
    min: int
    max: int | None
    base_path: str
    profile: ProfileInfo
    slice_name: str | None = None
    check_min: bool = False
    check_max: bool = False
    types: dict[str, TypeRule] = field(default_factory=dict)
    allowed_types: frozenset[str] | None = None
    """The type codes allowed, when the profile allows fewer than the base; None when not narrowed."""
    base_types: tuple[str, ...] = ()
    checks: tuple[ProfileCheck, ...] = ()
    typed_checks: dict[str, tuple[ProfileCheck, ...]] = field(default_factory=dict)
    """Checks that depend on the value's type (a binding reads a ``code`` and a ``Coding`` differently)."""
    invariants: tuple[Invariant, ...] = ()
    children: dict[str, ElementRule] = field(default_factory=dict)
    slicing: dict | None = None
    slices: list[ElementRule] = field(default_factory=list)
    content_reference: str | None = None
    fixed: Any = MISSING
    pattern: Any = MISSING
    binding: tuple[str | None, str | None] = (None, None)
    """(strength, value set) as the snapshot states it, for slice discriminators."""
    is_modifier: bool = False
    # Filled on first use by the engine:
    json_keys: dict[str, ElementRule] | None = None
    """JSON property name -> child rule, for the children of this rule."""
    spellings: tuple[tuple[str, str, bool], ...] | None = None
    """This rule's JSON properties in a parent: (name, type code, is primitive)."""
    spelling_map: dict[str, tuple[str, str, bool]] | None = None
    """The same by JSON property name (a choice has many; objects are matched by their own keys)."""
    required: tuple[ElementRule, ...] | None = None
    slicer: Any = None
    active: bool | None = None

    def __repr__(self) -> str:
        return f"ElementRule({self.id!r} of {self.profile.url})"

    @property
    def label(self) -> str:
        """How messages name the element: its path, with the slice name when it is a slice."""
        return f"{self.path} (slice '{self.slice_name}')" if self.slice_name else self.path

    def checks_for(self, type_code: str) -> tuple[ProfileCheck, ...]:
        typed = self.typed_checks.get(type_code)
        return self.checks + typed if typed else self.checks


@dataclass(frozen=True, slots=True)
class TreeContext:
    """What compiling a tree needs to read."""

    types: TypeModel
    terminology: Terminology
    invariants: InvariantCompiler
    source_label: Callable[[str | None], str]
    """The name of the definition a constraint comes from (its ``source`` URL)."""
    reference_check: Callable[[ElementRule, TypeRule], ProfileCheck | None]
    """Makes the target-profile check of a Reference type (needs the engine, so it is injected)."""


def build_tree(elements: Iterable[dict], info: ProfileInfo, context: TreeContext) -> dict[str, ElementRule]:
    """Compile snapshot elements (each with an ``id``) into their tree: every rule by element id, the
    root first."""
    rules: dict[str, ElementRule] = {}
    root: ElementRule | None = None
    for raw in elements:
        rule = _rule(raw, info, context)
        rules[raw["id"]] = rule
        if root is None:
            root = rule
            continue
        _attach(rule, raw["id"], rules)
    if root is None:
        raise ValueError(f"{info.url} has no elements")
    return rules


def _attach(rule: ElementRule, element_id: str, rules: dict[str, ElementRule]) -> None:
    """Hang a rule under its parent (a child) or its sliced element (a slice)."""
    segments = split_id(element_id)
    parent_id = ".".join(segments[:-1])
    name, _, slice_name = segments[-1].partition(":")
    if slice_name:
        sliced_id = f"{parent_id}.{name}"
        if "/" in slice_name:  # a reslice ``a/b`` belongs to slice ``a``
            sliced_id += ":" + slice_name.rsplit("/", 1)[0]
        sliced = rules.get(sliced_id)
        if sliced is not None:
            sliced.slices.append(rule)
        return
    parent = rules.get(parent_id)
    if parent is not None:
        parent.children[rule.name] = rule


def _rule(raw: dict, info: ProfileInfo, context: TreeContext) -> ElementRule:
    path: str = raw.get("path", "")
    last = path.rsplit(".", 1)[-1]
    choice = last.endswith("[x]")
    base = raw.get("base") or {}
    base_path = base.get("path") or path
    base_def = base_element(context.types, base_path)
    type_rules = _type_rules(raw.get("type") or [])
    base_types = _base_types(base_def, type_rules)
    maximum = _max(raw.get("max"))
    base_min = int(base["min"]) if "min" in base else (base_def.min if base_def else 0)
    base_max = _max(base["max"]) if "max" in base else (base_def.max if base_def else None)
    rule = ElementRule(
        id=raw["id"], path=path, name=last[:-3] if choice else last, choice=choice,
        min=int(raw.get("min", 0)), max=maximum, base_path=base_path, profile=info,
        slice_name=raw.get("sliceName"), types=type_rules, base_types=base_types,
        slicing=raw.get("slicing"), content_reference=_content_reference(raw),
        is_modifier=bool(raw.get("isModifier")),
    )
    rule.check_min = rule.min > base_min
    rule.check_max = maximum is not None and (base_max is None or maximum < base_max)
    if type_rules and set(type_rules) < set(base_types):
        rule.allowed_types = frozenset(type_rules)
    rule.checks = tuple(_value_checks(raw, info))
    for key, value in raw.items():
        if key.startswith("fixed"):
            rule.fixed = value
        elif key.startswith("pattern"):
            rule.pattern = value
    binding = raw.get("binding") or {}
    rule.binding = (binding.get("strength"), binding.get("valueSet"))
    rule.typed_checks = _typed_checks(raw, rule, base_def, context)
    rule.invariants = tuple(i for i in (context.invariants.compile(c, context.source_label(c.get("source")))
                                        for c in raw.get("constraint") or []) if i is not None)
    return rule


def base_element(types: TypeModel, base_path: str) -> ElementDef | None:
    """The base specification's definition of an element, by its ``base.path`` (``Encounter.type``)."""
    scope, _, name = base_path.rpartition(".")
    if not scope:
        return None
    name = name.removesuffix("[x]")
    for element in types.children.get(scope, ()):
        if element.name == name:
            return element
    return None


def type_code(entry: dict) -> str:
    """A type entry's FHIR type code; R4 writes some primitives as FHIRPath system types."""
    code = entry.get("code", "")
    if code.startswith(_SYSTEM_PREFIX):
        for extension in entry.get("extension", []):
            if extension.get("url") == _FHIR_TYPE_EXTENSION:
                return extension.get("valueUrl") or extension.get("valueUri") or code
    return code


def _type_rules(entries: list[dict]) -> dict[str, TypeRule]:
    rules: dict[str, TypeRule] = {}
    for entry in entries:
        code = type_code(entry)
        if not code:
            continue
        previous = rules.get(code)
        profiles = tuple(entry.get("profile", [])) + (previous.profiles if previous else ())
        targets = tuple(entry.get("targetProfile", [])) + (previous.target_profiles if previous else ())
        rules[code] = TypeRule(code, profiles, targets)
    return rules


def _base_types(base_def: ElementDef | None, type_rules: dict[str, TypeRule]) -> tuple[str, ...]:
    if base_def is None or not base_def.types:
        return tuple(type_rules)
    return base_def.types


def _max(value: Any) -> int | None:
    if value is None or value == "*":
        return None
    return int(value)


def _content_reference(raw: dict) -> str | None:
    reference = raw.get("contentReference")
    return reference.split("#", 1)[1] if isinstance(reference, str) and "#" in reference else None


def _value_checks(raw: dict, info: ProfileInfo) -> Iterable[ProfileCheck]:
    for key, value in raw.items():
        if key.startswith("fixed"):
            yield FixedValue(value, info.label)
        elif key.startswith("pattern"):
            yield PatternValue(value, info.label)
        elif key.startswith("minValue"):
            yield ValueBound(value, True, info.label)
        elif key.startswith("maxValue"):
            yield ValueBound(value, False, info.label)
    if isinstance(raw.get("maxLength"), int):
        yield MaxLength(raw["maxLength"], info.label)


def _typed_checks(raw: dict, rule: ElementRule, base_def: ElementDef | None,
                  context: TreeContext) -> dict[str, tuple[ProfileCheck, ...]]:
    """Per type code: the profile's binding (when it differs from the base's) and reference targets."""
    binding = raw.get("binding") or {}
    strength, value_set = binding.get("strength"), binding.get("valueSet")
    same_binding = base_def is not None and (base_def.binding_strength, _plain(base_def.binding_value_set)) == \
        (strength, _plain(value_set))
    base_targets = frozenset(base_def.target_profiles) if base_def else frozenset()
    checks: dict[str, tuple[ProfileCheck, ...]] = {}
    for code, type_rule in rule.types.items():
        found: list[ProfileCheck] = []
        if not same_binding:
            check = profile_binding_check(strength, value_set, code, context.terminology)
            if check is not None:
                found.append(check)
        if type_rule.target_profiles and frozenset(type_rule.target_profiles) != base_targets:
            check = context.reference_check(rule, type_rule)
            if check is not None:
                found.append(check)
        if found:
            checks[code] = tuple(found)
    return checks


def _plain(url: str | None) -> str | None:
    return url.split("|", 1)[0] if url else url
