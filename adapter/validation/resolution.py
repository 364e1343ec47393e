"""Where a resource sits while it is validated, and how its references resolve there.

FHIR resolves a literal reference inside the resource (``#id``: a contained resource, references.html
#contained) or inside the Bundle that carries it (bundle.html#references: an absolute ``fullUrl``, a
``urn:uuid:``, or a relative ``Type/id`` read against the entry's ``fullUrl`` base). A :class:`Session`
lives for one ``validate`` call: it indexes each Bundle once (so resolving every reference of a 10,000-entry
Bundle is linear, not quadratic) and memoizes "does this resource conform to that profile" answers. A
:class:`Scope` tells the checks of one resource where it sits.

The nested resources of a resource (``contained``, ``Bundle.entry.resource``,
``Parameters.parameter.resource``...) are found through the type model: the elements whose type is a
resource, reached through backbone elements only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from adapter.conformance.structure import TypeModel

#: The element holding contained resources (references.html#contained); they resolve ``#id`` references
#: against their container and share its place in a Bundle.
CONTAINED = "contained"


class BundleIndex:
    """The entries of one Bundle by ``fullUrl`` and by ``Type/id``, built once per Bundle."""

    __slots__ = ("by_full_url", "by_type_id")

    def __init__(self, bundle: dict) -> None:
        self.by_full_url: dict[str, dict] = {}
        self.by_type_id: dict[str, dict | None] = {}
        entries = bundle.get("entry")
        if type(entries) is not list:
            return
        for entry in entries:
            resource = entry.get("resource") if type(entry) is dict else None
            if type(resource) is not dict:
                continue
            full_url = entry.get("fullUrl")
            if type(full_url) is str:
                self.by_full_url.setdefault(full_url, resource)
            type_id = f"{resource.get('resourceType')}/{resource.get('id')}"
            # A Type/id held by two entries (two servers' Patient/1) is ambiguous: None.
            self.by_type_id[type_id] = None if type_id in self.by_type_id else resource

    def find(self, reference: str, full_url: str | None) -> dict | None:
        """The entry resource a reference names, from an entry with ``full_url`` (bundle.html#references)."""
        target = _without_history(reference)
        found = self.by_full_url.get(target)
        if found is not None or target.startswith("urn:") or "://" in target:
            return found
        if full_url and "://" in full_url:
            base = _restful_base(full_url)
            if base is not None:
                found = self.by_full_url.get(f"{base}/{target}")
                if found is not None:
                    return found
        return self.by_type_id.get(target)


def _without_history(reference: str) -> str:
    head, marker, _ = reference.partition("/_history/")
    return head if marker else reference


def _restful_base(full_url: str) -> str | None:
    """``http://x/fhir`` of ``http://x/fhir/Patient/1``; None when the URL is not ``base/Type/id``."""
    parts = full_url.rstrip("/").rsplit("/", 2)
    return parts[0] if len(parts) == 3 and parts[1][:1].isupper() else None


@dataclass(eq=False)
class Session:
    """What one ``validate`` call shares between the resources it checks (a Bundle and its entries)."""

    _indexes: dict[int, tuple[dict, BundleIndex]] = field(default_factory=dict)
    conformance: dict[tuple[int, str], bool] = field(default_factory=dict)
    """(id of a value, profile URL) -> whether the value conforms; the value is kept alive by the call."""
    extensions: list[tuple[Any, str, bool, list]] = field(default_factory=list)
    """Extensions the base layer found: (value, expression, is modifier, the issue list to report to)."""
    invariants: dict[tuple[int, str, str], bool | str] = field(default_factory=dict)
    """(id of a value, FHIRPath expression, location) -> the outcome: an element checked by a slice and by
    the sliced element (or by a profile and a base definition) evaluates an expression they share once."""

    def bundle_index(self, bundle: dict) -> BundleIndex:
        held = self._indexes.get(id(bundle))
        if held is None or held[0] is not bundle:
            held = self._indexes[id(bundle)] = (bundle, BundleIndex(bundle))
        return held[1]


@dataclass(eq=False, slots=True)
class Scope:
    """One resource under validation and where it sits: its container, its Bundle, its ``fullUrl``."""

    resource: dict
    session: Session
    container: dict | None = None
    """The resource whose ``contained`` holds this one (``%rootResource``); None for a resource of its own."""
    bundle: BundleIndex | None = None
    full_url: str | None = None
    fhirpath_functions: dict | None = None
    """The FHIRPath functions bound to this scope, built on first use by the invariant runner."""

    @property
    def root_resource(self) -> dict:
        return self.container if self.container is not None else self.resource

    def resolve(self, reference: str) -> dict | None:
        """The resource a literal reference names, when it is contained here or in the same Bundle."""
        if reference.startswith("#"):
            return _contained(self.root_resource, reference[1:])
        if self.bundle is not None:
            return self.bundle.find(reference, self.full_url)
        return None

    def nested(self, resource: dict, key: str, parent: dict) -> Scope:
        """The scope of a resource found under ``key`` of ``parent`` inside this scope's resource."""
        if key == CONTAINED:
            return Scope(resource, self.session, self.root_resource, self.bundle, self.full_url)
        bundle = self.session.bundle_index(self.resource) if self.resource.get("resourceType") == "Bundle" \
            else self.bundle
        full_url = parent.get("fullUrl")
        return Scope(resource, self.session, None, bundle, full_url if type(full_url) is str else None)


def _contained(container: dict, local_id: str) -> dict | None:
    """``#id`` is a contained resource; a bare ``#`` is the container itself."""
    if not local_id:
        return container
    contained = container.get(CONTAINED)
    for candidate in contained if type(contained) is list else ():
        if type(candidate) is dict and candidate.get("id") == local_id:
            return candidate
    return None


# --- nested resources ---------------------------------------------------------------------------------------


class NestedResources:
    """Finds the resources nested in a resource, following only the elements that can lead to one."""

    def __init__(self, types: TypeModel) -> None:
        self._types = types
        self._routes: dict[str, tuple[tuple[str, str | None], ...]] = {}

    def find(self, resource: dict, expression: str) -> Iterator[tuple[dict, str, str, dict]]:
        """Each directly nested resource as (resource, expression, json key, the object holding it)."""
        resource_type = resource.get("resourceType")
        if type(resource_type) is not str:
            return
        yield from self._walk(resource, self._route(resource_type), expression)

    def _walk(self, obj: dict, route: tuple[tuple[str, str | None], ...],
              path: str) -> Iterator[tuple[dict, str, str, dict]]:
        for key, child_scope in route:
            value = obj.get(key)
            if value is None:
                continue
            items = value if type(value) is list else [value]
            indexed = type(value) is list
            for index, item in enumerate(items):
                if type(item) is not dict:
                    continue
                expression = f"{path}.{key}[{index}]" if indexed else f"{path}.{key}"
                if child_scope is None:
                    yield item, expression, key, obj
                else:
                    yield from self._walk(item, self._route(child_scope), expression)

    def _route(self, scope: str) -> tuple[tuple[str, str | None], ...]:
        """Per scope: (json key, backbone scope to go on with, or None for a resource-typed element)."""
        found = self._routes.get(scope)
        if found is None:
            self._routes[scope] = ()  # a cycle (Parameters.parameter.part) ends here until computed
            found = self._routes[scope] = tuple(self._compute(scope, set()))
        return found

    def _compute(self, scope: str, seen: set[str]) -> Iterator[tuple[str, str | None]]:
        seen.add(scope)
        for element in self._types.children.get(scope, ()):
            for type_code in element.types[:1] if not element.choice else ():
                type_def = self._types.types.get(type_code)
                if type_def is not None and type_def.kind == "resource":
                    yield element.name, None
                elif element.children_scope and self._leads_to_resource(element.children_scope, seen):
                    yield element.name, element.children_scope

    def _leads_to_resource(self, scope: str, seen: set[str]) -> bool:
        if scope in seen:
            return True
        return any(True for _ in self._compute(scope, set(seen)))


def describe_target(resource: dict) -> str:
    """A resolved resource as messages name it: ``Patient/123``, or ``a Patient`` when it has no id."""
    resource_type = resource.get("resourceType", "resource")
    local_id = resource.get("id")
    return f"{resource_type}/{local_id}" if isinstance(local_id, str) else f"a {resource_type}"
