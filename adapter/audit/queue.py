"""Read audits batched: spooled to a local file at once, stored in the database by a background thread.

Recording a read synchronously costs a write transaction per read (measured in docs/performance.md: it
multiplies the cost of a read several times, and on SQLite it queues every read behind the one writer).
So the AuditEvents of interactions that change nothing (reads, searches, history, operations that store
nothing, refusals) go through this queue:

1. :meth:`AuditQueue.put` appends the event, id already assigned, as one JSON line to this worker's spool
   file (one ``write()`` on an ``O_APPEND`` descriptor: the line is in the kernel's page cache before the
   response leaves, so it survives the worker being killed) and keeps it in memory;
2. a background thread stores what is pending every ``audit_flush_ms`` in one transaction, then deletes
   the spool file that held it (each batch has its own file);
3. at start-up, :meth:`AuditQueue.recover` stores the events of spool files left by workers that are gone
   (killed, crashed), skipping ids already stored, and deletes the files.

What can be lost: only events written to a spool file that never reached the disk, that is, the last few
hundred milliseconds of reads when the whole machine loses power (the spool is not fsynced: an fsync per
read would cost what the queue saves). A worker killed with ``kill -9`` loses nothing; its events are stored
by the next worker that starts. If the spool cannot be written (disk full) the read is refused with 503.
Writes are never queued: their AuditEvent is in their own transaction (:mod:`adapter.audit.trail`).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import event as sa_event

from adapter import fhirjson
from adapter.audit.events import AUDIT_TYPE
from adapter.services.container import Services
from adapter.store.sql import DuplicateResource

log = logging.getLogger(__name__)

#: The flusher thread ends after this long with nothing to do (it starts again with the next event), so an
#: idle app (a test, a CLI run) keeps no thread.
IDLE_SECONDS = 5.0
#: After this many failed flushes in a row (about a minute of backing off) the thread ends; the events stay
#: pending and spooled, and the next event, or the next start, stores them.
MAX_FAILURES = 8


class AuditQueue:
    """One worker process's queue of AuditEvents waiting to be stored."""

    def __init__(self, services: Services, spool_dir: Path, interval: float) -> None:
        self.services = services
        self.spool_dir = spool_dir
        self.interval = interval
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending: list[dict] = []
        self._file: tuple[int, Path] | None = None
        self._batches = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False
        spool_dir.mkdir(parents=True, exist_ok=True)
        # Services.close() disposes the engine: from then on the thread must not open connections again (they
        # would stay pooled for the life of the process); what is pending stays in the spool for the next start.
        sa_event.listen(services.store.engine, "engine_disposed", self._on_dispose)

    def put(self, event: dict) -> None:
        """Spool and queue one event (its ``id`` is set here). :raise OSError: the spool cannot be written."""
        event["id"] = str(uuid.uuid4())
        line = fhirjson.dumps(event) + b"\n"
        with self._lock:
            if self._file is None or self._file[0] < 0:
                self._file = self._open_spool()
            os.write(self._file[0], line)
            self._pending.append(event)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="audit-flush", daemon=True)
                self._thread.start()

    def flush(self) -> int:
        """Store every pending event in one transaction; returns how many. On failure they stay pending."""
        if self._closed:
            return 0
        with self._flush_lock:
            with self._lock:
                batch, spool = self._pending, self._file
                self._pending, self._file = [], None
            if spool is not None:
                os.close(spool[0])
            if not batch:
                if spool is not None:
                    spool[1].unlink(missing_ok=True)
                return 0
            try:
                store_events(self.services, batch)
            except Exception:
                with self._lock:  # keep them (and their file) for the next attempt
                    self._pending[:0] = batch
                    self._adopt(spool)
                raise
            if spool is not None:
                spool[1].unlink(missing_ok=True)
            return len(batch)

    def _on_dispose(self, _engine: object) -> None:
        self._closed = True

    def shutdown(self) -> None:
        """Store what is pending and stop flushing, before the Services close the engine.

        Waits for a flush in progress: a flush still writing after the close would hold a connection on a
        database its owner is about to drop or migrate.
        """
        self.close()
        with self._flush_lock:
            self._closed = True

    def close(self) -> None:
        """Store what is pending (process exit); what cannot be stored stays spooled for the next start."""
        try:
            self.flush()
        except Exception as exc:
            log.warning("audit events left spooled at exit (%s)", type(exc).__name__)

    @staticmethod
    def recover(services: Services, spool_dir: Path) -> int:
        """Store the spooled events of workers that are gone; returns how many were stored."""
        stored = 0
        for path in sorted(spool_dir.glob("*.jsonl")) if spool_dir.is_dir() else []:
            owner = int(path.name.split("-", 1)[0]) if path.name.split("-", 1)[0].isdigit() else 0
            if owner == os.getpid() or _alive(owner):
                continue
            claimed = path.with_suffix(".recovering")
            try:
                path.rename(claimed)  # one recovering worker per file
            except OSError:
                continue
            events = []
            for line in claimed.read_bytes().splitlines():
                try:
                    events.append(fhirjson.loads(line))
                except ValueError:
                    continue  # the torn last line of a worker killed mid-write
            stored += store_events(services, events, skip_existing=True)
            claimed.unlink(missing_ok=True)
        return stored

    # --- internals ---------------------------------------------------------------------------------------------

    def _open_spool(self) -> tuple[int, Path]:
        path = self.spool_dir / f"{os.getpid()}-{time.time_ns()}-{next(self._batches)}.jsonl"
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), path

    def _adopt(self, spool: tuple[int, Path] | None) -> None:
        """After a failed flush: keep appending to the failed batch's file (it holds those events)."""
        if spool is None:
            return
        if self._file is not None:  # events arrived meanwhile in a new file: move them into the old one
            os.close(self._file[0])
            with spool[1].open("ab") as old:
                old.write(self._file[1].read_bytes())
            self._file[1].unlink(missing_ok=True)
        self._file = (os.open(spool[1], os.O_WRONLY | os.O_APPEND), spool[1])

    def _run(self) -> None:
        idle_since = time.monotonic()
        failures = 0
        while True:
            time.sleep(self.interval * 2 ** min(failures, 6))  # backs off while the database is away
            try:
                if self.flush():
                    idle_since = time.monotonic()
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning("audit events could not be stored yet (%s); retrying", type(exc).__name__)
                idle_since = time.monotonic()
            with self._lock:
                idle = not self._pending and time.monotonic() - idle_since > IDLE_SECONDS
                if idle or failures >= MAX_FAILURES or self._closed:  # the next put() starts a thread again
                    self._thread = None
                    return


def store_events(services: Services, events: list[dict], *, skip_existing: bool = False) -> int:
    """Store AuditEvents (ids already assigned) in one transaction: in bulk, or (recovering a spool that may
    hold some already stored) one by one, skipping those."""
    if not skip_existing:
        with services.store.begin() as conn:
            return services.store.create_many(conn, AUDIT_TYPE, events)
    stored = 0
    with services.store.begin() as conn:
        for event in events:
            try:
                services.store.create(conn, AUDIT_TYPE, event, event["id"])
                stored += 1
            except DuplicateResource:
                pass
    return stored


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
