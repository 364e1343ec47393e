"""The audit trail (AuditEvents for every REST interaction) and request-id logging.

``init_app`` wires both into an app: :mod:`adapter.audit.request_log` (request ids on every log line and
response) and :mod:`adapter.audit.trail` (the AuditEvents). See docs/decisions/014-audit-trail.md.
"""

from __future__ import annotations

from flask import Flask

from adapter.audit import request_log, trail


def init_app(app: Flask) -> None:
    """Register the request-id hooks (first, so later hooks log with the id) and the audit trail.

    The write checks are appended once per Services (tests share one Services between apps).
    """
    request_log.init_app(app)
    services = app.extensions["cmp"]
    for check in (trail.refuse_client_writes, trail.record_write):
        if check not in services.write_checks:
            services.write_checks.append(check)
    app.before_request(trail.guard_audit_type)
    app.after_request(trail.record_response)
