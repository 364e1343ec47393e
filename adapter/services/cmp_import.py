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
from adapter import fhirjson
from adapter.errors import BadRequest, Issue, Unprocessable
from adapter.services import bundles, search
from adapter.services.container import Services
from mappings import bundle as fhir_bundle
from mappings import csv_format, x12_837p
from mappings.codes import UnmappedCode
from mappings.common import MEDICAID_ID, NPI
from mappings.x12_parties import X12_PAYER_ID, parties_from_fhir

SOURCE_FORMAT_JSON = "cmp-json"
SOURCE_FORMAT_CSV = "cmp-csv"
SOURCE_FORMAT_X12 = "x12-837p"


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


def import_x12(services: Services, text: str, base_url: str, *, source_system: str = "unknown",
               kind: str | None = None) -> dict:
    """Map and store the claims of an 837P interchange (``docs/records/x12.md``) in one transaction.

    The parties the claims name are looked up in the store: the billing provider by NPI among the team
    Organizations, the member by Medicaid id among the Patients, the payer by its X12 payer id among the
    payer Organizations (``mappings/x12_parties.py``).

    :raise BadRequest: the body is not an interchange, or ``kind`` is not ``claim``.
    :raise Unprocessable: a malformed interchange (segment, position and element named), or claims naming
        a provider, member or payer the store does not know (each named with its claim and segment).
    """
    if kind not in (None, "claim"):
        raise BadRequest(f"an 837P interchange holds claims: ?kind= is claim (or absent), not {kind!r}",
                         expression="kind")
    if not text.lstrip().startswith("ISA"):
        raise BadRequest("the body is not an X12 interchange (it does not start with ISA)")
    parties, notes = parties_from_fhir(_stored_parties(services, text))
    records: list = []
    rejected: list[Issue] = []
    for item in x12_837p.parse_837p(text, parties):
        if isinstance(item, x12_837p.ParseError):
            claim = f"claim {item.claim_id}: " if item.claim_id else ""
            where = ".".join(p for p in (item.segment and f"{item.segment}[{item.position}]", item.element) if p)
            rejected.append(Issue("error", "invalid", f"{claim}{item}", where or None))
        else:
            records.append((f"claim {item.claim_id}", item))
    if rejected:
        rejected += [Issue("warning", "processing", note) for note in notes]
    return _store(services, mappings.kind("claim"), records, rejected, base_url, source_system, SOURCE_FORMAT_X12)


def _stored_parties(services: Services, text: str) -> list[dict]:
    """The stored resources an interchange may name: found by the NPIs, Medicaid ids and payer ids in it."""
    wanted = {"85": [], "IL": [], "PR": []}
    for fields in _segments(text):
        if fields[0] == "NM1" and len(fields) > 9 and fields[1] in wanted:
            wanted[fields[1]].append(fields[9])
    searches = [("Organization", NPI, wanted["85"]), ("Patient", MEDICAID_ID, wanted["IL"]),
                ("Organization", X12_PAYER_ID, wanted["PR"])]
    found: dict[str, dict] = {}
    with services.store.connect() as conn:
        for res_type, system, values in searches:
            for value in dict.fromkeys(values):
                page = search.search(services, res_type, [("identifier", f"{system}|{value}"), ("_count", "10")],
                                     handling="strict", conn=conn).page
                found.update((f"{res_type}/{row.res_id}", fhirjson.loads(row.content)) for row in page.matches)
    return list(found.values())


def _segments(text: str) -> list[list[str]]:
    """The segments of an interchange as fields, by the delimiters its ISA sets (nothing if it sets none)."""
    if len(text) < x12_837p.ISA_LENGTH:
        return []
    element, terminator = text[3], text[x12_837p.ISA_LENGTH - 1]
    return [segment.strip().split(element) for segment in text.split(terminator) if segment.strip()]


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
    return store_resources(services, resources, base_url, source_system, source_format)


def store_resources(services: Services, resources: list[dict], base_url: str, source_system: str,
                    source_format: str) -> dict:
    """Store mapped resources (with their Provenance) in one transaction; the transaction-response Bundle.

    ``cmp-adapter import`` calls this once per batch of records, as ``$import-cmp`` does once per request.

    :raise FhirError: a resource fails validation (422) or cannot be written; nothing is stored.
    """
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
