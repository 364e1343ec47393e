"""Running a search: one page of matches, the total, and the ``_include``/``_revinclude`` resources.

The rows carry the stored bytes (``content``), so the REST layer writes them into the Bundle without
re-serializing (BRIEF §5). Includes are found with SQL over ``search_reference`` for the page's matches
only, deduplicated and never repeating a match; ``:iterate`` directives are applied once more to the
resources the first round included (R4 §3.1.1.5.4 allows a server to limit iteration).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Row, Select, union

from adapter.conformance.definitions import Definitions, SearchParamDef
from adapter.search import params as search_params
from adapter.search.params import Include, SearchQuery
from adapter.search.sql import count_statement, include_pks, page_statement, revinclude_pks, rows_statement

__all__ = ["Row", "SearchPage", "run_search", "supported_params"]


@dataclass(frozen=True)
class SearchPage:
    """One page of a search.

    Each row has ``res_type, res_id, version, last_updated, content`` (and the internal ``pk``).
    ``total`` is None when ``_total=none``; ``count`` is the page size asked for.
    """

    matches: list[Row]
    includes: list[Row]
    total: int | None
    offset: int
    count: int
    has_next: bool


def supported_params(definitions: Definitions, resource_type: str) -> list[SearchParamDef]:
    """The parameters of a type the engine implements (see :func:`adapter.search.params.supported_params`)."""
    return search_params.supported_params(definitions, resource_type)


def run_search(conn: Connection, definitions: Definitions, resource_type: str, query: SearchQuery) -> SearchPage:
    """Execute ``query`` on ``conn``: the page, the total unless ``_total=none``, then the includes.

    ``definitions`` and ``resource_type`` are what the query was parsed with (the query carries the
    parameter definitions it needs; they are part of the signature so callers need not know that).

    ``_summary=count`` (and ``_count=0``) returns the total only. The COUNT query is skipped when the
    page itself shows the total (the last page, reached without overshooting), which is the common
    case of small result sets.
    """
    if query.summary == "count" or query.count == 0:
        total = conn.execute(count_statement(query)).scalar_one()
        return SearchPage([], [], total, query.offset, query.count, False)
    rows = conn.execute(page_statement(query)).all()
    has_next = len(rows) > query.count
    matches = rows[:query.count]
    total = None
    if query.total != "none":
        if not has_next and (matches or query.offset == 0):
            total = query.offset + len(matches)
        else:
            total = conn.execute(count_statement(query)).scalar_one()
    includes = _includes(conn, query, matches)
    return SearchPage(matches, includes, total, query.offset, query.count, has_next)


def _includes(conn: Connection, query: SearchQuery, matches: list[Row]) -> list[Row]:
    """Resources the matches refer to (``_include``) or that refer to them (``_revinclude``).

    The first round works from the matches with every directive; a second round works from what the
    first one added, with the ``:iterate`` directives only.
    """
    if not matches or not (query.includes or query.revincludes):
        return []
    seen = {row.pk for row in matches}
    found = _visible(conn, query, _round(conn, query.includes, query.revincludes, _keys(matches), seen))
    iterate_includes = tuple(i for i in query.includes if i.iterate)
    iterate_revincludes = tuple(i for i in query.revincludes if i.iterate)
    if found and (iterate_includes or iterate_revincludes):
        found += _visible(conn, query, _round(conn, iterate_includes, iterate_revincludes, _keys(found), seen))
    return found


def _visible(conn: Connection, query: SearchQuery, rows: list[Row]) -> list[Row]:
    """The included rows the caller may see (authorization); ``:iterate`` then goes on from these only."""
    return query.visibility.filter_rows(conn, rows) if query.visibility is not None and rows else rows


def _round(conn: Connection, includes: tuple[Include, ...], revincludes: tuple[Include, ...],
           sources: list[tuple[int, str, str]], seen: set[int]) -> list[Row]:
    statements: list[Select] = []
    for include in includes:
        statement = include_pks(include, sources)
        if statement is not None:
            statements.append(statement)
    for include in revincludes:
        statement = revinclude_pks(include, sources)
        if statement is not None:
            statements.append(statement)
    if not statements:
        return []
    combined = statements[0] if len(statements) == 1 else union(*statements)
    new = sorted({pk for (pk,) in conn.execute(combined)} - seen)
    if not new:
        return []
    seen.update(new)
    return list(conn.execute(rows_statement(new)).all())


def _keys(rows: list[Row]) -> list[tuple[int, str, str]]:
    return [(row.pk, row.res_type, row.res_id) for row in rows]
