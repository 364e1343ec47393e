"""The R4 type model: which elements each type has, in which order, with which types and cardinalities.

It is derived once from the base StructureDefinitions (``derivation = specialization``) and shared by
every part that needs to know the shape of FHIR data: the XML reader and writer (element order, which JSON
values are primitives, what is an attribute), the structural validator, and the search indexer. Nothing in
it is hand-written: a type that is not in the loaded packages does not exist here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

FHIR_TYPE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX_EXTENSION = "http://hl7.org/fhir/StructureDefinition/regex"

#: How a primitive type's value is written in JSON (FHIR R4 §2.6.2 "JSON representation of primitive
#: elements"): these are numbers or booleans, every other primitive is a JSON string.
JSON_NUMBER_TYPES = frozenset({"integer", "positiveInt", "unsignedInt", "decimal"})
JSON_BOOLEAN_TYPES = frozenset({"boolean"})

#: Types whose elements are inline (children listed under the element's own path in the snapshot).
INLINE_TYPES = frozenset({"BackboneElement", "Element"})


@dataclass(frozen=True, slots=True)
class ElementDef:
    """One element of a type's snapshot, as far as the shape of instances is concerned."""

    path: str
    """Snapshot path without ``[x]`` (``Observation.value``)."""
    name: str
    """The element name without ``[x]`` (``value``)."""
    min: int
    max: int | None
    """``None`` for ``*``."""
    types: tuple[str, ...]
    """FHIR type codes; several for a choice element."""
    choice: bool
    children_scope: str | None
    """Where this element's children are defined when not by its type: its own path for an inline
    backbone element, the referenced path for a ``contentReference``."""
    target_profiles: tuple[str, ...] = ()
    binding_strength: str | None = None
    binding_value_set: str | None = None
    is_modifier: bool = False
    is_summary: bool = False
    representation: tuple[str, ...] = ()
    """``ElementDefinition.representation``: ``xmlAttr`` (``Element.id``, ``Extension.url``, a primitive's
    ``value``) or ``xhtml`` (``xhtml.value``); how the XML format writes the element."""

    @property
    def is_array(self) -> bool:
        return self.max is None or self.max > 1


@dataclass(frozen=True, slots=True)
class TypeDef:
    """A base type: a primitive, a complex datatype or a resource."""

    name: str
    kind: str
    """``primitive-type``, ``complex-type`` or ``resource``."""
    abstract: bool
    base: str | None
    url: str
    regex: str | None = None
    """For primitives: the value's regular expression from the definition."""
    min_value: int | None = None
    max_value: int | None = None
    """For primitives: ``minValueInteger``/``maxValueInteger`` of the value element (``integer``)."""
    max_length: int | None = None
    """For primitives: ``maxLength`` of the value element (``string``: 1 MB)."""

    def facets(self, model: TypeModel) -> TypeDef:
        """This type with bounds it does not state taken from its base types (``positiveInt`` gets the
        32-bit range of ``integer``), so a validator needs no hand-written limits."""
        current, merged = self, self
        while current.base and (merged.min_value is None or merged.max_value is None
                                or merged.max_length is None):
            current = model.types.get(current.base)
            if current is None:
                break
            merged = replace(merged, min_value=_first(merged.min_value, current.min_value),
                             max_value=_first(merged.max_value, current.max_value),
                             max_length=_first(merged.max_length, current.max_length))
        return merged


@dataclass
class TypeModel:
    """All base types and their elements, keyed by *scope*.

    A scope is where a value's children are looked up: a type name (``HumanName``, ``Patient``) or an
    inline backbone element's path (``Patient.contact``).
    """

    types: dict[str, TypeDef] = field(default_factory=dict)
    children: dict[str, tuple[ElementDef, ...]] = field(default_factory=dict)
    properties: dict[str, dict[str, tuple[ElementDef, str]]] = field(default_factory=dict)
    """scope -> JSON property name (``valueQuantity``) -> (element, type code)."""

    @classmethod
    def build(cls, structure_definitions: Iterable[dict]) -> TypeModel:
        model = cls()
        for sd in structure_definitions:
            if sd.get("derivation", "specialization") != "specialization" or sd.get("kind") == "logical":
                continue
            model._add_type(sd)
        return model

    # --- queries -------------------------------------------------------------------------------------------

    def is_resource_type(self, name: str) -> bool:
        t = self.types.get(name)
        return t is not None and t.kind == "resource" and not t.abstract

    def is_primitive(self, type_code: str) -> bool:
        t = self.types.get(type_code)
        return t is not None and t.kind == "primitive-type"

    def resource_types(self) -> list[str]:
        return sorted(n for n, t in self.types.items() if t.kind == "resource" and not t.abstract)

    def property(self, scope: str, json_name: str) -> tuple[ElementDef, str] | None:
        """The element and type a JSON property name stands for in a scope (``valueQuantity``)."""
        return self.properties.get(scope, {}).get(json_name)

    def element(self, scope: str, name: str) -> ElementDef | None:
        for element in self.children.get(scope, ()):
            if element.name == name:
                return element
        return None

    def inherits(self, name: str, ancestor: str) -> bool:
        """Whether type ``name`` is ``ancestor`` or derives from it (``Patient`` → ``DomainResource``)."""
        current = self.types.get(name)
        while current is not None:
            if current.name == ancestor:
                return True
            current = self.types.get(current.base) if current.base else None
        return False

    @staticmethod
    def nested_type(value: object, declared: str) -> str:
        """The type to read a value as: a nested resource's own ``resourceType`` (``contained``,
        ``Bundle.entry.resource`` are declared as any Resource), otherwise the declared type."""
        if type(value) is dict:
            resource_type = value.get("resourceType")
            if type(resource_type) is str:
                return resource_type
        return declared

    def scope_of(self, element: ElementDef, type_code: str) -> str:
        """Where the children of a value of ``element`` (of type ``type_code``) are defined."""
        return element.children_scope or type_code

    # --- building ------------------------------------------------------------------------------------------

    def _add_type(self, sd: dict) -> None:
        name = sd["type"]
        elements = sd.get("snapshot", {}).get("element", [])
        regex = None
        facets: dict[str, int] = {}
        if sd["kind"] == "primitive-type":
            regex = _primitive_regex(elements, name)
            facets = _primitive_facets(elements, name)
        base_url = sd.get("baseDefinition")
        self.types[name] = TypeDef(
            name=name, kind=sd["kind"], abstract=bool(sd.get("abstract")),
            base=base_url.rsplit("/", 1)[-1] if base_url else None, url=sd["url"], regex=regex,
            **facets,
        )
        by_parent: dict[str, list[ElementDef]] = {}
        for raw in elements:
            if "sliceName" in raw or ":" in raw.get("id", ""):
                continue
            path: str = raw["path"]
            if "." not in path:
                continue
            parent, _, last = path.rpartition(".")
            element = _element(raw, path, last)
            by_parent.setdefault(_scope_key(parent, name), []).append(element)
        for scope, members in by_parent.items():
            self.children[scope] = tuple(members)
            props: dict[str, tuple[ElementDef, str]] = {}
            for element in members:
                if element.choice:
                    for type_code in element.types:
                        props[element.name + type_code[0].upper() + type_code[1:]] = (element, type_code)
                else:
                    props[element.name] = (element, element.types[0] if element.types else "")
            self.properties[scope] = props


def _scope_key(parent_path: str, type_name: str) -> str:
    """Children of the root are keyed by the type name; deeper ones by their full path."""
    return type_name if parent_path == type_name else parent_path


def _element(raw: dict, path: str, last: str) -> ElementDef:
    choice = last.endswith("[x]")
    name = last[:-3] if choice else last
    clean_path = path[:-3] if choice else path
    types = tuple(_type_code(t) for t in raw.get("type", []))
    children_scope = None
    if "contentReference" in raw:
        children_scope = raw["contentReference"].lstrip("#")
        types = types or ("BackboneElement",)
    elif types and types[0] in INLINE_TYPES:
        children_scope = clean_path
    targets = tuple(p for t in raw.get("type", []) for p in t.get("targetProfile", []))
    binding = raw.get("binding") or {}
    max_raw = raw.get("max", "1")
    return ElementDef(
        path=clean_path, name=name, min=int(raw.get("min", 0)),
        max=None if max_raw == "*" else int(max_raw), types=types, choice=choice,
        children_scope=children_scope, target_profiles=targets,
        binding_strength=binding.get("strength"), binding_value_set=binding.get("valueSet"),
        is_modifier=bool(raw.get("isModifier")), is_summary=bool(raw.get("isSummary")),
        representation=tuple(raw.get("representation", ())),
    )


def _type_code(type_entry: dict) -> str:
    """The FHIR type code; R4 writes some primitives as FHIRPath system types plus an extension."""
    code = type_entry.get("code", "")
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in type_entry.get("extension", []):
            if ext.get("url") == FHIR_TYPE_EXTENSION:
                return ext.get("valueUrl") or ext.get("valueUri") or code
    return code


def _primitive_regex(elements: list[dict], type_name: str) -> str | None:
    for raw in elements:
        if raw.get("path") == f"{type_name}.value":
            for t in raw.get("type", []):
                for ext in t.get("extension", []):
                    if ext.get("url") == REGEX_EXTENSION:
                        return ext.get("valueString")
    return None


def _primitive_facets(elements: list[dict], type_name: str) -> dict[str, int]:
    """The value element's numeric and length limits (``minValueInteger``, ``maxLength``...)."""
    for raw in elements:
        if raw.get("path") == f"{type_name}.value":
            found = {"min_value": raw.get("minValueInteger"), "max_value": raw.get("maxValueInteger"),
                     "max_length": raw.get("maxLength")}
            return {key: value for key, value in found.items() if isinstance(value, int)}
    return {}


def _first(value: int | None, fallback: int | None) -> int | None:
    return value if value is not None else fallback
