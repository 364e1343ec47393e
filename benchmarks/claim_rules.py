"""What the claim rules (CMP-BILL-1/2) add to a claim create, on PostgreSQL with a realistic store.

1. Builds a store of ``--members`` CMP members (default 10,000) with ``--weeks`` weeks of quality contacts
   (2 a week) and an active 2-day claim for each member-week but the last, in a fresh PostgreSQL schema:
   bulk-inserted rows (current, version, search index rows as the store writes them; not validated).
2. In process: creates ``--claims`` claims (2 days each, in the last week, every one valid) through
   ``resources.create`` (validation, index, write checks, commit), alternating with the program rules'
   write check registered and removed, and reports the mean and median create time of each, and the time
   spent in the check itself.
3. Over HTTP: starts ``cmp-adapter serve`` (gunicorn, 2 workers) on that database and sends claim creates at
   a fixed ``--rate`` (default 100/s) for ``--duration`` seconds from a thread pool (open loop), with the
   rules enforced and with them off; reports the achieved rate, the status codes and p50/p99 latency.

    CMP_ADAPTER_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        python benchmarks/claim_rules.py --members 10000 --weeks 4 --claims 300 --rate 100 --duration 20

This is a measurement, not a test: it prints figures for docs/performance.md and exits 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from adapter import fhirjson
from adapter.services import resources
from adapter.services.container import Services
from adapter.settings import Settings
from adapter.store import schema
from adapter.store.sql import _finalize, now_utc
from mappings import claim as claim_kind
from tests.integration.live_server import running_server

DENVER = ZoneInfo("America/Denver")
FIRST_WEEK = date(2026, 1, 4)  # a Sunday: the program's weeks start on Sundays
FHIR_JSON = "application/fhir+json"


def contact(member: int, day: date) -> dict:
    start = datetime.combine(day, datetime.min.time().replace(hour=10), tzinfo=DENVER)
    return {"resourceType": "Encounter", "id": f"qc-b{member}-{day:%Y%m%d}",
            "meta": {"profile": ["https://cmp-adapter.org/fhir/StructureDefinition/cmp-quality-contact"]},
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "type": [{"coding": [{"system": "https://cmp-adapter.org/fhir/CodeSystem/cmp-encounter-type",
                                  "code": "quality-contact"}]}],
            "subject": {"reference": f"Patient/b{member}"},
            "period": {"start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat()},
            "serviceProvider": {"reference": f"Organization/team-{member % 50}"}}


def claim(claim_id: str, member: int, days: list[date]) -> dict:
    record = claim_kind.ClaimRecord(
        claim_id=claim_id, kind="per-diem", member_id=f"b{member}", coverage_id=f"cov-b{member}",
        payer_id="mt-medicaid", provider_id=f"team-{member % 50}", period_start=days[0], period_end=days[-1],
        created=days[-1] + timedelta(days=1), service_code="CMP-PD", rate=Decimal("115.50"), diagnosis="F20.0",
        days=tuple(claim_kind.BilledDay(day=d, contact_id=f"qc-b{member}-{d:%Y%m%d}") for d in days))
    return claim_kind.to_fhir(record)[0]


def contact_days(week: date) -> list[date]:
    return [week + timedelta(days=1), week + timedelta(days=3)]  # Monday and Wednesday


def build_store(services: Services, members: int, weeks: int) -> int:
    """Contacts for every member-week, an active claim for every member-week but the last, bulk-inserted
    (multi-row INSERTs of the current rows, versions and index rows the store would write)."""
    started = time.perf_counter()
    written = 0
    batch: list[dict] = []
    for member in range(members):
        for n in range(weeks):
            week = FIRST_WEEK + timedelta(days=7 * n)
            batch.extend(contact(member, day) for day in contact_days(week))
            if n < weeks - 1:
                batch.append(claim(f"clm-b{member}-{week:%Y%m%d}", member, contact_days(week)))
        if len(batch) >= 5000 or member == members - 1:
            bulk_insert(services, batch)
            written += len(batch)
            batch = []
    print(f"store: {written} resources for {members} members x {weeks} weeks in {time.perf_counter() - started:.0f} s")
    return written


def bulk_insert(services: Services, bodies: list[dict]) -> None:
    moment = now_utc()
    current = [{"res_type": b["resourceType"], "res_id": b["id"], "version": 1, "last_updated": moment,
                "deleted": False, "content": _finalize(b, b["resourceType"], b["id"], 1, moment)} for b in bodies]
    with services.store.begin() as conn:
        pks = conn.execute(insert(schema.resources).returning(schema.resources.c.pk, sort_by_parameter_order=True),
                           current).scalars().all()
        conn.execute(insert(schema.resource_versions), [
            {"resource_pk": pk, "res_type": row["res_type"], "res_id": row["res_id"], "version": 1,
             "last_updated": moment, "method": "POST", "content": row["content"]}
            for pk, row in zip(pks, current, strict=True)])
        per_table: dict[str, list[dict]] = {}
        for pk, body in zip(pks, bodies, strict=True):
            for kind, rows in services.store.indexer.rows(body).items():
                per_table.setdefault(kind, []).extend(
                    {**r, "resource_pk": pk, "res_type": body["resourceType"]} for r in rows)
        for kind, rows in per_table.items():
            conn.execute(insert(schema.INDEX_TABLES[kind]), rows)


def in_process(services: Services, members: int, weeks: int, claims: int) -> None:
    checks = list(services.write_checks)
    timings: dict[str, list[float]] = {"with the rules": [], "without": []}
    in_check: list[float] = []

    def timed_check(svc: Services, conn: object, changes: object) -> list:
        started = time.perf_counter()
        try:
            return checks[0](svc, conn, changes)
        finally:
            in_check.append(time.perf_counter() - started)

    last_week = FIRST_WEEK + timedelta(days=7 * (weeks - 1))
    for n in range(claims * 2):
        member = (n * 7919) % members
        with_rules = n % 2 == 0
        services.write_checks[:] = [timed_check] if with_rules else []
        body = claim(f"clm-bench-{uuid.uuid4().hex[:12]}", member, contact_days(last_week))
        started = time.perf_counter()
        result = resources.create(services, "Claim", body)
        timings["with the rules" if with_rules else "without"].append(time.perf_counter() - started)
        assert result.created
        with services.store.begin() as conn:  # keep the member-week valid for the next claim of this member
            services.store.delete(conn, "Claim", result.stored.res_id)
    services.write_checks[:] = checks
    for label, values in timings.items():
        print(f"in process, claim create {label}: mean {statistics.mean(values) * 1000:.2f} ms, "
              f"median {statistics.median(values) * 1000:.2f} ms (n={len(values)})")
    print(f"in process, time inside the CMP-BILL check: mean {statistics.mean(in_check) * 1000:.2f} ms, "
          f"median {statistics.median(in_check) * 1000:.2f} ms, p99 "
          f"{sorted(in_check)[int(len(in_check) * 0.99) - 1] * 1000:.2f} ms")


def http_load(url: str, data_dir: str, members: int, weeks: int, rate: int, duration: int,
              enforcement: str | None) -> None:
    env = {"CMP_ADAPTER_DATABASE_URL": url, "CMP_ADAPTER_DATA_DIR": data_dir}
    if enforcement:
        env["CMP_ADAPTER_RULE_ENFORCEMENT"] = enforcement
    last_week = FIRST_WEEK + timedelta(days=7 * (weeks - 1))
    local = threading.local()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    with running_server(env, workers=2) as base:
        def send(n: int) -> None:
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            member = (n * 104729) % members
            body = fhirjson.dumps(claim(f"clm-http-{uuid.uuid4().hex[:12]}", member, contact_days(last_week)[:1]))
            started = time.perf_counter()
            response = session.post(f"{base}/Claim", data=body, timeout=60,
                                    headers={"Content-Type": FHIR_JSON, "Prefer": "return=minimal"})
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        total = rate * duration
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=32) as pool:
            for n in range(total):
                delay = started + n / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(send, n)
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    label = f"rules {enforcement or 'enforced'}"
    print(f"HTTP, {label}: offered {rate}/s for {duration} s, completed {len(ordered) / elapsed:.0f}/s, "
          f"statuses {statuses}, p50 {statistics.median(ordered) * 1000:.1f} ms, "
          f"p99 {ordered[int(len(ordered) * 0.99) - 1] * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--claims", type=int, default=300)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--duration", type=int, default=20)
    args = parser.parse_args()
    base_url = os.environ.get("CMP_ADAPTER_TEST_POSTGRES_URL")
    if not base_url:
        sys.exit("set CMP_ADAPTER_TEST_POSTGRES_URL to a PostgreSQL database the benchmark may add a schema to")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base_url}{'&' if '?' in base_url else '?'}options=-csearch_path%3D{schema}"
    data_dir = f"/tmp/{schema}"
    try:
        services = Services.build(Settings.load({"database_url": url, "data_dir": data_dir}))
        build_store(services, args.members, args.weeks)
        with services.store.begin() as conn:
            conn.execute(text("ANALYZE"))
        in_process(services, args.members, args.weeks, args.claims)
        services.close()
        http_load(url, data_dir, args.members, args.weeks, args.rate, args.duration, None)
        http_load(url, data_dir, args.members, args.weeks, args.rate, args.duration, "CMP-BILL-1=off,CMP-BILL-2=off")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
