"""The audit trail (AuditEvents for every REST interaction) and request-id logging.

``init_app`` wires both into an app: :mod:`adapter.audit.request_log` (request ids on every log line and
response) and :mod:`adapter.audit.trail` (the AuditEvents). See docs/decisions/014-audit-trail.md.
"""

from __future__ import annotations

import atexit
import logging
import weakref
from pathlib import Path

from flask import Flask

from adapter.audit import request_log, trail
from adapter.audit.queue import AuditQueue

log = logging.getLogger(__name__)
QUEUE_EXTENSION = "cmp_audit_queue"
_QUEUES: weakref.WeakSet[AuditQueue] = weakref.WeakSet()


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
    settings = services.settings
    if settings.audit and settings.audit_flush_ms > 0:
        spool = Path(settings.data_dir) / "audit-spool"
        queue = AuditQueue(services, spool, settings.audit_flush_ms / 1000)
        try:
            recovered = AuditQueue.recover(services, spool)
            if recovered:
                log.warning("stored %d audit events spooled by workers that stopped", recovered)
        except Exception as exc:  # the database may be away at start-up: the files wait for the next start
            log.warning("spooled audit events not recovered yet (%s)", type(exc).__name__)
        app.extensions[QUEUE_EXTENSION] = queue
        _QUEUES.add(queue)
        services.on_close.append(queue.shutdown)  # store what is pending, then no flush after the engine goes


@atexit.register
def _flush_all() -> None:
    for queue in list(_QUEUES):
        queue.close()
