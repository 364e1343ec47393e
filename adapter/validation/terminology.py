"""ValueSet expansion from the conformance resources we hold, for checking required bindings.

This is a deliberately small, local terminology service: it expands a ValueSet from its ``compose``
(FHIR R4 §4.9.5 "Value Set Content Logical Definition") using only the CodeSystems in the loaded
packages. It never calls out to a terminology server, so it must know where its knowledge ends: a value
set that draws on SNOMED CT, LOINC, UCUM (beyond listed codes) or a filter we cannot evaluate is *open*
for that system, and a code there is "not known" rather than "wrong". The binding check turns "not
known" into at most an ``information`` issue, never an error, so a missing code system can never reject
a valid resource.

Expansions are memoized per canonical URL (version stripped: the packages hold one version of each).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapter.conformance.definitions import Definitions

#: CodeSystem.content values that list every code of the system (R4 ``codesystem-content-mode``).
_ENUMERABLE_CONTENT = frozenset({"complete"})

#: Concept properties that state the hierarchy in addition to nesting (R4 §4.8.7 concept-properties).
_PARENT_PROPERTIES = frozenset({"parent", "subsumedBy"})
_CHILD_PROPERTIES = frozenset({"child"})


@dataclass(frozen=True, slots=True)
class Expansion:
    """The codes of a ValueSet as far as we can enumerate them.

    ``codes`` holds, per system, codes that are certainly in the set. ``open_systems`` are systems the
    value set draws on whose codes we cannot list (a code system we do not hold, an unsupported filter).
    ``partial`` means some part could not be evaluated at all (an import we do not hold, an unsupported
    exclude), so no absence can be proven. ``notes`` say why, for the "not checked" message.
    """

    url: str
    codes: Mapping[str, frozenset[str]]
    open_systems: frozenset[str] = frozenset()
    partial: bool = False
    notes: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    """The codes in definition order, for messages."""
    _all_codes: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def is_closed(self) -> bool:
        """Whether a code that is not listed is certainly outside the value set."""
        return not self.open_systems and not self.partial

    def contains(self, system: str | None, code: str) -> bool | None:
        """Whether ``system|code`` is in the value set: True, False, or None when we cannot tell.

        A code without a system (a ``code`` element, whose system the binding implies) is looked up in
        every system of the set.
        """
        if system is None:
            if code in self._all_codes:
                return True
            return None if self.open_systems or self.partial else False
        if code in self.codes.get(system, ()):
            return True
        return None if system in self.open_systems or self.partial else False

    def describe(self, limit: int = 12) -> str:
        """The allowed codes for a message: all of them when few, else the first ones and a count."""
        shown = ", ".join(self.order[:limit])
        rest = len(self.order) - limit
        return f"{shown}, ... and {rest} more" if rest > 0 else shown

    def unknown_reason(self) -> str:
        """Why a code could not be checked, for an ``information`` issue."""
        return "; ".join(self.notes) or "its content could not be evaluated"


class Terminology:
    """Expands ValueSets using the CodeSystems and ValueSets of a :class:`Definitions`.

    One instance per validator (no module-level cache): it memoizes expansions and code-system
    hierarchies for the life of the process.
    """

    def __init__(self, definitions: Definitions) -> None:
        self._definitions = definitions
        self._expansions: dict[str, Expansion] = {}
        self._systems: dict[str, _CodeSystemIndex | None] = {}
        self._in_progress: set[str] = set()
        self._lock = threading.RLock()

    def expand(self, url: str) -> Expansion:
        """The expansion of the ValueSet at ``url`` (``url|version`` accepted; the version is ignored)."""
        key = url.split("|", 1)[0]
        cached = self._expansions.get(key)
        if cached is not None:
            return cached
        with self._lock:
            if key in self._in_progress:
                return _opaque(key, f"value set {key} includes itself")
            self._in_progress.add(key)
            try:
                expansion = self._compute(key)
            finally:
                self._in_progress.discard(key)
            self._expansions[key] = expansion
        return expansion

    # --- expansion ------------------------------------------------------------------------------------------

    def _compute(self, url: str) -> Expansion:
        value_set = self._definitions.resource(url)
        if not value_set or value_set.get("resourceType") != "ValueSet":
            return _opaque(url, f"value set {url} is not available")
        compose = value_set.get("compose")
        if compose:
            content = _CodeSet()
            for include in compose.get("include", []):
                content.union(self._part(include))
            for exclude in compose.get("exclude", []):
                content.subtract(self._part(exclude))
        else:
            content = _from_expansion(value_set.get("expansion") or {})
        return content.freeze(url)

    def _part(self, part: dict) -> _CodeSet:
        """One include/exclude: its system content intersected with every imported value set."""
        pieces: list[_CodeSet] = []
        system = part.get("system")
        if system:
            pieces.append(self._system_part(system, part))
        for imported in part.get("valueSet", []):
            pieces.append(_CodeSet.of_expansion(self.expand(imported)))
        if not pieces:
            return _CodeSet()
        result = pieces[0]
        for piece in pieces[1:]:
            result = result.intersect(piece)
        return result

    def _system_part(self, system: str, part: dict) -> _CodeSet:
        if "concept" in part:
            return _CodeSet.listed(system, (c.get("code", "") for c in part["concept"]))
        index = self._code_system(system)
        if index is None:
            return _CodeSet.open(system, f"it draws on {system}, whose full list of codes this server does not hold")
        if "filter" not in part:
            return _CodeSet.listed(system, index.codes)
        selected: set[str] | None = None
        for condition in part["filter"]:
            matched = index.filter(condition)
            if matched is None:
                note = (f"filter {condition.get('property')} {condition.get('op')} {condition.get('value')} "
                        f"on {system} is not supported")
                return _CodeSet.open(system, note)
            selected = matched if selected is None else selected & matched
        return _CodeSet.listed(system, (code for code in index.codes if code in (selected or set())))

    def _code_system(self, url: str) -> _CodeSystemIndex | None:
        """The code system's codes and hierarchy, or None when we do not hold all its codes."""
        if url in self._systems:
            return self._systems[url]
        resource = self._definitions.resource(url)
        index = None
        if resource and resource.get("resourceType") == "CodeSystem" and \
                resource.get("content") in _ENUMERABLE_CONTENT:
            index = _CodeSystemIndex.build(resource)
        self._systems[url] = index
        return index


# --- code sets --------------------------------------------------------------------------------------------


class _CodeSet:
    """A mutable value-set content under construction: known codes per system, plus what is unknown."""

    def __init__(self) -> None:
        self.known: dict[str, dict[str, None]] = {}
        self.open_systems: set[str] = set()
        self.partial = False
        self.notes: list[str] = []

    @classmethod
    def listed(cls, system: str, codes: Iterable[str]) -> _CodeSet:
        result = cls()
        result.known[system] = dict.fromkeys(c for c in codes if c)
        return result

    @classmethod
    def open(cls, system: str, note: str) -> _CodeSet:
        result = cls()
        result.open_systems.add(system)
        result.notes.append(note)
        return result

    @classmethod
    def of_expansion(cls, expansion: Expansion) -> _CodeSet:
        result = cls()
        for system, codes in expansion.codes.items():
            result.known[system] = dict.fromkeys(c for c in expansion.order if c in codes)
        result.open_systems |= expansion.open_systems
        result.partial = expansion.partial
        result.notes.extend(expansion.notes)
        return result

    @property
    def exact(self) -> bool:
        return not self.open_systems and not self.partial

    def union(self, other: _CodeSet) -> None:
        for system, codes in other.known.items():
            self.known.setdefault(system, {}).update(codes)
        self.open_systems |= other.open_systems
        self.partial = self.partial or other.partial
        self.notes.extend(other.notes)

    def intersect(self, other: _CodeSet) -> _CodeSet:
        """Codes in both; when either side is not exact we cannot name any code with certainty."""
        result = _CodeSet()
        result.notes = self.notes + other.notes
        if not (self.exact and other.exact):
            result.partial = True
            return result
        for system, codes in self.known.items():
            theirs = other.known.get(system, {})
            result.known[system] = {c: None for c in codes if c in theirs}
        return result

    def subtract(self, other: _CodeSet) -> None:
        """Remove excluded codes; an exclude we cannot evaluate makes absence unprovable.

        Codes that stay in ``known`` might then still be excluded; that only lets a code pass, never
        rejects one, which is the safe direction for a validator.
        """
        for system, codes in other.known.items():
            mine = self.known.get(system)
            if mine:
                for code in codes:
                    mine.pop(code, None)
        if not other.exact:
            self.partial = True
            self.notes.extend(other.notes or ["an exclude could not be evaluated"])

    def freeze(self, url: str) -> Expansion:
        codes = {system: frozenset(c) for system, c in self.known.items()}
        order = tuple(dict.fromkeys(code for c in self.known.values() for code in c))
        return Expansion(
            url=url, codes=codes, open_systems=frozenset(self.open_systems), partial=self.partial,
            notes=tuple(dict.fromkeys(self.notes)), order=order,
            _all_codes=frozenset(order),
        )


def _opaque(url: str, note: str) -> Expansion:
    return Expansion(url=url, codes={}, partial=True, notes=(note,))


def _from_expansion(expansion: dict) -> _CodeSet:
    """Content of a ValueSet that only carries a precomputed ``expansion``."""
    result = _CodeSet()
    contains = list(_walk_contains(expansion.get("contains", [])))
    if not contains:
        result.partial = True
        result.notes.append("the value set has neither a compose nor an expansion")
        return result
    for item in contains:
        if item.get("system") and item.get("code"):
            result.known.setdefault(item["system"], {})[item["code"]] = None
    total = expansion.get("total")
    if expansion.get("offset") or (isinstance(total, int) and total > len(contains)):
        result.partial = True
        result.notes.append("the stored expansion is only a page of the value set")
    return result


def _walk_contains(items: list[dict]) -> Iterator[dict]:
    for item in items:
        yield item
        yield from _walk_contains(item.get("contains", []))


# --- code systems -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CodeSystemIndex:
    """All codes of a complete CodeSystem, with their children and property values."""

    codes: tuple[str, ...]
    children: Mapping[str, frozenset[str]]
    properties: Mapping[str, Mapping[str, frozenset[str]]]
    """property code -> concept code -> values (as strings)."""
    declared: frozenset[str]
    """Property codes the CodeSystem declares (``CodeSystem.property.code``)."""

    @classmethod
    def build(cls, resource: dict) -> _CodeSystemIndex:
        codes: list[str] = []
        children: dict[str, set[str]] = {}
        properties: dict[str, dict[str, set[str]]] = {}
        for concept, parent in _walk_concepts(resource.get("concept", []), None):
            code = concept.get("code", "")
            codes.append(code)
            if parent is not None:
                children.setdefault(parent, set()).add(code)
            for prop in concept.get("property", []):
                value = _property_value(prop)
                name = prop.get("code", "")
                properties.setdefault(name, {}).setdefault(code, set()).add(value)
                if name in _CHILD_PROPERTIES:
                    children.setdefault(code, set()).add(value)
                elif name in _PARENT_PROPERTIES:
                    children.setdefault(value, set()).add(code)
        return cls(
            codes=tuple(dict.fromkeys(codes)),
            children={k: frozenset(v) for k, v in children.items()},
            properties={k: {c: frozenset(v) for c, v in m.items()} for k, m in properties.items()},
            declared=frozenset(p.get("code", "") for p in resource.get("property", [])),
        )

    def filter(self, condition: dict) -> set[str] | None:
        """Codes matching one ``compose.include.filter``, or None when the operator is not supported."""
        op, value, prop = condition.get("op"), str(condition.get("value", "")), condition.get("property")
        if op == "is-a":
            return self._descendants(value) | ({value} if value in self.codes else set())
        if op == "descendent-of":
            return self._descendants(value)
        if op == "is-not-a":
            return set(self.codes) - self._descendants(value) - {value}
        if op == "in":
            return {code for code in value.split(",") if code in self.codes}
        if op == "=" and prop and (prop in self.declared or prop in self.properties):
            values = self.properties.get(prop, {})
            return {code for code, found in values.items() if value in found}
        return None  # an operator we do not evaluate, or a property the code system does not define

    def _descendants(self, code: str) -> set[str]:
        found: set[str] = set()
        stack = [code]
        while stack:
            for child in self.children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        found.discard(code)
        return found


def _walk_concepts(concepts: list[dict], parent: str | None) -> Iterator[tuple[dict, str | None]]:
    for concept in concepts:
        yield concept, parent
        yield from _walk_concepts(concept.get("concept", []), concept.get("code"))


def _property_value(prop: dict) -> str:
    """A concept property's value as the string a filter ``value`` would spell it."""
    for key, value in prop.items():
        if key.startswith("value"):
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, dict):
                return str(value.get("code", ""))
            return str(value)
    return ""
