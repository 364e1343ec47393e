"""FHIR R4 search: index extraction, query parsing, SQL and execution.

- :mod:`adapter.search.index` — the rows a resource contributes to the ``search_*`` tables (write path).
- :mod:`adapter.search.paths` — the FHIRPath subset of SearchParameter expressions, compiled to look-ups.
- :mod:`adapter.search.params` — URL parameters into an immutable ``SearchQuery`` (strict or lenient).
- :mod:`adapter.search.sql` — SQLAlchemy Core statements for a query, on SQLite and PostgreSQL.
- :mod:`adapter.search.engine` — ``run_search``: a page, the total, ``_include``/``_revinclude``.
- :mod:`adapter.search.dates`, :mod:`adapter.search.values` — value semantics both sides share.
"""
