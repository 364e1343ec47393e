"""Write the audit trail: one AuditEvent per REST interaction, stored as a resource in the normal store.

Two moments, so that every interaction is recorded exactly once and a change is never without its record:

- **Writes** are recorded by :func:`record_write`, a :class:`~adapter.services.write_checks.WriteCheck`
  that runs on the write transaction's connection just before it commits: the AuditEvent commits with the
  change it records, or neither does.
- **Everything else** (reads, searches, history, operations that store nothing, and every refusal or
  failure, including writes rolled back) is recorded by :func:`record_response` after the response is
  decided: spooled and stored in batches by :mod:`adapter.audit.queue` (``audit_flush_ms``), or with
  ``audit_flush_ms = 0`` in a small transaction of its own. If the record cannot be spooled (or, unbatched,
  stored) the client gets a 503 instead of the data: nothing is served that the trail will not show.

AuditEvents are written with :meth:`ResourceStore.create` directly, which records no change, so writing one
never triggers another (no recursion). Reads and searches of AuditEvent itself are not audited (the admins
who may read the trail are gated by scope); attempts to write one over REST are refused
(:func:`refuse_client_writes`) and that refusal is audited.

Who the client is comes from one seam: ``flask.g.client_id``, set by the authorization layer when a request
carries a valid token; without it the agent is ``anonymous``, with its network address.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Sequence
from urllib.parse import urlencode

from flask import Response, current_app, g, has_request_context, request
from sqlalchemy import Connection

from adapter import fhirjson
from adapter.audit import context, request_log
from adapter.audit.events import (
    AUDIT_TYPE,
    AuditFacts,
    EntityRef,
    audit_event,
    patient_from_search,
    patient_of,
)
from adapter.errors import Issue, MethodNotAllowed, NotAcceptable
from adapter.rest import request_info
from adapter.rest.responses import outcome_response
from adapter.services.container import Services
from adapter.services.write_checks import Change
from adapter.wire.formats import Format

log = logging.getLogger(__name__)

#: What may go from the URL into an AuditEvent as is (a hostile path could hold NUL, which PostgreSQL refuses).
_SAFE_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_SAFE_OPERATION = re.compile(r"\$[A-Za-z0-9\-]{1,64}")
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CHANGE_ACTIONS = {"create": "C", "update": "U", "delete": "D"}

#: The restful-interaction code of each handler of :mod:`adapter.rest.fhir_api`.
ENDPOINT_SUBTYPES: dict[str, str] = {
    "fhir.metadata": "capabilities",
    "fhir.system_history": "history-system",
    "fhir.search_type": "search-type",
    "fhir.create": "create",
    "fhir.conditional_update": "update",
    "fhir.conditional_delete": "delete",
    "fhir.type_history": "history-type",
    "fhir.read": "read",
    "fhir.update": "update",
    "fhir.delete": "delete",
    "fhir.instance_history": "history-instance",
    "fhir.vread": "vread",
}
#: Endpoints we do not know (other blueprints, unknown routes): the interaction their method suggests.
_METHOD_SUBTYPES = {"GET": "read", "HEAD": "read", "POST": "create", "PUT": "update", "PATCH": "patch",
                    "DELETE": "delete"}


# --- writes: inside the transaction ----------------------------------------------------------------------------


def refuse_client_writes(services: Services, conn: Connection, changes: Sequence[Change]) -> list[Issue]:
    """A WriteCheck: a REST client (a Bundle entry, an operation) never creates, changes or deletes an
    AuditEvent. :raise MethodNotAllowed:."""
    if has_request_context() and any(change.res_type == AUDIT_TYPE for change in changes):
        raise MethodNotAllowed("AuditEvents are written by the server only; clients cannot create, update or "
                               "delete them")
    return []


def record_write(services: Services, conn: Connection, changes: Sequence[Change]) -> list[Issue]:
    """A WriteCheck: the AuditEvent of a REST write, in the write's own transaction."""
    if not has_request_context() or not services.settings.audit or not changes:
        return []
    subtype, operation = interaction()
    interactions = {change.interaction for change in changes}
    action = _CHANGE_ACTIONS[next(iter(interactions))] if len(interactions) == 1 else "E"
    if subtype == "batch":  # each entry has its own transaction; the batch itself is recorded afterwards
        subtype = next(iter(interactions)) if len(interactions) == 1 else "transaction"
    elif subtype in ("transaction", "operation"):
        action = "E"
    status = 201 if subtype == "create" or (subtype == "update" and action == "C") else 200  # as answered
    facts = _facts(services, subtype, status, operation=operation, action=action,
                   entities=[EntityRef(c.res_type, c.res_id, c.version) for c in changes],
                   patients=[p for c in changes if (p := patient_of(c.res_type, c.res_id, c.resource))])
    write_event(services, conn, facts)
    g.cmp_audit_written = True
    return []


# --- everything else: after the response is decided ------------------------------------------------------------


def guard_audit_type() -> None:
    """A before-request hook: ``POST/PUT/PATCH/DELETE`` on ``AuditEvent`` are refused before any work (405)."""
    view_args = request.view_args or {}
    if view_args.get("res_type") != AUDIT_TYPE or request.method not in _WRITE_METHODS:
        return
    if request.endpoint == "fhir.search_type" or "$" in request.path:
        return  # POST _search and $validate read nothing into the store
    raise MethodNotAllowed(f"AuditEvents are written by the server only; {request.method} is not allowed",
                           headers={"Allow": "GET"})


def record_response(response: Response) -> Response:
    """An after-request hook: the AuditEvent of every interaction not already recorded with its change.

    :return: the response, or a 503 OperationOutcome when the record could not be written.
    """
    services = request_info.services()
    if not _needs_record(services, response.status_code):
        return response
    try:
        facts = _response_facts(services, response.status_code)
        queue = current_app.extensions.get("cmp_audit_queue")
        if queue is not None:
            queue.put(audit_event(facts))  # spooled now, stored within audit_flush_ms (adapter.audit.queue)
        else:
            with services.store.begin() as conn:
                write_event(services, conn, facts)
    except Exception as exc:  # any failure to record must not let the answer through unrecorded
        log.error("could not write the audit record (%s); answering 503", type(exc).__name__)
        if response.status_code >= 500:
            return response
        return outcome_response([Issue("error", "transient", "the access could not be recorded; retry later")],
                                503, {"Retry-After": "5"}, _format_or_json())
    return response


def _needs_record(services: Services, status: int) -> bool:
    if not services.settings.audit or not request.path.startswith("/fhir"):
        return False
    if (request.view_args or {}).get("res_type") == AUDIT_TYPE and (
            request.method in ("GET", "HEAD") or request.endpoint == "fhir.search_type"):
        return False  # reading the trail is not itself recorded (see the module docstring)
    if g.get("cmp_audit_written") and status < 400:
        return interaction()[0] == "batch"  # its entries are recorded; the batch itself is not yet
    return True


def _response_facts(services: Services, status: int) -> AuditFacts:
    subtype, operation = interaction()
    view_args = request.view_args or {}
    res_type, res_id = view_args.get("res_type"), view_args.get("res_id")
    entities: list[EntityRef] = []
    patients: list[str] = []
    for stored in context.returned():
        entities.append(EntityRef(stored.res_type, stored.res_id, stored.version))
        content = fhirjson.loads(stored.content) if stored.content else None
        if (patient := patient_of(stored.res_type, stored.res_id, content)) is not None:
            patients.append(patient)
    if not entities and _SAFE_ID.fullmatch(res_type or "") and _SAFE_ID.fullmatch(res_id or ""):
        version = view_args.get("version")
        entities.append(EntityRef(res_type, res_id, version if _SAFE_ID.fullmatch(version or "") else None))
        if res_type == "Patient":
            patients.append(res_id)
    query = _query()
    if res_type and subtype == "search-type":
        patients.extend(patient_from_search(res_type, _search_pairs()))
    return _facts(services, subtype, status, operation=operation, entities=entities, patients=patients, query=query)


def _search_pairs() -> list[tuple[str, str]]:
    try:
        return request_info.search_pairs()
    except Exception:  # a malformed form body: the query entity still records what was sent
        return list(request.args.items(multi=True))


def _query() -> bytes | None:
    """What the request searched or matched on: the query string, a ``_search`` form, ``If-None-Exist``."""
    parts = []
    if request.query_string:
        parts.append(request.query_string)
    if request.method == "POST" and request.endpoint == "fhir.search_type":
        with contextlib.suppress(Exception):  # a malformed form: the query string is still recorded
            parts.append(urlencode(list(request.form.items(multi=True))).encode("utf-8"))
    if request.headers.get("If-None-Exist"):
        parts.append(request.headers["If-None-Exist"].encode("utf-8", "replace"))
    return b"&".join(part for part in parts if part) or None


# --- shared ---------------------------------------------------------------------------------------------------


def interaction() -> tuple[str, str | None]:
    """The restful-interaction code of the current request, and the operation (``$name``) if it is one."""
    endpoint = request.endpoint or ""
    if endpoint == "fhir.batch_or_transaction":
        return context.bundle_type() or "transaction", None
    if endpoint in ENDPOINT_SUBTYPES:
        return ENDPOINT_SUBTYPES[endpoint], None
    operation = next((part for part in request.path.split("/") if part.startswith("$")), None)
    if operation:
        return "operation", operation if _SAFE_OPERATION.fullmatch(operation) else "$unknown"
    return _METHOD_SUBTYPES.get(request.method, "operation"), None


def _facts(services: Services, subtype: str, status: int, **details) -> AuditFacts:
    return AuditFacts(subtype=subtype, status=status, client_id=context.client_id(), client_address=request.remote_addr,
                      server_base=_server_base(services), request_id=request_log.request_id(), **details)


def _server_base(services: Services) -> str:
    return services.settings.base_url.rstrip("/") or request.host_url.rstrip("/") + "/fhir"


def _format_or_json() -> Format:
    try:
        return request_info.out_format()
    except NotAcceptable:
        return Format.JSON


def write_event(services: Services, conn: Connection, facts: AuditFacts) -> None:
    """Store one AuditEvent on ``conn`` (its transaction decides whether it stays)."""
    services.store.create(conn, AUDIT_TYPE, audit_event(facts))
