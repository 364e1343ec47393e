"""Batch and transaction Bundles (R4 http.html §3.1.0.11).

A transaction runs in one database transaction: entries are processed in the order the spec sets
(DELETE, POST, PUT/PATCH, GET/HEAD), ``urn:uuid:`` and conditional references are rewritten to the ids
the server assigned or found, and the first failure rolls everything back and is reported with the entry
it came from. A batch runs each entry on its own and reports each outcome.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import Connection

from adapter import fhirjson
from adapter.errors import BadRequest, FhirError, Gone, Issue, NotFound, PreconditionFailed, Unprocessable
from adapter.rest.outcome import operation_outcome
from adapter.services import resources, search
from adapter.services.container import Services
from adapter.services.write_checks import write_transaction
from adapter.store.sql import StoredResource, format_instant, now_utc

_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


@dataclass
class _Entry:
    """One request entry, parsed."""

    index: int
    method: str
    url: str
    res_type: str
    res_id: str | None
    query: str | None
    version: str | None
    full_url: str | None
    resource: dict | None
    if_match: int | None
    if_none_exist: str | None
    assigned_id: str | None = None
    matched_id: str | None = None
    """The existing resource an ``ifNoneExist`` found (nothing is created)."""
    response: dict = field(default_factory=dict)
    stored: StoredResource | None = None
    resource_out: dict | None = None
    """A resource the response must carry whatever ``Prefer`` says (GET entries)."""


def process(services: Services, bundle: dict, base_url: str, *, return_pref: str = "minimal") -> dict:
    """Run a batch or transaction Bundle; return the response Bundle.

    :raise BadRequest: not a Bundle of type batch or transaction, or a malformed entry.
    :raise FhirError: (transaction) the first failing entry's error; nothing is stored.
    """
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") not in ("batch", "transaction"):
        raise BadRequest("POST to the base takes a Bundle of type batch or transaction", expression="Bundle.type")
    entries = [_parse_entry(services, base_url, number, raw) for number, raw in enumerate(bundle.get("entry", []))]
    if bundle["type"] == "transaction":
        _process_transaction(services, entries, base_url)
    else:
        _process_batch(services, entries, base_url)
    return _response_bundle(bundle["type"], entries, return_pref)


# --- transaction ---------------------------------------------------------------------------------------------


def _process_transaction(services: Services, entries: list[_Entry], base_url: str) -> None:
    _reject_duplicates(entries)
    ordered = sorted(entries, key=lambda e: (_ORDER.get(e.method, 9), e.index))
    try:
        with write_transaction(services) as (conn, pending):
            references = _resolve_identities(services, conn, ordered)
            for entry in ordered:
                if entry.resource is not None:
                    _rewrite_references(entry.resource, lambda ref, e=entry: _resolve_reference(
                        services, conn, references, ref, e.index))
            for entry in ordered:
                _run_guarded(entry, lambda e=entry: _execute(services, conn, e, base_url))
    except Unprocessable as error:
        raise _located_check_issues(error, entries) from None
    _attach_check_warnings(entries, pending.warnings)


def _entry_of(entries: list[_Entry], resource: str | None) -> _Entry | None:
    """The entry that wrote ``Type/id``."""
    for entry in entries:
        written = (f"{entry.stored.res_type}/{entry.stored.res_id}" if entry.stored is not None
                   else f"{entry.res_type}/{entry.assigned_id or entry.res_id}")
        if resource == written:
            return entry
    return None


def _located_check_issues(error: Unprocessable, entries: list[_Entry]) -> Unprocessable:
    """A write check's refusal, each issue located at the entry of the resource it names (R4: a transaction
    fails as a whole, with an OperationOutcome that says which entry)."""
    if all(issue.diagnostics.startswith("Bundle.entry[") for issue in error.issues):
        return error
    located = []
    for issue in error.issues:
        entry = _entry_of(entries, issue.resource)
        located.append(_locate(issue, entry.index) if entry is not None else issue)
    error.issues = located
    return error


def _attach_check_warnings(entries: list[_Entry], warnings: list[Issue]) -> None:
    """The write checks' warnings as ``response.outcome`` of the entries they are about (unattributed ones
    go to the first entry that wrote something)."""
    by_entry: dict[int, list[Issue]] = {}
    fallback = next((e for e in entries if e.stored is not None), entries[0] if entries else None)
    for issue in warnings:
        entry = _entry_of(entries, issue.resource) or fallback
        if entry is not None:
            by_entry.setdefault(entry.index, []).append(issue)
    for entry in entries:
        if entry.index in by_entry:
            entry.response["outcome"] = operation_outcome(by_entry[entry.index])


def _reject_duplicates(entries: list[_Entry]) -> None:
    """:raise BadRequest: two entries share a fullUrl or change the same resource (R4 §3.1.0.11.2)."""
    seen_full_urls: set[str] = set()
    seen_targets: set[str] = set()
    for entry in entries:
        if entry.full_url:
            if entry.full_url in seen_full_urls:
                raise BadRequest(f"fullUrl {entry.full_url} appears twice", expression=f"Bundle.entry[{entry.index}]")
            seen_full_urls.add(entry.full_url)
        if entry.method in ("PUT", "DELETE", "PATCH") and entry.res_id:
            target = f"{entry.res_type}/{entry.res_id}"
            if target in seen_targets:
                raise BadRequest(f"{target} is changed by more than one entry",
                                 expression=f"Bundle.entry[{entry.index}]")
            seen_targets.add(target)


def _resolve_identities(services: Services, conn: Connection, entries: list[_Entry]) -> dict[str, str]:
    """Give each POST its id (new, or the match of ``ifNoneExist``) and map fullUrls to ``Type/id``."""
    references: dict[str, str] = {}
    for entry in entries:
        if entry.method == "POST":
            entry.assigned_id = _run_guarded(entry, lambda e=entry: _id_for_create(services, conn, e))
        elif entry.method == "PUT" and entry.query is not None:
            matches = _run_guarded(entry, lambda e=entry: search.find_matches(
                services, conn, e.res_type, parse_qsl(e.query, keep_blank_values=True)))
            if len(matches) == 1:
                entry.res_id = matches[0]
            elif len(matches) > 1:
                raise _at_entry(PreconditionFailed(f"the criteria {entry.query!r} matched {len(matches)} resources"),
                                entry.index)
            else:
                entry.res_id = (entry.resource or {}).get("id") or str(uuid.uuid4())
        target_id = entry.assigned_id or entry.res_id
        if entry.full_url and target_id and entry.method in ("POST", "PUT"):
            references[entry.full_url] = f"{entry.res_type}/{target_id}"
    return references


def _id_for_create(services: Services, conn: Connection, entry: _Entry) -> str:
    if entry.if_none_exist:
        matches = search.find_matches(services, conn, entry.res_type,
                                      parse_qsl(entry.if_none_exist.split("?", 1)[-1], keep_blank_values=True))
        if len(matches) > 1:
            raise PreconditionFailed(f"ifNoneExist {entry.if_none_exist!r} matched {len(matches)} resources")
        if matches:
            entry.matched_id = matches[0]
            return matches[0]
    return str(uuid.uuid4())


def _resolve_reference(services: Services, conn: Connection, references: dict[str, str], reference: str,
                       index: int) -> str:
    """A reference's final form: a bundle-local fullUrl or a conditional reference becomes ``Type/id``."""
    if reference in references:
        return references[reference]
    if reference.startswith("urn:uuid:") or reference.startswith("urn:oid:"):
        raise _at_entry(BadRequest(f"reference {reference} does not match any fullUrl in the Bundle"), index)
    if "?" in reference and "/" not in reference.split("?", 1)[0]:
        res_type, _, query = reference.partition("?")
        matches = search.find_matches(services, conn, res_type, parse_qsl(query, keep_blank_values=True))
        if len(matches) != 1:
            raise _at_entry(PreconditionFailed(
                f"conditional reference {reference} matched {len(matches)} resources; it must match exactly one"),
                index)
        return f"{res_type}/{matches[0]}"
    return reference


def _rewrite_references(value: Any, resolve: Callable[[str], str]) -> None:
    """Replace every ``reference`` string in a resource, at any depth, by its resolved form."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "reference" and isinstance(child, str):
                value[key] = resolve(child)
            elif isinstance(child, dict | list):
                _rewrite_references(child, resolve)
    elif isinstance(value, list):
        for child in value:
            _rewrite_references(child, resolve)


# --- batch ---------------------------------------------------------------------------------------------------


def _process_batch(services: Services, entries: list[_Entry], base_url: str) -> None:
    for entry in sorted(entries, key=lambda e: (_ORDER.get(e.method, 9), e.index)):
        try:
            with write_transaction(services) as (conn, pending):
                if entry.method == "POST":
                    entry.assigned_id = _id_for_create(services, conn, entry)
                _execute(services, conn, entry, base_url)
        except FhirError as error:
            entry.response = {"status": _status_text(error.status),
                              "outcome": operation_outcome(error.issues)}
            continue
        if pending.warnings:
            entry.response["outcome"] = operation_outcome(pending.warnings)


# --- execution -----------------------------------------------------------------------------------------------


def _execute(services: Services, conn: Connection, entry: _Entry, base_url: str) -> None:
    if entry.method == "POST":
        if entry.matched_id is not None:
            _record(entry, services.store.read(conn, entry.res_type, entry.matched_id), "200 OK")
            return
        result = resources.create(services, entry.res_type, _body(entry), conn=conn, assigned_id=entry.assigned_id)
        _record(entry, result.stored, "201 Created", location=True)
    elif entry.method == "PUT":
        body = _body(entry)
        if entry.query is not None and "id" not in body:
            body["id"] = entry.res_id
        result = resources.update(services, entry.res_type, entry.res_id or "", body, if_match=entry.if_match,
                                  conn=conn)
        _record(entry, result.stored, "201 Created" if result.created else "200 OK", location=result.created)
    elif entry.method == "DELETE":
        _execute_delete(services, conn, entry)
    elif entry.method in ("GET", "HEAD"):
        _execute_read(services, conn, entry, base_url)
    else:
        raise BadRequest(f"method {entry.method} is not supported in a Bundle entry")


def _execute_delete(services: Services, conn: Connection, entry: _Entry) -> None:
    if entry.query is not None:
        deleted = resources.conditional_delete(services, entry.res_type, entry.query, conn=conn)
    else:
        deleted = resources.delete(services, entry.res_type, entry.res_id or "", if_match=entry.if_match, conn=conn)
    entry.response = {"status": "204 No Content"}
    if deleted is not None:
        entry.response["etag"] = deleted.etag


def _execute_read(services: Services, conn: Connection, entry: _Entry, base_url: str) -> None:
    if entry.res_id is None:
        pairs = parse_qsl(entry.query or "", keep_blank_values=True)
        result = search.search(services, entry.res_type, pairs, handling=services.settings.default_handling,
                               conn=conn)
        entry.response = {"status": "200 OK"}
        entry.resource_out = _searchset(base_url, result)
        return
    stored = (services.store.read_version(conn, entry.res_type, entry.res_id, int(entry.version))
              if entry.version and entry.version.isdigit() else services.store.read(conn, entry.res_type, entry.res_id))
    if stored is None:
        raise NotFound(f"{entry.res_type}/{entry.res_id} is not known")
    if stored.deleted:
        raise Gone(f"{entry.res_type}/{entry.res_id} was deleted")
    _record(entry, stored, "200 OK", include_resource=True)


def _searchset(base_url: str, result: search.SearchResult) -> dict:
    entries = [{"fullUrl": f"{base_url}/{row.res_type}/{row.res_id}", "resource": fhirjson.loads(row.content),
                "search": {"mode": mode}}
               for rows, mode in ((result.page.matches, "match"), (result.page.includes, "include")) for row in rows]
    bundle: dict = {"resourceType": "Bundle", "type": "searchset"}
    if result.page.total is not None:
        bundle["total"] = result.page.total
    if entries:
        bundle["entry"] = entries
    return bundle


def _record(entry: _Entry, stored: StoredResource | None, status: str, *, location: bool = False,
            include_resource: bool = False) -> None:
    if stored is None:
        entry.response = {"status": "404 Not Found"}
        return
    entry.stored = stored
    entry.response = {"status": status}
    if location:
        entry.response["location"] = f"{stored.res_type}/{stored.res_id}/_history/{stored.version}"
    entry.response["etag"] = stored.etag
    entry.response["lastModified"] = stored.last_updated_instant
    if include_resource and stored.content is not None:
        entry.resource_out = fhirjson.loads(stored.content)


# --- parsing and response ------------------------------------------------------------------------------------


def _parse_entry(services: Services, base_url: str, index: int, raw: Any) -> _Entry:
    where = f"Bundle.entry[{index}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
        raise BadRequest("every entry of a batch or transaction needs a request", expression=f"{where}.request")
    request = raw["request"]
    method = str(request.get("method", "")).upper()
    url = str(request.get("url", ""))
    if method not in _ORDER or not url:
        raise BadRequest("request.method and request.url are required", expression=f"{where}.request")
    if url.startswith(base_url):
        url = url[len(base_url):]
    path, _, query = url.lstrip("/").partition("?")
    parts = path.split("/")
    res_type = parts[0]
    try:
        services.require_type(res_type)
    except FhirError as error:
        raise _at_entry(error, index) from error
    res_id = parts[1] if len(parts) > 1 and parts[1] else None
    version = parts[3] if len(parts) > 3 and parts[2] == "_history" else None
    resource = raw.get("resource")
    if method in ("POST", "PUT") and not isinstance(resource, dict):
        raise BadRequest(f"a {method} entry needs a resource", expression=f"{where}.resource")
    if method == "PUT" and res_id is None and not query:
        raise BadRequest("a PUT entry's url needs an id or search criteria", expression=f"{where}.request.url")
    try:
        if_match = resources.parse_if_match(request.get("ifMatch"))
    except BadRequest as error:
        raise _at_entry(error, index) from error
    return _Entry(index, method, url, res_type, res_id, query if "?" in url else None, version,
                  raw.get("fullUrl"), resource, if_match, request.get("ifNoneExist"))


def _body(entry: _Entry) -> dict:
    return dict(entry.resource or {})


def _response_bundle(bundle_type: str, entries: list[_Entry], return_pref: str) -> dict:
    """The response Bundle, entries in request order; resources only where ``Prefer`` or a GET wants them."""
    response_entries = []
    for entry in entries:
        item: dict = {}
        resource = entry.resource_out
        if resource is None and entry.stored is not None and entry.stored.content and return_pref == "representation":
            resource = fhirjson.loads(entry.stored.content)
        if resource is not None:
            item["resource"] = resource
        item["response"] = entry.response or {"status": "200 OK"}
        response_entries.append(item)
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "meta": {"lastUpdated": format_instant(now_utc())},
            "type": f"{bundle_type}-response", "entry": response_entries}


def _run_guarded(entry: _Entry, action: Callable[[], Any]) -> Any:
    try:
        return action()
    except FhirError as error:
        raise _at_entry(error, entry.index) from error


def _at_entry(error: FhirError, index: int) -> FhirError:
    """The same error, its issues located in ``Bundle.entry[index]``."""
    if all(issue.diagnostics.startswith("Bundle.entry[") for issue in error.issues):
        return error
    error.issues = [_locate(issue, index) for issue in error.issues]
    return error


def _locate(issue: Issue, index: int) -> Issue:
    """The issue with its diagnostics and expression in ``Bundle.entry[index]``."""
    prefix = f"Bundle.entry[{index}]"
    expression = issue.expression
    if expression and not expression.startswith("Bundle.entry"):
        head, _, rest = expression.partition(".")
        expression = f"{prefix}.resource" + (f".{rest}" if rest and head[:1].isupper() else "")
    return Issue(issue.severity, issue.code, f"{prefix}: {issue.diagnostics}", expression or prefix,
                 issue.rule_id, issue.resource)


def _status_text(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"
