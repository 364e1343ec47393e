"""Send queued notifications over HTTP (R4 rest-hook), retry with backoff, give up into ``error``.

A notification is claimed in a short transaction (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the one
writer) that counts the attempt and leases the row by moving ``next_attempt_at`` past the request timeout;
the HTTP request runs outside any transaction; the outcome is written afterwards. So several processes
never send the same notification at once, a slow endpoint holds one sending thread and no lock, and a
process that dies mid-request leaves a row that another process retries when the lease runs out
(at-least-once delivery).

The request (R4 subscription-channel-type ``rest-hook``): with no ``channel.payload``, a ``POST`` with an
empty body to the endpoint; with a payload, the endpoint is taken as a FHIR base and the version is sent
as an update, ``PUT [endpoint]/[type]/[id]``, in the payload's MIME type. ``channel.header`` values are
sent as HTTP headers. Any 2xx answer is success.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import delete, exists, select, update

from adapter import fhirjson
from adapter.services.container import Services
from adapter.store.schema import subscription_deliveries
from adapter.store.sql import StoredResource, VersionConflict, now_utc
from adapter.subscriptions.definition import PAYLOAD_FORMATS, SubscriptionSpec, read_subscription
from adapter.wire.codec import encode_stored
from adapter.wire.formats import Format

log = logging.getLogger(__name__)

#: How long past the request timeout a claimed notification stays leased to the process sending it.
LEASE_MARGIN = timedelta(seconds=30)
_ERROR_TEXT_LIMIT = 500
#: Due rows read per free sending thread when claiming, to find rows of several subscriptions.
_CANDIDATES_PER_SLOT = 4
_FORMATS = {"json": Format.JSON, "xml": Format.XML}


@dataclass(frozen=True)
class Claimed:
    """A notification this process is about to send; ``attempts`` includes this one."""

    pk: int
    subscription_id: str
    res_type: str
    res_id: str
    version: int
    attempts: int


class Deliverer:
    """Claims due notifications and sends them; :meth:`deliver` is safe to run in several threads."""

    def __init__(self, services: Services) -> None:
        self.services = services
        settings = services.settings
        self.timeout = settings.subscription_timeout_ms / 1000
        self.max_attempts = max(1, settings.subscription_max_attempts)
        self._sessions = threading.local()

    # --- claiming ------------------------------------------------------------------------------------------

    def claim(self, limit: int, busy: Collection[str] = ()) -> list[Claimed]:
        """Up to ``limit`` due notifications, oldest due first, at most one per subscription and none for
        the ``busy`` subscriptions (being sent to by this process), leased to this process.

        One at a time per subscription and process means a slow endpoint holds one sending thread, not all
        of them. And the versions of one resource go to one subscriber in order: a notification waits
        while an earlier one for the same subscription and resource is pending (being sent, or waiting for
        a retry), so a receiver applying the ``PUT``s never has an older version overwrite a newer one.
        """
        if limit <= 0:
            return []
        store = self.services.store
        d = subscription_deliveries.c
        now = now_utc()
        earlier = subscription_deliveries.alias("earlier")
        waits_for_earlier = exists(select(earlier.c.pk).where(
            earlier.c.subscription_id == d.subscription_id, earlier.c.res_type == d.res_type,
            earlier.c.res_id == d.res_id, earlier.c.status == "pending", earlier.c.pk < d.pk))
        conditions = [d.status == "pending", d.next_attempt_at <= now]
        if busy:
            conditions.append(d.subscription_id.not_in(list(busy)))
        due = select(d.pk).where(*conditions).limit(1)
        with store.connect() as conn:  # most rounds find nothing due: don't take SQLite's write lock for that
            if conn.execute(due).first() is None:
                return []
        statement = (select(d.pk, d.subscription_id, d.res_type, d.res_id, d.version, d.attempts)
                     .where(*conditions, ~waits_for_earlier)
                     .order_by(d.next_attempt_at, d.pk).limit(limit * _CANDIDATES_PER_SLOT))
        if store.is_postgres:
            statement = statement.with_for_update(skip_locked=True)
        with store.begin() as tx:
            chosen: dict[str, Any] = {}
            for row in tx.execute(statement):
                if len(chosen) < limit and row.subscription_id not in chosen:
                    chosen[row.subscription_id] = row
            rows = list(chosen.values())
            if rows:
                lease_end = now + timedelta(seconds=self.timeout) + LEASE_MARGIN
                tx.execute(update(subscription_deliveries).where(d.pk.in_([row.pk for row in rows]))
                           .values(attempts=d.attempts + 1, next_attempt_at=lease_end))
        return [Claimed(row.pk, row.subscription_id, row.res_type, row.res_id, row.version, row.attempts + 1)
                for row in rows]

    # --- sending -------------------------------------------------------------------------------------------

    def deliver(self, claimed: Claimed) -> bool:
        """Send one notification and record the outcome; True if the endpoint accepted it."""
        store = self.services.store
        with store.connect() as conn:
            current = store.read(conn, "Subscription", claimed.subscription_id)
            version = store.read_version(conn, claimed.res_type, claimed.res_id, claimed.version)
        spec = _active_spec(current)
        if spec is None:
            self._finish(claimed.pk, "abandoned", "the subscription is no longer active")
            return False
        if version is None or version.content is None:
            self._finish(claimed.pk, "abandoned", f"{claimed.res_type}/{claimed.res_id} version "
                                                  f"{claimed.version} is gone")
            return False
        error = self.send(spec, version)
        if error is None:
            self._finish(claimed.pk, "delivered", None)
            return True
        log.info("Subscription/%s: notification %d attempt %d failed: %s", spec.id, claimed.pk, claimed.attempts,
                 error)
        if claimed.attempts >= self.max_attempts:
            self._give_up(claimed, current, error)
        else:
            self._retry_later(claimed, error)
        return False

    def send(self, spec: SubscriptionSpec, version: StoredResource) -> str | None:
        """Make the rest-hook request; None on a 2xx answer, else what went wrong."""
        channel = spec.channel
        headers = dict(channel.headers)
        if channel.payload is None:
            method, url, body = "POST", channel.endpoint, b""
        else:
            fmt = _FORMATS[PAYLOAD_FORMATS[channel.payload.split(";", 1)[0].strip()]]
            method = "PUT"
            url = f"{channel.endpoint.rstrip('/')}/{version.res_type}/{version.res_id}"
            body = encode_stored(version.content, fmt, self.services.definitions.types)
            headers["Content-Type"] = channel.payload
        try:
            response = self._session().request(method, url, data=body, headers=headers, timeout=self.timeout,
                                               allow_redirects=False)
        except requests.RequestException as exc:
            return _clip(f"{method} {url}: {type(exc).__name__}: {exc}")
        response.close()
        if 200 <= response.status_code < 300:
            return None
        return _clip(f"{method} {url}: HTTP {response.status_code} {response.reason or ''}".rstrip())

    # --- outcomes ------------------------------------------------------------------------------------------

    def _finish(self, pk: int, status: str, error: str | None) -> None:
        d = subscription_deliveries.c
        with self.services.store.begin() as tx:
            values = {"status": status, "finished_at": now_utc()}
            if error is not None:
                values["last_error"] = error
            tx.execute(update(subscription_deliveries).where(d.pk == pk).values(**values))

    def _retry_later(self, claimed: Claimed, error: str) -> None:
        d = subscription_deliveries.c
        settings = self.services.settings
        wait_ms = min(settings.subscription_retry_initial_ms * 2 ** (claimed.attempts - 1),
                      settings.subscription_retry_max_ms)
        with self.services.store.begin() as tx:
            tx.execute(update(subscription_deliveries).where(d.pk == claimed.pk)
                       .values(next_attempt_at=now_utc() + timedelta(milliseconds=wait_ms), last_error=error))

    def _give_up(self, claimed: Claimed, current: StoredResource | None, error: str) -> None:
        """Set the subscription to ``error`` (R4: the server does) and drop its queued notifications."""
        store = self.services.store
        message = f"{claimed.attempts} attempts to notify failed; the last: {error}"
        d = subscription_deliveries.c
        while True:
            resource = fhirjson.loads(current.content) if current is not None and current.content else None
            try:
                with store.begin() as tx:
                    if resource is not None and resource.get("status") == "active":
                        resource["status"] = "error"
                        resource["error"] = message
                        store.update(tx, "Subscription", claimed.subscription_id, resource,
                                     expected_version=current.version)
                    tx.execute(update(subscription_deliveries)
                               .where(d.subscription_id == claimed.subscription_id, d.status == "pending")
                               .values(status="abandoned", finished_at=now_utc(), last_error=error))
                log.warning("Subscription/%s set to error: %s", claimed.subscription_id, message)
                return
            except VersionConflict:  # the client changed it meanwhile: look again
                with store.connect() as conn:
                    current = store.read(conn, "Subscription", claimed.subscription_id)

    def prune(self, keep_hours: int) -> int:
        """Remove delivered and abandoned notifications older than ``keep_hours``."""
        d = subscription_deliveries.c
        cutoff: datetime = now_utc() - timedelta(hours=keep_hours)
        with self.services.store.begin() as tx:
            return tx.execute(delete(subscription_deliveries)
                              .where(d.status != "pending", d.finished_at < cutoff)).rowcount

    def _session(self) -> requests.Session:
        session = getattr(self._sessions, "session", None)
        if session is None:
            session = self._sessions.session = requests.Session()
        return session


def _active_spec(current: StoredResource | None) -> SubscriptionSpec | None:
    if current is None or current.deleted or current.content is None:
        return None
    try:
        spec = read_subscription(fhirjson.loads(current.content))
    except ValueError:
        return None
    return spec if spec.status == "active" else None


def _clip(text: str) -> str:
    return text if len(text) <= _ERROR_TEXT_LIMIT else text[:_ERROR_TEXT_LIMIT - 1] + "…"
