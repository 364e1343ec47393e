"""Resources as they were at one instant, read page by page in primary-key order (Bulk Data export).

An export is a consistent cut at its ``transactionTime`` T: every resource's latest version with
``lastUpdated ≤ T``, unless that version is a delete. Most resources have not changed since T, so their
current row is that version; the few changed after T are read from ``resource_versions`` instead. Both
reads page by ``resources.pk`` (keyset: ``pk > last`` … ``LIMIT n``), each page in its own short
transaction, so memory is one page whatever the export's size and no long-lived snapshot holds back
SQLite's WAL or PostgreSQL's vacuum. Rows written after T never enter (their ``lastUpdated`` is later), so
paging across transactions does not change what the cut contains.

``conditions`` are extra SQL conditions on ``resources`` (compartment membership, ``_typeFilter``
criteria), built by the caller from the search index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, select

from adapter.store.schema import resource_versions, resources
from adapter.store.sql import ResourceStore


@dataclass(frozen=True)
class SnapshotQuery:
    """Which resources of one type an export takes: as of ``as_of``, changed after ``since`` (if given)."""

    res_type: str
    as_of: datetime
    since: datetime | None = None
    conditions: Sequence[ColumnElement[bool]] = ()


def _unchanged(query: SnapshotQuery) -> list[ColumnElement[bool]]:
    """Current rows that are the version as of the cut (not deleted, not changed since)."""
    where = [resources.c.res_type == query.res_type, resources.c.deleted == false(),
             resources.c.last_updated <= query.as_of, *query.conditions]
    if query.since is not None:
        where.append(resources.c.last_updated > query.since)
    return where


def _changed_statement(query: SnapshotQuery, columns: Callable[[Any], tuple]) -> Select:
    """Resources changed after the cut, joined to their latest version as of the cut (if not a delete)."""
    versions = resource_versions.alias("as_of")
    latest = (select(func.max(resource_versions.c.pk))
              .where(resource_versions.c.resource_pk == resources.c.pk,
                     resource_versions.c.last_updated <= query.as_of)
              .scalar_subquery())
    where = [resources.c.res_type == query.res_type, resources.c.last_updated > query.as_of,
             versions.c.method != "DELETE", *query.conditions]
    if query.since is not None:
        where.append(versions.c.last_updated > query.since)
    return select(*columns(versions)).select_from(resources.join(versions, versions.c.pk == latest)).where(*where)


def count(store: ResourceStore, query: SnapshotQuery) -> int:
    """How many resources the cut holds for this query."""
    with store.connect() as conn:
        unchanged = conn.execute(select(func.count()).select_from(resources).where(*_unchanged(query))).scalar_one()
        changed = conn.execute(_changed_statement(query, lambda v: (func.count(),))).scalar_one()
    return unchanged + changed


def pages(store: ResourceStore, query: SnapshotQuery, page_size: int) -> Iterator[list[bytes]]:
    """The stored JSON of every resource in the cut, a page at a time (resources unchanged since the cut
    first, then those changed after it, each in ``pk`` order)."""
    unchanged = select(resources.c.pk, resources.c.content).where(*_unchanged(query))
    changed = _changed_statement(query, lambda v: (resources.c.pk, v.c.content))
    for statement in (unchanged, changed):
        after = 0
        while True:
            with store.connect() as conn:
                rows = conn.execute(statement.where(resources.c.pk > after).order_by(resources.c.pk)
                                    .limit(page_size)).all()
            if rows:
                yield [row.content for row in rows]
                after = rows[-1].pk
            if len(rows) < page_size:
                break
