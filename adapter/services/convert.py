"""``cmp-adapter convert``: CMP records to FHIR files, offline (no server, no database).

CSV is streamed one row at a time and NDJSON written one resource at a time, so a file of any length
converts in constant memory; bad CSV rows go to a rejects file that can be corrected and converted again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import mappings
from adapter import fhirjson
from adapter.conformance.structure import TypeModel
from adapter.wire import xml_format
from mappings import bundle as fhir_bundle
from mappings import csv_format

SOURCES = ("cmp-json", "cmp-csv")
TARGETS = ("fhir-json", "fhir-ndjson", "fhir-xml")


@dataclass
class ConvertReport:
    records: int = 0
    resources: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)
    rejects_file: Path | None = None


def convert(kind: str, source: str, target: str, in_path: Path, out_path: Path, *, types: TypeModel | None = None,
            source_system: str = "unknown", on_record: Callable[[], None] | None = None) -> ConvertReport:
    """Convert a file of CMP records of ``kind`` into FHIR.

    ``fhir-json``/``fhir-xml`` write one transaction Bundle (with a Provenance) ready to POST to any server;
    ``fhir-ndjson`` writes one resource per line. ``types`` (the R4 type model) is needed for XML.

    Raises:
        KeyError: unknown kind. ValueError: unknown source or target. csv_format.CsvHeaderError: bad header.
    """
    module = mappings.kind(kind)
    if source not in SOURCES or target not in TARGETS:
        raise ValueError(f"--from must be one of {SOURCES} and --to one of {TARGETS}")
    report = ConvertReport()
    records = _read(kind, module, source, in_path, out_path, report)

    def resources() -> Iterator[dict]:
        for record in records:
            report.records += 1
            if on_record:
                on_record()
            for resource in module.to_fhir(record):
                report.resources += 1
                yield resource

    with out_path.open("w", encoding="utf-8", newline="") as out:
        if target == "fhir-ndjson":
            for resource in resources():
                out.write(fhirjson.dumps(resource).decode("utf-8") + "\n")
        else:
            transaction = fhir_bundle.transaction(list(resources()), datetime.now(UTC), source_system, source)
            out.write(_bundle_text(transaction, target, types))
    return report


def _read(kind: str, module: Any, source: str, in_path: Path, out_path: Path, report: ConvertReport) -> Iterator:
    if source == "cmp-json":
        body = json.loads(in_path.read_text(encoding="utf-8"))
        items = body.get("records", [body]) if isinstance(body, dict) else body
        return (module.MODEL.model_validate(item) for item in items)
    return _read_csv(kind, in_path, out_path, report)


def _read_csv(kind: str, in_path: Path, out_path: Path, report: ConvertReport) -> Iterator:
    rejects_path = out_path.with_name(out_path.name + ".rejects.csv")
    with in_path.open(encoding="utf-8-sig", newline="") as stream, _LazyRejects(kind, rejects_path) as rejects:
        for row in csv_format.read_csv(kind, stream):
            if row.record is not None:
                yield row.record
                continue
            report.rejected += 1
            report.problems += [f"row {e.row}, column {e.column}: {e.reason}" for e in row.errors]
            rejects.add(row)
    report.rejects_file = rejects_path if report.rejected else None


class _LazyRejects:
    """A rejects file that exists only if some row was rejected."""

    def __init__(self, kind: str, path: Path) -> None:
        self._kind, self._path = kind, path
        self._stream: TextIO | None = None
        self._writer: csv_format.RejectsWriter | None = None

    def __enter__(self) -> _LazyRejects:
        return self

    def add(self, row: csv_format.RowResult) -> None:
        if self._writer is None:
            self._stream = self._path.open("w", encoding="utf-8", newline="")
            self._writer = csv_format.RejectsWriter(self._kind, self._stream)
        self._writer.add(row)

    def __exit__(self, *exc_info: object) -> None:
        if self._stream is not None:
            self._stream.close()


def _bundle_text(bundle: dict, target: str, types: TypeModel | None) -> str:
    if target == "fhir-xml":
        if types is None:
            raise ValueError("XML output needs the R4 type model")
        return xml_format.resource_to_xml(bundle, types, pretty=True).decode("utf-8")
    return fhirjson.dumps(bundle, pretty=True).decode("utf-8") + "\n"
