"""The few SQL shapes the program rules ask of the search index, in SQLAlchemy Core (SQLite and PostgreSQL).

Every rule starts from a small set of resources found through one indexed reference (a member's claims, a
team's enrolments) and narrows it with correlated ``EXISTS`` on the token, uri and date index tables, so a
check reads a handful of index rows whatever the size of the store. Resource bodies are never loaded to
decide a rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import BindParameter, ColumnElement, exists, false, or_

from adapter.search.dates import to_naive_utc
from adapter.store.schema import resources, search_reference, search_token, search_uri


def naive_utc(value: datetime) -> datetime:
    """An instant as the index columns hold it (naive UTC)."""
    return to_naive_utc(value)


def live(pk: ColumnElement) -> ColumnElement[bool]:
    """The resource of ``pk`` is current and not deleted."""
    row = resources.alias()
    return exists().where(row.c.pk == pk, row.c.deleted == false())


def refers_to(pk: ColumnElement, res_type: str, param: str, target_type: str,
              target_id: str | BindParameter) -> ColumnElement[bool]:
    ref = search_reference.alias()
    return exists().where(ref.c.resource_pk == pk, ref.c.res_type == res_type, ref.c.param == param,
                          ref.c.target_type == target_type, ref.c.target_id == target_id)


def has_token(pk: ColumnElement, res_type: str, param: str, *, system: str | None = None,
              codes: Iterable[str] | None = None) -> ColumnElement[bool]:
    """A token row of ``param`` with ``system`` (any when None) and one of ``codes`` (any when None)."""
    token = search_token.alias()
    conditions = [token.c.resource_pk == pk, token.c.res_type == res_type, token.c.param == param]
    if system is not None:
        conditions.append(token.c.system == system)
    if codes is not None:
        conditions.append(token.c.code.in_(list(codes)))
    else:
        conditions.append(token.c.code.is_not(None))
    return exists().where(*conditions)


def has_profile(pk: ColumnElement, res_type: str, url: str) -> ColumnElement[bool]:
    uri = search_uri.alias()
    return exists().where(uri.c.resource_pk == pk, uri.c.res_type == res_type, uri.c.param == "_profile",
                          uri.c.value == url)


def within_any(column: ColumnElement, ranges: Iterable[tuple[datetime, datetime]]) -> ColumnElement[bool]:
    """``column`` falls in one of the half-open ``[start, end)`` ranges (naive UTC)."""
    return or_(*[(column >= naive_utc(start)) & (column < naive_utc(end)) for start, end in ranges])


def reference_id(reference: object, res_type: str) -> str | None:
    """The id of a literal relative reference ``Type/id`` (``None`` for anything else)."""
    if not isinstance(reference, dict):
        return None
    value = reference.get("reference")
    if not isinstance(value, str):
        return None
    parts = value.split("/")
    for index in range(len(parts) - 2, -1, -1):  # Type/id, base/Type/id, Type/id/_history/n
        if parts[index] == res_type and parts[index + 1] and parts[index + 1] != "_history":
            return parts[index + 1]
    return None
