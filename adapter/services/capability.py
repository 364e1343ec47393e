"""The CapabilityStatement, generated from what this process really offers (R4 capabilitystatement.html).

Interactions come from the routes the REST layer registered, resource types from the settings and the
loaded definitions, search parameters from what the search engine implements, formats from the wire
layer. Nothing here is a hand-kept list of features.
"""

from __future__ import annotations

from collections.abc import Iterable

from adapter import __version__
from adapter.search.engine import supported_params
from adapter.services.container import Services
from adapter.store.sql import format_instant, now_utc
from adapter.wire.formats import Format

_STARTED = format_instant(now_utc())
#: Search-result parameters the engine implements for every type (R4 search.html §3.1.1.5).
RESULT_PARAMETERS = ("_count", "_sort", "_total", "_summary", "_elements", "_include", "_revinclude", "_offset")


def capability_statement(services: Services, base_url: str, interactions: Iterable[tuple[str, str]] = (),
                         operations: Iterable[tuple[str, str, tuple[str, ...] | None]] = ()) -> dict:
    """The server's CapabilityStatement.

    ``interactions`` are ``(level, code)`` pairs the REST layer serves: level ``type``/``instance`` for
    resource interactions, ``system`` for whole-server ones (``transaction``, ``batch``, ``history-system``).
    ``operations`` are ``(name, OperationDefinition url, resource types)``: types None means on every
    type, an empty tuple means a system-level operation (``[base]/$name``).
    """
    operations = list(operations)
    by_level: dict[str, list[str]] = {}
    for level, code in interactions:
        by_level.setdefault(level, []).append(code)
    type_codes = sorted(set(by_level.get("type", []) + by_level.get("instance", [])))
    resources = [_resource(services, res_type, type_codes, operations)
                 for res_type in sorted(services.settings.resource_types) if services.supports_type(res_type)]
    rest: dict = {"mode": "server", "resource": resources}
    system_codes = sorted(set(by_level.get("system", [])))
    if system_codes:
        rest["interaction"] = [{"code": code} for code in system_codes]
    system_operations = [{"name": name, "definition": url} for name, url, types in operations if types == ()]
    if system_operations:
        rest["operation"] = system_operations
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": _STARTED,
        "publisher": "cmp-fhir-adapter",
        "kind": "instance",
        "software": {"name": "cmp-fhir-adapter", "version": __version__},
        "implementation": {"description": "CMP FHIR adapter", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": [fmt.value for fmt in Format] + ["json", "xml"],
        "rest": [rest],
    }


def _resource(services: Services, res_type: str, codes: list[str],
              operations: list[tuple[str, str, tuple[str, ...] | None]]) -> dict:
    params = supported_params(services.definitions, res_type)
    references = sorted(p.code for p in params if p.type == "reference")
    entry: dict = {
        "type": res_type,
        "profile": f"http://hl7.org/fhir/StructureDefinition/{res_type}",
        "interaction": [{"code": code} for code in codes],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalRead": "not-supported",
        "conditionalUpdate": True,
        "conditionalDelete": "single",
        "searchInclude": ["*", *(f"{res_type}:{code}" for code in references)],
        "searchRevInclude": ["*"],
        "searchParam": [
            {"name": p.code, "definition": p.url, "type": p.type, **({"documentation": p.description}
                                                                      if p.description else {})}
            for p in sorted(params, key=lambda p: p.code)
        ],
    }
    offered = [{"name": name, "definition": url} for name, url, types in operations
               if types is None or res_type in types]
    if offered:
        entry["operation"] = offered
    return entry
