"""What an 837P needs besides the claims and parties: the interchange envelope, for the CLI and the server.

The envelope (ISA/GS, the 1000A submitter and 1000B receiver, BHT05's time) is not part of any claim
record or FHIR Claim, so it is given: ``--envelope FILE`` (JSON of :class:`mappings.x12_837p.Envelope`'s
fields, ``date`` as ``YYYY-MM-DD``) or, by default, this adapter as the submitter (:data:`SUBMITTER`), the
payer of the first claim as the receiver, the current UTC date and time, and a control number from the
clock (``yydddHHMM``: a new one each minute). ``docs/records/x12.md`` says why control numbers, dates and
times are not compared in round trips.
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import date, datetime
from pathlib import Path

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
