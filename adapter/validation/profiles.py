"""The profile layer: a resource checked against every profile it declares or the caller names.

For each profile, the instance is walked along the profile's compiled snapshot
(:mod:`~adapter.validation.profile_tree`), which already carries every constraint of the
``baseDefinition`` chain. At each element: cardinality where the profile is stricter than the base,
allowed types, value checks, invariants, slicing (:mod:`~adapter.validation.slicing`), the profiles of
its type (an ``Extension`` slice's extension definition, ``SimpleQuantity``...), then its children.
Where the profile says nothing below an element, the walk continues with the base definition of the
element's datatype, so its invariants (``per-1`` on a Period, ``ref-1`` on a Reference) apply too;
datatypes whose definitions hold nothing to check are skipped without looking at the data.

Nested resources (contained, Bundle entries, Parameters) are checked against their own ``meta.profile``
with a :class:`~adapter.validation.resolution.Scope` that resolves their references (the Bundle is
indexed once per call). Extensions are checked by URL against their own definitions wherever they appear
(the base layer calls :meth:`ProfileEngine.check_extension` for every ``extension`` value).

A profile the packages do not hold is an error (issue 4: "a ``meta.profile`` the server does not know is
an error, not a pass"); a profile a profile refers to (a type or target profile from a package we do not
have) is reported as information, so a missing dependency never produces a false error.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from adapter.conformance.structure import TypeModel
from adapter.errors import Issue
from adapter.validation.fhirpath_functions import function_table
from adapter.validation.invariants import InvariantCompiler, outcome_of, report
from adapter.validation.profile_tree import (
    INLINE_TYPES,
    ElementRule,
    ProfileCheck,
    ProfileInfo,
    TreeContext,
    TypeRule,
    build_tree,
)
from adapter.validation.resolution import NestedResources, Scope, Session
from adapter.validation.slicing import Item, Slicer
from adapter.validation.snapshots import SnapshotError, Snapshots
from adapter.validation.targets import target_check

if TYPE_CHECKING:
    from adapter.conformance.definitions import Definitions
    from adapter.validation.terminology import Terminology

_CORE_PREFIX = "http://hl7.org/fhir/StructureDefinition/"
#: The datatype of extensions: its values are checked by URL (:meth:`ProfileEngine.check_extension`).
EXTENSION_TYPE = "Extension"
_EXTENSION_ELEMENTS = frozenset({"extension", "modifierExtension"})


class ProfileEngine:
    """Compiles profiles on first use and checks instances against them; one per validator."""

    def __init__(self, definitions: Definitions, terminology: Terminology, snapshots: Snapshots | None = None,
                 invariants: InvariantCompiler | None = None) -> None:
        self.types: TypeModel = definitions.types
        self.terminology = terminology
        self._definitions = definitions
        self._snapshots = snapshots or Snapshots(definitions)
        self._context = TreeContext(self.types, terminology, invariants or InvariantCompiler(self.types),
                                    self._source_label, self._reference_check)
        self._trees: dict[str, dict[str, ElementRule] | str] = {}
        self._labels: dict[str, str] = {}
        self._slicers: dict[int, Slicer] = {}
        self._nested = NestedResources(self.types)
        self._lock = threading.RLock()
        self._local = threading.local()

    # --- definitions ----------------------------------------------------------------------------------------

    def tree(self, url: str) -> ElementRule | None:
        """The compiled root rule of a profile or type, or None when it cannot be had."""
        rules = self._rules(url)
        return next(iter(rules.values())) if isinstance(rules, dict) else None

    def _rules(self, url: str) -> dict[str, ElementRule] | str:
        """Every rule of a compiled profile by element id, or why there is none."""
        key = url.split("|", 1)[0]
        found = self._trees.get(key)
        if found is None:
            with self._lock:
                found = self._trees.get(key)
                if found is None:
                    found = self._trees[key] = self._compile(url)
        return found

    def _compile(self, url: str) -> dict[str, ElementRule] | str:
        structure = self._snapshots.structure(url)
        if structure is None:
            return "no StructureDefinition with this URL is loaded (a package that defines it is missing?)"
        try:
            elements = self._snapshots.elements(url)
        except SnapshotError as exc:
            return f"its snapshot cannot be built: {exc}"
        return build_tree(elements, ProfileInfo(url.split("|", 1)[0], self.profile_label(url)), self._context)

    def structure_type(self, url: str) -> str | None:
        """The type a StructureDefinition constrains (``Patient``), or None when it is not loaded."""
        structure = self._snapshots.structure(url)
        return structure.get("type") if structure else None

    def profile_label(self, url: str) -> str:
        """How messages name a profile: ``profile 'US Core Patient Profile'``, or the datatype for a base type."""
        label = self._labels.get(url)
        if label is None:
            structure = self._snapshots.structure(url) or {}
            name = structure.get("title") or structure.get("name") or url
            label = self._labels[url] = f"profile '{name}'" if structure.get("derivation") == "constraint" \
                else f"the {name} definition"
        return label

    def _source_label(self, url: str | None) -> str:
        if not url:
            return "the profile"
        return self.profile_label(url)

    def _reference_check(self, rule: ElementRule, type_rule: TypeRule) -> ProfileCheck | None:
        if type_rule.code != "Reference":
            return None
        return target_check(type_rule.target_profiles, rule.profile.label, self)

    # --- entry points ---------------------------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One validation call: the base layer's extension checks and the profile pass share its memos.

        The session is kept per thread, so a validator shared by threads keeps their calls apart.
        """
        session = Session()
        previous = getattr(self._local, "session", None)
        self._local.session = session
        try:
            yield session
        finally:
            self._local.session = previous

    def validate(self, resource: dict, profiles: tuple[str, ...], issues: list[Issue],
                 session: Session | None = None) -> None:
        """The profile pass of one validation call, after the base layer.

        Every nested resource gets its scope; the extensions the base layer found are checked in the
        scope of the resource that holds them; then each resource is checked against its profiles.
        """
        resource_type = resource.get("resourceType")
        if type(resource_type) is not str:
            return
        session = session or Session()
        root = Scope(resource, session)
        scopes = {resource_type: root}
        self._scopes(resource, root, resource_type, scopes)
        for value, expression, modifier, found in session.extensions:
            self._extension(value, expression, modifier, _scope_at(expression, scopes, root), found)
        session.extensions.clear()
        self.validate_resource(resource, root, resource_type, profiles, issues)
        for where, scope in scopes.items():
            if scope is not root and _declared_profiles(scope.resource):
                self.validate_resource(scope.resource, scope, where, (), issues)

    def _scopes(self, resource: dict, scope: Scope, expression: str, scopes: dict[str, Scope]) -> None:
        """The scope of every resource nested in ``resource``, by its expression."""
        for nested, where, key, parent in self._nested.find(resource, expression):
            if type(nested.get("resourceType")) is not str:
                continue
            nested_scope = scopes[where] = scope.nested(nested, key, parent)
            self._scopes(nested, nested_scope, where, scopes)

    def validate_resource(self, resource: dict, scope: Scope, expression: str, profiles: tuple[str, ...],
                          issues: list[Issue]) -> None:
        """One resource against each profile in its ``meta.profile`` and in ``profiles``."""
        declared = _declared_profiles(resource)
        for index, url in declared:
            self._apply(url, resource, scope, expression, f"{expression}.meta.profile[{index}]", issues)
        named = {url for _, url in declared}
        for url in profiles:
            if url not in named:
                self._apply(url, resource, scope, expression, expression, issues)

    def _apply(self, url: str, resource: dict, scope: Scope, expression: str, where: str,
               issues: list[Issue]) -> None:
        rules = self._rules(url)
        if isinstance(rules, str):
            issues.append(Issue("error", "not-found", f"{where}: the profile {url} cannot be checked: {rules}. "
                                "A resource that claims a profile must be checked against it, so it is "
                                "rejected", where, "profile-unknown"))
            return
        root = next(iter(rules.values()))
        if root.path != resource.get("resourceType"):
            issues.append(Issue("error", "invalid", f"{where}: {root.profile.label} ({url}) is a profile for "
                                f"{root.path}, not for {resource.get('resourceType')}", where, "profile-type"))
            return
        self.check(root, Item(resource, None, root.path, expression), scope, issues)

    def conforms(self, value: Any, profile: str, scope: Scope) -> bool | None:
        """Whether a value (a resource or a datatype) conforms to a profile; None when it is not known.

        Memoized per call (value identity and profile), and optimistic while being computed, so that
        resources referring to each other cannot recurse forever.
        """
        if type(value) is not dict:
            return None
        key = (id(value), profile.split("|", 1)[0])
        memo = scope.session.conformance
        if key in memo:
            return memo[key]
        root = self.tree(profile)
        if root is None:
            return None
        memo[key] = True
        found: list[Issue] = []
        if isinstance(value.get("resourceType"), str):
            if value["resourceType"] != root.path:
                memo[key] = False
                return False
            target_scope = Scope(value, scope.session, None, scope.bundle, None)
            self.check(root, Item(value, None, root.path, value["resourceType"]), target_scope, found)
        else:
            self.check(root, Item(value, None, root.path, root.path), scope, found)
        result = memo[key] = not any(issue.is_error for issue in found)
        return result

    def check_extension(self, value: Any, expression: str, modifier: bool, issues: list[Issue]) -> None:
        """An extension against the definition its ``url`` names (unknown: warning; unknown modifier: error).

        Within a validation call (:meth:`session`) the check waits for the profile pass, which knows the
        resource holding the extension (for ``%resource`` and resolving its references); alone, it runs
        at once with the extension as its own scope.
        """
        session: Session | None = getattr(self._local, "session", None)
        if session is not None:
            session.extensions.append((value, expression, modifier, issues))
        else:
            self._extension(value, expression, modifier, Scope({}, Session()), issues)

    def _extension(self, value: Any, expression: str, modifier: bool, scope: Scope, issues: list[Issue]) -> None:
        if type(value) is not dict:
            return
        url = value.get("url")
        if type(url) is not str:
            return
        root = self.tree(url)
        if root is None or root.path != EXTENSION_TYPE:
            self._unknown_extension(url, expression, modifier, issues)
            root = self.tree(_CORE_PREFIX + EXTENSION_TYPE)  # its base constraints (ext-1) still apply
            if root is None:
                return
        elif root.is_modifier != modifier:
            where = "modifierExtension" if modifier else "extension"
            issues.append(Issue("error", "structure", f"{expression}: the extension {url} is "
                                f"{'a modifier' if root.is_modifier else 'not a modifier'} extension, so it "
                                f"cannot be used as {where}", expression, "extension-modifier"))
        self.check(root, Item(value, None, EXTENSION_TYPE, expression), scope, issues)

    def _unknown_extension(self, url: str, expression: str, modifier: bool, issues: list[Issue]) -> None:
        if modifier:
            issues.append(Issue("error", "extension", f"{expression}: unknown modifier extension {url}: no "
                                "definition with this URL is loaded. A modifier extension changes the meaning "
                                "of the data, so one the server does not understand cannot be accepted",
                                expression, "extension-unknown"))
        else:
            issues.append(Issue("warning", "extension", f"{expression}: unknown extension {url}: no definition "
                                "with this URL is loaded, so its content was not checked", expression,
                                "extension-unknown"))

    # --- the walk -------------------------------------------------------------------------------------------

    def check(self, rule: ElementRule, item: Item, scope: Scope, issues: list[Issue], descend: bool = True) -> None:
        """One value against one element rule: type, value checks, invariants, type profiles, children
        (unless ``descend`` is false: the caller checks them otherwise)."""
        if rule.allowed_types is not None and item.type_code not in rule.allowed_types:
            allowed = ", ".join(sorted(rule.allowed_types))
            issues.append(Issue("error", "structure", f"{item.expression}: a {item.type_code} is not allowed "
                                f"here; {rule.profile.label} allows only {allowed} for {rule.path}",
                                item.expression, "type"))
            return
        value = item.value
        if value is not None:
            for value_check in rule.checks_for(item.type_code):
                value_check(value, item.expression, scope, issues)
        if rule.invariants:
            self._invariants(rule, item, scope, issues)
        type_rule = rule.types.get(item.type_code)
        if type_rule is not None and type_rule.profiles:
            self._type_profiles(rule, type_rule, item, scope, issues)
        if not descend:
            return
        if type(value) is dict:
            self._descend(rule, item, scope, issues)
        elif type(item.companion) is dict and rule.children:
            self._object(rule, item.companion, item.expression, scope, issues)

    def _descend(self, rule: ElementRule, item: Item, scope: Scope, issues: list[Issue]) -> None:
        """The children of a complex value: the rule's own, a content reference's, or the datatype's."""
        if rule.children:
            self._object(rule, item.value, item.expression, scope, issues)
            return
        if rule.content_reference:
            target = self._content_target(rule)
            if target is not None and self._active(target):
                self._object(target, item.value, item.expression, scope, issues)
            return
        base = self._datatype_root(item.type_code, rule)
        if base is not None:
            self.check(base, item, scope, issues)

    def _datatype_root(self, type_code: str, rule: ElementRule) -> ElementRule | None:
        """The base definition of a value's datatype, when it has something to check and the rule's type
        profiles do not cover it already."""
        type_rule = rule.types.get(type_code)
        if type_code == EXTENSION_TYPE or (type_rule is not None and type_rule.profiles):
            return None
        type_def = self.types.types.get(type_code)
        if type_def is None or type_def.kind != "complex-type" or rule.path == type_code:
            return None
        root = self.tree(_CORE_PREFIX + type_code)
        return root if root is not None and self._active(root) else None

    def _object(self, rule: ElementRule, obj: dict, path: str, scope: Scope, issues: list[Issue]) -> None:
        """Each property of an object against the rule's children, then the children it lacks."""
        keys = rule.json_keys if rule.json_keys is not None else self._json_keys(rule)
        done: set[int] = set()
        for key in obj:
            child = keys.get(key)
            if child is None or id(child) in done:
                continue
            done.add(id(child))
            if self._active(child):
                self._element(child, self._items(child, obj, path), path, scope, issues)
        for child in rule.required or ():
            if id(child) not in done:
                self._missing(child, path, issues)

    def _element(self, rule: ElementRule, items: list[Item], path: str, scope: Scope,
                 issues: list[Issue]) -> None:
        """All values of one element: cardinality, slicing, then each value."""
        if rule.check_min and len(items) < rule.min:
            self._missing(rule, path, issues, len(items))
        if rule.check_max and rule.max is not None and len(items) > rule.max:
            where = f"{path}.{rule.name}"
            issues.append(Issue("error", "structure", f"{where}: {len(items)} values, but {rule.profile.label} "
                                f"allows at most {rule.max} for {rule.label}", where, "cardinality"))
        slices: list[ElementRule | None] | None = None
        slicer = self._slicer(rule)
        if slicer is not None and items and not self._wrong_types(rule, items):
            slices = slicer.assign(items, scope, issues)
        for index, item in enumerate(items):
            self.check(rule, item, scope, issues)
            if slices is not None and slices[index] is not None:
                self.check(slices[index], item, scope, issues)

    @staticmethod
    def _wrong_types(rule: ElementRule, items: list[Item]) -> bool:
        """Values of a type the rule does not allow: reported as such, and not sliced (a Period in an
        ``effective[x]`` sliced by type would otherwise also break every slice)."""
        allowed = rule.allowed_types
        return allowed is not None and any(item.type_code not in allowed for item in items)

    def _missing(self, rule: ElementRule, path: str, issues: list[Issue], found: int = 0) -> None:
        """A required element (or required slices) absent or too few."""
        if rule.check_min and found < rule.min:
            where = f"{path}.{rule.name}"
            issues.append(Issue("error", "required", f"{where}: {rule.profile.label} requires at least "
                                f"{rule.min} value{'s' if rule.min > 1 else ''} for {rule.label}, but found "
                                f"{found}", where, "cardinality"))
        if found == 0:
            slicer = self._slicer(rule)
            if slicer is not None:
                slicer.check_missing(path, issues)

    def _items(self, rule: ElementRule, obj: dict, path: str) -> list[Item]:
        """The values of one element in an object, with their types and expressions (``[i]`` on arrays)."""
        items: list[Item] = []
        spellings = rule.spellings or ()
        if rule.choice:  # a choice has many spellings; the object has few keys
            spelled = rule.spelling_map or {}
            spellings = tuple(spelled[key] for key in dict.fromkeys(k.lstrip("_") for k in obj) if key in spelled)
        for key, type_code, primitive in spellings:
            value = obj.get(key)
            companion = obj.get("_" + key) if primitive else None
            if value is None and companion is None:
                continue
            name = f"{rule.name}.ofType({type_code})" if rule.choice else rule.name
            if type(value) is list or type(companion) is list:
                self._array_items(value, companion, type_code, f"{path}.{name}", items)
            else:
                items.append(Item(value, companion, TypeModel.nested_type(value, type_code), f"{path}.{name}"))
        return items

    @staticmethod
    def _array_items(value: Any, companion: Any, type_code: str, expression: str, items: list[Item]) -> None:
        values = value if type(value) is list else []
        companions = companion if type(companion) is list else []
        for index in range(max(len(values), len(companions))):
            item_value = values[index] if index < len(values) else None
            item_companion = companions[index] if index < len(companions) else None
            if item_value is not None or item_companion is not None:
                items.append(Item(item_value, item_companion, TypeModel.nested_type(item_value, type_code),
                                  f"{expression}[{index}]"))

    def _invariants(self, rule: ElementRule, item: Item, scope: Scope, issues: list[Issue]) -> None:
        type_path = rule.base_path if item.type_code in INLINE_TYPES else item.type_code
        memo = scope.session.invariants
        target = id(item.value if item.value is not None else item.companion)
        for invariant in rule.invariants:
            key = (target, invariant.expression, item.expression)
            outcome = memo.get(key)
            if outcome is None:
                outcome = memo[key] = outcome_of(invariant, item.value, item.companion, type_path, scope,
                                                 self._functions)
            report(invariant, outcome, item.expression, issues)

    def _functions(self, scope: Scope) -> dict[str, dict]:
        """The FHIRPath function table of a scope, built the first time fhirpathpy needs it."""
        functions = scope.fhirpath_functions
        if functions is None:
            functions = scope.fhirpath_functions = function_table(scope, self.terminology, self)
        return functions

    def _type_profiles(self, rule: ElementRule, type_rule: TypeRule, item: Item, scope: Scope,
                       issues: list[Issue]) -> None:
        """The value conforms to (at least one of) the profiles its type names."""
        value = item.value
        if type(value) is not dict:
            return
        if item.type_code == EXTENSION_TYPE and value.get("url") in type_rule.profiles:
            return  # checked by URL wherever an extension appears (check_extension)
        candidates: list[tuple[str, list[Issue]]] = []
        for url in type_rule.profiles:
            root = self.tree(url)
            if root is None:
                issues.append(Issue("information", "informational", f"{item.expression}: {rule.profile.label} "
                                    f"requires {url} here, which is not loaded; not checked", item.expression,
                                    "profile-unknown"))
                return
            found: list[Issue] = []
            target_scope = scope
            if isinstance(value.get("resourceType"), str):
                target_scope = Scope(value, scope.session, None, scope.bundle, None)
            # Children a snapshot lists under this element were copied from the type profile with its
            # constraints (profiling.html#snapshot); only the profile's root is left to check here.
            self.check(root, Item(value, item.companion, item.type_code, item.expression), target_scope, found,
                       descend=not rule.children)
            if not any(issue.is_error for issue in found):
                issues.extend(found)
                return
            candidates.append((url, found))
        if len(candidates) > 1:
            names = ", ".join(self.profile_label(url) for url, _ in candidates)
            issues.append(Issue("error", "structure", f"{item.expression}: conforms to none of {names}, which "
                                f"{rule.profile.label} allows here", item.expression, "type-profile"))
        if candidates:
            issues.extend(candidates[0][1])

    # --- compiled on first use --------------------------------------------------------------------------------

    def _json_keys(self, rule: ElementRule) -> dict[str, ElementRule]:
        """Every JSON property name of the rule's children, and which children are required."""
        keys: dict[str, ElementRule] = {}
        required: list[ElementRule] = []
        for child in rule.children.values():
            spellings = self._spellings(child)
            for key, _, primitive in spellings:
                keys[key] = child
                if primitive:
                    keys["_" + key] = child
            if child.check_min or any(s.min > 0 for s in child.slices):
                required.append(child)
        rule.required = tuple(required)
        rule.json_keys = keys
        return keys

    def _spellings(self, rule: ElementRule) -> tuple[tuple[str, str, bool], ...]:
        if rule.spellings is None:
            codes = list(dict.fromkeys([*rule.base_types, *rule.types])) if rule.choice else \
                [next(iter(rule.types), None) or (rule.base_types[0] if rule.base_types else "BackboneElement")]
            rule.spellings = tuple(
                (rule.name + code[0].upper() + code[1:] if rule.choice else rule.name, code, self._primitive(code))
                for code in codes if code)
            rule.spelling_map = {spelling[0]: spelling for spelling in rule.spellings}
        return rule.spellings

    def _primitive(self, type_code: str) -> bool:
        return self.types.is_primitive(type_code) or type_code.startswith("http://hl7.org/fhirpath/System.")

    def _slicer(self, rule: ElementRule) -> Slicer | None:
        if rule.slicing is None and not rule.slices:
            return None
        slicer = rule.slicer
        if slicer is None:
            slicer = rule.slicer = Slicer(rule, self)
        return None if slicer.trivial else slicer

    def _content_target(self, rule: ElementRule) -> ElementRule | None:
        """The rule a ``contentReference`` points to: in the same profile, else in the base resource."""
        target_id = rule.content_reference or ""
        for url in (rule.profile.url, _CORE_PREFIX + target_id.split(".", 1)[0]):
            rules = self._rules(url)
            if isinstance(rules, dict) and target_id in rules:
                return rules[target_id]
        return None

    def _active(self, rule: ElementRule, seen: frozenset[int] = frozenset()) -> bool:
        """Whether values of this rule have anything to check (computed once per rule)."""
        if rule.active is not None:
            return rule.active
        if id(rule) in seen:
            return True
        seen = seen | {id(rule)}
        self._spellings(rule)
        active = bool(
            rule.allowed_types is not None or rule.checks or rule.typed_checks or rule.invariants
            or rule.check_min or rule.check_max or rule.slices or self._slicer(rule) is not None
            or any(t.profiles for t in rule.types.values())
            or any(self._active(child, seen) for child in rule.children.values())
            or (rule.content_reference and self._content_active(rule, seen))
            or (not rule.children and any(self._datatype_active(code, rule, seen)
                                          for _, code, _ in rule.spellings or ()))
        )
        rule.active = active
        return active

    def _content_active(self, rule: ElementRule, seen: frozenset[int]) -> bool:
        target = self._content_target(rule)
        return target is not None and self._active(target, seen)

    def _datatype_active(self, type_code: str, rule: ElementRule, seen: frozenset[int]) -> bool:
        type_def = self.types.types.get(type_code)
        if type_code == EXTENSION_TYPE or type_def is None or type_def.kind != "complex-type" \
                or rule.path == type_code:
            return False
        root = self.tree(_CORE_PREFIX + type_code)
        return root is not None and self._active(root, seen)


def _scope_at(expression: str, scopes: dict[str, Scope], default: Scope) -> Scope:
    """The scope of the resource an expression lies in: the longest resource expression it starts with."""
    cut = len(expression)
    while cut > 0:
        cut = expression.rfind(".", 0, cut)
        if cut <= 0:
            break
        found = scopes.get(expression[:cut])
        if found is not None:
            return found
    return default


def _declared_profiles(resource: dict) -> list[tuple[int, str]]:
    """The ``meta.profile`` URLs of a resource with their positions."""
    meta = resource.get("meta")
    profiles = meta.get("profile") if type(meta) is dict else None
    if type(profiles) is not list:
        return []
    return [(index, url) for index, url in enumerate(profiles) if type(url) is str]


def extension_check_builder(engine: ProfileEngine) -> Any:
    """A base-layer check builder: every ``extension``/``modifierExtension`` value checked by URL.

    A nested extension of a complex extension (``Extension.extension``) with a relative URL
    (``ombCategory``) is part of its parent's definition and checked with it, not looked up by URL.
    """

    def build(element: Any, type_code: str, context: Any) -> Any:
        if type_code != EXTENSION_TYPE or element.name not in _EXTENSION_ELEMENTS:
            return None
        modifier = element.name == "modifierExtension"
        nested = element.path == f"{EXTENSION_TYPE}.extension"

        def check(value: Any, expression: str, issues: list[Issue]) -> None:
            if nested and type(value) is dict and ":" not in str(value.get("url", "")):
                return
            engine.check_extension(value, expression, modifier, issues)

        return check

    return build
