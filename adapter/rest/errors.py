"""Render every failure as an OperationOutcome: the one error handler of the service.

A :class:`~adapter.errors.FhirError` keeps its status and issues; a Werkzeug HTTP error (unknown route,
method not allowed, body too large) keeps its status; anything else is a bug and becomes a bare 500 whose
details stay in the log. 4xx are logged without a stack trace, 5xx with one (as HAPI's
``ExceptionHandlingInterceptor`` does). A lost database connection (PostgreSQL restarting, the network) is
a 503 with ``Retry-After``, not a 500.

Log lines never carry PHI: an error is logged by status, class and its issues' codes, locations and rule
ids, never the diagnostics (they quote values); a stack trace is logged by frames and exception class,
without the exception's message (see docs/security.md, "Audit and logging").
"""

from __future__ import annotations

import logging
import traceback

from flask import Flask, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from adapter.errors import FhirError, Issue, NotAcceptable
from adapter.rest import request_info
from adapter.rest.responses import outcome_response
from adapter.wire.formats import Format

log = logging.getLogger(__name__)

_HTTP_ISSUE_CODES = {404: "not-found", 405: "not-supported", 413: "too-costly", 415: "not-supported"}


def init_app(app: Flask) -> None:
    app.register_error_handler(FhirError, _fhir_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DBAPIError, _database_unavailable)
    app.register_error_handler(Exception, _unexpected)


def _format_or_json() -> Format:
    """The negotiated format, or JSON when negotiation itself is what failed."""
    try:
        return request_info.out_format()
    except NotAcceptable:
        return Format.JSON


def _fhir_error(error: FhirError) -> Response:
    log.info("%s %s: %s", error.status, type(error).__name__, _issue_summary(error.issues))
    return outcome_response(error.issues, error.status, error.headers, _format_or_json())


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    code = _HTTP_ISSUE_CODES.get(status, "processing")
    message = error.description or error.name
    if status == 404:
        message = "no such FHIR endpoint; the FHIR base is /fhir (e.g. GET /fhir/metadata)"
    headers = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else None
    return outcome_response([Issue("error", code, message)], status, headers, _format_or_json())


def _issue_summary(issues: list[Issue]) -> str:
    """``invalid@Patient.name[0] required@Patient.gender[rule ele-1]``: what and where, no values."""
    return " ".join(f"{issue.code}@{issue.expression or '-'}" + (f"[rule {issue.rule_id}]" if issue.rule_id else "")
                    for issue in issues)


def is_disconnect(error: DBAPIError) -> bool:
    """The database is out of reach (refused, restarted, connection dropped), not a bug in a statement."""
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    message = str(error.orig).lower()
    return any(sign in message for sign in ("connect", "connection", "terminating", "shutting down", "closed",
                                            "starting up", "recovery mode", "server closed",
                                            "database is locked"))


def _database_unavailable(error: DBAPIError) -> Response:
    if not is_disconnect(error):
        return _unexpected(error)
    log.error("database unavailable: %s", type(error.orig).__name__)
    return outcome_response([Issue("error", "transient", "the database is unavailable; retry later")], 503,
                            {"Retry-After": "5"}, _format_or_json())


def _unexpected(error: Exception) -> Response:
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error("unexpected error %s.%s (message withheld: it may quote data)\n%s", type(error).__module__,
              type(error).__name__, frames)
    return outcome_response([Issue("fatal", "exception", "internal server error; the details are in the server log")],
                            500, None, _format_or_json())
