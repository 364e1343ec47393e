"""What an 837P needs besides the claims: the interchange envelope and the parties, for the CLI and server.

The envelope (ISA/GS, the 1000A submitter and 1000B receiver, BHT05's time) is not part of any claim
record or FHIR Claim, so it is given: ``--envelope FILE`` (JSON of :class:`mappings.x12_837p.Envelope`'s
fields, ``date`` as ``YYYY-MM-DD``) or, by default, this adapter as the submitter (:data:`SUBMITTER`), the
payer of the first claim as the receiver, the current UTC date and time, and a control number from the
clock (``yydddHHMM``: a new one each minute). ``docs/records/x12.md`` says why control numbers, dates and
times are not compared in round trips.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import fields
from datetime import date, datetime
from pathlib import Path

from adapter import fhirjson
from mappings.grouping import resources_of_bundle
from mappings.x12_837p import Envelope, Payer

#: This adapter as the 837P submitter (1000A) and interchange sender, unless an envelope file says otherwise.
SUBMITTER = {"sender_id": "CMPADAPTER", "submitter_name": "CMP FHIR ADAPTER", "submitter_contact": "BILLING OFFICE",
             "submitter_phone": "4065550100"}


def control_number(moment: datetime) -> int:
    """A control number from the clock, ``yydddHHMM`` (fits ISA13's nine digits)."""
    return int(moment.strftime("%y%j%H%M"))


def default_envelope(payer: Payer, moment: datetime, *, usage: str = "P") -> Envelope:
    """The envelope of an interchange from this adapter to ``payer``, made at ``moment``."""
    return Envelope(receiver_id=payer.identifier, receiver_name=payer.name, control_number=control_number(moment),
                    date=moment.date(), time=moment.strftime("%H%M"), usage=usage, **SUBMITTER)


def load_envelope(path: Path) -> Envelope:
    """An :class:`Envelope` from a JSON file of its fields (``date`` as ``YYYY-MM-DD``).

    Raises:
        ValueError: not JSON, an unknown or missing field.
    """
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from exc
    known = {f.name for f in fields(Envelope)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{path}: unknown envelope fields {unknown}; known: {sorted(known)}")
    try:
        return Envelope(**{**values, "date": date.fromisoformat(values["date"])})
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: envelope fields missing or wrong ({exc})") from exc


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
    with path.open("rb") as stream:
        for number, line in enumerate(stream, 1):
            if line.strip():
                body = _loads(line, f"{path}, line {number}")
                if not isinstance(body, dict):
                    raise ValueError(f"{path}, line {number}: not a FHIR resource")
                yield body


def read_parties_file(path: Path) -> list[dict]:
    """The resources of a parties file: a Bundle (or one resource) in JSON, or NDJSON.

    Raises:
        ValueError: neither.
    """
    data = path.read_bytes()
    try:
        return _resources(fhirjson.loads(data), str(path))
    except ValueError:
        return list(read_ndjson(path))


def _loads(data: bytes, where: str):
    try:
        return fhirjson.loads(data)
    except ValueError as exc:
        raise ValueError(f"{where}: not JSON ({exc})") from exc


def _resources(body, where: str) -> list[dict]:
    if not isinstance(body, dict) or "resourceType" not in body:
        raise ValueError(f"{where}: not a FHIR resource")
    return resources_of_bundle(body) if body["resourceType"] == "Bundle" else [body]
