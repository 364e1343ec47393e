"""Find the new versions that active subscriptions' criteria match, and queue their notifications.

The ``resource_versions`` table is the ordered, durable log of every change (its ``pk`` is the system
history sequence). The matcher keeps its position in ``subscription_cursor``; each round it reads the
versions after it, asks the search engine which of them an active subscription's criteria match (the
criteria plus ``_id=<the changed ids>``, run on the index tables: exactly FHIR search semantics), and in
one transaction inserts the deliveries and moves the cursor. So a version is queued once, and a restarted
server carries on where the cursor stands.

Rules:

- Only the version that is still current is matched: the index tables hold the current version only. A
  version already superseded when the matcher reads it is skipped; its successor is matched in its place
  (bursts of updates are coalesced into one notification of the latest state).
- Deletes notify nobody (R4 rest-hook notifies of resources created or updated that match the criteria;
  a deleted resource matches no search).
- A subscription is notified of versions written after its own current version: creating or changing a
  subscription does not replay the past.

Concurrency: on PostgreSQL the round runs in a transaction holding the cursor row ``FOR UPDATE SKIP LOCKED``,
so with many processes one matches and the others skip the round. ``pk`` values are taken when a writer
inserts, so a transaction still in progress can commit a lower ``pk`` after a higher one is visible; the
matcher therefore never reads past a gap in the sequence until every transaction that was writing versions
when it saw the gap has ended (:class:`_GapWatch`). On SQLite there is one writer at a time and no such gap: the
round reads without a lock and moves the cursor with compare-and-set.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError

from adapter import fhirjson
from adapter.errors import BadRequest
from adapter.search.engine import run_search
from adapter.search.params import parse_search
from adapter.services.container import Services
from adapter.store.schema import resource_versions, subscription_cursor, subscription_deliveries
from adapter.store.sql import now_utc
from adapter.subscriptions.definition import Criteria, SubscriptionSpec, read_subscription

log = logging.getLogger(__name__)

LOG_CURSOR = "log"
#: Changed ids asked about in one search (``_id=a,b,c``).
_IDS_PER_QUERY = 100
#: Active subscriptions read per round; more are matched in later rounds' pages (see :meth:`_active`).
_MAX_SUBSCRIPTIONS = 1000
#: The transactions (other than ours) that are writing versions: a row lock-free way to know who may
#: still commit a lower ``pk``; an insert holds ``RowExclusiveLock`` on the table until its transaction ends.
_VERSION_WRITERS = text(
    "SELECT DISTINCT virtualtransaction FROM pg_locks WHERE locktype = 'relation' "
    "AND relation = CAST(:table AS regclass) AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()"
).bindparams(table=resource_versions.name)


@dataclass(frozen=True)
class ActiveSubscription:
    """An active subscription and the log position of its current version (it sees only later ones)."""

    spec: SubscriptionSpec
    since_pk: int


class Matcher:
    """One process's matcher: call :meth:`advance` periodically (the worker does)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._gaps = _GapWatch(services.store.is_postgres)
        self._cursor_checked = False
        #: The last round read a full batch: more versions are waiting, match again without pausing.
        self.last_round_full = False

    def advance(self) -> int:
        """Match the next batch of the log; return the number of deliveries queued."""
        store = self.services.store
        self._ensure_cursor()
        if store.is_postgres:
            with store.begin() as tx:
                position = tx.execute(select(subscription_cursor.c.position)
                                      .where(subscription_cursor.c.name == LOG_CURSOR)
                                      .with_for_update(skip_locked=True)).scalar()
                if position is None:
                    return 0  # another process holds the round
                new_position, deliveries = self._match(tx, position)
                if new_position != position:
                    _move_cursor(tx, position, new_position)
                _queue(tx, deliveries)
                return len(deliveries)
        with store.connect() as conn:
            position = conn.execute(select(subscription_cursor.c.position)
                                    .where(subscription_cursor.c.name == LOG_CURSOR)).scalar_one()
            new_position, deliveries = self._match(conn, position)
            conn.rollback()
        if new_position == position:
            return 0
        with store.begin() as tx:
            if not _move_cursor(tx, position, new_position):
                return 0  # another process moved it first and queued these
            _queue(tx, deliveries)
        return len(deliveries)

    # --- one round -------------------------------------------------------------------------------------------

    def _match(self, conn: Connection, position: int) -> tuple[int, list[dict]]:
        """(the new cursor position, the deliveries to queue) for the versions after ``position``."""
        self.last_round_full = False
        subscriptions = self._active(conn)
        if not subscriptions:
            return position, []  # nothing to match; a new subscription starts at its own position anyway
        start = max(position, min(s.since_pk for s in subscriptions))
        self._gaps.refresh(conn)
        v = resource_versions.c
        rows = conn.execute(select(v.pk, v.res_type, v.res_id, v.version, v.method).where(v.pk > start)
                            .order_by(v.pk).limit(self.services.settings.subscription_batch_size)).all()
        usable = self._gaps.usable(conn, start, rows)
        self.last_round_full = len(usable) == self.services.settings.subscription_batch_size
        if not usable:
            return start, []
        return usable[-1].pk, self._deliveries(conn, subscriptions, usable)

    def _active(self, conn: Connection) -> list[ActiveSubscription]:
        """The active rest-hook subscriptions (found with the search engine, like any search) that have
        not reached their ``end``."""
        definitions = self.services.definitions
        query = parse_search(definitions, "Subscription", [("status", "active"), ("type", "rest-hook"),
                                                           ("_total", "none")],
                             handling="strict", default_count=_MAX_SUBSCRIPTIONS, max_count=_MAX_SUBSCRIPTIONS)
        page = run_search(conn, definitions, "Subscription", query)
        if page.has_next:
            log.warning("more than %d active subscriptions: only the first %d are matched", _MAX_SUBSCRIPTIONS,
                        _MAX_SUBSCRIPTIONS)
        now = datetime.now(UTC)
        specs: dict[tuple[int, int], SubscriptionSpec] = {}
        for row in page.matches:
            try:
                spec = read_subscription(fhirjson.loads(row.content))
            except ValueError as exc:
                log.warning("skipping a subscription: %s", exc)
                continue
            if not _ended(spec, now):
                specs[(row.pk, row.version)] = spec
        if not specs:
            return []
        v = resource_versions.c
        positions = conn.execute(select(v.resource_pk, v.version, v.pk)
                                 .where(tuple_(v.resource_pk, v.version).in_(list(specs)))).all()
        return [ActiveSubscription(specs[(row.resource_pk, row.version)], row.pk) for row in positions]

    def _deliveries(self, conn: Connection, subscriptions: Sequence[ActiveSubscription],
                    rows: Sequence[Any]) -> list[dict]:
        changed: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            if row.method != "DELETE":
                changed[row.res_type].append(row)
        now = now_utc()
        deliveries = []
        for subscription in subscriptions:
            criteria = subscription.spec.criteria
            candidates = [row for row in changed.get(criteria.res_type, ()) if row.pk > subscription.since_pk]
            if not candidates:
                continue
            try:
                current = self._current_matches(conn, criteria, {row.res_id for row in candidates})
            except BadRequest as exc:
                log.warning("Subscription/%s: criteria no longer parse (%s); skipped", subscription.spec.id, exc)
                continue
            deliveries += [
                {"subscription_id": subscription.spec.id, "version_pk": row.pk, "res_type": row.res_type,
                 "res_id": row.res_id, "version": row.version, "status": "pending", "attempts": 0,
                 "next_attempt_at": now, "created_at": now}
                for row in candidates if current.get(row.res_id) == row.version]
        return deliveries

    def _current_matches(self, conn: Connection, criteria: Criteria, ids: Iterable[str]) -> dict[str, int]:
        """Of ``ids``, those whose current version the criteria match: id → current version."""
        definitions = self.services.definitions
        ordered = sorted(ids)
        found: dict[str, int] = {}
        for start in range(0, len(ordered), _IDS_PER_QUERY):
            chunk = ordered[start:start + _IDS_PER_QUERY]
            query = parse_search(definitions, criteria.res_type,
                                 [*criteria.pairs, ("_id", ",".join(chunk)), ("_total", "none")],
                                 handling="strict", default_count=len(chunk), max_count=len(chunk))
            found.update((row.res_id, row.version)
                         for row in run_search(conn, definitions, criteria.res_type, query).matches)
        return found

    def _ensure_cursor(self) -> None:
        """Create the cursor at the end of the log if it is missing (a schema made without the migrations)."""
        if self._cursor_checked:
            return
        store = self.services.store
        with store.connect() as conn:
            exists = conn.execute(select(subscription_cursor.c.position)
                                  .where(subscription_cursor.c.name == LOG_CURSOR)).first() is not None
        if not exists:
            try:
                with store.begin() as tx:
                    end = tx.execute(select(resource_versions.c.pk).order_by(resource_versions.c.pk.desc())
                                     .limit(1)).scalar() or 0
                    tx.execute(insert(subscription_cursor).values(name=LOG_CURSOR, position=end))
            except IntegrityError:
                pass  # another process created it
        self._cursor_checked = True


class _GapWatch:
    """Tells which of the versions read after the cursor may be matched now (PostgreSQL's sequence gaps).

    A gap below a visible ``pk`` is either a transaction still writing or one that rolled back. The writer
    that took the missing ``pk`` inserted into ``resource_versions`` before the matcher read past it, and
    holds a ``RowExclusiveLock`` on the table until it ends. So when the matcher meets a gap it notes the
    highest ``pk`` it saw and the transactions holding that lock (read from ``pg_locks`` after the rows);
    once none of them is left, every writer that could fill the gap has ended and everything up to the
    noted ``pk`` may be read past. Transactions elsewhere in the cluster (which would hold back a
    snapshot's ``xmin``) do not delay it. On SQLite nothing is ever in flight while the matcher reads (one
    writer, and a rolled-back ``pk`` is reused), so every row is usable.
    """

    def __init__(self, is_postgres: bool) -> None:
        self.is_postgres = is_postgres
        self.settled_upto = 0
        self.waiting: tuple[int, frozenset[str]] | None = None

    def refresh(self, conn: Connection) -> None:
        """Call before reading the log: settle the gap being waited on if its writers have all ended."""
        if self.waiting is not None and not self.waiting[1] & _writers(conn):
            self.settled_upto = max(self.settled_upto, self.waiting[0])
            self.waiting = None

    def usable(self, conn: Connection, start: int, rows: Sequence[Any]) -> list[Any]:
        if not self.is_postgres:
            return list(rows)
        usable = []
        expected = start + 1
        for row in rows:
            if row.pk != expected and row.pk > self.settled_upto:
                if self.waiting is None:
                    self.waiting = (rows[-1].pk, _writers(conn))
                break
            usable.append(row)
            expected = row.pk + 1
        return usable


def _writers(conn: Connection) -> frozenset[str]:
    return frozenset(conn.execute(_VERSION_WRITERS).scalars())


def _move_cursor(tx: Connection, old: int, new: int) -> bool:
    """Compare-and-set the cursor; False if someone else moved it."""
    result = tx.execute(update(subscription_cursor)
                        .where(subscription_cursor.c.name == LOG_CURSOR, subscription_cursor.c.position == old)
                        .values(position=new))
    return result.rowcount == 1


def _queue(tx: Connection, deliveries: list[dict]) -> None:
    if deliveries:
        tx.execute(insert(subscription_deliveries), deliveries)


def _ended(spec: SubscriptionSpec, now: datetime) -> bool:
    if not spec.end:
        return False
    try:
        end = datetime.fromisoformat(spec.end)
    except ValueError:
        return False
    return (end if end.tzinfo else end.replace(tzinfo=UTC)) <= now
