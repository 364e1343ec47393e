"""Read FHIR resources from files: JSON or XML resources and Bundles, NDJSON; folders recursively.

Shared by ``cmp-adapter load`` (into the store) and ``cmp-adapter validate`` (offline).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from adapter.conformance.structure import TypeModel
from adapter.wire import codec
from adapter.wire.formats import Format

SUFFIXES = {".json": Format.JSON, ".xml": Format.XML, ".ndjson": None}


def fhir_files(paths: list[Path]) -> Iterator[Path]:
    """Every ``.json``, ``.xml`` and ``.ndjson`` file named or below a named folder, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
        elif path.suffix in SUFFIXES:
            yield path


def read_resources(path: Path, types: TypeModel, max_depth: int) -> Iterator[tuple[str, dict]]:
    """``(where, resource)`` for each resource of a file (one per NDJSON line).

    Raises:
        adapter.errors.BadRequest: a resource that is not well-formed FHIR JSON or XML.
        OSError: the file cannot be read.
    """
    if path.suffix == ".ndjson":
        with path.open("rb") as lines:
            for number, line in enumerate(lines, 1):
                if line.strip():
                    yield f"{path}:{number}", codec.decode(line, Format.JSON, types, max_depth=max_depth)
        return
    yield str(path), codec.decode(path.read_bytes(), SUFFIXES[path.suffix], types, max_depth=max_depth)
