"""FHIR files read as the resources of CMP records: JSON Bundles, NDJSON, parties files.

Used by ``cmp-adapter convert`` (``--from fhir-json|fhir-ndjson``, ``--parties``). NDJSON is grouped into
records in little memory: for kinds without companions one line at a time
(:func:`mappings.grouping.stream_groups`); for kinds with companions in two passes -- the first groups the
small stubs of every line (type, id, profiles and the references the shapes look at,
:func:`mappings.grouping.stub`) and remembers where each line starts, the second reads each record's lines
again -- so only the stubs, not the resources, are held at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from adapter import fhirjson
from mappings import grouping

GroupItem = grouping.RecordResources | grouping.Unassigned | str


def read_fhir_json(path: Path) -> list[dict]:
    """The resources of a FHIR JSON file: a Bundle's entries (references to entry fullUrls made relative) or
    the one resource it holds.

    Raises:
        ValueError: not JSON, or not a resource.
    """
    return _resources(_loads(path.read_bytes(), str(path)), str(path))


def read_ndjson(path: Path) -> Iterator[dict]:
    """The resources of an NDJSON file, one line at a time (constant memory).

    Raises:
        ValueError: a line that is not a JSON object.
    """
    for _, body in _ndjson_lines(path):
        yield body


def read_parties_file(path: Path) -> list[dict]:
    """The resources of a parties file: a Bundle (or one resource) in JSON, or NDJSON.

    Raises:
        ValueError: neither.
    """
    try:
        return _resources(fhirjson.loads(path.read_bytes()), str(path))
    except ValueError:
        return list(read_ndjson(path))


def ndjson_groups(path: Path, kinds: Sequence[str]) -> Iterator[GroupItem]:
    """The records of ``kinds`` in an NDJSON file, then the unassigned resources and Provenance keys.

    Raises:
        ValueError: a line that is not a JSON object.
    """
    if not any(grouping.shape(k).companions for k in kinds):
        yield from grouping.stream_groups(read_ndjson(path), kinds)
        return
    starts: dict[str, int] = {}
    stubs = []
    for start, body in _ndjson_lines(path):
        stubs.append(grouping.stub(body, kinds))
        starts[grouping.key(body)] = start  # a repeated resource: the last one, as group() takes it
    found = grouping.group(stubs, kinds)
    del stubs
    with path.open("rb") as stream:
        def whole(part: dict) -> dict:
            stream.seek(starts[grouping.key(part)])
            return fhirjson.loads(stream.readline())

        for record in found.records:
            yield grouping.RecordResources(record.kind, record.anchor, [whole(r) for r in record.resources],
                                           record.missing)
    yield from found.unassigned
    yield from found.provenance


def _ndjson_lines(path: Path) -> Iterator[tuple[int, dict]]:
    start = 0
    with path.open("rb") as stream:
        for number, line in enumerate(stream, 1):
            if line.strip():
                body = _loads(line, f"{path}, line {number}")
                if not isinstance(body, dict):
                    raise ValueError(f"{path}, line {number}: not a FHIR resource")
                yield start, body
            start += len(line)


def _loads(data: bytes, where: str):
    try:
        return fhirjson.loads(data)
    except ValueError as exc:
        raise ValueError(f"{where}: not JSON ({exc})") from exc


def _resources(body, where: str) -> list[dict]:
    if not isinstance(body, dict) or "resourceType" not in body:
        raise ValueError(f"{where}: not a FHIR resource")
    return grouping.resources_of_bundle(body) if body["resourceType"] == "Bundle" else [body]
