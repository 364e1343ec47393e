"""The client side of Bulk Data export (HL7 FHIR Bulk Data Access IG, ``$export``).

Kick-off (``FhirClient.export``) answers 202 with a status URL; polling it answers 202 (with
``X-Progress``, ``Retry-After``) until the export is done, then 200 with a manifest listing NDJSON files
per type; ``DELETE`` on the status URL cancels. Files are streamed to disk, so memory stays flat however big
the export is. Credentials go only to the server's own origin: a file whose manifest says
``requiresAccessToken: false`` (e.g. on object storage) is fetched without them, and one that needs the
token but lives elsewhere is refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapter.client._exceptions import BulkExportError
from adapter.client._search import check_origin

if TYPE_CHECKING:
    from adapter.client._client import FhirClient

NDJSON = "application/fhir+ndjson"
DEFAULT_POLL_INTERVAL = 2.0
"""Seconds between status polls when the server sends no ``Retry-After``."""


@dataclass(frozen=True)
class ExportStatus:
    """One poll: ``done`` with the ``manifest``, or in progress with the server's hints."""

    done: bool
    progress: str | None = None
    retry_after: float | None = None
    manifest: dict[str, Any] | None = None


@dataclass
class ExportDownload:
    """What :meth:`ExportJob.download` wrote: resources per type, and OperationOutcomes from ``error``."""

    counts: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    files: list[Path] = field(default_factory=list)


class ExportJob:
    """A running or finished export, known by its status URL."""

    def __init__(self, client: FhirClient, status_url: str) -> None:
        self.client = client
        self.status_url = status_url

    def __repr__(self) -> str:
        return f"<ExportJob {self.status_url}>"

    def status(self) -> ExportStatus:
        """Poll once.

        Raises:
            HTTPStatusError: the export failed (the server's OperationOutcome is on it) or was cancelled.
        """
        from adapter.client._client import _retry_after

        response = self.client._send("GET", self.status_url, headers={"Accept": "application/json"})
        if response.status_code == 202:
            return ExportStatus(False, response.headers.get("X-Progress"), _retry_after(response))
        return ExportStatus(True, manifest=response.json())

    def wait(self, *, poll_interval: float = DEFAULT_POLL_INTERVAL, timeout: float | None = None) -> dict[str, Any]:
        """Poll until done (honouring ``Retry-After``); the manifest.

        Raises:
            BulkExportError: not done within ``timeout`` seconds.
            HTTPStatusError: the export failed.
        """
        *_, done = self.polls(poll_interval=poll_interval, timeout=timeout)
        return done.manifest or {}

    def polls(self, *, poll_interval: float = DEFAULT_POLL_INTERVAL,
              timeout: float | None = None) -> Iterator[ExportStatus]:
        """Each poll's status, waiting between them (``Retry-After`` or ``poll_interval``); the last is done.

        Raises:
            BulkExportError: not done within ``timeout`` seconds.
            HTTPStatusError: the export failed.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.status()
            yield status
            if status.done:
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise BulkExportError(f"export not complete after {timeout}s ({status.progress or 'no progress'})")
            wait = status.retry_after if status.retry_after is not None else poll_interval
            self.client._sleep(min(wait, self.client.retries.max_wait))

    def cancel(self) -> None:
        """``DELETE`` the status URL: the server stops the job and drops its files."""
        self.client._send("DELETE", self.status_url)

    def download(self, manifest: dict[str, Any], out_dir: Path) -> ExportDownload:
        """Stream every ``output`` file into ``out_dir/<Type>.ndjson`` (several files of a type are joined)
        and every ``error`` file into ``out_dir/errors.ndjson``.

        Raises:
            UnsafeURLError: a file needs the access token but is not on the server's origin.
            HTTPStatusError: a file could not be fetched.
        """
        out_dir.mkdir(parents=True, exist_ok=True)
        result = ExportDownload()
        needs_token = bool(manifest.get("requiresAccessToken"))
        started: set[Path] = set()
        for kind, outputs in (("output", manifest.get("output", [])), ("error", manifest.get("error", []))):
            for output in outputs:
                target = out_dir / ("errors.ndjson" if kind == "error" else f"{output['type']}.ndjson")
                lines = self._fetch(output["url"], target, append=target in started, needs_token=needs_token)
                if target not in started:
                    started.add(target)
                    result.files.append(target)
                if kind == "error":
                    result.errors += lines
                else:
                    result.counts[output["type"]] = result.counts.get(output["type"], 0) + lines
        return result

    def _fetch(self, url: str, target: Path, *, append: bool, needs_token: bool) -> int:
        if needs_token:
            url = check_origin(self.client.base_url, url)
        response = self.client._send("GET", url, headers={"Accept": NDJSON}, stream=True, authenticate=needs_token)
        lines, last = 0, b"\n"
        with response, target.open("ab" if append else "wb") as out:
            for chunk in response.iter_content(chunk_size=1 << 16):
                if chunk:
                    out.write(chunk)
                    lines += chunk.count(b"\n")
                    last = chunk[-1:]
            if last != b"\n":
                out.write(b"\n")
                lines += 1
        return lines
