"""HTTP responses for FHIR interactions: bodies in the negotiated format and the standard headers."""

from __future__ import annotations

from datetime import UTC
from email.utils import format_datetime

from flask import Response, request

from adapter import fhirjson
from adapter.audit import context as audit_context
from adapter.rest import request_info
from adapter.rest.outcome import operation_outcome
from adapter.store.sql import StoredResource
from adapter.wire import codec
from adapter.wire.elements import resource_filter
from adapter.wire.formats import Format


def http_date(stored: StoredResource) -> str:
    return format_datetime(stored.last_updated.replace(tzinfo=UTC), usegmt=True)


def version_headers(stored: StoredResource) -> dict[str, str]:
    return {"ETag": stored.etag, "Last-Modified": http_date(stored)}


def version_location(stored: StoredResource) -> str:
    return f"{request_info.base_url()}/{stored.res_type}/{stored.res_id}/_history/{stored.version}"


def fhir_response(resource: dict, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A resource dict in the negotiated format."""
    fmt = request_info.out_format()
    types = request_info.services().definitions.types
    body = codec.encode(resource, fmt, types, pretty=request_info.pretty())
    return Response(body, status=status, headers=headers, content_type=fmt.content_type)


def stored_response(stored: StoredResource, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A stored version: its bytes as stored, unless XML, ``_pretty``, ``_summary`` or ``_elements`` ask otherwise."""
    audit_context.note_returned(stored)
    fmt = request_info.out_format()
    types = request_info.services().definitions.types
    trim = resource_filter(types, request.args.get("_summary"), request.args.get("_elements"))
    if trim is None:
        body = codec.encode_stored(stored.content or b"{}", fmt, types, pretty=request_info.pretty())
    else:
        body = codec.encode(trim(fhirjson.loads(stored.content or b"{}")), fmt, types, pretty=request_info.pretty())
    return Response(body, status=status, headers={**version_headers(stored), **(headers or {})},
                    content_type=fmt.content_type)


def write_response(stored: StoredResource, status: int, issues: list, *, location: bool) -> Response:
    """The answer to a create or update, shaped by ``Prefer: return=`` (R4 http.html §3.1.0.1.8)."""
    headers = version_headers(stored)
    if location:
        headers["Location"] = version_location(stored)
    else:
        headers["Content-Location"] = version_location(stored)
    wanted = request_info.prefer().return_
    if wanted == "minimal":
        return Response(b"", status=status, headers=headers)
    if wanted == "OperationOutcome":
        return fhir_response(operation_outcome(issues), status, headers)
    return stored_response(stored, status, headers)


def outcome_response(issues: list, status: int, headers: dict[str, str] | None = None,
                     fmt: Format | None = None) -> Response:
    """An OperationOutcome, in ``fmt`` when given (errors raised before negotiation use JSON)."""
    fmt = fmt or request_info.out_format()
    types = request_info.services().definitions.types
    body = codec.encode(operation_outcome(issues), fmt, types, pretty=False)
    return Response(body, status=status, headers=headers, content_type=fmt.content_type)
