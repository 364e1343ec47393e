"""Bulk Data ``$export`` over HTTP: time, rate and the server's peak memory, at two export sizes.

For each size N: a fresh database is filled with N resources in this process (Patients, Encounters referring
to them, Observations; through the store's API on SQLite, with multi-row INSERTs on PostgreSQL), then
``cmp-adapter serve`` (gunicorn, 2 sync workers) is started on it, and a system-level ``$export`` is kicked
off, polled every 0.1 s until the manifest is there, and every file downloaded. Meanwhile the resident
memory (VmRSS from ``/proc/<pid>/status``) of every process of the server (gunicorn master and workers) is sampled every
20 ms; the table shows the largest single process and the largest sum, before and during the export.

    python benchmarks/bulk_export.py --sizes 20000,100000 [--database-url postgresql+psycopg://...]

This is a measurement, not a test: it prints figures for docs/performance.md and exits 0.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import requests
from sqlalchemy import create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from adapter.services.container import Services
from adapter.settings import Settings
from adapter.store.schema import resource_versions
from adapter.store.schema import resources as resources_table
from adapter.store.sql import _finalize as finalize
from adapter.store.sql import now_utc
from tests.integration.live_server import running_server

BATCH = 5000


def resources(count: int):
    """N resources: one Patient per ten, six Encounters and three Observations per Patient."""
    patients = max(1, count // 10)
    for n in range(count):
        p = n % patients
        kind = n % 10
        if kind == 0:
            yield {"resourceType": "Patient", "id": f"p{n // 10}", "identifier": [{"system": "https://medicaid.mt.gov/member-id",
                                                              "value": f"MT{n:08d}"}],
                   "name": [{"family": f"Family{n % 997}", "given": [f"Given{n}"]}], "gender": "female",
                   "birthDate": "1970-01-01"}
        elif kind <= 6:
            yield {"resourceType": "Encounter", "status": "finished",
                   "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                   "subject": {"reference": f"Patient/p{p}"},
                   "period": {"start": "2026-10-05T10:00:00-06:00", "end": "2026-10-05T10:45:00-06:00"}}
        else:
            yield {"resourceType": "Observation", "status": "final",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "72133-2"}]},
                   "subject": {"reference": f"Patient/p{p}"}, "valueInteger": n % 5}


def load(settings: Settings, count: int) -> float:
    """Fill the database through the store; seconds taken."""
    started = time.perf_counter()
    services = Services.build(settings)
    try:
        batch: list[dict] = []
        for resource in resources(count):
            batch.append(resource)
            if len(batch) == BATCH:
                _write(services, batch)
                batch = []
        if batch:
            _write(services, batch)
    finally:
        services.close()
    return time.perf_counter() - started


def _write(services: Services, batch: list[dict]) -> None:
    if services.store.is_postgres:
        _write_bulk(services, batch)
        return
    with services.store.begin() as conn:
        for resource in batch:
            services.store.create(conn, resource["resourceType"], resource, res_id=resource.get("id"))


def _write_bulk(services: Services, batch: list[dict]) -> None:
    """PostgreSQL: one multi-row INSERT per table and batch, rows exactly as the store writes them (content
    with id, versionId and lastUpdated), but no search index rows, which a system-level export never reads.
    The store's one-resource-at-a-time create costs ~10 round trips per resource (~50/s on this busy VM)."""
    moment = now_utc()
    rows = []
    for resource in batch:
        res_id = resource.get("id") or str(uuid.uuid4())
        content = finalize(dict(resource), resource["resourceType"], res_id, 1, moment)
        rows.append({"res_type": resource["resourceType"], "res_id": res_id, "version": 1, "last_updated": moment,
                     "deleted": False, "content": content})
    with services.store.begin() as conn:
        pks = conn.execute(insert(resources_table).returning(resources_table.c.pk, sort_by_parameter_order=True),
                           rows).scalars().all()
        versions = [{"resource_pk": pk, "res_type": row["res_type"], "res_id": row["res_id"], "version": 1,
                     "last_updated": moment, "method": "POST", "content": row["content"]}
                    for pk, row in zip(pks, rows, strict=True)]
        conn.execute(insert(resource_versions), versions)


class RssSampler(threading.Thread):
    """Samples the resident memory of every process in the server's process group."""

    def __init__(self, pgid: int) -> None:
        super().__init__(daemon=True)
        self.pgid = pgid
        self.peak_process = 0
        self.peak_total = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            sizes = [rss for pid in _group_pids(self.pgid) if (rss := _rss_kb(pid)) is not None]
            if sizes:
                self.peak_process = max(self.peak_process, max(sizes))
                self.peak_total = max(self.peak_total, sum(sizes))
            time.sleep(0.02)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # field 5 of stat: the process group
                pids.append(int(entry))
    return pids


def _rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _server_pgid(base: str) -> int:
    port = str(urlparse(base).port)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"adapter.cli" in argv and port.encode() in argv:
                return os.getpgid(int(entry))
    raise RuntimeError("server process not found")


def measure(base: str, expected: int) -> dict:
    sampler = RssSampler(_server_pgid(base))
    sampler.start()
    time.sleep(1.0)
    idle_process, idle_total = sampler.peak_process, sampler.peak_total
    session = requests.Session()
    started = time.perf_counter()
    kick_off = session.get(f"{base}/$export", headers={"Prefer": "respond-async"}, timeout=30)
    kick_off.raise_for_status()
    status_url = kick_off.headers["Content-Location"]
    while (polled := session.get(status_url, timeout=30)).status_code == 202:
        time.sleep(0.1)
    polled.raise_for_status()
    exported = time.perf_counter() - started
    manifest = polled.json()
    lines = 0
    for output in manifest["output"]:
        with session.get(output["url"], stream=True, timeout=60) as response:
            response.raise_for_status()
            for chunk in response.iter_content(1 << 16):
                lines += chunk.count(b"\n")
    total = time.perf_counter() - started
    sampler.stop()
    assert lines == expected == sum(o["count"] for o in manifest["output"]), (lines, expected)
    return {"export_s": exported, "total_s": total, "files": len(manifest["output"]),
            "idle_process_mb": idle_process / 1024, "idle_total_mb": idle_total / 1024,
            "peak_process_mb": sampler.peak_process / 1024, "peak_total_mb": sampler.peak_total / 1024}


def _fresh_postgres(url: str, schema: str) -> str:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        data_dir = tempfile.mkdtemp(prefix=f"bulk-bench-{size}-")
        database_url = _fresh_postgres(args.database_url, f"bulk_bench_{size}") if args.database_url else ""
        settings = Settings.load({"data_dir": data_dir, "database_url": database_url})
        loaded = load(settings, size)
        print(f"loaded {size} resources in {loaded:.1f}s ({size / loaded:,.0f}/s)", flush=True)
        env = {"CMP_ADAPTER_DATA_DIR": data_dir, "CMP_ADAPTER_DATABASE_URL": database_url,
               "CMP_ADAPTER_FHIR_PACKAGES": settings.fhir_packages}
        with running_server(env, workers=args.workers) as base:
            result = measure(base, size)
        rows.append((size, result))
        print(f"{size}: {result}", flush=True)
    print("\n| resources | files | $export (kick-off → manifest) | rate | with download | rate | "
          "server RSS idle (largest process / all) | peak during export (largest / all) |")
    print("|---|---|---|---|---|---|---|---|")
    for size, r in rows:
        print(f"| {size:,} | {r['files']} | {r['export_s']:.2f} s | {size / r['export_s']:,.0f}/s | "
              f"{r['total_s']:.2f} s | {size / r['total_s']:,.0f}/s | "
              f"{r['idle_process_mb']:.0f} / {r['idle_total_mb']:.0f} MB | "
              f"{r['peak_process_mb']:.0f} / {r['peak_total_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
