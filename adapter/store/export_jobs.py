"""Bulk Data export jobs in the database: creation, claiming with a lease, heartbeats, completion.

A job is run by whichever worker thread (in any process, on any host) claims it first. Claiming is one
short write transaction that takes the oldest claimable job and writes a lease (owner token + expiry) on
it; the worker renews the lease while it runs. On PostgreSQL the candidate row is locked with
``FOR UPDATE SKIP LOCKED``, so concurrent claimers take different jobs without waiting on each other;
on SQLite the write transaction holds the database's single-writer lock (``BEGIN IMMEDIATE``), which
serializes claims. A job whose lease expired (its process died) is claimable again: it restarts from the
beginning, or fails once it has been attempted ``max_attempts`` times (docs/decisions/009-bulk-export-jobs.md).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, delete, insert, or_, select, update

from adapter.store.schema import export_jobs
from adapter.store.sql import ResourceStore, now_utc

ACCEPTED = "accepted"
IN_PROGRESS = "in-progress"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
#: States whose job is over: its files stay until ``expires_at``.
FINISHED = (COMPLETED, FAILED)


@dataclass(frozen=True)
class ExportJob:
    """One export job as stored. ``output`` lists ``{"type", "file", "count"}``; ``errors`` lists issues
    (``{"severity", "code", "diagnostics"}``) that go to the manifest's error file or, for a failed job,
    to the status response."""

    id: str
    state: str
    request_url: str
    parameters: dict[str, Any]
    transaction_time: datetime
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None
    progress: str | None
    exported: int
    total: int | None
    output: list[dict[str, Any]]
    errors: list[dict[str, str]]
    attempts: int
    lease_owner: str | None
    lease_expires_at: datetime | None
    client_id: str | None = None
    """The authenticated client that asked for the export (None with authorization off): only it may poll,
    cancel and download."""

    def lease_is_live(self, moment: datetime) -> bool:
        return self.lease_owner is not None and self.lease_expires_at is not None and self.lease_expires_at > moment


def _job(row: Row) -> ExportJob:
    values = row._asdict()
    values["parameters"] = json.loads(values["parameters"])
    values["output"] = json.loads(values["output"])
    values["errors"] = json.loads(values["errors"])
    return ExportJob(**values)


class ExportJobStore:
    """The ``export_jobs`` table, on the resource store's engine and write discipline."""

    def __init__(self, store: ResourceStore) -> None:
        self.store = store

    def create(self, request_url: str, parameters: dict[str, Any], transaction_time: datetime,
               errors: list[dict[str, str]] | None = None, client_id: str | None = None) -> ExportJob:
        job_id = uuid.uuid4().hex
        with self.store.begin() as conn:
            conn.execute(insert(export_jobs).values(
                id=job_id, state=ACCEPTED, request_url=request_url, parameters=json.dumps(parameters),
                transaction_time=transaction_time, created_at=now_utc(), exported=0, output="[]",
                errors=json.dumps(errors or []), attempts=0, client_id=client_id))
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> ExportJob | None:
        with self.store.connect() as conn:
            row = conn.execute(select(export_jobs).where(export_jobs.c.id == job_id)).first()
        return _job(row) if row is not None else None

    def has_jobs(self) -> bool:
        with self.store.connect() as conn:
            return conn.execute(select(export_jobs.c.id).limit(1)).first() is not None

    def ids(self) -> set[str]:
        with self.store.connect() as conn:
            return set(conn.execute(select(export_jobs.c.id)).scalars())

    # --- the worker side -----------------------------------------------------------------------------------

    def claim(self, owner: str, lease_seconds: int, max_attempts: int, retention_seconds: int = 3600,
              ) -> ExportJob | None:
        """Take the oldest job that is waiting, or whose worker's lease expired, and lease it to ``owner``.

        A job already attempted ``max_attempts`` times is failed instead (its worker died each time; it is
        kept ``retention_seconds`` like any finished job), and the next candidate is tried.
        """
        while True:
            moment = now_utc()
            with self.store.begin() as conn:
                claimable = or_(export_jobs.c.state == ACCEPTED,
                                and_(export_jobs.c.state == IN_PROGRESS, export_jobs.c.lease_expires_at < moment))
                statement = select(export_jobs).where(claimable).order_by(export_jobs.c.created_at).limit(1)
                if self.store.is_postgres:
                    statement = statement.with_for_update(skip_locked=True)
                row = conn.execute(statement).first()
                if row is None:
                    return None
                job = _job(row)
                if job.attempts >= max_attempts:
                    errors = [*job.errors, _issue("fatal", "incomplete",
                                                  f"the export was interrupted {job.attempts} time"
                                                  f"{'' if job.attempts == 1 else 's'} (the server running it "
                                                  "stopped); it was not completed")]
                    conn.execute(update(export_jobs).where(export_jobs.c.id == job.id).values(
                        state=FAILED, finished_at=moment, expires_at=moment + timedelta(seconds=retention_seconds),
                        progress="failed", errors=json.dumps(errors), lease_owner=None, lease_expires_at=None))
                    continue
                errors = job.errors
                if job.attempts:
                    errors = [*errors, _issue("information", "informational",
                                              f"the export was interrupted and restarted (attempt {job.attempts + 1})")]
                conn.execute(update(export_jobs).where(export_jobs.c.id == job.id).values(
                    state=IN_PROGRESS, attempts=job.attempts + 1, lease_owner=owner,
                    lease_expires_at=moment + timedelta(seconds=lease_seconds), started_at=moment,
                    progress="starting", exported=0, total=None, output="[]", errors=json.dumps(errors)))
            claimed = self.get(job.id)
            if claimed is not None and claimed.lease_owner == owner:
                return claimed

    def heartbeat(self, job_id: str, owner: str, lease_seconds: int, *, progress: str, exported: int,
                  total: int | None, output: list[dict[str, Any]]) -> bool:
        """Renew the lease and record progress; False when the job is no longer ours to run (cancelled, or
        re-claimed after our lease expired)."""
        moment = now_utc()
        with self.store.begin() as conn:
            result = conn.execute(update(export_jobs).where(*self._held(job_id, owner)).values(
                lease_expires_at=moment + timedelta(seconds=lease_seconds), progress=progress, exported=exported,
                total=total, output=json.dumps(output)))
        return result.rowcount == 1

    def finish(self, job_id: str, owner: str, *, state: str, output: list[dict[str, Any]],
               errors: list[dict[str, str]], exported: int, retention_seconds: int) -> bool:
        """Mark the job completed or failed (its files kept for ``retention_seconds``); False if not ours."""
        moment = now_utc()
        with self.store.begin() as conn:
            result = conn.execute(update(export_jobs).where(*self._held(job_id, owner)).values(
                state=state, finished_at=moment, expires_at=moment + timedelta(seconds=retention_seconds),
                progress="complete" if state == COMPLETED else "failed", exported=exported,
                output=json.dumps(output), errors=json.dumps(errors), lease_owner=None, lease_expires_at=None))
        return result.rowcount == 1

    @staticmethod
    def _held(job_id: str, owner: str) -> tuple:
        return (export_jobs.c.id == job_id, export_jobs.c.lease_owner == owner, export_jobs.c.state == IN_PROGRESS)

    # --- the client side -----------------------------------------------------------------------------------

    def cancel(self, job_id: str) -> ExportJob | None:
        """Mark a job cancelled; the job as it was before, or None if unknown or already cancelled."""
        with self.store.begin() as conn:
            row = conn.execute(select(export_jobs).where(export_jobs.c.id == job_id)).first()
            if row is None or row.state == CANCELLED:
                return None
            conn.execute(update(export_jobs).where(export_jobs.c.id == job_id).values(state=CANCELLED))
        return _job(row)

    def delete(self, job_ids: Iterable[str]) -> None:
        ids = list(job_ids)
        if ids:
            with self.store.begin() as conn:
                conn.execute(delete(export_jobs).where(export_jobs.c.id.in_(ids)))

    def disposable(self, moment: datetime) -> list[str]:
        """Jobs whose files and row can go: finished ones past their expiry, cancelled ones nobody runs."""
        with self.store.connect() as conn:
            return list(conn.execute(select(export_jobs.c.id).where(or_(
                and_(export_jobs.c.state.in_(FINISHED), export_jobs.c.expires_at < moment),
                and_(export_jobs.c.state == CANCELLED,
                     or_(export_jobs.c.lease_owner.is_(None), export_jobs.c.lease_expires_at < moment))))).scalars())


def _issue(severity: str, code: str, diagnostics: str) -> dict[str, str]:
    return {"severity": severity, "code": code, "diagnostics": diagnostics}
