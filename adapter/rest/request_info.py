"""What a request asks for, read from Flask's request: format, Prefer, base URL, body, parameters."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Request, current_app, request

from adapter import fhirjson
from adapter.errors import BadRequest
from adapter.services.container import Services
from adapter.wire import codec
from adapter.wire.formats import Format, request_format, response_format


def services() -> Services:
    return current_app.extensions["cmp"]


def out_format() -> Format:
    """The negotiated response format. :raise NotAcceptable:."""
    return response_format(request.args.get("_format"), request.accept_mimetypes)


def pretty() -> bool:
    return request.args.get("_pretty", "").lower() == "true"


def base_url() -> str:
    """The service base (``http://host/fhir``): configured, or from the request as seen by the client."""
    configured = services().settings.base_url
    return configured.rstrip("/") if configured else request.host_url.rstrip("/") + "/fhir"


@dataclass(frozen=True)
class Prefer:
    """The ``Prefer`` header (R4 http.html §3.1.0.1.8, search.html handling)."""

    return_: str = "representation"
    handling: str | None = None
    respond_async: bool = False

    @classmethod
    def parse(cls, header: str | None) -> Prefer:
        values: dict[str, str] = {}
        for part in (header or "").split(","):
            for token in part.split(";"):
                key, _, value = token.strip().partition("=")
                if key:
                    values[key.strip().lower()] = value.strip().strip('"')
        return cls(return_=values.get("return", "representation"), handling=values.get("handling"),
                   respond_async="respond-async" in values)


def prefer(req: Request | None = None) -> Prefer:
    return Prefer.parse((req or request).headers.get("Prefer"))


def handling() -> str:
    """``strict`` or ``lenient`` for unknown search parameters (Prefer first, then the deployment default)."""
    chosen = prefer().handling or services().settings.default_handling
    return "strict" if chosen == "strict" else "lenient"


def body_resource() -> dict:
    """The request body as a resource dict. :raise BadRequest, UnsupportedMediaType:."""
    svc = services()
    fmt = request_format(request.content_type)
    return codec.decode(request.get_data(cache=False), fmt, svc.definitions.types,
                        max_depth=svc.settings.max_nesting_depth)


def json_body() -> object:
    """A plain JSON request body (not a FHIR resource), decimals exact. :raise BadRequest:."""
    data = request.get_data(cache=False)
    try:
        return fhirjson.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc


def text_body() -> str:
    """A UTF-8 text request body (CSV). :raise BadRequest: not UTF-8."""
    try:
        return request.get_data(cache=False).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc


def search_pairs() -> list[tuple[str, str]]:
    """Search parameters from the query string and, for ``POST _search``, the form body."""
    pairs = list(request.args.items(multi=True))
    if request.method == "POST":
        pairs.extend(request.form.items(multi=True))
    return pairs
