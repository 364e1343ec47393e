"""What the REST layer tells the audit trail about the current request, kept on ``flask.g``.

The one seam between request handling and :mod:`adapter.audit.trail`, with no imports of either, so
handlers and response builders can call it without import cycles:

- ``g.client_id``: who the client is, set by the authorization layer (absent: ``anonymous``);
- :func:`note_bundle_type`: a POST to the base is a ``batch`` or a ``transaction``;
- :func:`note_returned`: each stored resource a response carries (a read's version and member).
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context

ANONYMOUS = "anonymous"


def note_bundle_type(bundle_type: object) -> None:
    if has_request_context() and bundle_type in ("batch", "transaction"):
        g.cmp_audit_bundle_type = bundle_type


def note_returned(stored: Any) -> None:
    if has_request_context():
        g.setdefault("cmp_audit_returned", []).append(stored)


def bundle_type() -> str | None:
    return g.get("cmp_audit_bundle_type")


def returned() -> list[Any]:
    return g.get("cmp_audit_returned", [])


def client_id() -> str:
    """The authenticated client's id (``g.client_id``), or ``anonymous``."""
    return g.get("client_id") or ANONYMOUS
