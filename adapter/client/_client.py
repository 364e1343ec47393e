"""``FhirClient``: the FHIR R4 RESTful API (http://hl7.org/fhir/R4/http.html) over :mod:`requests`.

It knows FHIR, not any particular server: every interaction is a standard R4 one, so the same client drives
this adapter, HAPI or Firely. Resources are plain dicts (anything with ``resourceType`` and ``id``).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import requests
import simplejson
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from adapter.client._auth import as_auth
from adapter.client._bulk import NDJSON, ExportJob
from adapter.client._config import (
    DEFAULT_POOL_SIZE,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    FHIR_JSON,
    IDEMPOTENT_METHODS,
    Retries,
)
from adapter.client._exceptions import (
    BulkExportError,
    ConnectError,
    HTTPStatusError,
    RequestTimeout,
    TransportError,
    error_for_status,
)
from adapter.client._search import SearchSet, build_url, check_origin

Resource = dict[str, Any]


class ResourceModel(Protocol):
    """A typed resource model (pydantic, e.g. ``fhir.resources``): anything that dumps to FHIR JSON."""

    def model_dump(self, *, mode: str, by_alias: bool, exclude_none: bool) -> dict[str, Any]: ...


ResourceLike = Mapping[str, Any] | ResourceModel
"""What the write methods accept: a dict with ``resourceType`` (and ``id`` for update), or a model."""


def as_resource(resource: ResourceLike) -> Resource:
    """``resource`` as a FHIR JSON dict (the client always answers with dicts).

    Raises:
        TypeError: it is neither a mapping with ``resourceType`` nor a model.
    """
    if isinstance(resource, Mapping):
        value = dict(resource)
    elif callable(getattr(resource, "model_dump", None)):
        value = resource.model_dump(mode="json", by_alias=True, exclude_none=True)
    else:
        raise TypeError(f"not a FHIR resource: {type(resource).__name__}")
    if "resourceType" not in value:
        raise TypeError("a FHIR resource needs a resourceType")
    return value


class FhirClient:
    """A client for one FHIR R4 base URL.

    :param base_url: the FHIR base, e.g. ``https://hapi.fhir.org/baseR4``.
    :param session: a :class:`requests.Session` to send through (connection pooling, proxies, TLS settings,
        test transports). Default: a new session with a pool of ``DEFAULT_POOL_SIZE`` (10) connections per
        host, closed by :meth:`close`; an injected session is left open.
    :param auth: a :class:`requests.auth.AuthBase`, a bearer token, or a function returning the current
        token (see :mod:`adapter.client._auth`). Default: none.
    :param timeout: seconds, or ``(connect, read)``. Default ``DEFAULT_TIMEOUT`` (5 s, 60 s).
    :param retries: a :class:`Retries` or a number of retries. Default ``Retries()``: 3 retries with
        backoff 0.5 s, 1 s, 2 s on 429/503 (any method) and 502/504 (idempotent methods), honouring
        ``Retry-After``; connection failures of idempotent requests are retried the same way.
    :param sleep: how to wait between retries (tests pass a recorder). Default :func:`time.sleep`.
    """

    def __init__(self, base_url: str, session: requests.Session | None = None, *,
                 auth: AuthBase | str | Callable[[], str] | None = None,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                 retries: Retries | int = DEFAULT_RETRIES,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self._owns_session = session is None
        self.session = session or _pooled_session()
        self.auth = as_auth(auth)
        self.timeout = timeout
        self.retries = retries if isinstance(retries, Retries) else Retries(total=retries)
        self._sleep = sleep

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def __repr__(self) -> str:
        return f"<FhirClient {self.base_url}>"

    # --- interactions ----------------------------------------------------------------------------------------

    def capabilities(self) -> Resource:
        """The CapabilityStatement (``GET [base]/metadata``)."""
        return self.get("metadata")

    def read(self, resource_type: str, resource_id: str) -> Resource:
        """``GET [base]/Type/id``.

        Raises:
            ResourceNotFound: no such resource. ResourceGone: it was deleted.
        """
        return self.get(f"{resource_type}/{resource_id}")

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> Resource:
        """``GET [base]/Type/id/_history/vid``."""
        return self.get(f"{resource_type}/{resource_id}/_history/{version_id}")

    def create(self, resource: ResourceLike) -> Resource:
        """``POST [base]/Type``: the stored resource, with the id and ``meta`` the server gave it.

        Raises:
            UnprocessableEntity: the server found the resource invalid (``outcome`` says why).
        """
        resource = as_resource(resource)
        response = self.request("POST", resource["resourceType"], json=resource, headers=_prefer_representation())
        return _resource_of(response, resource)

    def conditional_create(self, resource: ResourceLike, criteria: str | Mapping[str, Any]) -> tuple[Resource, bool]:
        """``POST`` with ``If-None-Exist: criteria``: ``(resource, created)``.

        When a resource matches the criteria (e.g. ``identifier=http://x|42``) the server creates nothing
        and ``created`` is False.

        Raises:
            PreconditionFailed: several resources match.
        """
        resource = as_resource(resource)
        query = criteria if isinstance(criteria, str) else build_url("", "", criteria.items()).lstrip("?")
        response = self.request("POST", resource["resourceType"], json=resource,
                                headers={**_prefer_representation(), "If-None-Exist": query})
        return _resource_of(response, resource), response.status_code == 201

    def update(self, resource: ResourceLike, *, if_match: str | bool | None = None) -> Resource:
        """``PUT [base]/Type/id``; with ``if_match`` only if the stored version is still that one.

        ``if_match`` is a version id (``"2"``), an ETag (``W/"2"``), or True for the resource's own
        ``meta.versionId`` (optimistic locking, http://hl7.org/fhir/R4/http.html#concurrency).

        Raises:
            PreconditionFailed: (412) the resource changed since that version.
            Conflict: (409) some servers say so instead of 412.
        """
        resource = as_resource(resource)
        headers = _prefer_representation()
        if if_match is True:
            if_match = resource.get("meta", {}).get("versionId")
        if if_match:
            headers["If-Match"] = if_match if str(if_match).startswith("W/") else f'W/"{if_match}"'
        response = self.request("PUT", f"{resource['resourceType']}/{resource['id']}", json=resource,
                                headers=headers)
        return _resource_of(response, resource)

    def delete(self, resource_type: str, resource_id: str) -> None:
        """``DELETE [base]/Type/id`` (deleting what is already gone is not an error in R4)."""
        self.request("DELETE", f"{resource_type}/{resource_id}")

    def transaction(self, entries: Iterable[dict[str, Any]] | Resource) -> Resource:
        """``POST [base]`` a transaction Bundle (or its entries): all or nothing; the transaction-response.

        Raises:
            HTTPStatusError: the whole transaction was refused (``outcome`` says which entry and why).
        """
        return self.request("POST", "", json=_bundle("transaction", entries)).json()

    def batch(self, entries: Iterable[dict[str, Any]] | Resource) -> Resource:
        """``POST [base]`` a batch Bundle: each entry on its own; look at each ``entry.response.status``."""
        return self.request("POST", "", json=_bundle("batch", entries)).json()

    def validate(self, resource: ResourceLike, *, profile: str | None = None, mode: str | None = None) -> Resource:
        """``POST [base]/Type/$validate``: the OperationOutcome (whether or not it reports errors).

        Servers differ in the status of a failed validation (200, 400, 412 or 422 with the outcome), so
        an outcome in an error response is returned too.
        """
        resource = as_resource(resource)
        parameters: list[dict[str, Any]] = [{"name": "resource", "resource": resource}]
        parameters += [{"name": "profile", "valueUri": profile}] if profile else []
        parameters += [{"name": "mode", "valueCode": mode}] if mode else []
        body = {"resourceType": "Parameters", "parameter": parameters}
        try:
            return self.request("POST", f"{resource['resourceType']}/$validate", json=body).json()
        except HTTPStatusError as error:
            if error.outcome is not None and error.status_code < 500:
                return error.outcome
            raise

    def export(self, *, group_id: str | None = None, patients: bool = False, types: Iterable[str] = (),
               since: str | None = None, type_filters: Iterable[str] = (),
               output_format: str = NDJSON) -> ExportJob:
        """Kick off a Bulk Data export (``$export``, HL7 Bulk Data Access IG): the job to poll and download.

        System level by default; ``patients=True`` for ``Patient/$export``, ``group_id`` for
        ``Group/[id]/$export``. ``types`` becomes ``_type``, ``since`` ``_since``, each type filter a
        ``_typeFilter``.

        Raises:
            HTTPStatusError: the server refused the kick-off (``outcome`` says why).
            BulkExportError: it answered without ``202`` and a ``Content-Location``.
        """
        path = f"Group/{group_id}/$export" if group_id else ("Patient/$export" if patients else "$export")
        params = [("_outputFormat", output_format)]
        params += [("_type", ",".join(types))] if types else []
        params += [("_since", since)] if since else []
        params += [("_typeFilter", f) for f in type_filters]
        response = self.request("GET", path, params=params,
                                headers={"Prefer": "respond-async", "Accept": FHIR_JSON})
        location = response.headers.get("Content-Location")
        if response.status_code != 202 or not location:
            raise BulkExportError(f"$export kick-off answered {response.status_code} without a Content-Location")
        return ExportJob(self, check_origin(self.base_url, location))

    def resources(self, resource_type: str = "") -> SearchSet:
        """A search on ``resource_type`` (every type when empty): see :class:`SearchSet`."""
        return SearchSet(self, resource_type)

    # --- raw access ------------------------------------------------------------------------------------------

    def get(self, path: str, params: Iterable[tuple[str, Any]] | Mapping[str, Any] = ()) -> Resource:
        """``GET [base]/path?params`` as JSON."""
        pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
        return self.request("GET", path, params=pairs).json()

    def get_url(self, url: str) -> Resource:
        """``GET`` an absolute URL (already checked to lie under the base) as JSON."""
        return self._send("GET", url).json()

    def request(self, method: str, path: str, *, params: Iterable[tuple[str, Any]] = (),
                json: Any = None, headers: Mapping[str, str] | None = None) -> requests.Response:
        """Send ``method [base]/path``; the response of a 2xx/3xx, else the mapped exception."""
        url = build_url(self.base_url, path, [(k, str(v)) for k, v in params])
        return self._send(method, url, json=json, headers=headers)

    def _send(self, method: str, url: str, *, json: Any = None, headers: Mapping[str, str] | None = None,
              stream: bool = False, authenticate: bool = True) -> requests.Response:
        """The only place a request goes out and a status becomes an exception (with retries).

        ``stream`` leaves the body unread (large NDJSON downloads); ``authenticate=False`` sends no
        credentials (a Bulk Data file on storage that says it needs no token).

        Raises:
            HTTPStatusError: a subclass per status (see :mod:`adapter.client._exceptions`), with the
                server's OperationOutcome on ``outcome``.
            TransportError: no answer (``ConnectError``, ``RequestTimeout``).
        """
        all_headers = {"Accept": FHIR_JSON, **({"Content-Type": FHIR_JSON} if json is not None else {}),
                       **(headers or {})}
        data = None if json is None else _dumps(json)
        attempt, refreshed = 0, False
        while True:
            try:
                response = self.session.request(method, url, data=data, headers=all_headers,
                                                auth=self.auth if authenticate else None, timeout=self.timeout,
                                                stream=stream)
            except requests.Timeout as error:
                raise RequestTimeout(f"{method} {url}: {error}", request=error.request) from error
            except requests.ConnectionError as error:
                if attempt < self.retries.total and method.upper() in IDEMPOTENT_METHODS:
                    self._sleep(self.retries.wait(attempt, None))
                    attempt += 1
                    continue
                raise ConnectError(f"{method} {url}: {error}", request=error.request) from error
            except requests.RequestException as error:
                raise TransportError(f"{method} {url}: {error}", request=error.request) from error
            if response.status_code < 400:
                return response
            if stream:
                response.content  # noqa: B018  (read the error body: the outcome is in it)
            if response.status_code == 401 and authenticate and not refreshed and hasattr(self.auth, "invalidate"):
                refreshed = True
                if self.auth.invalidate():
                    continue
            if attempt < self.retries.total and self.retries.should_retry(method, response.status_code):
                self._sleep(self.retries.wait(attempt, _retry_after(response)))
                attempt += 1
                continue
            raise error_for_status(response)


def _pooled_session() -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=DEFAULT_POOL_SIZE, pool_maxsize=DEFAULT_POOL_SIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _dumps(body: Any) -> bytes:
    """JSON bytes; ``Decimal`` values (money from the mappings) keep their digits (``115.50`` stays ``115.50``)."""
    return simplejson.dumps(body, ensure_ascii=False, separators=(",", ":"), use_decimal=True).encode("utf-8")


def _prefer_representation() -> dict[str, str]:
    return {"Prefer": "return=representation"}


def _bundle(bundle_type: str, entries: Iterable[dict[str, Any]] | Resource) -> Resource:
    if isinstance(entries, dict):
        return {**entries, "type": bundle_type}
    return {"resourceType": "Bundle", "type": bundle_type, "entry": list(entries)}


def _resource_of(response: requests.Response, sent: Resource) -> Resource:
    """The resource in a write response; from ``Location``/``ETag`` when the server sent no body."""
    if response.content:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("resourceType") == sent["resourceType"]:
            return body
    result = dict(sent)
    location = response.headers.get("Location") or response.headers.get("Content-Location") or ""
    parts = location.split("/_history/")
    if parts[0]:
        result["id"] = parts[0].rstrip("/").rsplit("/", 1)[-1]
    version = parts[1].strip("/") if len(parts) > 1 else response.headers.get("ETag", "").strip('W/"') or None
    if version:
        result["meta"] = {**result.get("meta", {}), "versionId": version}
    return result


def _retry_after(response: requests.Response) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
