"""Which resources make one record, declared per kind, and grouping any stream of resources into records.

Each kind module declares ``SHAPE``, a :class:`RecordShape`: its **anchor** (the one resource a record has
exactly one of, by type and profile) and its **companions**, each found from the anchor by reference:

* :class:`Referenced` -- the anchor (or a companion found before) refers to it: ``EpisodeOfCare.team`` ->
  the CareTeam, ``Observation.hasMember`` of the SDMI determination -> the LOI ratings;
* :class:`Referencing` -- it refers to the anchor: ``Coverage.beneficiary`` -> the Patient,
  ``PractitionerRole.organization`` -> the team Organization. The path is also the search parameter the
  server uses to find it (``Coverage?beneficiary=Patient/m-001``).

The same declarations serve two readers: :func:`group` (and :func:`stream_groups`) cut an arbitrary stream
of resources -- a transaction Bundle, a searchset, NDJSON -- into one resource list per record for the kind's
``from_fhir``; and the server walks them to gather a member's records from its store
(``adapter/services/cmp_export.py``). Nothing is silently dropped: a resource that belongs to no record is
an :class:`Unassigned`, and a record whose anchor refers to resources that are not there says what is
missing (:attr:`RecordResources.missing`). Provenance resources are the translation's metadata, not record
content: they are counted apart (:attr:`Grouping.provenance`).

Pure: no IO, like the rest of ``mappings``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from .common import profile_url, rewrite_references

PROVENANCE = "Provenance"


# --- the declarations -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Anchor:
    """The resource one record is built around: its type and the profiles (ids) that mark it."""

    resource_type: str
    profiles: tuple[str, ...]
    member: str | None = None
    """The anchor's element (and search parameter) that names the member's Patient; ``"id"`` when the anchor
    is the Patient itself; ``None`` for a kind that concerns no member (a team)."""


@dataclass(frozen=True)
class Referenced:
    """The companion is what the holder refers to at ``path`` (dotted element path to References)."""

    path: str
    holder: str | None = None
    """Profile id of the companion that holds the reference (declared before); ``None``: the anchor."""


@dataclass(frozen=True)
class Referencing:
    """The companion refers to the anchor at ``path`` (its element, and the search parameter of that name)."""

    path: str


@dataclass(frozen=True)
class Companion:
    resource_type: str
    profile: str
    link: Referenced | Referencing


@dataclass(frozen=True)
class RecordShape:
    """Which resources make one record of a kind."""

    anchor: Anchor
    companions: tuple[Companion, ...] = ()

    def is_anchor(self, resource: dict) -> bool:
        return resource.get("resourceType") == self.anchor.resource_type and \
            any(has_profile(resource, p) for p in self.anchor.profiles)

    def is_companion(self, resource: dict) -> bool:
        return any(resource.get("resourceType") == c.resource_type and has_profile(resource, c.profile)
                   for c in self.companions)


def shape(kind: str) -> RecordShape:
    """The declared :class:`RecordShape` of record kind ``kind``.

    Raises:
        KeyError: ``kind`` is not a record kind.
    """
    from . import kind as kind_module

    return kind_module(kind).SHAPE


# --- reading references ---------------------------------------------------------------------------------------

def key(resource: dict) -> str:
    """``Type/id`` of a resource."""
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def has_profile(resource: dict, profile: str) -> bool:
    """Whether ``resource`` declares our profile ``profile`` (an id) in ``meta.profile``."""
    return profile_url(profile) in (resource.get("meta") or {}).get("profile", ())


def references_at(resource: dict, path: str) -> list[str]:
    """The ``reference`` strings at the dotted element ``path`` of ``resource`` (lists are walked)."""
    values: list[Any] = [resource]
    for name in path.split("."):
        found: list[Any] = []
        for value in values:
            item = value.get(name) if isinstance(value, dict) else None
            found += item if isinstance(item, list) else [] if item is None else [item]
        values = found
    return [v["reference"] for v in values if isinstance(v, dict) and isinstance(v.get("reference"), str)]


# --- grouping ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordResources:
    """The resources of one record: its anchor first, then its companions in stream order."""

    kind: str
    anchor: str
    """``Type/id`` of the anchor."""
    resources: list[dict]
    missing: tuple[str, ...] = ()
    """What the record's resources refer to but the stream did not hold (``CarePlan/scp-1.careTeam ->
    CareTeam/sct-1``); such a record cannot be converted."""


@dataclass(frozen=True)
class Unassigned:
    """A resource that belongs to no record of the kinds asked for, and why."""

    resource: str
    """``Type/id``."""
    reason: str


@dataclass
class Grouping:
    records: list[RecordResources] = field(default_factory=list)
    unassigned: list[Unassigned] = field(default_factory=list)
    provenance: list[str] = field(default_factory=list)
    """``Type/id`` of the Provenance resources of the stream (translation metadata, not record content)."""


def group(resources: Iterable[dict], kinds: Sequence[str] | None = None) -> Grouping:
    """Cut ``resources`` into the records of ``kinds`` (all kinds by default), as declared by their shapes.

    A companion two records refer to (one CareTeam named by two EpisodeOfCare) goes to both. Resources are
    matched by ``Type/id``; a later resource with the same ``Type/id`` replaces an earlier one and the
    earlier one is reported as unassigned (a stream should not hold two versions of a resource).
    """
    shapes = _shapes(kinds)
    by_key: dict[str, dict] = {}
    out = Grouping()
    for resource in resources:
        if resource.get("resourceType") == PROVENANCE:
            out.provenance.append(key(resource))
            continue
        if key(resource) in by_key:
            out.unassigned.append(Unassigned(key(resource), "the stream holds this resource twice; the last is used"))
        by_key[key(resource)] = resource
    order = {k: n for n, k in enumerate(by_key)}
    reverse = _ReverseIndex(by_key.values())
    used: set[str] = set()
    for resource in by_key.values():
        for kind, record_shape in shapes:
            if record_shape.is_anchor(resource):
                record = _record(kind, record_shape, resource, by_key, reverse, order)
                used.update(key(r) for r in record.resources)
                out.records.append(record)
                break
    for resource_key, resource in by_key.items():
        if resource_key not in used:
            out.unassigned.append(Unassigned(resource_key, _why_unassigned(resource, shapes)))
    return out


def stream_groups(resources: Iterable[dict], kinds: Sequence[str] | None = None,
                  ) -> Iterator[RecordResources | Unassigned | str]:
    """:func:`group` as a stream: records, unassigned resources and Provenance keys (``str``), in order.

    When every kind asked for is a one-resource record (no companions: quality contacts, team meetings,
    claims, treatment plans), each resource is grouped as it comes, in constant memory. Otherwise the
    stream is read whole first, since a companion may come anywhere (before its anchor, or after).
    """
    shapes = _shapes(kinds)
    if any(s.companions for _, s in shapes):
        found = group(resources, kinds)
        yield from found.records
        yield from found.unassigned
        yield from found.provenance
        return
    for resource in resources:
        if resource.get("resourceType") == PROVENANCE:
            yield key(resource)
            continue
        kind = next((k for k, s in shapes if s.is_anchor(resource)), None)
        if kind is None:
            yield Unassigned(key(resource), _why_unassigned(resource, shapes))
        else:
            yield RecordResources(kind, key(resource), [resource])


def stub(resource: dict, kinds: Sequence[str] | None = None) -> dict:
    """What :func:`group` looks at in ``resource``: its type, id, ``meta.profile`` and the references at the
    paths the shapes of ``kinds`` declare, in the same nesting.

    A reader of a large file can group the (small) stubs of all its resources, then read each record's
    whole resources again, instead of holding every resource at once.
    """
    out: dict[str, Any] = {"resourceType": resource.get("resourceType"), "id": resource.get("id")}
    profiles = (resource.get("meta") or {}).get("profile")
    if profiles:
        out["meta"] = {"profile": list(profiles)}
    for path in dict.fromkeys(c.link.path for _, s in _shapes(kinds) for c in s.companions):
        head, *rest = path.split(".")
        for ref in references_at(resource, path):
            node: dict = {"reference": ref}
            for part in reversed(rest):
                node = {part: node}
            out.setdefault(head, []).append(node)
    return out


def _shapes(kinds: Sequence[str] | None) -> list[tuple[str, RecordShape]]:
    names = kinds if kinds is not None else import_module(__package__).KIND_NAMES
    return [(name, shape(name)) for name in names]


class _ReverseIndex:
    """Resources by (type, profile, path, referenced ``Type/id``), built per (type, profile, path) on demand."""

    def __init__(self, resources: Iterable[dict]) -> None:
        self._resources = list(resources)
        self._built: dict[tuple[str, str, str], dict[str, list[dict]]] = {}

    def referring(self, companion: Companion, path: str, target: str) -> list[dict]:
        index_key = (companion.resource_type, companion.profile, path)
        if index_key not in self._built:
            index: dict[str, list[dict]] = {}
            for r in self._resources:
                if r.get("resourceType") == companion.resource_type and has_profile(r, companion.profile):
                    for ref in references_at(r, path):
                        index.setdefault(ref, []).append(r)
            self._built[index_key] = index
        return self._built[index_key].get(target, [])


def _record(kind: str, record_shape: RecordShape, anchor: dict, by_key: dict[str, dict], reverse: _ReverseIndex,
            order: dict[str, int]) -> RecordResources:
    found: dict[str, dict] = {}
    by_profile: dict[str, list[dict]] = {}
    missing: list[str] = []
    for companion in record_shape.companions:
        link = companion.link
        if isinstance(link, Referencing):
            members = reverse.referring(companion, link.path, key(anchor))
        else:
            holders = [anchor] if link.holder is None else by_profile.get(link.holder, [])
            members = []
            for holder in holders:
                for ref in references_at(holder, link.path):
                    target = by_key.get(ref)
                    if target is None or target.get("resourceType") != companion.resource_type:
                        missing.append(f"{key(holder)}.{link.path} -> {ref}")
                    else:
                        members.append(target)
        by_profile.setdefault(companion.profile, []).extend(members)
        found.update((key(m), m) for m in members)
    found.pop(key(anchor), None)
    companions = sorted(found.values(), key=lambda r: order[key(r)])
    return RecordResources(kind, key(anchor), [anchor, *companions], tuple(missing))


def _why_unassigned(resource: dict, shapes: list[tuple[str, RecordShape]]) -> str:
    of_kinds = [kind for kind, s in shapes if s.is_companion(resource)]
    if of_kinds:
        return (f"a part of a {' or '.join(of_kinds)} record, but no record here takes it (its anchor is not"
                " in the input, or does not refer to it)")
    return "declares none of the record profiles of " + ", ".join(kind for kind, _ in shapes)


# --- Bundles ----------------------------------------------------------------------------------------------------

def resources_of_bundle(bundle: dict) -> list[dict]:
    """The resources of a Bundle's entries, with references to entry fullUrls made relative (``Type/id``).

    A translated transaction Bundle refers between its entries by ``urn:uuid`` fullUrls, and a searchset by
    absolute URLs; the record mappings read relative references, as the server stores them.
    """
    entries = [e for e in bundle.get("entry", []) if isinstance(e.get("resource"), dict)]
    urls = {e["fullUrl"]: key(e["resource"]) for e in entries if e.get("fullUrl") and e["resource"].get("id")}
    return [rewrite_references(e["resource"], urls) if urls else e["resource"] for e in entries]
