"""The FHIR interactions on single resources: read, vread, create, update, delete, history.

Each function is one interaction and one database transaction: it validates, writes and commits, or
raises a :mod:`adapter.errors` exception and leaves the store unchanged (R4 §3.1.0, http.html).
Handlers in :mod:`adapter.rest` call these; so does the CLI.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl

from sqlalchemy import Connection

from adapter.errors import (
    BadRequest,
    Conflict,
    Gone,
    Issue,
    NotFound,
    PreconditionFailed,
    Unprocessable,
)
from adapter.services import search as _search
from adapter.services.container import Services
from adapter.services.write_checks import Change, PendingWrites, record_change, write_transaction
from adapter.store.sql import StoredResource, VersionConflict
from adapter.subscriptions.definition import check_subscription

#: Types whole-server reads leave out unless asked for by type: the system history (``GET /_history``) and
#: a Bulk export without ``_type``. AuditEvents are the server's record of access, not the data, and one is
#: written for every read, so a client polling ``_history`` (or an export's polls) would never see the end
#: of them (docs/decisions/014-audit-trail.md). ``AuditEvent/_history`` and ``_type=AuditEvent`` list them.
WHOLE_SERVER_EXCLUDES: tuple[str, ...] = ("AuditEvent",)

_ID_PATTERN = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_ETAG_PATTERN = re.compile(r'^\s*(?:W/)?"?([0-9]+)"?\s*$')
#: Checks a type needs beyond its profiles before it is stored; they may set server-managed elements.
_TYPE_CHECKS = {
    "Subscription": lambda services, resource: check_subscription(
        services.definitions, services.settings.resource_types, resource),
}


@dataclass
class WriteResult:
    """What a write did: the stored version, whether it was created, and non-fatal issues."""

    stored: StoredResource
    created: bool
    issues: list[Issue] = field(default_factory=list)
    """Warnings and information from validation, for ``Prefer: return=OperationOutcome``."""
    matched_existing: bool = False
    """A conditional create found the resource already there and stored nothing."""


# --- checks shared by the interactions -----------------------------------------------------------------------


def require_id(res_id: str) -> None:
    """:raise BadRequest: not a valid FHIR id (``[A-Za-z0-9\\-.]{1,64}``)."""
    if not _ID_PATTERN.fullmatch(res_id):
        raise BadRequest(f"{res_id!r} is not a valid resource id ([A-Za-z0-9-.], 1 to 64 characters)")


def parse_if_match(header: str | None) -> int | None:
    """The version an ``If-Match: W/"3"`` header asks for.

    :raise BadRequest: the header is not an ETag of a version number.
    """
    if header is None:
        return None
    found = _ETAG_PATTERN.match(header)
    if not found:
        raise BadRequest(f'If-Match {header!r} is not a version ETag like W/"3"')
    return int(found.group(1))


def check_resource(services: Services, res_type: str, resource: dict) -> list[Issue]:
    """Validate a resource about to be written: base R4, the profiles it declares, and those the
    validate-on-write policy requires of it. Return its non-error issues.

    :raise BadRequest: the body's resourceType is not the URL's type.
    :raise Unprocessable: the resource is not valid (422 with every issue found).
    """
    if resource.get("resourceType") != res_type:
        raise BadRequest(f"the body is a {resource.get('resourceType')!r}, but the URL is for {res_type!r}",
                         expression="resourceType")
    issues = services.policy.check(services.validator, resource)
    if any(issue.is_error for issue in issues):
        raise Unprocessable(issues=[i for i in issues if i.severity != "information"] or issues)
    type_check = _TYPE_CHECKS.get(res_type)
    if type_check is not None:
        type_check(services, resource)
    return [issue for issue in issues if not issue.is_error]


# --- reads ---------------------------------------------------------------------------------------------------


def read(services: Services, res_type: str, res_id: str) -> StoredResource:
    """The current version.

    :raise NotFound: no such resource. :raise Gone: it was deleted.
    """
    services.require_type(res_type)
    if not _ID_PATTERN.fullmatch(res_id):  # cannot exist; and NUL would not even reach the database
        raise NotFound(f"{res_type}/{res_id[:64]!r} is not known")
    with services.store.connect() as conn:
        stored = services.store.read(conn, res_type, res_id)
    if stored is None:
        raise NotFound(f"{res_type}/{res_id} is not known")
    if stored.deleted:
        raise Gone(f"{res_type}/{res_id} was deleted", headers={"ETag": stored.etag})
    return stored


def vread(services: Services, res_type: str, res_id: str, version: str) -> StoredResource:
    """One version. :raise NotFound: no such version. :raise Gone: that version is a delete."""
    services.require_type(res_type)
    if not _ID_PATTERN.fullmatch(res_id) or not version.isascii() or not version.isdigit() or len(version) > 9:
        raise NotFound(f"{res_type}/{res_id} has no version {version!r}")
    with services.store.connect() as conn:
        stored = services.store.read_version(conn, res_type, res_id, int(version))
    if stored is None:
        raise NotFound(f"{res_type}/{res_id} has no version {version}")
    if stored.deleted:
        raise Gone(f"version {version} of {res_type}/{res_id} is a deletion")
    return stored


def history(services: Services, res_type: str | None, res_id: str | None, *, since: datetime | None,
            at: datetime | None, count: int, offset: int) -> tuple[list[StoredResource], int]:
    """Versions, newest first, and how many there are in all.

    :raise NotFound: the instance never existed.
    """
    if res_type is not None:
        services.require_type(res_type)
    if res_id is not None and not _ID_PATTERN.fullmatch(res_id):
        raise NotFound(f"{res_type}/{res_id[:64]!r} is not known")
    with services.store.connect() as conn:
        if res_id is not None and services.store.read(conn, res_type, res_id) is None:
            raise NotFound(f"{res_type}/{res_id} is not known")
        return services.store.history(conn, res_type=res_type, res_id=res_id, since=since, at=at,
                                      count=count, offset=offset,
                                      exclude_types=WHOLE_SERVER_EXCLUDES if res_type is None else ())


# --- writes --------------------------------------------------------------------------------------------------


def create(services: Services, res_type: str, resource: dict, *, if_none_exist: str | None = None,
           conn: Connection | None = None, assigned_id: str | None = None) -> WriteResult:
    """Create with a server-assigned id; with ``If-None-Exist``, only when nothing matches.

    ``assigned_id`` is an id the server chose beforehand (a transaction resolving ``urn:uuid`` references).

    :raise PreconditionFailed: ``If-None-Exist`` matched more than one resource.
    """
    services.require_type(res_type)
    issues = check_resource(services, res_type, resource)
    index_rows = services.store.indexer.rows(resource)  # before the transaction: keeps the write lock short
    with _transaction(services, conn) as (tx, pending):
        if if_none_exist is not None:
            matches = _search.find_matches(services, tx, res_type, _query_pairs(if_none_exist, "If-None-Exist"))
            if len(matches) > 1:
                raise PreconditionFailed(f"If-None-Exist {if_none_exist!r} matched {len(matches)} resources")
            if matches:
                existing = services.store.read(tx, res_type, matches[0])
                return WriteResult(existing, created=False, issues=issues, matched_existing=True)
        stored = services.store.create(tx, res_type, resource, assigned_id, index_rows)
        record_change(Change("create", res_type, stored.res_id, stored.version, resource))
    return WriteResult(stored, created=True, issues=issues + _warnings(pending))


def update(services: Services, res_type: str, res_id: str, resource: dict, *, if_match: int | None = None,
           conn: Connection | None = None) -> WriteResult:
    """Update, or create with the client's id when it does not exist yet (update-as-create).

    :raise BadRequest: the body has no id or a different one.
    :raise PreconditionFailed: ``If-Match`` names another version (412, R4 §3.1.0.5.2).
    :raise Conflict: a concurrent writer changed it first.
    """
    services.require_type(res_type)
    require_id(res_id)
    body_id = resource.get("id")
    if body_id is None:
        raise BadRequest("an update must carry the resource id in the body", expression=f"{res_type}.id")
    if body_id != res_id:
        raise BadRequest(f"the body's id {body_id!r} is not the URL's id {res_id!r}", expression=f"{res_type}.id")
    issues = check_resource(services, res_type, resource)
    index_rows = services.store.indexer.rows(resource)  # before the transaction: keeps the write lock short
    try:
        with _transaction(services, conn) as (tx, pending):
            stored, created = services.store.update(tx, res_type, res_id, resource, expected_version=if_match,
                                                    index_rows=index_rows)
            record_change(Change("create" if created else "update", res_type, res_id, stored.version, resource))
    except VersionConflict as exc:
        if if_match is not None:
            raise PreconditionFailed(f"If-Match failed: {exc}") from exc
        raise Conflict(f"{exc}; read it again and retry") from exc
    return WriteResult(stored, created=created, issues=issues + _warnings(pending))


def conditional_update(services: Services, res_type: str, criteria: str, resource: dict, *,
                       if_match: int | None = None, conn: Connection | None = None) -> WriteResult:
    """``PUT [type]?criteria`` (R4 §3.1.0.4.3): update the one match, or create if there is none.

    :raise PreconditionFailed: more than one match.
    :raise BadRequest: the body's id differs from the match's.
    """
    services.require_type(res_type)
    with _transaction(services, conn) as (tx, _pending):
        matches = _search.find_matches(services, tx, res_type, _query_pairs(criteria, "criteria"))
        if len(matches) > 1:
            raise PreconditionFailed(f"the criteria {criteria!r} matched {len(matches)} resources")
        if matches:
            if resource.get("id") not in (None, matches[0]):
                raise BadRequest(f"the body's id {resource['id']!r} is not the matching resource {matches[0]!r}",
                                 expression=f"{res_type}.id")
            resource["id"] = matches[0]
            return update(services, res_type, matches[0], resource, if_match=if_match, conn=tx)
        if resource.get("id"):
            return update(services, res_type, resource["id"], resource, if_match=if_match, conn=tx)
        return create(services, res_type, resource, conn=tx)


def delete(services: Services, res_type: str, res_id: str, *, if_match: int | None = None,
           conn: Connection | None = None) -> StoredResource | None:
    """Logical delete; the history stays. Returns the delete marker, or None if nothing was there.

    :raise PreconditionFailed: ``If-Match`` names another version.
    """
    services.require_type(res_type)
    try:
        with _transaction(services, conn) as (tx, _pending):
            deleted = services.store.delete(tx, res_type, res_id, expected_version=if_match)
            if deleted is not None:
                record_change(Change("delete", res_type, res_id, deleted.version, None))
            return deleted
    except VersionConflict as exc:
        if if_match is not None:
            raise PreconditionFailed(f"If-Match failed: {exc}") from exc
        raise Conflict(f"{exc}; retry") from exc


def conditional_delete(services: Services, res_type: str, criteria: str, *,
                       conn: Connection | None = None) -> StoredResource | None:
    """``DELETE [type]?criteria``: delete the one match (none: nothing to do).

    :raise PreconditionFailed: more than one match (this server deletes one resource at a time).
    """
    services.require_type(res_type)
    with _transaction(services, conn) as (tx, _pending):
        matches = _search.find_matches(services, tx, res_type, _query_pairs(criteria, "criteria"))
        if len(matches) > 1:
            raise PreconditionFailed(f"the criteria {criteria!r} matched {len(matches)} resources; "
                                     "a conditional delete removes one")
        if not matches:
            return None
        return delete(services, res_type, matches[0], conn=tx)


# --- helpers -------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _transaction(services: Services, conn: Connection | None
                 ) -> Iterator[tuple[Connection, PendingWrites | None]]:
    """Join the caller's transaction (a Bundle's, whose owner runs the write checks) or run in one of our
    own, checked by :mod:`adapter.services.write_checks` before it commits."""
    if conn is not None:
        yield conn, None
        return
    with write_transaction(services) as (own, pending):
        yield own, pending


def _warnings(pending: PendingWrites | None) -> list[Issue]:
    """The write checks' warnings, once our own transaction has committed."""
    return list(pending.warnings) if pending is not None else []


def _query_pairs(query: str, where: str) -> Sequence[tuple[str, str]]:
    """Split a conditional interaction's query (``identifier=a|b&active=true``) into pairs.

    :raise BadRequest: the query is empty (a conditional interaction needs criteria).
    """
    query = query.split("?", 1)[1] if "?" in query else query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs:
        raise BadRequest(f"the {where} needs search criteria, e.g. identifier=system|value")
    return pairs

