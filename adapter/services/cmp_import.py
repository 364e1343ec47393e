"""``$import-cmp``: CMP records in, profiled FHIR resources stored, in one transaction (issue 5).

Every record is checked against its kind's model and mapped (``mappings``) before anything is written; if
any record is rejected, the answer lists every rejected record and nothing is stored. The resources of all
records then go through the transaction service, so they are validated against our profiles and stored
all-or-nothing like any transaction Bundle, with a Provenance saying where they came from.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pydantic

import mappings
from adapter.errors import BadRequest, Issue, Unprocessable
from adapter.services import bundles
from adapter.services.container import Services
from mappings import bundle as fhir_bundle
from mappings import csv_format
from mappings.codes import UnmappedCode

SOURCE_FORMAT_JSON = "cmp-json"
SOURCE_FORMAT_CSV = "cmp-csv"


def import_json_records(services: Services, kind: str | None, body: Any, base_url: str, *,
                        source_system: str = "unknown") -> dict:
    """Map and store CMP JSON records of one kind; returns the transaction-response Bundle.

    ``body`` is one record, a list of records, or ``{"records": [...]}``.

    :raise BadRequest: no or unknown ``kind``, or a body that holds no records.
    :raise Unprocessable: some records are malformed or carry unmapped codes (every one is listed).
    """
    module = _kind_module(kind)
    records: list = []
    rejected: list[Issue] = []
    for number, raw in enumerate(_records(body)):
        try:
            records.append((f"record[{number}]", module.MODEL.model_validate(raw)))
        except pydantic.ValidationError as error:
            rejected += [_field_issue(number, problem) for problem in error.errors()]
    return _store(services, module, records, rejected, base_url, source_system, SOURCE_FORMAT_JSON)


def import_csv(services: Services, kind: str | None, text: str, base_url: str, *,
               source_system: str = "unknown") -> dict:
    """Map and store the rows of a CMP CSV file (``docs/records/csv.md``) in one transaction.

    :raise BadRequest: no or unknown ``kind``, a header that does not fit the kind's layout, no rows.
    :raise Unprocessable: some rows are bad (each listed with its row number, column and reason).
    """
    module = _kind_module(kind)
    try:
        rows = list(csv_format.read_csv(kind, io.StringIO(text, newline="")))
    except csv_format.CsvHeaderError as error:
        raise BadRequest(f"CSV header: {error}") from error
    if not rows:
        raise BadRequest("the CSV holds no rows")
    records = [(f"row {row.row}", row.record) for row in rows if row.record is not None]
    rejected = [Issue("error", "invalid", f"row {problem.row}, column {problem.column}: {problem.reason}",
                      f"row[{problem.row}].{problem.column}") for row in rows for problem in row.errors]
    return _store(services, module, records, rejected, base_url, source_system, SOURCE_FORMAT_CSV)


def _store(services: Services, module: Any, records: list, rejected: list[Issue], base_url: str,
           source_system: str, source_format: str) -> dict:
    """Map every record, then store all the resources in one transaction, or reject them all."""
    resources: list[dict] = []
    for where, record in records:
        try:
            resources += module.to_fhir(record)
        except UnmappedCode as error:
            rejected.append(Issue("error", "code-invalid", f"{where}: {error}", where))
        except ValueError as error:  # a value the mapping cannot map (an unknown status): the record's fault
            rejected.append(Issue("error", "value", f"{where}: {error}", where))
    if rejected:
        raise Unprocessable(issues=rejected)
    transaction = fhir_bundle.transaction(resources, datetime.now(UTC), source_system, source_format)
    return bundles.process(services, transaction, base_url, return_pref="minimal")


def _kind_module(kind: str | None):
    if not kind:
        raise BadRequest(f"$import-cmp needs ?kind= one of {', '.join(mappings.KIND_NAMES)}", expression="kind")
    try:
        return mappings.kind(kind)
    except KeyError as exc:
        raise BadRequest(str(exc.args[0]), expression="kind") from exc


def _records(body: Any) -> list:
    if isinstance(body, dict) and isinstance(body.get("records"), list):
        body = body["records"]
    records = body if isinstance(body, list) else [body] if isinstance(body, dict) else None
    if not records:
        raise BadRequest("the body holds no CMP records: send a JSON object, a list, or {\"records\": [...]}")
    return records


def _field_issue(number: int, problem: dict) -> Issue:
    location = ".".join(str(part) for part in problem.get("loc", ()))
    where = f"record[{number}]" + (f".{location}" if location else "")
    return Issue("error", "invalid", f"{where}: {problem.get('msg', 'invalid')}", where)
