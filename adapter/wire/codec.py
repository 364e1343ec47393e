"""Turn request bodies into resources and resources into response bodies, in JSON or XML.

Reads of stored resources hand over the stored JSON bytes; for compact JSON those bytes go out untouched.
Only XML, ``_pretty`` and element filtering parse them again (never through fhir.resources models).
"""

from __future__ import annotations

import re
from typing import Any

import simplejson

from adapter import fhirjson
from adapter.conformance.structure import TypeModel
from adapter.errors import BadRequest
from adapter.wire import xml_format
from adapter.wire.formats import Format


def decode(data: bytes, fmt: Format, types: TypeModel, *, max_depth: int) -> dict:
    """Parse a request body into a resource dict (decimals exact).

    Raises:
        BadRequest: not well-formed, not a JSON object with ``resourceType``, nested deeper than allowed.
    """
    if not data.strip():
        raise BadRequest("the request body is empty; a FHIR resource was expected")
    if fmt is Format.XML:
        return xml_format.xml_to_resource(data, types, max_depth=max_depth)
    try:
        resource = fhirjson.loads(data)
    except simplejson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not valid UTF-8: {exc.reason} at byte {exc.start}") from exc
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(resource, dict):
        raise BadRequest("the body must be a JSON object holding one FHIR resource")
    if not isinstance(resource.get("resourceType"), str):
        raise BadRequest("the JSON object has no resourceType", expression="resourceType")
    _check_depth(resource, max_depth)
    if _SUSPECT_ESCAPE.search(data):
        _check_strings(resource)
    return resource


#: ``\u0000`` and surrogate escapes: JSON allows them, but a lone surrogate is not Unicode text (it cannot
#: be stored or written back as UTF-8) and PostgreSQL text cannot hold NUL.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def _check_strings(value: Any) -> None:
    """:raise BadRequest: a string (or key) holds NUL or a lone surrogate."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            if "\x00" in node:
                raise BadRequest("the body has a NUL character (\\u0000) in a string")
            try:
                node.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise BadRequest("the body has a lone surrogate escape (\\ud800-\\udfff) in a string") from exc


def _check_depth(value: Any, max_depth: int) -> None:
    """Reject bodies nested deeper than ``max_depth`` (protects every later recursive walk)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise BadRequest(f"the body is nested more than {max_depth} levels deep")
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values() if isinstance(child, dict | list))
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node if isinstance(child, dict | list))


def encode(resource: dict, fmt: Format, types: TypeModel, *, pretty: bool = False) -> bytes:
    """Serialize a resource dict in the response format."""
    if fmt is Format.XML:
        return xml_format.resource_to_xml(resource, types, pretty=pretty)
    return fhirjson.dumps(resource, pretty=pretty)


def encode_stored(content: bytes, fmt: Format, types: TypeModel, *, pretty: bool = False) -> bytes:
    """Serialize stored JSON bytes; compact JSON is returned as stored, byte for byte."""
    if fmt is Format.JSON and not pretty:
        return content
    return encode(fhirjson.loads(content), fmt, types, pretty=pretty)
