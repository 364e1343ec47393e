"""Bulk Data ``$export`` (HL7 Bulk Data Access IG 2.0): kick-off, status, manifest, cancel, files.

The REST layer calls these; jobs run in the background (:mod:`adapter.services.bulk_worker`) and live in
the database (:mod:`adapter.store.export_jobs`), so any process can answer any request about any job.

Status answers (export.html "Bulk Data Status Request"): in progress → 202 with ``X-Progress`` and
``Retry-After``; completed → 200 with the manifest; failed → 500 with an OperationOutcome; cancelled,
expired or unknown → 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from adapter.errors import BadRequest, FhirError, Issue, NotFound
from adapter.services import bulk_request, resources
from adapter.services.bulk_runner import ERROR_FILE, job_folder
from adapter.services.bulk_worker import ExportWorkers
from adapter.services.container import Services
from adapter.store.export_jobs import ACCEPTED, COMPLETED, FAILED, IN_PROGRESS, ExportJob, ExportJobStore
from adapter.store.sql import format_instant, now_utc


@dataclass(frozen=True)
class ExportStatus:
    """What a status poll says: not done (``progress``), or done with the ``manifest``."""

    done: bool
    progress: str | None = None
    retry_after: int | None = None
    manifest: dict[str, Any] | None = None
    expires: datetime | None = None


class BulkExports:
    """Exports of one app: the job table, the worker pool, and the operations on them."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.jobs = ExportJobStore(services.store)
        self.workers = ExportWorkers(services, self.jobs)

    def start_if_pending(self) -> None:
        """At start-up: run the pool if the database holds jobs (to resume or clean them up)."""
        if self.workers.enabled and self.jobs.has_jobs():
            self.workers.ensure_started()

    def kick_off(self, level: str, group_id: str | None, args: list[tuple[str, str]], *, respond_async: bool,
                 lenient: bool, request_url: str, client_id: str | None = None,
                 hidden_types: frozenset[str] = frozenset()) -> ExportJob:
        """Check the request and queue a job whose cut is now.

        Raises:
            BadRequest: no ``Prefer: respond-async``, or a bad parameter (see
                :func:`adapter.services.bulk_request.parse_kickoff`).
            NotFound: the Group does not exist.
        """
        if not respond_async:
            raise BadRequest("$export is asynchronous: send the header 'Prefer: respond-async'",
                             expression="Prefer")
        if level == "group":
            self._require_group(group_id)
        request = bulk_request.parse_kickoff(self.services, level, group_id, args, lenient=lenient,
                                             hidden_types=hidden_types)
        warnings = [{"severity": w.severity, "code": w.code, "diagnostics": w.diagnostics,
                     **({"expression": w.expression} if w.expression else {})} for w in request.warnings]
        job = self.jobs.create(request_url, request.to_parameters(), now_utc(), errors=warnings, client_id=client_id)
        self.workers.wake()
        return job

    def status(self, job_id: str, file_base: str, client_id: str | None = None) -> ExportStatus:
        """Poll a job; ``file_base`` is the URL its files are served under.

        Raises:
            NotFound: no such job (never existed, cancelled, or expired and deleted).
            FhirError: the job failed (500, its issues).
        """
        self.workers.ensure_started()
        job = self._job(job_id, client_id)
        settings = self.services.settings
        if job.state in (ACCEPTED, IN_PROGRESS):
            progress = job.progress or "queued"
            return ExportStatus(False, progress if job.state == IN_PROGRESS else "queued",
                                settings.export_retry_after_seconds)
        if job.state == FAILED:
            raise FhirError(issues=[Issue(e["severity"], e["code"], e["diagnostics"], e.get("expression"))
                                    for e in job.errors])
        return ExportStatus(True, manifest=self._manifest(job, file_base), expires=job.expires_at)

    def cancel(self, job_id: str, client_id: str | None = None) -> None:
        """Cancel a job; its files go now, or once its worker notices (at its next page).

        Raises:
            NotFound: no such job, or already cancelled.
        """
        self._job(job_id, client_id)
        before = self.jobs.cancel(job_id)
        if before is None:
            raise NotFound(f"no export job {job_id!r} to cancel (unknown, already cancelled or expired)")
        if not before.lease_is_live(now_utc()):
            self.workers.remove(job_id)

    def file_path(self, job_id: str, name: str, client_id: str | None = None) -> Path:
        """The path of one of a completed job's files.

        Raises:
            NotFound: no such job, not completed, or not one of its files.
        """
        job = self._job(job_id, client_id)
        names = {entry["file"] for entry in job.output} | ({ERROR_FILE} if job.errors else set())
        if job.state != COMPLETED or name not in names:
            raise NotFound(f"export job {job_id!r} has no file {name!r}")
        path = job_folder(self.services, job_id) / name
        if not path.is_file():
            raise NotFound(f"the file {name!r} of export job {job_id!r} is gone")
        return path

    def close(self) -> None:
        self.workers.stop()

    # --- internals ---------------------------------------------------------------------------------------

    def _job(self, job_id: str, client_id: str | None = None) -> ExportJob:
        """The job, if it is live and the caller's: another client's job is as unknown to it as a missing one
        (the status URL is a capability, but a token must not open someone else's export)."""
        job = self.jobs.get(job_id)
        if job is None or job.state not in (ACCEPTED, IN_PROGRESS, COMPLETED, FAILED) or (
                job.client_id is not None and job.client_id != client_id):
            raise NotFound(f"no export job {job_id!r} (unknown, cancelled, or expired and deleted)")
        return job

    def _require_group(self, group_id: str | None) -> None:
        if not group_id:
            raise NotFound("Group/$export needs a Group id")
        resources.read(self.services, "Group", group_id)  # NotFound / Gone

    def _manifest(self, job: ExportJob, file_base: str) -> dict[str, Any]:
        """The completion manifest (export.html "Complete Status"): files per type with counts, errors."""
        base = f"{file_base}/{job.id}"
        return {
            "transactionTime": format_instant(job.transaction_time),
            "request": job.request_url,
            "requiresAccessToken": (self.services.settings.export_requires_access_token
                                    or self.services.settings.auth != "off"),
            "output": [{"type": entry["type"], "url": f"{base}/{entry['file']}", "count": entry["count"]}
                       for entry in job.output],
            "error": [{"type": "OperationOutcome", "url": f"{base}/{ERROR_FILE}"}] if job.errors else [],
        }
