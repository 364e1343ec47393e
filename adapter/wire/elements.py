"""``_summary`` and ``_elements``: return part of a resource (R4 search.html §3.1.1.5.8-9).

Which elements are "summary" comes from ``isSummary`` in the base StructureDefinitions; a partial
resource is tagged ``SUBSETTED`` so that nobody mistakes it for the whole one.
"""

from __future__ import annotations

from collections.abc import Callable

from adapter.conformance.structure import TypeModel
from adapter.errors import BadRequest

SUBSETTED_TAG = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED",
                 "display": "subsetted"}
SUMMARY_MODES = ("true", "text", "data", "count", "false")
_ALWAYS_KEPT = ("resourceType", "id", "meta")


def resource_filter(types: TypeModel, summary: str | None, elements: str | None
                    ) -> Callable[[dict], dict] | None:
    """A function that trims a resource as asked, or None when the whole resource is wanted.

    :raise BadRequest: an unknown ``_summary`` mode.
    """
    if summary is not None and summary not in SUMMARY_MODES:
        raise BadRequest(f"_summary={summary!r} is not one of {', '.join(SUMMARY_MODES)}", expression="_summary")
    if elements:
        wanted = {name.strip().split(".", 1)[-1] if "." in name else name.strip()
                  for name in elements.split(",") if name.strip()}
        return lambda resource: _keep(resource, lambda key: key in wanted or _choice_base(key) in wanted)
    if summary in (None, "false", "count"):
        return None
    if summary == "data":
        return lambda resource: _keep(resource, lambda key: key != "text")
    if summary == "text":
        return lambda resource: _keep(resource, lambda key: key == "text" or _is_mandatory(types, resource, key))
    return lambda resource: _keep(resource, lambda key: _is_summary(types, resource, key))


def _keep(resource: dict, wanted: Callable[[str], bool]) -> dict:
    kept = {key: value for key, value in resource.items()
            if key in _ALWAYS_KEPT or wanted(key.lstrip("_"))}
    meta = dict(kept.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED_TAG]
    kept["meta"] = meta
    return kept


def _element(types: TypeModel, resource: dict, key: str):
    found = types.property(resource.get("resourceType", ""), key)
    return found[0] if found else None


def _is_summary(types: TypeModel, resource: dict, key: str) -> bool:
    element = _element(types, resource, key)
    return element is not None and (element.is_summary or element.min > 0)


def _is_mandatory(types: TypeModel, resource: dict, key: str) -> bool:
    element = _element(types, resource, key)
    return element is not None and element.min > 0


def _choice_base(key: str) -> str:
    """``valueQuantity`` → ``value``: ``_elements=value`` selects any type of a choice element."""
    for position in range(1, len(key)):
        if key[position].isupper():
            return key[:position]
    return key
