"""Our operations are defined in our IG: every operation with our canonical that a CapabilityStatement
lists (the server's, built from ``OPERATIONS``, and the IG's own) is an OperationDefinition of the package,
and the server serves it once the IG's resources are loaded (``cmp-adapter load``, as scripts/demo.sh does)."""

from __future__ import annotations

import json
from pathlib import Path

from adapter.rest.fhir_api import OPERATIONS
from adapter.services.loader import load_paths

PROFILES = Path(__file__).resolve().parents[2] / "profiles"
CANONICAL = "https://cmp-adapter.org/fhir/"


def package_operations() -> dict[str, dict]:
    found = [json.loads(p.read_text()) for p in PROFILES.glob("OperationDefinition-*.json")]
    return {definition["url"]: definition for definition in found}


def listed_operations(statement: dict) -> list[tuple[str | None, str, str]]:
    """``(resource type or None for the system, name, definition)`` of every operation a statement lists."""
    listed = []
    for rest in statement["rest"]:
        listed += [(None, op["name"], op["definition"]) for op in rest.get("operation", [])]
        for resource in rest.get("resource", []):
            listed += [(resource["type"], op["name"], op["definition"]) for op in resource.get("operation", [])]
    return listed


def defines(definition: dict, resource_type: str | None, name: str) -> bool:
    """The definition is the operation ``name`` at the level it is listed at."""
    if definition["code"] != name:
        return False
    if resource_type is None:
        return definition.get("system", False)
    return resource_type in definition.get("resource", []) and (definition.get("type") or definition.get("instance"))


def test_every_operation_of_ours_in_the_operations_table_is_in_the_package():
    ours = {url: (name, types) for name, url, types in OPERATIONS.values() if url.startswith(CANONICAL)}
    assert "https://cmp-adapter.org/fhir/OperationDefinition/import-cmp" in ours
    package = package_operations()
    for url, (name, types) in ours.items():
        assert url in package, f"{url} is offered but not defined in profiles/"
        for resource_type in types or (None,):  # () is the system level; None (every type) is not ours
            assert defines(package[url], resource_type, name), url


def test_every_operation_of_ours_the_server_lists_is_in_the_package(client):
    statement = client.get("/fhir/metadata").get_json(force=True)
    package = package_operations()
    ours = [op for op in listed_operations(statement) if op[2].startswith(CANONICAL)]
    assert ours
    for resource_type, name, url in ours:
        assert url in package and defines(package[url], resource_type, name), (resource_type, name, url)


def test_the_igs_capability_statement_lists_only_defined_operations():
    statement = json.loads((PROFILES / "CapabilityStatement-cmp-adapter-server.json").read_text())
    listed = listed_operations(statement)
    assert {url for _, _, url in listed} >= {f"{CANONICAL}OperationDefinition/import-cmp",
                                             f"{CANONICAL}OperationDefinition/export-cmp"}
    package = package_operations()
    for resource_type, name, url in listed:
        if url.startswith(CANONICAL):
            assert url in package and defines(package[url], resource_type, name), (resource_type, name, url)


def test_the_operation_definitions_are_served_once_loaded(client, services):
    files = sorted(PROFILES.glob("OperationDefinition-*.json"))
    report = load_paths(services, files)
    assert report.problems == [] and report.stored == len(files) >= 4
    for name, level in (("import-cmp", "system"), ("export-cmp", "instance"), ("cmp-eligibility", "instance"),
                        ("generate-cmp-claims", "type"), ("cmp-compliance", "instance")):
        response = client.get(f"/fhir/OperationDefinition/{name}")
        assert response.status_code == 200, response.get_data(as_text=True)
        definition = response.get_json(force=True)
        assert definition["url"] == f"{CANONICAL}OperationDefinition/{name}" and definition[level] is True
    found = client.get(f"/fhir/OperationDefinition?url={CANONICAL}OperationDefinition/export-cmp").get_json(force=True)
    assert [e["resource"]["id"] for e in found["entry"]] == ["export-cmp"]
