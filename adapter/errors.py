"""The exceptions that become HTTP error responses, and the issues they carry.

::

    FhirError                 (500, the base: carries a list of Issue)
    ├── BadRequest            400  malformed body, bad parameter, id mismatch
    ├── NotFound              404  unknown type, id or version
    ├── MethodNotAllowed      405
    ├── NotAcceptable         406  no format we can write
    ├── Conflict              409  a concurrent change, a duplicate on create
    ├── Gone                  410  a deleted resource
    ├── PreconditionFailed    412  If-Match or a conditional interaction that matched too many
    ├── PayloadTooLarge       413
    ├── UnsupportedMediaType  415
    ├── Unprocessable         422  the resource is not valid FHIR or breaks a rule
    └── ServiceUnavailable    503  the database is out of reach

Only ``adapter.rest.errors`` renders these (as an OperationOutcome); no other code builds an
OperationOutcome for an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Issue:
    """One OperationOutcome issue: what went wrong, where, and which rule or constraint says so.

    ``code`` is from http://hl7.org/fhir/issue-type (``invalid``, ``structure``, ``required``, ``value``,
    ``invariant``, ``not-found``, ``conflict``, ``processing``, ``not-supported``, ``exception``, ...).
    ``expression`` is a FHIRPath location with indexes (``Patient.name[0].given[1]``).
    ``rule_id`` names the constraint key or program rule (``ele-1``, ``CMP-QC-1``).
    ``resource`` (``Type/id``) names the resource the issue is about when a check spans several (a write
    check over a transaction), so a Bundle response can put it on that resource's entry.
    """

    severity: str
    code: str
    diagnostics: str
    expression: str | None = None
    rule_id: str | None = None
    resource: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity in ("error", "fatal")


class FhirError(Exception):
    """An error with an HTTP status and the issues that explain it."""

    status = 500
    default_code = "exception"

    def __init__(self, diagnostics: str | None = None, *, issues: Iterable[Issue] = (),
                 expression: str | None = None, rule_id: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        collected = list(issues)
        if diagnostics is not None:
            collected.insert(0, Issue("error", self.default_code, diagnostics, expression, rule_id))
        if not collected:
            collected.append(Issue("error", self.default_code, type(self).__name__))
        super().__init__(collected[0].diagnostics)
        self.issues: list[Issue] = collected
        self.headers: dict[str, str] = headers or {}


class BadRequest(FhirError):
    status = 400
    default_code = "invalid"


class NotFound(FhirError):
    status = 404
    default_code = "not-found"


class MethodNotAllowed(FhirError):
    status = 405
    default_code = "not-supported"


class NotAcceptable(FhirError):
    status = 406
    default_code = "not-supported"


class Conflict(FhirError):
    status = 409
    default_code = "conflict"


class Gone(FhirError):
    status = 410
    default_code = "deleted"


class PreconditionFailed(FhirError):
    status = 412
    default_code = "conflict"


class PayloadTooLarge(FhirError):
    status = 413
    default_code = "too-costly"


class UnsupportedMediaType(FhirError):
    status = 415
    default_code = "not-supported"


class Unprocessable(FhirError):
    status = 422
    default_code = "processing"


class ServiceUnavailable(FhirError):
    status = 503
    default_code = "transient"
