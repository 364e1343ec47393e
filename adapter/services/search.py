"""The search interaction: parse the parameters, run the query, hand back one page."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from adapter.search.engine import SearchPage, run_search
from adapter.search.params import SearchQuery, parse_search
from adapter.search.visibility import Visibility
from adapter.services.container import Services


@dataclass(frozen=True)
class SearchResult:
    query: SearchQuery
    page: SearchPage


def parse(services: Services, res_type: str, pairs: Sequence[tuple[str, str]], handling: str) -> SearchQuery:
    """:raise BadRequest: a bad value, or (strict handling) an unknown parameter."""
    settings = services.settings
    return parse_search(services.definitions, res_type, pairs, handling=handling,
                        default_count=settings.default_page_size, max_count=settings.max_page_size)


def search(services: Services, res_type: str, pairs: Sequence[tuple[str, str]], *, handling: str,
           conn: Connection | None = None, visibility: Visibility | None = None) -> SearchResult:
    """One page of ``GET [type]?params`` (on ``conn`` when inside a transaction Bundle).

    ``visibility`` (from :mod:`adapter.auth`) narrows the matches and includes to what the caller may see.

    :raise NotFound: unknown type. :raise BadRequest: see :func:`parse`.
    """
    services.require_type(res_type)
    query = parse(services, res_type, pairs, handling)
    if visibility is not None:
        query = dataclasses.replace(query, visibility=visibility)
    if conn is not None:
        return SearchResult(query, run_search(conn, services.definitions, res_type, query))
    with services.store.connect() as own:
        return SearchResult(query, run_search(own, services.definitions, res_type, query))


def find_matches(services: Services, conn: Connection, res_type: str, pairs: Sequence[tuple[str, str]]) -> list[str]:
    """Ids of the resources that a conditional interaction's criteria match (at most two: one, or "many").

    Criteria are parsed strictly: an unknown parameter in a conditional create must not match everything.
    The transaction holds a lock on the criteria until it ends, so two conditional interactions with the
    same criteria cannot both find nothing and both create.
    """
    criteria = [(name, value) for name, value in pairs if name not in ("_count", "_offset", "_sort")]
    services.store.serialize_on(conn, f"{res_type}?{sorted(criteria)}")
    query = parse(services, res_type, [*criteria, ("_count", "2"), ("_total", "none")], "strict")
    page = run_search(conn, services.definitions, res_type, query)
    return [row.res_id for row in page.matches]
