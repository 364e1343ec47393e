"""Searchset and history Bundles with their paging links (R4 http.html §3.1.0.3.3, search.html §3.1.1.6).

Links repeat the query exactly as the server applied it, with ``_offset`` moved: every page of a search is
a plain GET a client can follow, bookmark or repeat. With no ``_sort``, results are in insertion order, so
a resource created while a client pages appears at the end and never shifts earlier pages.
"""

from __future__ import annotations

import uuid

from flask import Response, request

from adapter.rest import request_info as req
from adapter.rest.outcome import operation_outcome
from adapter.search.engine import Row
from adapter.services.history import HistoryRequest
from adapter.services.search import SearchResult
from adapter.store.sql import StoredResource, format_instant, now_utc
from adapter.wire.bundles import Entry, render_bundle
from adapter.wire.elements import resource_filter


def _header(bundle_type: str, total: int | None, links: list[dict]) -> dict:
    header: dict = {"resourceType": "Bundle", "id": str(uuid.uuid4()),
                    "meta": {"lastUpdated": format_instant(now_utc())}, "type": bundle_type}
    if total is not None:
        header["total"] = total
    header["link"] = links
    return header


def _render(header: dict, entries: list[Entry]) -> Response:
    fmt = req.out_format()
    types = req.services().definitions.types
    trim = resource_filter(types, request.args.get("_summary"), request.args.get("_elements"))
    body = render_bundle(header, entries, fmt, types, pretty=req.pretty(), resource_filter=trim)
    return Response(body, status=200, content_type=fmt.content_type)


def _row_entry(base: str, row: Row, mode: str) -> Entry:
    return Entry({"fullUrl": f"{base}/{row.res_type}/{row.res_id}", "search": {"mode": mode}}, content=row.content)


def search_bundle(res_type: str, result: SearchResult) -> Response:
    """A searchset: matches, then ``_include``/``_revinclude`` resources, then an outcome for ignored params."""
    base = req.base_url()
    query, page = result.query, result.page
    url = f"{base}/{res_type}"
    links = [{"relation": "self", "url": f"{url}?{query.query_string(page.offset)}"}]
    if page.has_next:
        links.append({"relation": "next", "url": f"{url}?{query.query_string(page.offset + page.count)}"})
    if page.offset > 0:
        links.append({"relation": "previous",
                      "url": f"{url}?{query.query_string(max(0, page.offset - page.count))}"})
    entries = [_row_entry(base, row, "match") for row in page.matches]
    entries += [_row_entry(base, row, "include") for row in page.includes]
    if query.ignored:
        entries.append(Entry({"search": {"mode": "outcome"}}, resource=operation_outcome(query.ignored)))
    return _render(_header("searchset", page.total, links), entries)


def history_bundle(res_type: str | None, res_id: str | None, history: HistoryRequest,
                   versions: list[StoredResource], total: int) -> Response:
    """A history Bundle, newest version first, each entry with its request and response."""
    base = req.base_url()
    url = "/".join(part for part in (base, res_type, res_id) if part) + "/_history"
    links = [{"relation": "self", "url": f"{url}?{history.query(history.offset)}"}]
    if history.offset + len(versions) < total:
        links.append({"relation": "next", "url": f"{url}?{history.query(history.offset + history.count)}"})
    if history.offset > 0:
        links.append({"relation": "previous", "url": f"{url}?{history.query(max(0, history.offset - history.count))}"})
    entries = [_version_entry(base, stored) for stored in versions]
    return _render(_header("history", total, links), entries)


def _version_entry(base: str, stored: StoredResource) -> Entry:
    method = stored.method
    instance = f"{stored.res_type}/{stored.res_id}"
    status = {"POST": "201 Created", "DELETE": "204 No Content"}.get(method, "200 OK")
    fields = {
        "fullUrl": f"{base}/{instance}",
        "request": {"method": method, "url": stored.res_type if method == "POST" else instance},
        "response": {"status": status, "etag": stored.etag, "lastModified": stored.last_updated_instant},
    }
    return Entry(fields, content=stored.content)
