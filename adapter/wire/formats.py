"""Content negotiation: which FHIR format a request body is in and which one the response should be.

R4 §3.1.0.1.7 (http://hl7.org/fhir/R4/http.html#mime-type): ``_format`` overrides ``Accept``; a server
answers in the format asked for or says 406; a body in a format it cannot read is 415.
"""

from __future__ import annotations

from enum import Enum

from werkzeug.datastructures import MIMEAccept

from adapter.errors import NotAcceptable, UnsupportedMediaType


class Format(Enum):
    JSON = "application/fhir+json"
    XML = "application/fhir+xml"

    @property
    def content_type(self) -> str:
        return f"{self.value}; charset=utf-8"


#: Mime types and ``_format`` shorthands accepted for each format.
_ALIASES: dict[str, Format] = {
    "application/fhir+json": Format.JSON, "application/json+fhir": Format.JSON, "application/json": Format.JSON,
    "text/json": Format.JSON, "json": Format.JSON,
    "application/fhir+xml": Format.XML, "application/xml+fhir": Format.XML, "application/xml": Format.XML,
    "text/xml": Format.XML, "xml": Format.XML,
}
_ACCEPT_ORDER = ["application/fhir+json", "application/fhir+xml", "application/json", "application/xml",
                 "text/json", "text/xml", "application/json+fhir", "application/xml+fhir"]


def _lookup(mime: str) -> Format | None:
    return _ALIASES.get(mime.split(";", 1)[0].strip().lower())


def response_format(format_param: str | None, accept: MIMEAccept) -> Format:
    """The format to answer in: ``_format`` first, then ``Accept``, JSON when neither says.

    Raises:
        NotAcceptable: ``_format`` names something else, or ``Accept`` excludes both FHIR formats.
    """
    if format_param:
        chosen = _lookup(format_param.replace(" ", "+"))
        if chosen is None:
            raise NotAcceptable(f"_format={format_param!r} is not supported; use json or xml",
                                expression="_format")
        return chosen
    if not accept or not accept.values():
        return Format.JSON
    best = accept.best_match(_ACCEPT_ORDER)
    if best is None:
        raise NotAcceptable(f"Accept: {accept} includes neither application/fhir+json nor application/fhir+xml")
    return _ALIASES[best]


def request_format(content_type: str | None) -> Format:
    """The format of a request body from its ``Content-Type``.

    Raises:
        UnsupportedMediaType: missing or not a FHIR JSON/XML type.
    """
    chosen = _lookup(content_type or "")
    if chosen is None:
        raise UnsupportedMediaType(
            f"Content-Type {content_type!r} is not supported; send application/fhir+json or application/fhir+xml")
    return chosen
