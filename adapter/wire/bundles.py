"""Write Bundles (searchset, history, batch/transaction responses) around stored resource bytes.

A searchset of 50 Patients should not parse 50 stored resources just to print them again: in compact JSON
the stored bytes are spliced into the Bundle as they are. XML, ``_pretty`` and element filtering parse
each entry once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapter import fhirjson
from adapter.conformance.structure import TypeModel
from adapter.wire.codec import encode
from adapter.wire.formats import Format


@dataclass
class Entry:
    """One Bundle entry: its fields other than ``resource``, and the resource as stored bytes or a dict."""

    fields: dict[str, Any]
    content: bytes | None = None
    resource: dict | None = None


ResourceFilter = Callable[[dict], dict]


def render_bundle(header: dict[str, Any], entries: list[Entry], fmt: Format, types: TypeModel, *,
                  pretty: bool = False, resource_filter: ResourceFilter | None = None) -> bytes:
    """The Bundle's bytes: ``header`` holds everything but ``entry``.

    ``resource_filter`` (``_summary``/``_elements``) is applied to every entry's resource.
    """
    if fmt is Format.JSON and not pretty and resource_filter is None:
        return _splice_json(header, entries)
    bundle = dict(header)
    if entries:
        bundle["entry"] = [_entry_dict(entry, resource_filter) for entry in entries]
    return encode(bundle, fmt, types, pretty=pretty)


def _entry_dict(entry: Entry, resource_filter: ResourceFilter | None) -> dict:
    resource = entry.resource
    if resource is None and entry.content is not None:
        resource = fhirjson.loads(entry.content)
    if resource is not None and resource_filter is not None:
        resource = resource_filter(resource)
    fields = dict(entry.fields)
    if resource is not None:
        ordered = {key: fields.pop(key) for key in ("link", "fullUrl") if key in fields}
        return {**ordered, "resource": resource, **fields}
    return fields


def _splice_json(header: dict[str, Any], entries: list[Entry]) -> bytes:
    head = fhirjson.dumps(header)
    if not entries:
        return head
    parts = [head[:-1], b',"entry":[']
    for number, entry in enumerate(entries):
        if number:
            parts.append(b",")
        parts.append(_entry_json(entry))
    parts.append(b"]}")
    return b"".join(parts)


def _entry_json(entry: Entry) -> bytes:
    content = entry.content if entry.content is not None else (
        fhirjson.dumps(entry.resource) if entry.resource is not None else None)
    if content is None:
        return fhirjson.dumps(entry.fields)
    before = {key: entry.fields[key] for key in ("link", "fullUrl") if key in entry.fields}
    after = {key: value for key, value in entry.fields.items() if key not in before}
    parts = [b"{"]
    if before:
        parts += [fhirjson.dumps(before)[1:-1], b","]
    parts += [b'"resource":', content]
    if after:
        parts += [b",", fhirjson.dumps(after)[1:-1]]
    parts.append(b"}")
    return b"".join(parts)
