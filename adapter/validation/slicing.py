"""Slicing: which slice each repeating value belongs to, and the rules of the slicing.

A sliced element (profiling.html#slicing) names discriminators, each a ``type`` and a ``path``
relative to the element; a value belongs to a slice when, for every discriminator, the value found at
the path agrees with what the slice's definition says at the same path:

- ``value``/``pattern``: equals the ``fixed[x]`` (exactly) or contains the ``pattern[x]`` there (or is
  in the required ValueSet bound there, as the HL7 validator also accepts);
- ``type``: has one of the types allowed there;
- ``profile``: conforms to a profile given there;
- ``exists``: is present (``min`` 1) or absent (``max`` 0) as the definition says.

Paths may use ``$this``, element names (a choice by its name: ``value``), ``resolve()``,
``extension('url')`` and ``ofType(Type)``. Then the slicing rules apply: ``closed`` (every value must be
in a slice), ``openAtEnd`` (values in no slice come last), ``ordered`` (values come in the order of the
slices), and each slice's own ``min``/``max``. Messages say what a slice expects, e.g.
``slice 'medicaidId' requires at least 1 item with system = "https://..." but found 0``.

Compiled once per sliced element; matching a value is a few dict lookups (a ``profile`` discriminator
validates, memoized per value and profile for one call).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from adapter.conformance.structure import TypeModel
from adapter.errors import Issue
from adapter.validation.profile_tree import MISSING, ElementRule
from adapter.validation.values import describe, matches_pattern, same_value

if TYPE_CHECKING:
    from adapter.validation.resolution import Scope
    from adapter.validation.terminology import Terminology

#: One step of a discriminator path: (kind, argument).
Step = tuple[str, str | None]
#: A value found at a path, with its type code when the JSON says it (choices, resources).
Found = tuple[Any, str | None]

_STEP = re.compile(r"\s*(\$this|resolve\(\)|extension\('([^']*)'\)|ofType\(([\w.]+)\)|[A-Za-z_][\w]*(\[x\])?)\s*")


class SliceEngine(Protocol):
    """What slicing needs from the profile engine."""

    types: TypeModel
    terminology: Terminology

    def tree(self, url: str) -> ElementRule | None: ...

    def conforms(self, value: Any, profile: str, scope: Scope) -> bool | None: ...

    def structure_type(self, url: str) -> str | None: ...

    def profile_label(self, url: str) -> str: ...


@dataclass(frozen=True, slots=True)
class Item:
    """One value of an element in the instance."""

    value: Any
    """The JSON value; None for a primitive that has only its ``_x`` object."""
    companion: Any
    type_code: str
    expression: str


# --- paths ----------------------------------------------------------------------------------------------------


def parse_path(path: str) -> tuple[Step, ...] | None:
    """The steps of a discriminator path, or None when it uses something we do not support."""
    steps: list[Step] = []
    position = 0
    text = path.strip()
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            return None
        token = match.group(1)
        if token == "$this":
            steps.append(("this", None))
        elif token == "resolve()":
            steps.append(("resolve", None))
        elif match.group(2) is not None:
            steps.append(("extension", match.group(2)))
        elif match.group(3) is not None:
            steps.append(("ofType", match.group(3)))
        else:
            steps.append(("name", token.removesuffix("[x]")))
        position = match.end()
        if position < len(text):
            if text[position] != ".":
                return None
            position += 1
    return tuple(steps)


def values_at(item: Item, steps: tuple[Step, ...], scope: Scope, engine: SliceEngine) -> list[Found]:
    """What a discriminator path selects in one value of the instance."""
    current: list[Found] = [(item.value if item.value is not None else item.companion, item.type_code)]
    for kind, argument in steps:
        following: list[Found] = []
        for value, type_code in current:
            following.extend(_step(value, type_code, kind, argument, scope, engine))
        current = following
    return current


def _step(value: Any, type_code: str | None, kind: str, argument: str | None, scope: Scope,
          engine: SliceEngine) -> list[Found]:
    if kind == "this":
        return [(value, type_code)]
    if kind == "ofType":
        return [(value, type_code)] if type_code == argument else []
    if type(value) is not dict:
        return []
    if kind == "resolve":
        reference = value.get("reference")
        target = scope.resolve(reference) if type(reference) is str else None
        return [(target, target.get("resourceType"))] if target is not None else []
    if kind == "extension":
        extensions = value.get("extension")
        return [(e, "Extension") for e in (extensions if type(extensions) is list else ())
                if type(e) is dict and e.get("url") == argument]
    return _member(value, argument or "", engine.types)


def _member(value: dict, name: str, types: TypeModel) -> list[Found]:
    """A child by name; for a choice (``value``) whichever ``valueX`` is present, with its type."""
    if name in value:
        child = value[name]
        return [(c, None) for c in child] if type(child) is list else [(child, None)]
    for key, child in value.items():
        if key.startswith(name) and key[len(name):][:1].isupper():
            return [(child, json_type(key[len(name):], types))]
    return []


def json_type(suffix: str, types: TypeModel) -> str:
    """The type code a choice suffix spells (``Quantity``, ``String`` -> ``string``)."""
    if suffix in types.types:
        return suffix
    lowered = suffix[0].lower() + suffix[1:]
    return lowered if lowered in types.types else suffix


# --- the definition side --------------------------------------------------------------------------------------


def rule_at(rule: ElementRule, steps: tuple[Step, ...], engine: SliceEngine) -> tuple[ElementRule | None, str | None]:
    """The slice's definition at a discriminator path, and the type an ``ofType`` step selects."""
    current: ElementRule | None = rule
    selected: str | None = None
    for kind, argument in steps:
        if current is None:
            return None, selected
        if kind == "this":
            continue
        if kind == "ofType":
            selected = argument
        elif kind == "name":
            current = _child_rule(current, argument or "", engine)
        elif kind == "resolve":
            targets = [p for t in current.types.values() for p in t.target_profiles]
            current = engine.tree(targets[0]) if len(targets) == 1 else None
        else:
            current = _extension_rule(current, argument or "", engine)
    return current, selected


def _extension_rule(rule: ElementRule, url: str, engine: SliceEngine) -> ElementRule | None:
    """``extension('url')``: the extension slice for that URL, else that extension's own definition."""
    extensions = _child_rule(rule, "extension", engine)
    for candidate in extensions.slices if extensions is not None else ():
        profiles = [p for t in candidate.types.values() for p in t.profiles]
        url_rule = candidate.children.get("url")
        if url in profiles or (url_rule is not None and url_rule.fixed == url):
            return candidate
    return engine.tree(url)


def _child_rule(rule: ElementRule, name: str, engine: SliceEngine) -> ElementRule | None:
    """A child of a rule, looking into the type's profile (an extension's ``url``) when not expanded."""
    child = rule.children.get(name)
    if child is not None:
        return child
    profiles = [p for t in rule.types.values() for p in t.profiles]
    if len(profiles) == 1:
        root = engine.tree(profiles[0])
        if root is not None:
            return root.children.get(name)
    return None


# --- slices -------------------------------------------------------------------------------------------------------

#: Tests one instance value for one discriminator of one slice.
Test = Callable[[Item, "Scope"], bool]


@dataclass(frozen=True, slots=True)
class SliceMatcher:
    """One slice: its rule, its discriminator tests, and what it expects in words."""

    rule: ElementRule
    tests: tuple[Test, ...]
    expects: str

    def matches(self, item: Item, scope: Scope) -> bool:
        return all(test(item, scope) for test in self.tests)


class Slicer:
    """The compiled slicing of one element."""

    def __init__(self, rule: ElementRule, engine: SliceEngine) -> None:
        slicing = rule.slicing or {}
        self.rule = rule
        self.rules: str = slicing.get("rules", "open")
        self.ordered: bool = bool(slicing.get("ordered"))
        discriminators = [(d.get("type", "value"), d.get("path", "$this")) for d in slicing.get("discriminator", [])]
        if not discriminators and rule.name in ("extension", "modifierExtension"):
            discriminators = [("value", "url")]  # extensions are always sliced by url (profiling.html#slicing)
        self.matchers = tuple(_matcher(s, discriminators, engine) for s in rule.slices)

    @property
    def trivial(self) -> bool:
        """Nothing to do: no slices and values in no slice are allowed anywhere."""
        return not self.matchers and self.rules == "open"

    def assign(self, items: list[Item], scope: Scope, issues: list[Issue]) -> list[ElementRule | None]:
        """The slice of each value (None: in no slice), reporting what breaks the slicing rules."""
        matched = [[index for index, m in enumerate(self.matchers) if m.matches(item, scope)] for item in items]
        assigned = [found[0] if found else None for found in matched]
        self._check_rules(items, assigned, issues)
        self._check_counts(items, matched, assigned, issues)
        return [self.matchers[a].rule if a is not None else None for a in assigned]

    def _check_rules(self, items: list[Item], assigned: list[int | None], issues: list[Issue]) -> None:
        seen_unsliced = False
        highest = -1
        for item, slice_index in zip(items, assigned, strict=True):
            if slice_index is None:
                if self.rules == "closed":
                    issues.append(self._closed(item))
                seen_unsliced = True
                continue
            if self.rules == "openAtEnd" and seen_unsliced:
                issues.append(_issue(item.expression, f"{item.expression}: is in slice "
                                     f"'{self.matchers[slice_index].rule.slice_name}' but comes after a value in "
                                     f"no slice; {self.rule.profile.label} requires values in no slice to come "
                                     "last (openAtEnd)", "slice-order"))
            if self.ordered and slice_index < highest:
                order = ", ".join(f"'{m.rule.slice_name}'" for m in self.matchers)
                issues.append(_issue(item.expression, f"{item.expression}: is in slice "
                                     f"'{self.matchers[slice_index].rule.slice_name}' but comes after a value of "
                                     f"slice '{self.matchers[highest].rule.slice_name}'; "
                                     f"{self.rule.profile.label} requires the slices in the order {order}",
                                     "slice-order"))
            highest = max(highest, slice_index)

    def _closed(self, item: Item) -> Issue:
        allowed = "; ".join(f"'{m.rule.slice_name}' ({m.expects})" for m in self.matchers) or "none"
        return _issue(item.expression, f"{item.expression}: matches none of the slices {self.rule.profile.label} "
                      f"allows here, and the slicing is closed. Allowed slices: {allowed}. Found "
                      f"{describe(item.value)}", "slice-closed")

    def _check_counts(self, items: list[Item], matched: list[list[int]], assigned: list[int | None],
                      issues: list[Issue]) -> None:
        where = _sliced_expression(items, self.rule)
        for index, matcher in enumerate(self.matchers):
            rule = matcher.rule
            found = sum(1 for m in matched if index in m)
            kept = sum(1 for a in assigned if a == index)
            if found < rule.min:
                issues.append(_issue(where, f"{where}: slice '{rule.slice_name}' requires at least {rule.min} "
                                     f"{_items(rule.min)} {matcher.expects}, but found {found} "
                                     f"({rule.profile.label})", "slice-cardinality"))
            if rule.max is not None and kept > rule.max:
                issues.append(_issue(where, f"{where}: slice '{rule.slice_name}' allows at most {rule.max} "
                                     f"{_items(rule.max)} {matcher.expects}, but found {kept} "
                                     f"({rule.profile.label})", "slice-cardinality"))

    def check_missing(self, path: str, issues: list[Issue]) -> None:
        """The sliced element is absent: every slice with ``min > 0`` is missing."""
        where = f"{path}.{self.rule.name}"
        for matcher in self.matchers:
            rule = matcher.rule
            if rule.min > 0:
                issues.append(_issue(where, f"{where}: slice '{rule.slice_name}' requires at least {rule.min} "
                                     f"{_items(rule.min)} {matcher.expects}, but found 0 "
                                     f"({rule.profile.label})", "slice-cardinality"))


def _items(count: int) -> str:
    return "item" if count == 1 else "items"


def _sliced_expression(items: list[Item], rule: ElementRule) -> str:
    """The element's expression without the index of its first value (``Patient.identifier``)."""
    first = items[0].expression
    return first[: first.rindex("[")] if first.endswith("]") else first


def _issue(expression: str, diagnostics: str, rule_id: str) -> Issue:
    return Issue("error", "structure", diagnostics, expression, rule_id)


def _matcher(rule: ElementRule, discriminators: list[tuple[str, str]], engine: SliceEngine) -> SliceMatcher:
    tests: list[Test] = []
    words: list[str] = []
    for kind, path in discriminators:
        made = _test(rule, kind, path, engine)
        if made is not None:
            tests.append(made[0])
            words.append(made[1])
    return SliceMatcher(rule, tuple(tests), " and ".join(words) or "(no discriminator could be evaluated)")


def _test(rule: ElementRule, kind: str, path: str, engine: SliceEngine) -> tuple[Test, str] | None:
    """The test of one discriminator for one slice, and what it expects in words; None if not usable."""
    steps = parse_path(path)
    if steps is None:
        return None
    target, selected = rule_at(rule, steps, engine)
    subject = "" if path.strip() == "$this" else f"with {path} "
    if kind in ("value", "pattern"):
        return _value_test(target, steps, subject, engine)
    if kind == "type":
        codes = _discriminating_types(rule, steps, target, selected, engine)
        if not codes:
            return None
        return (lambda item, scope: any(t in codes for _, t in _typed(item, steps, scope, engine, rule)),
                f"{subject}of type {' or '.join(sorted(codes))}")
    if kind == "profile":
        return _profile_test(rule, steps, subject, engine)
    if kind == "exists" and target is not None and (target.min > 0 or target.max == 0):
        wanted = target.min > 0
        return (lambda item, scope: bool(values_at(item, steps, scope, engine)) == wanted,
                f"{subject}{'present' if wanted else 'absent'}")
    return None


def _discriminating_types(rule: ElementRule, steps: tuple[Step, ...], target: ElementRule | None,
                          selected: str | None, engine: SliceEngine) -> set[str]:
    """The types a ``type`` discriminator expects: an ``ofType`` step's, the resource types of the
    target profiles after ``resolve()``, else the types the slice allows at the path."""
    if selected:
        return {selected}
    if steps and steps[-1][0] == "resolve":
        holder, _ = rule_at(rule, steps[:-1], engine)
        targets = [p for t in holder.types.values() for p in t.target_profiles] if holder is not None else []
        return {t for t in (engine.structure_type(p) for p in targets) if t}
    return set(target.types) if target is not None else set()


def _typed(item: Item, steps: tuple[Step, ...], scope: Scope, engine: SliceEngine,
           rule: ElementRule) -> list[Found]:
    """Values at the path with their types; a value whose JSON does not spell its type has the
    element's single declared type."""
    found = values_at(item, steps, scope, engine)
    return [(v, t if t is not None else _single_type(v, rule)) for v, t in found]


def _single_type(value: Any, rule: ElementRule) -> str | None:
    if type(value) is dict and isinstance(value.get("resourceType"), str):
        return value["resourceType"]
    return next(iter(rule.types)) if len(rule.types) == 1 else None


def _value_test(target: ElementRule | None, steps: tuple[Step, ...], subject: str,
                engine: SliceEngine) -> tuple[Test, str] | None:
    if target is None:
        return None
    if target.fixed is not MISSING:
        fixed = target.fixed
        return (lambda item, scope: any(same_value(v, fixed) for v, _ in values_at(item, steps, scope, engine)),
                f"{subject}= {describe(fixed)}" if subject else f"equal to {describe(fixed)}")
    if target.pattern is not MISSING:
        pattern = target.pattern
        return (lambda item, scope: any(matches_pattern(v, pattern)
                                        for v, _ in values_at(item, steps, scope, engine)),
                f"{subject}matching {describe(pattern)}")
    strength, value_set = target.binding
    if strength == "required" and value_set:
        return _binding_test(value_set, steps, subject, engine)
    return None


def _binding_test(value_set: str, steps: tuple[Step, ...], subject: str,
                  engine: SliceEngine) -> tuple[Test, str]:
    from adapter.validation.bindings import read_codes

    def test(item: Item, scope: Scope) -> bool:
        expansion = engine.terminology.expand(value_set)
        return any(expansion.contains(system, code) is not False
                   for value, _ in values_at(item, steps, scope, engine) for system, code in read_codes(value))

    return test, f"{subject}from ValueSet {value_set}"


def _profile_test(rule: ElementRule, steps: tuple[Step, ...], subject: str,
                  engine: SliceEngine) -> tuple[Test, str] | None:
    """``profile``: the value (or, after ``resolve()``, the resource it names) conforms to a profile
    given at the path: a type profile, or the reference's target profile."""
    resolving = bool(steps) and steps[-1][0] == "resolve"
    holder, _ = rule_at(rule, steps[:-1] if resolving else steps, engine)
    if holder is None:
        return None
    profiles = tuple(p for t in holder.types.values() for p in (t.target_profiles if resolving else t.profiles))
    if not profiles:
        return None

    def test(item: Item, scope: Scope) -> bool:
        return any(engine.conforms(value, profile, scope) is True
                   for value, _ in values_at(item, steps, scope, engine) for profile in profiles)

    names = " or ".join(engine.profile_label(p).removeprefix("profile ") for p in profiles)
    return test, f"{subject}conforming to {names}"
