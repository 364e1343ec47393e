"""Render every failure as an OperationOutcome: the one error handler of the service.

A :class:`~adapter.errors.FhirError` keeps its status and issues; a Werkzeug HTTP error (unknown route,
method not allowed, body too large) keeps its status; anything else is a bug and becomes a bare 500 whose
details stay in the log. 4xx are logged without a stack trace, 5xx with one (as HAPI's
``ExceptionHandlingInterceptor`` does).
"""

from __future__ import annotations

import logging

from flask import Flask, Response
from sqlalchemy.exc import DBAPIError, OperationalError
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
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(Exception, _unexpected)


def _format_or_json() -> Format:
    """The negotiated format, or JSON when negotiation itself is what failed."""
    try:
        return request_info.out_format()
    except NotAcceptable:
        return Format.JSON


def _fhir_error(error: FhirError) -> Response:
    log.info("%s %s: %s", error.status, type(error).__name__, error)
    return outcome_response(error.issues, error.status, error.headers, _format_or_json())


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    code = _HTTP_ISSUE_CODES.get(status, "processing")
    message = error.description or error.name
    if status == 404:
        message = "no such FHIR endpoint; the FHIR base is /fhir (e.g. GET /fhir/metadata)"
    headers = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else None
    return outcome_response([Issue("error", code, message)], status, headers, _format_or_json())


def _database_unavailable(error: DBAPIError) -> Response:
    if not error.connection_invalidated and "could not connect" not in str(error).lower() \
            and "connection" not in str(error).lower():
        return _unexpected(error)
    log.error("database unavailable: %s", error.orig)
    return outcome_response([Issue("error", "transient", "the database is unavailable; retry later")], 503,
                            {"Retry-After": "5"}, _format_or_json())


def _unexpected(error: Exception) -> Response:
    log.exception("unexpected error")
    return outcome_response([Issue("fatal", "exception", "internal server error; the details are in the server log")],
                            500, None, _format_or_json())
