"""Load FHIR files into the store: JSON or XML resources, Bundles, NDJSON; folders recursively.

A resource with an id is written with update (create-on-update), so loading the same files twice leaves
one copy; a transaction or batch Bundle runs as one; any other Bundle (collection, searchset) has its
entries loaded one by one. A file that fails is reported and the others go on.

Loose resources are written after the resources of the same load they refer to (files in name order
otherwise): the write-time program rules judge a claim by the contacts already stored, a shared plan by
its care team, so a folder of examples loads whatever its files are called.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from adapter.errors import FhirError
from adapter.services import bundles, resources
from adapter.services.container import Services
from adapter.services.fhir_files import fhir_files, read_resources


@dataclass
class LoadReport:
    files: int = 0
    stored: int = 0
    problems: list[str] = field(default_factory=list)


def load_paths(services: Services, paths: list[Path], base_url: str = "") -> LoadReport:
    report = LoadReport()
    found = []
    for path in fhir_files(paths):
        report.files += 1
        found.extend(_resources_in(services, path, report))
    for where, resource in referenced_first(found):
        try:
            report.stored += _store(services, resource, base_url)
        except FhirError as error:
            report.problems.append(f"{where}: {'; '.join(i.diagnostics for i in error.issues[:3])}")
    return report


def referenced_first(found: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The resources in their order, except that a resource comes after those it refers to (``Type/id``)
    among them; a reference cycle is broken where the walk meets it again."""
    keys = {f"{r.get('resourceType')}/{r['id']}": n for n, (_, r) in enumerate(found) if r.get("id")}
    placed: set[int] = set()
    ordered: list[tuple[str, dict]] = []

    def place(index: int, visiting: set[int]) -> None:
        if index in placed or index in visiting:
            return
        visiting.add(index)
        for target in _references(found[index][1]):
            if target in keys:
                place(keys[target], visiting)
        placed.add(index)
        ordered.append(found[index])

    for index in range(len(found)):
        place(index, set())
    return ordered


def _references(value: object) -> Iterator[str]:
    """Every literal relative reference (``Type/id``) in a resource."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _resources_in(services: Services, path: Path, report: LoadReport) -> Iterator[tuple[str, dict]]:
    try:
        yield from read_resources(path, services.definitions.types, services.settings.max_nesting_depth)
    except FhirError as error:
        report.problems.append(f"{path}: {error.issues[0].diagnostics}")
    except OSError as error:
        report.problems.append(f"{path}: {error}")


def _store(services: Services, resource: dict, base_url: str) -> int:
    """Write one resource or Bundle; returns how many resources were stored."""
    res_type = resource["resourceType"]
    if res_type == "Bundle" and resource.get("type") in ("transaction", "batch"):
        response = bundles.process(services, resource, base_url)
        return sum(1 for entry in response.get("entry", [])
                   if entry["response"]["status"][:1] == "2" and entry["response"].get("location"))
    if res_type == "Bundle" and resource.get("type") in ("collection", "searchset", "history"):
        return sum(_store(services, entry["resource"], base_url)
                   for entry in resource.get("entry", []) if isinstance(entry.get("resource"), dict))
    if resource.get("id"):
        resources.update(services, res_type, resource["id"], resource)
    else:
        resources.create(services, res_type, resource)
    return 1


