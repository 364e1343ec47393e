"""Request ids on every log line, and a logging setup that keeps PHI out of the logs.

Each request gets an id: the caller's ``X-Request-ID`` when it is a plain token (letters, digits, ``.-_``,
at most 64 characters: anything else could forge log lines), a new one otherwise. The id is echoed in the
response, written into the request's AuditEvent, and added to every log record made while the request is
handled (a log record factory, so records of every logger carry it, whichever handler formats them).

What the service logs never includes request bodies, query values, names or identifier values: error
lines name the status, the error class and the issue codes and locations (``adapter.rest.errors``), the
access log has the method and path without the query string (``adapter.server``), and SQLAlchemy's
statement logger (which would print parameters) stays at WARNING unless ``echo_sql`` is set.
"""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, Response, g, has_request_context, request

HEADER = "X-Request-ID"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._\-]{1,64}")
_NO_REQUEST = "-"


def init_app(app: Flask) -> None:
    """Assign the id before any other hook runs (register this first) and echo it in every response."""
    install_record_factory()
    app.before_request(_assign)
    app.after_request(_echo)


def request_id() -> str:
    """The current request's id (``-`` outside a request)."""
    if not has_request_context():
        return _NO_REQUEST
    current = g.get("request_id")
    if current is None:
        sent = request.headers.get(HEADER, "")
        current = sent if _ACCEPTABLE_ID.fullmatch(sent) else uuid.uuid4().hex
        g.request_id = current
    return current


def _assign() -> None:
    request_id()


def _echo(response: Response) -> Response:
    response.headers[HEADER] = request_id()
    return response


def install_record_factory() -> None:
    """Make every log record carry ``request_id`` (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "_cmp_request_ids", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = current(*args, **kwargs)
        record.request_id = request_id()
        return record

    factory._cmp_request_ids = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def configure_logging(level: int = logging.INFO) -> None:
    """The process's logging: one stderr handler whose lines carry the request id; no SQL parameters."""
    install_record_factory()
    logging.basicConfig(level=level, format=LOG_FORMAT)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
