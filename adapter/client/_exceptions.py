"""What the FHIR client raises.

The hierarchy::

    FhirClientError                  anything the client raises
    ├── TransportError               no HTTP answer; carries ``request`` (method, url)
    │   ├── ConnectError             could not connect (refused, DNS, TLS)
    │   └── RequestTimeout           connect or read took longer than the timeout
    ├── UnsafeURLError               a server-sent link (``next``) points outside the base URL
    ├── BulkExportError              ``$export`` kick-off without a status URL, or not done in time
    ├── TokenError                   SMART backend services: no token (discovery or token endpoint refused)
    └── HTTPStatusError              the server answered 4xx/5xx; carries ``response``, ``status_code``
        │                            and ``outcome`` (the OperationOutcome it sent, or None)
        ├── BadRequest               400
        ├── Unauthorized             401
        ├── Forbidden                403
        ├── ResourceNotFound         404
        ├── MethodNotAllowed         405
        ├── Conflict                 409
        ├── ResourceGone             410  (deleted)
        ├── PreconditionFailed       412  (stale If-Match, ambiguous conditional interaction)
        ├── UnprocessableEntity      422  (the resource breaks a profile or business rule)
        ├── TooManyRequests          429  (raised once the retries are spent)
        └── ServerError              5xx  (raised once the retries are spent for 502/503/504)

Only :meth:`FhirClient._send <adapter.client.FhirClient>` turns statuses into these (via
:func:`error_for_status`), so every interaction fails the same way.
"""

from __future__ import annotations

from typing import Any

import requests


class FhirClientError(Exception):
    """Base class of everything the client raises."""


class TokenError(FhirClientError):
    """No access token: the SMART configuration could not be read, or the token endpoint refused (its
    RFC 6749 ``error`` code and description are kept)."""

    def __init__(self, message: str, *, error: str | None = None, description: str | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.description = description


class TransportError(FhirClientError):
    """The request got no HTTP answer."""

    def __init__(self, message: str, *, request: requests.PreparedRequest | None = None) -> None:
        super().__init__(message)
        self.request = request


class ConnectError(TransportError):
    """The connection could not be made."""


class RequestTimeout(TransportError):
    """The server did not connect or answer within the timeout."""


class UnsafeURLError(FhirClientError):
    """A URL the server sent (a paging link) is outside the client's base URL; following it could leak the
    credentials to another host, so the client refuses (fhir-py does the same)."""


class BulkExportError(FhirClientError):
    """A Bulk Data export did not start properly or did not finish in time."""


class HTTPStatusError(FhirClientError):
    """The server answered with a 4xx or 5xx status.

    :ivar response: the :class:`requests.Response`.
    :ivar status_code: its status.
    :ivar outcome: the OperationOutcome in the body as a dict, or None when the body is not one.
    """

    def __init__(self, message: str, *, response: requests.Response, outcome: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code
        self.outcome = outcome

    @property
    def request(self) -> requests.PreparedRequest:
        return self.response.request


class BadRequest(HTTPStatusError):
    """400."""


class Unauthorized(HTTPStatusError):
    """401."""


class Forbidden(HTTPStatusError):
    """403."""


class ResourceNotFound(HTTPStatusError):
    """404."""


class MethodNotAllowed(HTTPStatusError):
    """405."""


class Conflict(HTTPStatusError):
    """409."""


class ResourceGone(HTTPStatusError):
    """410: the resource was deleted."""


class PreconditionFailed(HTTPStatusError):
    """412: a stale ``If-Match`` or a conditional interaction that matched several resources."""


class UnprocessableEntity(HTTPStatusError):
    """422: the resource is not valid for the server."""


class TooManyRequests(HTTPStatusError):
    """429, after the retries are spent."""


class ServerError(HTTPStatusError):
    """5xx."""


STATUS_ERRORS: dict[int, type[HTTPStatusError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: ResourceNotFound, 405: MethodNotAllowed,
    409: Conflict, 410: ResourceGone, 412: PreconditionFailed, 422: UnprocessableEntity, 429: TooManyRequests,
}


def error_for_status(response: requests.Response) -> HTTPStatusError:
    """The exception for a 4xx/5xx response, with the OperationOutcome from its body when there is one."""
    outcome = _outcome_of(response)
    cls = STATUS_ERRORS.get(response.status_code) or (ServerError if response.status_code >= 500 else HTTPStatusError)
    detail = outcome_text(outcome) if outcome else (response.text[:200] if response.text else "")
    message = f"{response.status_code} {response.reason or ''} for {response.request.method} {response.url}".strip()
    return cls(f"{message}: {detail}" if detail else message, response=response, outcome=outcome)


def outcome_text(outcome: dict[str, Any]) -> str:
    """The issues of an OperationOutcome on one line: ``severity expression: diagnostics; ...``."""
    parts = []
    for issue in outcome.get("issue", []):
        where = ",".join(issue.get("expression", []) or issue.get("location", []))
        text = issue.get("diagnostics") or issue.get("details", {}).get("text") or issue.get("code", "")
        severity = issue.get("severity", "?")
        parts.append(f"{severity} {where}: {text}" if where else f"{severity}: {text}")
    return "; ".join(parts)


def _outcome_of(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome" else None
