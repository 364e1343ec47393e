"""Load FHIR files into the store: JSON or XML resources, Bundles, NDJSON; folders recursively.

A resource with an id is written with update (create-on-update), so loading the same files twice leaves
one copy; a transaction or batch Bundle runs as one; any other Bundle (collection, searchset) has its
entries loaded one by one. A file that fails is reported and the others go on.
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
    for path in fhir_files(paths):
        report.files += 1
        for where, resource in _resources_in(services, path, report):
            try:
                report.stored += _store(services, resource, base_url)
            except FhirError as error:
                report.problems.append(f"{where}: {'; '.join(i.diagnostics for i in error.issues[:3])}")
    return report


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


