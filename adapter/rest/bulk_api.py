"""Bulk Data ``$export`` over HTTP (HL7 Bulk Data Access IG 2.0, export.html): thin handlers.

::

    GET    /fhir/$export | /fhir/Patient/$export | /fhir/Group/{id}/$export   (Prefer: respond-async)
           → 202, Content-Location: /fhir/$export-status/{job}
    POST   the same, with the parameters in a Parameters body (or the query string)
    GET    /fhir/$export-status/{job}   → 202 X-Progress + Retry-After | 200 manifest | 500 | 404
    DELETE /fhir/$export-status/{job}   → 202 (cancelled, files removed) | 404
    GET    /fhir/$export-files/{job}/{file}  → 200 application/fhir+ndjson (streamed from disk) | 404

The export machinery (one :class:`~adapter.services.bulk_export.BulkExports` per app) lives in
``app.extensions["cmp_bulk"]``; :func:`init_app` creates it and starts its workers when jobs are pending.
"""

from __future__ import annotations

from datetime import UTC
from email.utils import format_datetime

from flask import Blueprint, Flask, Response, current_app, request, send_file

from adapter import fhirjson
from adapter.auth import enforcement
from adapter.auth.needs import AUTHENTICATED, Need, on, on_every_type
from adapter.rest import request_info as req
from adapter.rest.outcome import information
from adapter.rest.responses import fhir_response
from adapter.services import bulk_request
from adapter.services.bulk_export import BulkExports

NDJSON = "application/fhir+ndjson"

#: What each endpoint needs when authorization is on (adapter/auth/needs.py). An export reads every type it
#: may contain, so it needs read and search on all of them; the status and file URLs need only a token, and
#: the job must be the caller's. Clients restricted to organizations are refused (exports are not filtered).
ACCESS: dict[str, Need] = {
    "fhir_bulk.export_system": on_every_type("rs"),
    "fhir_bulk.export_patient": on_every_type("rs"),
    "fhir_bulk.export_group": on("Group", "r", also=(("*", "rs"),)),
    "fhir_bulk.export_status": AUTHENTICATED,
    "fhir_bulk.export_cancel": AUTHENTICATED,
    "fhir_bulk.export_file": AUTHENTICATED,
}
bulk_api = Blueprint("fhir_bulk", __name__, url_prefix="/fhir")


def init_app(app: Flask) -> None:
    """Register the routes and the export machinery; resume pending jobs."""
    exports = BulkExports(app.extensions["cmp"])
    app.extensions["cmp_bulk"] = exports
    app.extensions["cmp"].on_close.append(exports.close)  # stop the workers before the engine goes
    app.register_blueprint(bulk_api)
    exports.start_if_pending()


def _exports() -> BulkExports:
    return current_app.extensions["cmp_bulk"]


def _hidden_types() -> frozenset[str]:
    """Types the caller's scopes leave out of an export (the audit trail, without an explicit scope)."""
    access = enforcement.current_access()
    return access.permissions.hidden_types("r") if access is not None else frozenset()


def _client_id() -> str | None:
    """The authenticated caller (None with authorization off): a job belongs to the client that started it."""
    access = enforcement.current_access()
    return access.client_id if access is not None else None


@bulk_api.route("/$export", methods=["GET", "POST"], endpoint="export_system")
def export_system() -> Response:
    return _kick_off("system", None)


@bulk_api.route("/Patient/$export", methods=["GET", "POST"], endpoint="export_patient")
def export_patient() -> Response:
    return _kick_off("patient", None)


@bulk_api.route("/Group/<group_id>/$export", methods=["GET", "POST"], endpoint="export_group")
def export_group(group_id: str) -> Response:
    return _kick_off("group", group_id)


@bulk_api.get("/$export-status/<job_id>")
def export_status(job_id: str) -> Response:
    status = _exports().status(job_id, f"{req.base_url()}/$export-files", _client_id())
    if not status.done:
        return Response(status=202, headers={"X-Progress": status.progress or "in progress",
                                             "Retry-After": str(status.retry_after or 1)})
    headers = {}
    if status.expires is not None:
        headers["Expires"] = format_datetime(status.expires.replace(tzinfo=UTC), usegmt=True)
    return Response(fhirjson.dumps(status.manifest), status=200, headers=headers, content_type="application/json")


@bulk_api.delete("/$export-status/<job_id>")
def export_cancel(job_id: str) -> Response:
    _exports().cancel(job_id, _client_id())
    return fhir_response(information(f"export job {job_id} cancelled; its files are deleted"), 202)


@bulk_api.get("/$export-files/<job_id>/<name>")
def export_file(job_id: str, name: str) -> Response:
    return send_file(_exports().file_path(job_id, name, _client_id()), mimetype=NDJSON, conditional=True, etag=True)


def _kick_off(level: str, group_id: str | None) -> Response:
    prefer = req.prefer()
    args = [(name, value) for name, value in request.args.items(multi=True)]
    if request.method == "POST" and request.content_length:
        args += bulk_request.parameters_to_args(req.body_resource())
    request_url = req.base_url() + request.full_path.removeprefix(bulk_api.url_prefix or "").rstrip("?")
    job = _exports().kick_off(level, group_id, args, respond_async=prefer.respond_async,
                              lenient=prefer.handling == "lenient", request_url=request_url,
                              client_id=_client_id(), hidden_types=_hidden_types())
    status_url = f"{req.base_url()}/$export-status/{job.id}"
    return fhir_response(information(f"export job {job.id} accepted; poll {status_url}"), 202,
                         {"Content-Location": status_url})
