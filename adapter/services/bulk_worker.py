"""The export worker pool: threads in the server process that claim jobs from the database and run them.

Every server process (each gunicorn worker, on every host) may run a pool; jobs are shared through the
``export_jobs`` table, and a lease decides who runs which (:mod:`adapter.store.export_jobs`). A pool starts
when its process accepts a kick-off or polls a status, or at start-up when the database holds jobs (so a
restarted server takes over the jobs of the one that died, once their leases expire, and cleans up
expired ones). Idle threads look for work every ``export_retry_after_seconds``; a kick-off in the same
process wakes them at once.

The loop here is the error boundary of the background work, as ``adapter.rest.errors`` is for requests:
a job that raises is marked failed with a fatal issue (details in the log), and the thread goes on.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
import uuid

from adapter.services.bulk_runner import JobStopped, job_folder, run_job
from adapter.services.container import Services
from adapter.store.export_jobs import CANCELLED, FAILED, ExportJob, ExportJobStore
from adapter.store.sql import now_utc

log = logging.getLogger(__name__)

#: Seconds between sweeps for expired jobs and orphaned folders.
SWEEP_SECONDS = 10.0


class ExportWorkers:
    """A pool of ``export_workers`` daemon threads, started on demand (and again after a fork)."""

    def __init__(self, services: Services, jobs: ExportJobStore) -> None:
        self.services = services
        self.jobs = jobs
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pid: int | None = None
        self._last_sweep = 0.0

    @property
    def enabled(self) -> bool:
        return self.services.settings.export_workers > 0

    def ensure_started(self) -> None:
        """Start the threads unless this process already runs them (or the pool is disabled)."""
        if not self.enabled or (self._pid == os.getpid() and self._threads):
            return
        with self._lock:
            if self._pid == os.getpid() and self._threads:
                return
            self._pid, self._threads = os.getpid(), []
            self._stop.clear()
            for number in range(self.services.settings.export_workers):
                thread = threading.Thread(target=self._loop, name=f"cmp-export-{number}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def wake(self) -> None:
        """Tell idle threads a job is waiting."""
        self.ensure_started()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the threads after their current page (tests; a server process just exits)."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    # --- the loop ----------------------------------------------------------------------------------------

    def _loop(self) -> None:
        settings = self.services.settings
        prefix = f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"
        while not self._stop.is_set():
            try:
                self._sweep_if_due()
                job = self.jobs.claim(f"{prefix}:{uuid.uuid4().hex[:8]}", settings.export_lease_seconds,
                                      settings.export_max_attempts, settings.export_retention_seconds)
            except Exception:  # the database is unreachable or a bug: log and try again later
                log.exception("export worker: could not claim a job")
                job = None
            if job is None:
                self._wake.wait(max(1, settings.export_retry_after_seconds))
                self._wake.clear()
                continue
            self._run(job)

    def _run(self, job: ExportJob) -> None:
        assert job.lease_owner is not None
        try:
            run_job(self.services, self.jobs, job, job.lease_owner)
        except JobStopped:
            self._after_stop(job.id)
        except Exception:  # the error boundary of background work (see the module docstring)
            log.exception("export %s failed", job.id)
            self.jobs.finish(job.id, job.lease_owner, state=FAILED, output=[], exported=0,
                             errors=[*job.errors, {"severity": "fatal", "code": "exception",
                                                   "diagnostics": "the export failed with an internal error; "
                                                                  "the details are in the server log"}],
                             retention_seconds=self.services.settings.export_retention_seconds)

    def _after_stop(self, job_id: str) -> None:
        """A cancelled job's files and row go now; a job taken over by another worker is left to it."""
        current = self.jobs.get(job_id)
        if current is not None and current.state == CANCELLED:
            self.remove(job_id)
            log.info("export %s cancelled", job_id)

    def remove(self, job_id: str) -> None:
        """Delete a job's files, then its row (a crash in between leaves a row the sweep deletes again)."""
        shutil.rmtree(job_folder(self.services, job_id), ignore_errors=True)
        self.jobs.delete([job_id])

    def _sweep_if_due(self) -> None:
        """Delete expired and abandoned cancelled jobs, and folders no job owns (left by a crash)."""
        if time.monotonic() - self._last_sweep < SWEEP_SECONDS:
            return
        self._last_sweep = time.monotonic()
        self.sweep()

    def sweep(self) -> list[str]:
        """One cleanup pass; the ids of the jobs removed."""
        removed = self.jobs.disposable(now_utc())
        for job_id in removed:
            self.remove(job_id)
        exports = self.services.settings.exports_dir
        if exports.is_dir():
            # Folders first, then ids: a job's row exists before its folder, so no live job is missed.
            folders = [folder for folder in exports.iterdir() if folder.is_dir()]
            known = self.jobs.ids()
            for folder in folders:
                if folder.name not in known:
                    shutil.rmtree(folder, ignore_errors=True)
        return removed
