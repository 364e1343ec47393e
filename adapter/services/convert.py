"""``cmp-adapter convert``: CMP records <-> FHIR files, and X12 837P claims, offline (no server, no database).

Every conversion is *read records, write records*: a reader turns the input into records of one kind
(CMP JSON, CMP CSV, an 837P interchange, or FHIR resources grouped into records by the kind's declared
shape, ``mappings/grouping.py``), and a writer turns records into the output (FHIR JSON/NDJSON/XML, CMP
JSON/CSV, 837P). So FHIR -> FHIR is the only pair that is refused.

Memory: CSV and NDJSON are read one row/line at a time and NDJSON, CSV and CMP JSON written one record at a
time, so they convert in constant memory; FHIR NDJSON of one-resource kinds (contacts, meetings, claims,
treatment plans) too. For kinds with companions (member, team, enrollment, shared care plan) a companion may
come before or after its anchor, so NDJSON is grouped in two passes holding only small stubs of the lines
(``record_input.ndjson_groups``). A FHIR JSON Bundle and an 837P interchange are read whole.

Bad CSV rows go to a rejects file that can be corrected and converted again; FHIR resources that make no
record, and records that cannot be converted, are reported (never dropped in silence).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any, TextIO

import pydantic

import mappings
from adapter import fhirjson
from adapter.conformance.structure import TypeModel
from adapter.services import record_input, x12_io
from adapter.wire import xml_format
from mappings import bundle as fhir_bundle
from mappings import csv_format, grouping, x12_837p
from mappings.codes import UnmappedCode
from mappings.common import LossyConversion
from mappings.x12_parties import parties_from_fhir

SOURCES = ("cmp-json", "cmp-csv", "x12", "fhir-json", "fhir-ndjson")
TARGETS = ("fhir-json", "fhir-ndjson", "fhir-xml", "cmp-json", "cmp-csv", "x12")
FHIR_FORMATS = ("fhir-json", "fhir-ndjson", "fhir-xml")
X12 = "x12"
X12_KIND = "claim"
#: What ``from_fhir`` raises on resources that are not those our mappings write.
NOT_CONVERTIBLE = (LossyConversion, ValueError, KeyError, IndexError, TypeError, UnmappedCode)


@dataclass
class ConvertReport:
    records: int = 0
    """Records written."""
    resources: int = 0
    """FHIR resources written (FHIR targets)."""
    rejected: int = 0
    """Records (rows, claims, groups of resources) that could not be converted; each is in ``problems``."""
    problems: list[str] = field(default_factory=list)
    rejects_file: Path | None = None
    unassigned: list[str] = field(default_factory=list)
    """FHIR input: resources that belong to no record of the kind, with the reason."""
    provenance: int = 0
    """FHIR input: Provenance resources (the translation's metadata, not converted)."""
    notes: list[str] = field(default_factory=list)
    """Parties that could not be read from FHIR (why a claim names an unknown party)."""


def convert(kind: str, source: str, target: str, in_path: Path, out_path: Path, *, types: TypeModel | None = None,
            source_system: str = "unknown", on_record: Callable[[], None] | None = None,
            parties_path: Path | None = None, envelope: x12_837p.Envelope | None = None) -> ConvertReport:
    """Convert a file of records of ``kind`` from ``source`` to ``target`` format.

    ``fhir-json``/``fhir-xml`` write one transaction Bundle (with a Provenance) ready to POST to any server;
    ``fhir-ndjson`` one resource per line; ``cmp-json`` a JSON array of records; ``cmp-csv`` the kind's CSV
    layout; ``x12`` one 837P interchange (``envelope`` or :func:`x12_io.default_envelope`). X12 (either
    way) is for ``claim`` only and needs the 837P parties: from ``parties_path`` (a FHIR Bundle or NDJSON)
    and, for FHIR input, from the input's own Patients and Organizations. ``types`` (the R4 type model)
    is needed for XML.

    Raises:
        KeyError: unknown kind. ValueError: an unusable pair of formats, unreadable input, no parties for
        X12 input. csv_format.CsvHeaderError: bad CSV header.
    """
    module = mappings.kind(kind)
    _check_pair(kind, source, target, parties_path)
    report = ConvertReport()
    parties = _parties(source, target, in_path, parties_path, report) if X12 in (source, target) else None
    records = _counted(_read(kind, module, source, in_path, out_path, parties, report), on_record)
    with out_path.open("w", encoding="utf-8", newline="") as out:
        _write(kind, module, target, records, out, report, types=types, source_system=source_system,
               source_format=source, parties=parties, envelope=envelope)
    return report


def _check_pair(kind: str, source: str, target: str, parties_path: Path | None) -> None:
    if source not in SOURCES or target not in TARGETS:
        raise ValueError(f"--from must be one of {SOURCES} and --to one of {TARGETS}")
    if source in FHIR_FORMATS and target in FHIR_FORMATS:
        raise ValueError("FHIR to FHIR is not a conversion of records: one side must be cmp-json, cmp-csv or x12")
    if source == target:
        raise ValueError(f"--from and --to are both {source}")
    if X12 in (source, target) and kind != X12_KIND:
        raise ValueError(f"X12 837P carries claims: use --kind {X12_KIND}, not {kind}")
    if source == X12 and parties_path is None:
        raise ValueError("--from x12 needs --parties FILE (the team Organizations, Patients and payer "
                         "Organizations the claims name; see docs/records/x12.md)")
    if target == X12 and source not in FHIR_FORMATS and parties_path is None:
        raise ValueError("--to x12 from CMP records needs --parties FILE (see docs/records/x12.md)")


def _parties(source: str, target: str, in_path: Path, parties_path: Path | None,
             report: ConvertReport) -> x12_837p.Parties:
    """The 837P parties: the ``--parties`` file's, then (FHIR input) the input's own, by one extra pass."""
    resources = record_input.read_parties_file(parties_path) if parties_path else []
    if source in FHIR_FORMATS:
        resources += [r for r in _fhir_resources(source, in_path)
                      if r.get("resourceType") in ("Patient", "Organization")]
    parties, report.notes = parties_from_fhir(resources)
    return parties


def _counted(records: Iterator, on_record: Callable[[], None] | None) -> Iterator:
    for record in records:
        if on_record:
            on_record()
        yield record


# --- readers ------------------------------------------------------------------------------------------------

def _read(kind: str, module: Any, source: str, in_path: Path, out_path: Path, parties: x12_837p.Parties | None,
          report: ConvertReport) -> Iterator:
    if source == "cmp-json":
        return _read_json(module, in_path, report)
    if source == "cmp-csv":
        return _read_csv(kind, in_path, out_path, report)
    if source == X12:
        return _read_x12(in_path, parties, report)
    if source == "fhir-ndjson":
        return _read_fhir(module, record_input.ndjson_groups(in_path, [kind]), report)
    return _read_fhir(module, grouping.stream_groups(record_input.read_fhir_json(in_path), [kind]), report)


def _read_json(module: Any, in_path: Path, report: ConvertReport) -> Iterator:
    body = json.loads(in_path.read_text(encoding="utf-8"))
    items = body.get("records", [body]) if isinstance(body, dict) else body
    for number, item in enumerate(items):
        try:
            yield module.MODEL.model_validate(item)
        except pydantic.ValidationError as exc:
            report.rejected += 1
            report.problems += [f"record[{number}].{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]


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


def _read_x12(in_path: Path, parties: x12_837p.Parties | None, report: ConvertReport) -> Iterator:
    for item in x12_837p.parse_837p(in_path.read_text(encoding="ascii", errors="replace"), parties):
        if isinstance(item, x12_837p.ParseError):
            report.rejected += 1
            report.problems.append((f"claim {item.claim_id}: " if item.claim_id else "") + str(item))
        else:
            yield item


def _fhir_resources(source: str, in_path: Path) -> Iterable[dict]:
    return record_input.read_ndjson(in_path) if source == "fhir-ndjson" else record_input.read_fhir_json(in_path)


def _read_fhir(module: Any, groups: Iterable[record_input.GroupItem], report: ConvertReport) -> Iterator:
    """The records of the grouped resources (grouped by the kind's declared shape); the rest reported."""
    for item in groups:
        if isinstance(item, str):
            report.provenance += 1
        elif isinstance(item, grouping.Unassigned):
            report.unassigned.append(f"{item.resource}: {item.reason}")
        elif item.missing:
            report.rejected += 1
            report.problems.append(f"{item.anchor}: refers to resources that are not in the input: "
                                   + "; ".join(item.missing))
        else:
            try:
                yield module.from_fhir(item.resources)
            except NOT_CONVERTIBLE as exc:
                report.rejected += 1
                report.problems.append(f"{item.anchor}: {exc}")


# --- writers ------------------------------------------------------------------------------------------------

def _write(kind: str, module: Any, target: str, records: Iterator, out: TextIO, report: ConvertReport, *,
           types: TypeModel | None, source_system: str, source_format: str, parties: x12_837p.Parties | None,
           envelope: x12_837p.Envelope | None) -> None:
    if target in FHIR_FORMATS:
        _write_fhir(module, target, records, out, report, types, source_system, source_format)
    elif target == "cmp-json":
        _write_json(records, out, report)
    elif target == "cmp-csv":
        report.records += csv_format.write_csv(kind, records, out)
    else:
        out.write(_x12_text(records, report, parties, envelope))


def _write_fhir(module: Any, target: str, records: Iterator, out: TextIO, report: ConvertReport,
                types: TypeModel | None, source_system: str, source_format: str) -> None:
    def resources() -> Iterator[dict]:
        for record in records:
            report.records += 1
            for resource in module.to_fhir(record):
                report.resources += 1
                yield resource

    if target == "fhir-ndjson":
        for resource in resources():
            out.write(fhirjson.dumps(resource).decode("utf-8") + "\n")
    else:
        transaction = fhir_bundle.transaction(list(resources()), datetime.now(UTC), source_system, source_format)
        out.write(_bundle_text(transaction, target, types))


def record_json(record: pydantic.BaseModel) -> dict:
    """A record as CMP JSON (the form of ``examples/cmp/<kind>.json``: absent fields left out)."""
    return record.model_dump(mode="json", exclude_none=True)


def _write_json(records: Iterator, out: TextIO, report: ConvertReport) -> None:
    """A JSON array, one record at a time; the same text as ``json.dumps(list, indent=2)``."""
    for record in records:
        text = json.dumps(record_json(record), indent=2, ensure_ascii=False).replace("\n", "\n  ")
        out.write(("[\n  " if report.records == 0 else ",\n  ") + text)
        report.records += 1
    out.write("\n]\n" if report.records else "[]\n")


def _x12_text(records: Iterator, report: ConvertReport, parties: x12_837p.Parties | None,
              envelope: x12_837p.Envelope | None) -> str:
    """One 837P interchange of the claims that can go to 837P; each that cannot is a problem."""
    parties = parties or x12_837p.Parties()
    first = next(records, None)
    if first is None:
        return ""
    if envelope is None:
        payer = parties.get("payer", first.payer_id)
        if payer is None:
            raise ValueError(f"no payer {first.payer_id!r} in the parties: the interchange needs a receiver"
                             " (give --parties or --envelope)")
        envelope = x12_io.default_envelope(payer, datetime.now(UTC))

    def writable() -> Iterator:
        for claim in chain([first], records):
            try:
                x12_837p.claims_to_837p([claim], envelope, parties)
            except (ValueError, UnmappedCode) as exc:
                report.rejected += 1
                report.problems.append(f"claim {claim.claim_id}: {exc}")
                continue
            report.records += 1
            yield claim

    return x12_837p.claims_to_837p(writable(), envelope, parties)


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
