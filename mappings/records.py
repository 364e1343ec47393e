"""Base model and field types shared by the flat CMP record models.

Records are what a program system holds: ids, dates, the program's local codes, staff ids. They are
immutable pydantic v2 models that forbid unknown fields, so a misspelt column is an error, not a silent drop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints

#: A FHIR id (R4 ``id`` datatype): what record keys become in resource ids.
Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]{1,40}$")]
#: A short key that is one part of a composite id (``sps-{member_id}-{slug}`` stays within 64 characters).
Slug = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]{1,19}$")]
#: A local code of a ConceptMap source system.
LocalCode = Annotated[str, StringConstraints(pattern=r"^\S+$", max_length=64)]
#: An absolute URI (an identifier system).
Uri = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9+.\-]*:\S+$", max_length=255)]
#: An R4 dateTime to the second with its offset, kept as written (``Z`` stays ``Z``, ``.5`` stays ``.5``): a
#: record that went through FHIR and back is the same text. ``datetime`` values are accepted and written in
#: ISO 8601.
DATETIME_PATTERN = (r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?"
                    r"(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$")


def _from_datetime(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) and value.tzinfo is not None else value


def _real_instant(value: str) -> str:
    datetime.fromisoformat(value)  # the pattern lets 2026-02-30 through; this does not
    return value


DateTime = Annotated[str, BeforeValidator(_from_datetime), StringConstraints(pattern=DATETIME_PATTERN),
                     AfterValidator(_real_instant)]
#: Free text as FHIR ``string`` wants it: not empty, no leading or trailing whitespace.
Text = Annotated[str, StringConstraints(pattern=r"^\S(.*\S)?$", max_length=1000)]


def unique(values: list | tuple, what: str) -> None:
    """Refuse repeated keys: each becomes part of a resource id, and two resources must not share one.

    Raises:
        ValueError: a key is repeated.
    """
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"{what} must be unique; repeated: {', '.join(repeated)}")


class Record(BaseModel):
    """A flat program record: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class StaffRef(Record):
    """A staff member as records name one: the staff id (``PractitionerRole/pr-{staff_id}``) and the name."""

    staff_id: Key
    name: Text | None = None
