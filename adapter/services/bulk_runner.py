"""Running one claimed export job: the cut's resources, type by type, page by page, into NDJSON files.

Files go to ``<data_dir>/exports/<job id>/<Type>-<n>.ndjson`` (a new file every
``export_file_max_resources`` resources) and ``OperationOutcome-errors.ndjson`` for the manifest's error
file. The stored bytes are written as they are (one line each: stored JSON is compact), so the export
never parses or re-serializes a resource (BRIEF §5) and holds one page in memory. Between pages the
worker renews its lease and records progress; when the renewal fails (the job was cancelled, or taken
over after our lease lapsed) it stops at once.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from adapter import fhirjson
from adapter.errors import Issue
from adapter.rest.outcome import operation_outcome
from adapter.services.bulk_request import ExportRequest, type_conditions
from adapter.services.container import Services
from adapter.store import snapshot
from adapter.store.export_jobs import COMPLETED, ExportJob, ExportJobStore
from adapter.store.sql import now_utc

log = logging.getLogger(__name__)

ERROR_FILE = "OperationOutcome-errors.ndjson"
#: Writes that were in flight at the kick-off commit within this time; the cut is read after it.
_SETTLE = timedelta(milliseconds=250)
#: Seconds between lease renewals (progress updates) at most.
_HEARTBEAT_SECONDS = 1.0


class JobStopped(Exception):
    """The job is no longer ours to run: cancelled, or re-claimed after our lease expired."""


def job_folder(services: Services, job_id: str) -> Path:
    return services.settings.exports_dir / job_id


@dataclass
class _TypeFiles:
    """The files of one type, rolled over every ``max_resources`` lines."""

    folder: Path
    res_type: str
    max_resources: int
    written: list[dict[str, Any]] = field(default_factory=list)
    _handle: IO[bytes] | None = None
    _count: int = 0

    def write(self, contents: list[bytes]) -> None:
        for content in contents:
            if self._handle is None or self._count >= self.max_resources:
                self._roll()
            assert self._handle is not None
            self._handle.write(content)
            self._handle.write(b"\n")
            self._count += 1
        self.written[-1]["count"] = self._count

    def _roll(self) -> None:
        if self.written:
            self.written[-1]["count"] = self._count
        self.close()
        name = f"{self.res_type}-{len(self.written) + 1}.ndjson"
        self._handle = (self.folder / name).open("wb")
        self._count = 0
        self.written.append({"type": self.res_type, "file": name, "count": 0})

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


@dataclass
class _Progress:
    """Counts and the lease renewal schedule of one run."""

    jobs: ExportJobStore
    job: ExportJob
    owner: str
    lease_seconds: int
    total: int = 0
    exported: int = 0
    output: list[dict[str, Any]] = field(default_factory=list)
    _last: float = 0.0

    def report(self, current_type: str | None, *, force: bool = False) -> None:
        """Renew the lease with the progress so far (at most once a second unless ``force``).

        Raises:
            JobStopped: the renewal found the job cancelled or taken over.
        """
        if not force and time.monotonic() - self._last < _HEARTBEAT_SECONDS:
            return
        self._last = time.monotonic()
        if current_type is None and not self.total:
            text = "counting resources"
        else:
            percent = 100 * self.exported // self.total if self.total else 100
            text = f"{self.exported} of {self.total} resources exported ({percent}%)"
            if current_type:
                text += f", exporting {current_type}"
        if not self.jobs.heartbeat(self.job.id, self.owner, self.lease_seconds, progress=text,
                                   exported=self.exported, total=self.total, output=self.output):
            raise JobStopped(self.job.id)


def run_job(services: Services, jobs: ExportJobStore, job: ExportJob, owner: str) -> None:
    """Export ``job`` (leased to ``owner``) from scratch and mark it completed.

    Raises:
        JobStopped: cancelled or taken over while running (the caller cleans up).
    """
    settings = services.settings
    folder = job_folder(services, job.id)
    shutil.rmtree(folder, ignore_errors=True)  # a restarted job starts over
    folder.mkdir(parents=True)
    request = ExportRequest.from_parameters(job.parameters)
    _wait_for_settle(job)
    queries = [snapshot.SnapshotQuery(res_type, job.transaction_time, request.since,
                                      type_conditions(services, request, res_type))
               for res_type in request.types]
    progress = _Progress(jobs, job, owner, settings.export_lease_seconds)
    counts = {}
    for query in queries:
        counts[query.res_type] = snapshot.count(services.store, query)
        progress.report(None)
    progress.total = sum(counts.values())
    progress.report(None, force=True)
    for query in queries:
        if not counts[query.res_type]:
            continue
        files = _TypeFiles(folder, query.res_type, settings.export_file_max_resources)
        try:
            for page in snapshot.pages(services.store, query, settings.export_page_size):
                files.write(page)
                progress.exported += len(page)
                progress.report(query.res_type)
        finally:
            files.close()
        progress.output.extend(files.written)
    errors = job.errors
    if errors:
        _write_errors(folder / ERROR_FILE, errors)
    if not jobs.finish(job.id, owner, state=COMPLETED, output=progress.output, errors=errors,
                       exported=progress.exported, retention_seconds=settings.export_retention_seconds):
        raise JobStopped(job.id)
    log.info("export %s completed: %d resources in %d files", job.id, progress.exported, len(progress.output))


def _wait_for_settle(job: ExportJob) -> None:
    remaining = (job.transaction_time + _SETTLE - now_utc()).total_seconds()
    if remaining > 0:
        time.sleep(remaining)


def _write_errors(path: Path, errors: list[dict[str, str]]) -> None:
    """One OperationOutcome per line (Bulk Data IG: the error file is NDJSON of OperationOutcomes)."""
    with path.open("wb") as out:
        for error in errors:
            issue = Issue(error["severity"], error["code"], error["diagnostics"], error.get("expression"))
            out.write(fhirjson.dumps(operation_outcome([issue])) + b"\n")
