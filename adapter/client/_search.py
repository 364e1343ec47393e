"""The immutable search builder and the URL arithmetic it needs (no IO here).

``client.resources("Encounter").search(subject="Patient/1").sort("-date").limit(50)`` builds a
:class:`SearchSet`; every call returns a clone with copied parameters, so a base query can be shared and
refined. Repeatable parameters append (``search(date="ge2024").search(date="lt2025")`` is a range), while
``_count`` and ``_sort`` replace. Iterating a search set fetches the first page and follows each Bundle's
``next`` link (FHIR R4 paging, http://hl7.org/fhir/R4/http.html#paging).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from adapter.client._exceptions import UnsafeURLError

if TYPE_CHECKING:
    from adapter.client._client import FhirClient

Params = tuple[tuple[str, str], ...]

REPLACED_PARAMS = frozenset({"_count", "_sort"})
"""Parameters a search set holds at most once: setting them again replaces the old value."""


def param_name(keyword: str) -> str:
    """A Python keyword as a FHIR search parameter name: ``code__text`` → ``code:text`` (as in fhir-py)."""
    return keyword.replace("__", ":")


def param_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def add_params(params: Params, new: Iterable[tuple[str, Any]]) -> Params:
    """``params`` plus ``new``: lists repeat a parameter (AND); ``_count``/``_sort`` replace earlier values."""
    result = list(params)
    for name, value in new:
        values = value if isinstance(value, list | tuple) else [value]
        if name in REPLACED_PARAMS:
            result = [(n, v) for n, v in result if n != name]
        result.extend((name, param_value(v)) for v in values)
    return tuple(result)


def parse_query(query: str) -> tuple[str, Params]:
    """``"CarePlan?status=active&_count=10"`` → ``("CarePlan", (("status", "active"), ("_count", "10")))``."""
    path, _, qs = query.partition("?")
    return path.strip("/"), tuple(parse_qsl(qs, keep_blank_values=True))


def build_url(base_url: str, path: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """``base_url/path?params``; ``path`` is relative to the FHIR base (``Patient/1``, ``metadata``, ``""``)."""
    url = base_url.rstrip("/") + ("/" + path.lstrip("/") if path else "")
    query = urlencode(list(params))
    return f"{url}?{query}" if query else url


def resolve_link(base_url: str, link: str) -> str:
    """A server-sent link (a Bundle's ``next``) as an absolute URL, refusing one outside ``base_url``.

    Relative links are taken relative to the base. Absolute links must share the base's scheme, host and
    port and lie under its path: a malicious or misconfigured server must not be able to send the client
    (and its bearer token) elsewhere.

    Raises:
        UnsafeURLError: the link points outside the base.
    """
    base = base_url.rstrip("/") + "/"
    absolute = urljoin(base, link)
    target, root = urlsplit(absolute), urlsplit(base)
    same_origin = (target.scheme, target.hostname, target.port) == (root.scheme, root.hostname, root.port)
    if not same_origin or not (target.path + "/").startswith(root.path):
        raise UnsafeURLError(f"refusing to follow {link!r}: it is outside the base URL {base_url}")
    return absolute


def check_origin(base_url: str, url: str) -> str:
    """``url`` made absolute against the base, if it is on the base's scheme, host and port.

    For URLs a server hands out that may live outside the FHIR base path (a Bulk Data status URL).

    Raises:
        UnsafeURLError: it is on another origin.
    """
    absolute = urljoin(base_url.rstrip("/") + "/", url)
    target, root = urlsplit(absolute), urlsplit(base_url)
    if (target.scheme, target.hostname, target.port) != (root.scheme, root.hostname, root.port):
        raise UnsafeURLError(f"refusing {url!r}: it is not on the server of {base_url}")
    return absolute


def next_link(bundle: dict[str, Any]) -> str | None:
    return next((link.get("url") for link in bundle.get("link", []) if link.get("relation") == "next"), None)


class SearchSet:
    """A search on one resource type (or on every type, when ``resource_type`` is empty): immutable.

    Iterating yields the matching resources (``search.mode`` ``match``) of every page; :meth:`pages`
    yields the Bundles themselves (with ``_include``\\ d resources).
    """

    def __init__(self, client: FhirClient, resource_type: str, params: Params = ()) -> None:
        self._client = client
        self.resource_type = resource_type
        self.params: Params = params

    def clone(self, new: Iterable[tuple[str, Any]] = ()) -> SearchSet:
        return SearchSet(self._client, self.resource_type, add_params(self.params, new))

    # --- building ------------------------------------------------------------------------------------------

    def search(self, *pairs: tuple[str, Any] | dict[str, Any], **params: Any) -> SearchSet:
        """More parameters: keywords (``code__text=`` for ``code:text``), ``(name, value)`` pairs or dicts.

        A list value repeats the parameter (both must hold); a comma inside one value is an OR.
        """
        new: list[tuple[str, Any]] = []
        for item in pairs:
            new.extend(item.items() if isinstance(item, dict) else [item])
        new.extend((param_name(k), v) for k, v in params.items())
        return self.clone(new)

    def sort(self, *keys: str) -> SearchSet:
        """``_sort`` (replaces an earlier one); ``-date`` sorts descending."""
        return self.clone([("_sort", ",".join(keys))])

    def limit(self, count: int) -> SearchSet:
        """``_count``: the page size (replaces an earlier one)."""
        return self.clone([("_count", count)])

    def include(self, source_type: str, param: str, target_type: str | None = None, *,
                iterate: bool = False) -> SearchSet:
        """``_include=Source:param[:Target]`` (``:iterate`` when asked)."""
        name = "_include:iterate" if iterate else "_include"
        return self.clone([(name, ":".join(p for p in (source_type, param, target_type) if p))])

    def revinclude(self, source_type: str, param: str, target_type: str | None = None, *,
                   iterate: bool = False) -> SearchSet:
        """``_revinclude=Source:param[:Target]``."""
        name = "_revinclude:iterate" if iterate else "_revinclude"
        return self.clone([(name, ":".join(p for p in (source_type, param, target_type) if p))])

    def elements(self, *names: str) -> SearchSet:
        return self.clone([("_elements", ",".join(names))])

    @property
    def query(self) -> str:
        """The search relative to the base, e.g. ``Encounter?subject=Patient%2F1&_sort=-date``."""
        return build_url("", self.resource_type, self.params).lstrip("/")

    def __repr__(self) -> str:
        return f"<SearchSet {self.query}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSet) and (self.resource_type, self.params) == (
            other.resource_type, other.params)

    __hash__ = None  # type: ignore[assignment]

    # --- running -------------------------------------------------------------------------------------------

    def pages(self) -> Iterator[dict[str, Any]]:
        """Each searchset Bundle, following ``next`` links until there is none."""
        bundle = self._client.get(self.resource_type, params=self.params)
        while True:
            yield bundle
            link = next_link(bundle)
            if not link:
                return
            bundle = self._client.get_url(resolve_link(self._client.base_url, link))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for bundle in self.pages():
            for entry in bundle.get("entry", []):
                if entry.get("search", {}).get("mode", "match") == "match" and "resource" in entry:
                    yield entry["resource"]

    def fetch(self) -> list[dict[str, Any]]:
        """The matches on the first page only."""
        bundle = self._client.get(self.resource_type, params=self.params)
        return [e["resource"] for e in bundle.get("entry", [])
                if e.get("search", {}).get("mode", "match") == "match" and "resource" in e]

    def fetch_all(self) -> list[dict[str, Any]]:
        """The matches on every page."""
        return list(self)

    def first(self) -> dict[str, Any] | None:
        found = self.limit(1).fetch()
        return found[0] if found else None

    def count(self) -> int:
        """The server's ``total`` for this search (``_summary=count``)."""
        bundle = self._client.get(self.resource_type, params=add_params(self.params, [("_summary", "count")]))
        return int(bundle.get("total", 0))
