"""``cmp-adapter import``: files of CMP records into the local store or to a remote FHIR server.

A file is read as a stream of records (CMP JSON, CMP CSV one row at a time, or an X12 837P interchange of
claims), each record is mapped (``mappings``) on its own, and the mapped resources go out in transactions
of ``batch_size`` records, each with the Provenance of the translation (``mappings.bundle``). Where they
go is a *sink*: the local store through the same transaction service ``$import-cmp`` uses
(:func:`adapter.services.cmp_import.store_resources`, so the profiles and the validate-on-write policy
apply), or a remote server through :class:`adapter.client.FhirClient`.

A bad record never stops the good ones (issue 5): a record that does not read or map is rejected alone,
and a transaction the store or server refuses is retried one record at a time, so only the records that
are themselves refused are rejected, each with the reason (the server's OperationOutcome). With
``batch_size=0`` the whole file is one transaction: all of it is stored or none (docs/decisions/008).
Resource ids and conditional updates are deterministic, so importing a file twice updates, never
duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ValidationError

import mappings
from adapter.errors import FhirError
from adapter.services import cmp_import
from adapter.services.container import Services
from mappings import bundle as fhir_bundle
from mappings import csv_format, x12_837p
from mappings.codes import UnmappedCode

SOURCES = ("cmp-json", "cmp-csv", "x12")
SOURCE_BY_SUFFIX = {".json": "cmp-json", ".csv": "cmp-csv", ".x12": "x12", ".edi": "x12", ".837": "x12"}
PROVENANCE_FORMAT = {"cmp-json": "cmp-json", "cmp-csv": "cmp-csv", "x12": "x12-837p"}
"""The source format a translation's Provenance names (``mappings.bundle.provenance``)."""
DEFAULT_BATCH_SIZE = 100
"""Records per transaction (docs/decisions/008-cmp-import-batches.md)."""


class Refused(Exception):
    """A sink refused a transaction: why, and the server's OperationOutcome when there is one."""

    def __init__(self, reason: str, outcome: dict | None = None) -> None:
        super().__init__(reason)
        self.reason, self.outcome = reason, outcome


#: Stores the resources of some records (plus a Provenance naming ``source_format``) in one transaction;
#: returns how many resources were written. Raises :class:`Refused`.
Sink = Callable[[list[dict], str], int]


@dataclass(frozen=True)
class SourceRecord:
    """One record read from a file, or why it could not be read."""

    where: str
    """``record[3]`` (JSON), ``row 12`` (CSV), ``claim clm-1`` (X12)."""
    record: BaseModel | None
    problem: str | None = None
    row: csv_format.RowResult | None = None
    """The CSV row it came from (for the rejects file)."""


@dataclass
class Rejection:
    where: str
    reason: str
    outcome: dict | None = None


@dataclass
class FileReport:
    path: Path
    records: int = 0
    accepted: int = 0
    resources: int = 0
    transactions: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    rejects_file: Path | None = None


def source_of(path: Path, source: str | None) -> str:
    """The format of ``path``: ``source`` if given, else by its extension.

    Raises:
        ValueError: neither says.
    """
    found = source or SOURCE_BY_SUFFIX.get(path.suffix.lower())
    if found not in SOURCES:
        raise ValueError(f"{path}: give --format ({', '.join(SOURCES)}); the extension does not say")
    return found


def import_file(kind: str, source: str, path: Path, sink: Sink, *, batch_size: int = DEFAULT_BATCH_SIZE,
                parties: x12_837p.Parties | None = None, rejects_path: Path | None = None,
                on_record: Callable[[], None] | None = None) -> FileReport:
    """Import one file of ``kind`` records in ``source`` format through ``sink``.

    CSV rows that are rejected (at reading, mapping or by the store) go to ``rejects_path`` (default
    ``FILE.rejects.csv``), in the file's own layout with an error column, ready to correct and import again.

    Raises:
        KeyError: unknown kind. ValueError: unknown source, X12 for a kind other than claim, X12 without
            ``parties``, a JSON file that holds no records. csv_format.CsvHeaderError: a bad CSV header.
    """
    module = mappings.kind(kind)
    report = FileReport(path)
    rejects = _LazyRejects(kind, rejects_path or path.with_name(path.name + ".rejects.csv"))
    batch: list[tuple[SourceRecord, list[dict]]] = []

    def reject(item: SourceRecord, reason: str, outcome: dict | None = None) -> None:
        report.rejected.append(Rejection(item.where, reason, outcome))
        if item.row is not None:
            rejects.add(item.row, reason)

    def flush() -> None:
        if batch:
            _send(batch, sink, PROVENANCE_FORMAT[source], report, reject, retry=batch_size > 0)
            batch.clear()

    try:
        for item in read_records(kind, module, source, path, parties):
            report.records += 1
            if on_record:
                on_record()
            if item.record is None:
                reject(item, item.problem or "unreadable")
                continue
            try:
                batch.append((item, module.to_fhir(item.record)))
            except (UnmappedCode, ValueError) as error:  # a code outside a ConceptMap, a value it cannot map
                reject(item, str(error))
                continue
            if batch_size and len(batch) >= batch_size:
                flush()
        flush()
    finally:
        report.rejects_file = rejects.close()
    return report


def _send(batch: list[tuple[SourceRecord, list[dict]]], sink: Sink, source_format: str, report: FileReport,
          reject: Callable[..., None], *, retry: bool) -> None:
    """One transaction for ``batch``; if refused, one per record (when ``retry``) so only bad ones fail."""
    try:
        report.resources += sink([r for _, resources in batch for r in resources], source_format)
        report.transactions += 1
        report.accepted += len(batch)
        return
    except Refused as refused:
        if not retry or len(batch) == 1:
            for item, _ in batch:
                reject(item, refused.reason, refused.outcome)
            return
    for item, resources in batch:
        try:
            report.resources += sink(resources, source_format)
            report.transactions += 1
            report.accepted += 1
        except Refused as refused:
            reject(item, refused.reason, refused.outcome)


# --- reading -------------------------------------------------------------------------------------------------

def read_records(kind: str, module: Any, source: str, path: Path,
                 parties: x12_837p.Parties | None = None) -> Iterator[SourceRecord]:
    """The records of a file, in order, each with where it came from (see :func:`import_file` for Raises)."""
    if source == "cmp-json":
        return _json_records(module, path)
    if source == "cmp-csv":
        return _csv_records(kind, path)
    if source == "x12":
        if kind != "claim":
            raise ValueError(f"X12 837P holds claims: --kind claim, not {kind}")
        if parties is None:
            raise ValueError("reading X12 needs the parties (billing providers, members, payers)")
        return _x12_records(path, parties)
    raise ValueError(f"unknown source format {source!r}; one of {', '.join(SOURCES)}")


def _json_records(module: Any, path: Path) -> Iterator[SourceRecord]:
    body = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(body, dict) and isinstance(body.get("records"), list):
        body = body["records"]
    items = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    if not items:
        raise ValueError(f"{path}: no CMP records (a JSON object, a list, or {{\"records\": [...]}})")
    for number, raw in enumerate(items):
        where = f"record[{number}]"
        try:
            yield SourceRecord(where, module.MODEL.model_validate(raw))
        except ValidationError as error:
            yield SourceRecord(where, None, "; ".join(
                f"{'.'.join(str(p) for p in e.get('loc', ())) or 'record'}: {e.get('msg', 'invalid')}"
                for e in error.errors()))


def _csv_records(kind: str, path: Path) -> Iterator[SourceRecord]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        for row in csv_format.read_csv(kind, stream):
            problem = None if row.ok else "; ".join(f"column {e.column or 'row'}: {e.reason}" for e in row.errors)
            yield SourceRecord(f"row {row.row}", row.record, problem, row)


def _x12_records(path: Path, parties: x12_837p.Parties) -> Iterator[SourceRecord]:
    text = path.read_text(encoding="ascii", errors="replace")
    for number, found in enumerate(x12_837p.parse_837p(text, parties), 1):
        if isinstance(found, x12_837p.ParseError):
            where = f"claim {found.claim_id}" if found.claim_id else "interchange"
            yield SourceRecord(where, None, str(found))
        else:
            yield SourceRecord(f"claim {found.claim_id} (transaction set {number})", found)


class _LazyRejects:
    """A rejects file that exists only once some row was rejected (the layout of ``csv_format``)."""

    def __init__(self, kind: str, path: Path) -> None:
        self._kind, self._path = kind, path
        self._stream: TextIO | None = None
        self._writer: csv_format.RejectsWriter | None = None

    def add(self, row: csv_format.RowResult, reason: str) -> None:
        if self._writer is None:
            self._stream = self._path.open("w", encoding="utf-8", newline="")
            self._writer = csv_format.RejectsWriter(self._kind, self._stream)
        if row.ok:  # read well, refused later (mapping, profiles, server): the reason is the row's error
            row = csv_format.RowResult(row.row, None, (csv_format.RowError(row.row, "", reason),), row.cells,
                                       row.header)
        self._writer.add(row)

    def close(self) -> Path | None:
        if self._stream is None:
            return None
        self._stream.close()
        return self._path


# --- sinks ---------------------------------------------------------------------------------------------------

def local_sink(services: Services, *, source_system: str = "unknown", base_url: str = "") -> Sink:
    """Write into the local store: one transaction, validated as any transaction Bundle is."""

    def send(resources: list[dict], source_format: str) -> int:
        try:
            cmp_import.store_resources(services, resources, base_url, source_system, source_format)
        except FhirError as error:
            errors = [i for i in error.issues if i.is_error] or error.issues
            raise Refused("; ".join(_issue_text(i) for i in errors) or str(error)) from error
        return len(resources)

    return send


def remote_sink(client: Any, *, source_system: str = "unknown") -> Sink:
    """POST the transaction Bundle to a remote FHIR server (an :class:`adapter.client.FhirClient`).

    Only a refusal (an HTTP 4xx/5xx with its OperationOutcome) is a :class:`Refused`; a server that does not
    answer raises the client's ``TransportError``, which stops the import.
    """
    from adapter.client import HTTPStatusError

    def send(resources: list[dict], source_format: str) -> int:
        transaction = fhir_bundle.transaction(resources, datetime.now(UTC), source_system, source_format)
        try:
            client.transaction(transaction)
        except HTTPStatusError as error:
            raise Refused(str(error), error.outcome) from error
        return len(resources)

    return send


def _issue_text(issue: Any) -> str:
    where = f" {issue.expression}" if issue.expression else ""
    rule = f" [{issue.rule_id}]" if issue.rule_id else ""
    return f"{issue.severity}{rule}{where}: {issue.diagnostics}"
