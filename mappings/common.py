"""Shared building blocks of the record mappings: identifiers, periods, references, money and ids.

Every helper is a pure function of its arguments. Ids are deterministic: readable ids from the record's
business key, as the examples use (``Patient/{member_id}``, ``EpisodeOfCare/enr-{member_id}``), so converting
a record again gives the same resources and a re-import updates rather than duplicates. :data:`NAMESPACE`
is the UUID v5 namespace for the ``urn:uuid`` fullUrls of translated Bundles.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

RecordT = TypeVar("RecordT")

#: Encounter.status codes (R4 encounter-status) a contact or meeting record may carry.
ENCOUNTER_STATUSES = ("planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled")

CANONICAL = "https://cmp-adapter.org/fhir"
CODE_SYSTEM = f"{CANONICAL}/CodeSystem"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, CANONICAL)

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
NPI = "http://hl7.org/fhir/sid/us-npi"
MEDICAID_ID = f"{CANONICAL}/NamingSystem/medicaid-member-id"


def profile_url(profile_id: str) -> str:
    """The canonical URL of one of our StructureDefinitions."""
    return f"{CANONICAL}/StructureDefinition/{profile_id}"


def resource(resource_type: str, resource_id: str, profile: str, **elements: object) -> dict:
    """A resource with its id and ``meta.profile`` first, then ``elements`` without the ``None`` ones."""
    return {"resourceType": resource_type, "id": resource_id, "meta": {"profile": [profile_url(profile)]},
            **{k: v for k, v in elements.items() if v is not None}}


def coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def concept(system: str, code: str, display: str | None = None) -> dict:
    return {"coding": [coding(system, code, display)]}


def identifier(system: str, value: str, type_code: str | None = None, type_display: str | None = None) -> dict:
    """An Identifier, typed with a v2-0203 code when ``type_code`` is given."""
    typed = {"type": concept(V2_0203, type_code, type_display)} if type_code else {}
    return {**typed, "system": system, "value": value}


def identifier_value(identifiers: list[dict], system: str) -> str | None:
    """The value of the first identifier of ``system``."""
    return next((i["value"] for i in identifiers if i.get("system") == system), None)


def reference(resource_type: str, resource_id: str, display: str | None = None) -> dict:
    return {"reference": f"{resource_type}/{resource_id}", **({"display": display} if display else {})}


def reference_id(ref: dict, resource_type: str) -> str:
    """The id of a relative reference ``Type/id``.

    Raises:
        ValueError: the reference is not to ``resource_type``.
    """
    kind, _, rid = ref.get("reference", "").partition("/")
    if kind != resource_type or not rid:
        raise ValueError(f"expected a reference to {resource_type}, got {ref.get('reference')!r}")
    return rid


def strip_prefix(value: str, prefix: str) -> str:
    """``value`` without ``prefix``; the inverse of an id built as ``prefix + key``.

    Raises:
        ValueError: ``value`` does not start with ``prefix``.
    """
    if not value.startswith(prefix):
        raise ValueError(f"{value!r} does not start with {prefix!r}")
    return value[len(prefix):]


def period(start: date | datetime | None, end: date | datetime | None = None) -> dict | None:
    """A Period of dates or datetimes, or ``None`` when both ends are missing."""
    elements = {k: v.isoformat() for k, v in (("start", start), ("end", end)) if v is not None}
    return elements or None


def parse_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def money(value: Decimal, currency: str = "USD") -> dict:
    """A Money with the amount as a ``Decimal`` (never a float: ``105.00`` stays ``105.00``)."""
    return {"value": value, "currency": currency}


def parse_money(value: dict) -> Decimal:
    return Decimal(str(value["value"]))


def full_name(given: str, family: str) -> str:
    return f"{given} {family}"


SERVER_META = ("versionId", "lastUpdated", "source")


class LossyConversion(ValueError):
    """FHIR resources hold something the record cannot carry; converting them would silently drop it."""

    def __init__(self, differences: list[str]) -> None:
        shown = "; ".join(differences[:10]) + (f"; and {len(differences) - 10} more" if len(differences) > 10 else "")
        super().__init__(f"the record cannot carry all of the resources: {shown}")
        self.differences = differences


def _comparable(value: object) -> object:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value


def rewrite_references(value: object, urls: dict[str, str]) -> object:
    """A copy of ``value`` whose ``reference`` strings found in ``urls`` are replaced by what they map to
    (``Patient/m-1`` -> ``urn:uuid:...`` in a transaction, and back when a Bundle is read)."""
    if isinstance(value, dict):
        out = {k: rewrite_references(v, urls) for k, v in value.items()}
        target = value.get("reference")
        if isinstance(target, str) and target in urls:
            out["reference"] = urls[target]
        return out
    if isinstance(value, list):
        return [rewrite_references(v, urls) for v in value]
    return value


def differences(given: object, rebuilt: object, path: str) -> list[str]:
    """Where ``rebuilt`` differs from ``given`` (JSON-like values; numbers compared as decimals)."""
    if isinstance(given, dict) and isinstance(rebuilt, dict):
        out = []
        for key in dict.fromkeys([*given, *rebuilt]):
            if key not in rebuilt:
                out.append(f"{path}.{key} is not carried")
            elif key not in given:
                out.append(f"{path}.{key} would be added")
            else:
                out += differences(given[key], rebuilt[key], f"{path}.{key}")
        return out
    if isinstance(given, list) and isinstance(rebuilt, list):
        pairs = enumerate(zip(given, rebuilt, strict=False))
        out = [d for i, (a, b) in pairs for d in differences(a, b, f"{path}[{i}]")]
        if len(given) != len(rebuilt):
            out.append(f"{path} has {len(given)} items, the record carries {len(rebuilt)}")
        return out
    same = isinstance(given, bool) is isinstance(rebuilt, bool) and _comparable(given) == _comparable(rebuilt)
    return [] if same else [f"{path}: {given!r} would become {rebuilt!r}"]


def ensure_lossless(given: list[dict], rebuilt: list[dict]) -> None:
    """Check that the resources rebuilt from a record are the given ones (server meta aside).

    This is what makes ``from_fhir`` safe on any input: whatever the record model cannot carry (a second
    address, another profile in ``meta.profile``, an unknown extension) is reported, never dropped.

    Raises:
        LossyConversion: with every difference, as ``Type/id.path`` messages.
    """
    def key(body: dict) -> str:
        return f"{body.get('resourceType')}/{body.get('id')}"

    def strip(body: dict) -> dict:
        meta = {k: v for k, v in body.get("meta", {}).items() if k not in SERVER_META}
        return {k: v for k, v in body.items() if k != "meta"} | ({"meta": meta} if meta else {})

    rebuilt_by_key = {key(r): strip(r) for r in rebuilt}
    found = []
    for body in given:
        if key(body) not in rebuilt_by_key:
            found.append(f"{key(body)} is not part of the record")
            continue
        mine, theirs = strip(body), rebuilt_by_key.pop(key(body))
        if "meta" not in mine:
            theirs.pop("meta", None)  # declaring our profile adds nothing that could be lost
        found += differences(mine, theirs, key(body))
    found += [f"{k} is missing from the resources" for k in rebuilt_by_key]
    if found:
        raise LossyConversion(found)


def lossless_from_fhir(parse: Callable[[list[dict]], RecordT], build: Callable[[RecordT], list[dict]],
                       ) -> Callable[[list[dict]], RecordT]:
    """A record kind's ``from_fhir``: ``parse`` the resources into a record, then refuse them unless
    ``build`` (the kind's ``to_fhir``) gives them back exactly. Every kind uses this one rule."""

    def from_fhir(resources: list[dict]) -> RecordT:
        """The record of ``resources``, refused when it could not give them back exactly.

        Raises:
            LossyConversion: the resources hold something the record cannot carry.
            ValueError: the resources are not those of one record of this kind.
            codes.UnmappedCode: a code outside the ConceptMaps.
        """
        record = parse(resources)
        ensure_lossless(resources, build(record))
        return record

    return from_fhir
