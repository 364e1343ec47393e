"""Snapshots of StructureDefinitions: the published one, or one we generate from the differential.

A profile is validated through its snapshot, the full list of elements with every constraint of the
``baseDefinition`` chain already merged in. SUSHI (which builds our IG) writes only the differential, so
this module generates snapshots itself, the way FHIR R4 §5.1.0.10 (profiling.html#snapshot) describes and
the HL7 ``ProfileUtilities`` does it:

1. start from the base definition's snapshot (generated first, recursively, when it has none);
2. apply each differential element in order, located by its element ``id``:

   - an element of the base: its properties are merged (constraints and conditions are added, the rest
     replaces the base's);
   - a new slice (``Patient.identifier:medicaid``): a copy of the sliced element and its children is
     inserted after the element's existing slices, then merged;
   - a child the base does not expand (``Patient.identifier:medicaid.system``): the parent's children are
     copied from its type's snapshot first (the type profile's when the type names one, so
     ``Extension`` slices get their extension's elements), or from the element a ``contentReference``
     points to;
   - a renamed choice (``valueQuantity``): it constrains ``value[x]`` to that type, or the type slice
     ``value[x]:valueQuantity`` when ``value[x]`` is sliced by type.

Snapshots are cached per canonical URL for the life of the object (one per validator).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable

from adapter.conformance.definitions import Definitions

#: Properties merged by adding the differential's entries to the base's (the rest are replaced).
_APPENDED = frozenset({"mapping", "alias", "code", "example"})
#: Properties that belong to the element's position, never copied from a differential.
_POSITIONAL = frozenset({"id", "path", "base"})
_CORE_PREFIX = "http://hl7.org/fhir/StructureDefinition/"
#: Types whose children are listed inline in a snapshot (a slice of one copies them).
_INLINE_TYPES = frozenset({"BackboneElement", "Element"})
#: Extensions are always sliced by url (profiling.html#slicing, "extensions"): slicing them without a
#: ``slicing`` of their own gets this one, as the IG Publisher writes it.
_EXTENSION_ELEMENTS = frozenset({"extension", "modifierExtension"})
_EXTENSION_SLICING = {"discriminator": [{"type": "value", "path": "url"}], "ordered": False, "rules": "open"}


class SnapshotError(Exception):
    """A snapshot cannot be had: the base is missing, or the differential names an unknown element."""


class Snapshots:
    """Snapshots by canonical URL: published ones as they are, missing ones generated and cached.

    ``regenerate`` ignores the published snapshot of every constraint (not of the base types, which are
    defined by their snapshots): tests use it to compare generated snapshots with published ones.
    """

    def __init__(self, definitions: Definitions, *, regenerate: bool = False) -> None:
        self._definitions = definitions
        self._regenerate = regenerate
        self._cache: dict[str, tuple[dict, ...]] = {}
        self._in_progress: set[str] = set()
        self._lock = threading.RLock()

    def structure(self, url: str) -> dict | None:
        """The StructureDefinition with this canonical (``url|version`` accepted), or None."""
        resource = self._definitions.resource(url)
        if resource is None or resource.get("resourceType") != "StructureDefinition":
            return None
        return resource

    def elements(self, url: str) -> tuple[dict, ...]:
        """The snapshot elements of the StructureDefinition at ``url``.

        Raises:
            SnapshotError: the definition, its base or an element of its differential cannot be found.
        """
        key = url.split("|", 1)[0]
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            structure = self.structure(url)
            if structure is None:
                raise SnapshotError(f"no StructureDefinition {key} in the loaded packages")
            if key in self._in_progress:
                raise SnapshotError(f"{key} is its own base")
            self._in_progress.add(key)
            try:
                elements = self._elements_of(structure)
            finally:
                self._in_progress.discard(key)
            self._cache[key] = elements
        return elements

    def _elements_of(self, structure: dict) -> tuple[dict, ...]:
        published = (structure.get("snapshot") or {}).get("element")
        is_constraint = structure.get("derivation") == "constraint"
        if published and not (self._regenerate and is_constraint and structure.get("differential")):
            return tuple(assign_ids(published))
        differential = (structure.get("differential") or {}).get("element")
        base_url = structure.get("baseDefinition")
        if not differential or not base_url:
            raise SnapshotError(f"{structure.get('url')} has neither a snapshot nor a differential and a base")
        try:
            base = self.elements(base_url)
        except SnapshotError as exc:
            raise SnapshotError(f"cannot build the snapshot of {structure.get('url')}: its base {base_url} "
                                f"is not usable ({exc})") from exc
        work = _Work(self, [copy.deepcopy(e) for e in base], structure.get("url", ""))
        for diff in assign_ids(differential):
            work.apply(diff)
        return tuple(work.finish())


# --- element ids --------------------------------------------------------------------------------------------


def assign_ids(elements: Iterable[dict]) -> list[dict]:
    """The elements with an ``id`` each, derived from path and slice names where a definition has none.

    Elements that have an id are returned as they are (not copied).
    """
    result: list[dict] = []
    slice_ids: dict[str, str] = {}
    for element in elements:
        if element.get("id"):
            result.append(element)
            continue
        path = element.get("path", "")
        parent_path, _, last = path.rpartition(".")
        parent_id = _id_for(parent_path, slice_ids) if parent_path else ""
        element_id = f"{parent_id}.{last}" if parent_id else last
        if element.get("sliceName"):
            element_id = f"{element_id}:{element['sliceName']}"
            slice_ids[path] = element_id
        else:
            slice_ids.pop(path, None)
        result.append({**element, "id": element_id})
    return result


def _id_for(path: str, slice_ids: dict[str, str]) -> str:
    """The id of the element at ``path`` inside the slices currently open (``a.b:s`` for ``a.b``)."""
    segments = path.split(".")
    built = ""
    for index in range(len(segments)):
        prefix = ".".join(segments[: index + 1])
        built = slice_ids.get(prefix) or (f"{built}.{segments[index]}" if built else segments[index])
    return built


def split_id(element_id: str) -> list[str]:
    """An element id's segments: ``Observation.component:systolic.code`` -> 3 segments."""
    return element_id.split(".")


def segment_name(segment: str) -> str:
    """The element name of an id segment, without its slice name (``component:systolic`` -> ``component``)."""
    return segment.split(":", 1)[0]


# --- generation ---------------------------------------------------------------------------------------------


class _Work:
    """A snapshot under construction: the base's elements with the differential applied one by one."""

    def __init__(self, snapshots: Snapshots, elements: list[dict], url: str) -> None:
        self._snapshots = snapshots
        self.elements = elements
        self._url = url
        self._base = [copy.deepcopy(e) for e in elements]
        """The base snapshot as it was: new slices start from the base's definition of the sliced element."""
        self._type_slices: list[str] = []
        """Type slices made for renamed choices; see :meth:`finish`."""

    # --- lookup -----------------------------------------------------------------------------------------------

    def index(self, element_id: str) -> int | None:
        for position, element in enumerate(self.elements):
            if element["id"] == element_id:
                return position
        return None

    def _end_of(self, position: int, with_slices: bool) -> int:
        """The position after an element's children (and, with ``with_slices``, its slices)."""
        element_id = self.elements[position]["id"]
        prefixes = (element_id + ".", element_id + ":") if with_slices else (element_id + ".",)
        end = position + 1
        while end < len(self.elements) and self.elements[end]["id"].startswith(prefixes):
            end += 1
        return end

    def _has_children(self, position: int) -> bool:
        following = position + 1
        return following < len(self.elements) and \
            self.elements[following]["id"].startswith(self.elements[position]["id"] + ".")

    # --- applying the differential --------------------------------------------------------------------------

    def apply(self, diff: dict) -> None:
        position = self._locate(diff["id"], diff)
        _merge(self.elements[position], diff)

    def finish(self) -> list[dict]:
        """The snapshot, once every differential element is applied.

        A required type slice of a single-valued choice (``effectiveDateTime`` 1..1) leaves no room for
        other types, so the choice is narrowed to that type and its slicing closed, as the IG Publisher
        writes it.
        """
        for slice_id in self._type_slices:
            position = self.index(slice_id)
            choice = self.index(slice_id.rsplit(":", 1)[0])
            if position is None or choice is None:
                continue
            element, sliced = self.elements[position], self.elements[choice]
            if int(element.get("min", 0)) >= 1 and sliced.get("max") == "1":
                sliced["type"] = copy.deepcopy(element.get("type", []))
                sliced["min"] = max(int(sliced.get("min", 0)), int(element["min"]))
                sliced.setdefault("slicing", {})["rules"] = "closed"
        return self.elements

    def _locate(self, diff_id: str, diff: dict | None = None) -> int:
        """The position of the element ``diff_id`` names, creating slices and expanding types as needed."""
        segments = split_id(diff_id)
        position = self.index(segments[0])
        if position is None:
            raise SnapshotError(f"{self._url}: differential element {diff_id} does not start at the root "
                                f"{self.elements[0]['id'] if self.elements else '?'}")
        current = segments[0]
        for depth, segment in enumerate(segments[1:], start=2):
            last = depth == len(segments)
            position, current = self._child(position, current, segment, diff if last else None)
        return position

    def _child(self, parent: int, parent_id: str, segment: str, diff: dict | None) -> tuple[int, str]:
        """Find (or make) the child ``segment`` of the element at ``parent``."""
        name, _, slice_name = segment.partition(":")
        if not self._has_children(parent):
            self._expand(parent)
        base_id = f"{parent_id}.{name}"
        position = self.index(base_id)
        if position is None:
            renamed = self._renamed_choice(parent, parent_id, name, diff)
            if renamed is None:
                raise SnapshotError(f"{self._url}: no element {base_id} in the base to apply the differential to")
            position, base_id = renamed
        if not slice_name:
            return position, base_id
        slice_id = f"{base_id}:{slice_name}"
        found = self.index(slice_id)
        if found is not None:
            return found, slice_id
        return self._add_slice(position, slice_name), slice_id

    def _renamed_choice(self, parent: int, parent_id: str, name: str, diff: dict | None) -> tuple[int, str] | None:
        """``valueQuantity`` for ``value[x]``: the choice itself, or its type slice when sliced by type."""
        end = self._end_of(parent, with_slices=False)
        for position in range(parent + 1, end):
            element = self.elements[position]
            element_name = element["id"][len(parent_id) + 1:]
            if not element_name.endswith("[x]") or "." in element_name or ":" in element_name:
                continue
            stem = element_name[:-3]
            if not name.startswith(stem):
                continue
            type_entry = _choice_type(element, name[len(stem):])
            if type_entry is None:
                continue
            choice_id = element["id"]
            single = {t.get("code") for t in element.get("type") or []} == {type_entry.get("code")}
            if single or ":" in parent_id:
                # Inside a slice (or with one type left) the IG Publisher narrows the choice itself.
                if diff is None or "type" not in diff:
                    element["type"] = [copy.deepcopy(type_entry)]
                return position, choice_id
            if not _sliced_by_type(element):
                element["slicing"] = {"discriminator": [{"type": "type", "path": "$this"}], "ordered": False,
                                      "rules": "open"}
            slice_id = f"{choice_id}:{name}"
            found = self.index(slice_id)
            if found is None:
                found = self._add_slice(position, name)
                self.elements[found]["type"] = [copy.deepcopy(type_entry)]
                self._type_slices.append(slice_id)
            return found, slice_id
        return None

    def _add_slice(self, sliced: int, slice_name: str) -> int:
        """Insert a new slice of the element at ``sliced`` after its existing slices.

        The slice starts as the base's definition of the sliced element (with its children there), not
        as this profile's version of it, and with ``min`` 0: the sliced element's own cardinality counts
        all slices together (profiling.html#slicing).
        """
        element_id = self.elements[sliced]["id"]
        sliced_element = self.elements[sliced]
        if "slicing" not in sliced_element and sliced_element["path"].rsplit(".", 1)[-1] in _EXTENSION_ELEMENTS:
            sliced_element["slicing"] = copy.deepcopy(_EXTENSION_SLICING)
        template = self._base_subtree(element_id)
        if template is None:
            children_end = self._end_of(sliced, with_slices=False)
            inline = {t.get("code") for t in self.elements[sliced].get("type") or []} <= _INLINE_TYPES
            template = [copy.deepcopy(e) for e in self.elements[sliced:children_end if inline else sliced + 1]]
        slice_id = f"{element_id}:{slice_name}"
        for element in template:
            element["id"] = slice_id + element["id"][len(element_id):]
        root = template[0]
        for key in [k for k in root if k == "slicing" or k.startswith(("fixed", "pattern"))]:
            del root[key]
        root["sliceName"] = slice_name
        root["min"] = 0
        insert_at = self._end_of(sliced, with_slices=True)
        self.elements[insert_at:insert_at] = template
        return insert_at

    def _base_subtree(self, element_id: str) -> list[dict] | None:
        """Copies of the base's element ``element_id`` and its children, or None when the base lacks it."""
        for position, element in enumerate(self._base):
            if element["id"] == element_id:
                end = position + 1
                while end < len(self._base) and self._base[end]["id"].startswith(element_id + "."):
                    end += 1
                return [copy.deepcopy(e) for e in self._base[position:end]]
        return None

    def _expand(self, parent: int) -> None:
        """Copy the children of the element at ``parent`` from its type (or its content reference)."""
        element = self.elements[parent]
        reference = element.get("contentReference")
        if reference:
            source, source_prefix = self._referenced(reference)
        else:
            source, source_prefix = self._type_elements(element)
        root_path = next((e["path"] for e in source if e["id"] == source_prefix), source_prefix)
        children = []
        for child in source:
            if not child["id"].startswith(source_prefix + "."):
                continue
            copied = copy.deepcopy(child)
            copied["id"] = element["id"] + child["id"][len(source_prefix):]
            copied["path"] = element["path"] + child["path"][len(root_path):]
            children.append(copied)
        self.elements[parent + 1:parent + 1] = children

    def _referenced(self, reference: str) -> tuple[tuple[dict, ...], str]:
        """The base definition's elements and the id of the element a ``contentReference`` names."""
        target = reference.split("#", 1)[1]
        root_type = target.split(".", 1)[0]
        return self._snapshots.elements(_CORE_PREFIX + root_type), target

    def _type_elements(self, element: dict) -> tuple[tuple[dict, ...], str]:
        types = element.get("type") or []
        codes = {t.get("code") for t in types}
        if len(codes) != 1:
            raise SnapshotError(f"{self._url}: cannot constrain the children of {element['id']}, which has "
                                f"{len(codes)} types; slice it by type first")
        profiles = [p for t in types for p in t.get("profile", [])]
        url = profiles[0] if len(profiles) == 1 else _CORE_PREFIX + next(iter(codes))
        elements = self._snapshots.elements(url)
        return elements, elements[0]["id"]


def _choice_type(element: dict, suffix: str) -> dict | None:
    """The type entry of a choice whose JSON suffix is ``suffix`` (``Quantity``, ``String`` for string)."""
    for entry in element.get("type") or []:
        code = entry.get("code", "")
        if code and code[0].upper() + code[1:] == suffix:
            return entry
    return None


def _sliced_by_type(element: dict) -> bool:
    discriminators = (element.get("slicing") or {}).get("discriminator") or []
    return any(d.get("type") == "type" for d in discriminators)


def _merge(target: dict, diff: dict) -> None:
    """Apply one differential element onto its snapshot element (R4 profiling.html#snapshot)."""
    for key, value in diff.items():
        if key in _POSITIONAL:
            continue
        if key == "constraint":
            _merge_constraints(target, value)
        elif key == "condition":
            target[key] = list(dict.fromkeys([*target.get(key, []), *value]))
        elif key in _APPENDED:
            target[key] = [*target.get(key, []), *copy.deepcopy(value)]
        elif key in ("binding", "slicing") and isinstance(target.get(key), dict) and \
                (key != "binding" or "valueSet" not in value):
            target[key] = {**target[key], **copy.deepcopy(value)}
        else:
            if key.startswith(("fixed", "pattern")):
                for old in [k for k in target if k.startswith(key[:5] if key.startswith("fixed") else key[:7])]:
                    del target[old]
            target[key] = copy.deepcopy(value)


def _merge_constraints(target: dict, constraints: list[dict]) -> None:
    merged = {c.get("key"): c for c in target.get("constraint", [])}
    for constraint in constraints:
        merged[constraint.get("key")] = copy.deepcopy(constraint)
    target["constraint"] = list(merged.values())
