"""Faults on PostgreSQL with the real server (gunicorn) over HTTP: a worker killed inside a transaction,
and PostgreSQL itself crashing and restarting under load.

Slow (each starts a server; one starts a PostgreSQL cluster): marked ``slow``, and run by CI with the rest.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections import Counter
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.integration.live_server import running_server
from tests.reliability.live_postgres import private_cluster, server_processes, shared_schema
from tests.reliability.store_state import store_digest

pytestmark = [pytest.mark.reliability, pytest.mark.postgres, pytest.mark.slow]

FHIR_JSON = {"Content-Type": "application/fhir+json"}
SYSTEM = "urn:test:fault"


def _server_env(tmp_path, base_settings, database_url: str) -> dict[str, str]:
    return {"CMP_ADAPTER_DATA_DIR": str(tmp_path / "data"), "CMP_ADAPTER_DATABASE_URL": database_url,
            "CMP_ADAPTER_FHIR_PACKAGES": base_settings.fhir_packages,
            "CMP_ADAPTER_COMPILED_CACHE_DIR": base_settings.effective_compiled_cache_dir}


def _patient(value: str) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": SYSTEM, "value": value}],
            "name": [{"family": f"Fault{value}", "given": ["Test"]}], "gender": "unknown"}


def _services(database_url: str, base_settings, definitions):
    from adapter.services.container import Services

    return Services.build(base_settings.replace(database_url=database_url), definitions=definitions)


def _count_by_system(services) -> int:
    from adapter.services.search import search

    return search(services, "Patient", [("identifier", f"{SYSTEM}|"), ("_summary", "count")],
                  handling="strict").page.total


# --- kill -9 of the worker inside a transaction ------------------------------------------------------------------


def test_a_transaction_killed_with_its_worker_leaves_no_trace(tmp_path, base_settings, definitions):
    tag = f"kill-{uuid.uuid4().hex[:8]}"
    with shared_schema(tag) as database_url:
        services = _services(database_url, base_settings, definitions)
        admin = create_engine(os.environ["CMP_ADAPTER_TEST_POSTGRES_URL"])
        try:
            with running_server(_server_env(tmp_path, base_settings, database_url), workers=2) as base:
                port = urlsplit(base).port
                before = store_digest(services)
                entries = [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": _patient(f"k{n}"),
                            "request": {"method": "POST", "url": "Patient"}} for n in range(1500)]
                bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
                outcome: dict = {}

                def send() -> None:
                    try:
                        outcome["response"] = requests.post(base, json=bundle, headers=FHIR_JSON, timeout=300)
                    except requests.RequestException as exc:
                        outcome["error"] = exc

                sender = threading.Thread(target=send)
                sender.start()
                backend = _wait_for_open_write_transaction(admin, tag)
                master, workers = server_processes(port)
                for worker in workers:
                    os.kill(worker, signal.SIGKILL)
                sender.join(60)
                assert "error" in outcome, f"the transaction finished before the kill: {outcome}"
                _wait_until_gone(admin, backend)
                assert store_digest(services) == before  # nothing of the 1500 entries, not one index row
                assert _count_by_system(services) == 0

                # the master replaced the workers: the same Bundle now goes through, whole
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        if requests.get(f"{base}/metadata", timeout=5).status_code == 200:
                            break
                    except requests.RequestException:
                        time.sleep(0.5)
                assert server_processes(port)[0] == master
                retried = requests.post(base, json=bundle, headers=FHIR_JSON, timeout=300)
                assert retried.status_code == 200, retried.text[:500]
                assert _count_by_system(services) == 1500
        finally:
            services.close()
            admin.dispose()


def _wait_for_open_write_transaction(admin, tag: str, timeout: float = 120) -> int:
    """The backend pid of the server's transaction once it has written (has a transaction id)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with admin.connect() as conn:
            row = conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE application_name = :tag AND backend_xid IS NOT NULL "
                "AND xact_start < now() - interval '300 milliseconds'"), {"tag": tag}).first()
        if row is not None:
            return row.pid
        time.sleep(0.05)
    raise AssertionError("the server never opened the write transaction")


def _wait_until_gone(admin, backend: int, timeout: float = 60) -> None:
    """PostgreSQL rolls back the dead client's transaction when it notices the socket closed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with admin.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                            {"pid": backend}).scalar_one() == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"backend {backend} is still there {timeout}s after its client died")


# --- PostgreSQL crashes and restarts under load ------------------------------------------------------------------


class Load:
    """Client threads creating patients and reading one back, recording every answer by the phase the request
    started and ended in (``down`` only when it did both while PostgreSQL was down)."""

    def __init__(self, base: str, seed_id: str, threads: int = 4) -> None:
        self.base, self.seed_id = base, seed_id
        self.phase = "up"
        self.statuses: Counter = Counter()
        self.acknowledged: list[str] = []
        self.bad: list[str] = []
        self.unavailable_outcomes = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]
        self.last_success = 0.0

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(120)

    def _run(self, number: int) -> None:
        session = requests.Session()
        count = 0
        while not self._stop.is_set():
            count += 1
            started_in = self.phase
            try:
                if count % 2:
                    response = session.post(f"{self.base}/Patient", json=_patient(f"l{number}-{count}"),
                                            headers={**FHIR_JSON, "Prefer": "return=minimal"}, timeout=60)
                else:
                    response = session.get(f"{self.base}/Patient/{self.seed_id}", timeout=60)
            except requests.RequestException as exc:  # a hang (timeout) or a dropped connection
                with self._lock:
                    self.bad.append(f"{self.phase}: {type(exc).__name__}")
                continue
            phase = self.phase if started_in == self.phase else f"{started_in}->{self.phase}"
            with self._lock:
                self.statuses[(phase, response.status_code)] += 1
                if response.status_code == 201:
                    self.acknowledged.append(response.headers["Location"].split("/_history")[0].rsplit("/", 1)[1])
                if response.status_code < 300:
                    self.last_success = time.monotonic()
                elif response.status_code == 503:
                    body = response.json()
                    if body["resourceType"] == "OperationOutcome" and response.headers.get("Retry-After"):
                        self.unavailable_outcomes += 1
                else:
                    self.bad.append(f"{phase}: {response.status_code} {response.text[:200]}")


def test_postgres_restarted_under_load_gives_503s_then_recovers_losing_nothing(tmp_path, base_settings, definitions):
    with private_cluster() as cluster, \
            running_server(_server_env(tmp_path, base_settings, cluster.url), workers=2) as base:
        port = urlsplit(base).port
        master = server_processes(port)[0]
        seed = requests.post(f"{base}/Patient", json=_patient("seed"), headers=FHIR_JSON, timeout=30)
        assert seed.status_code == 201
        with Load(base, seed.json()["id"]) as load:
            time.sleep(3)
            load.phase = "stopping"  # answers in flight when it stops may be either
            cluster.stop("immediate")  # a crash: recovery from the WAL on the next start
            time.sleep(1)
            load.phase = "down"
            time.sleep(4)
            load.phase = "recovering"  # from the moment it is started
            cluster.start()
            deadline = time.monotonic() + 90
            restarted = time.monotonic()
            while time.monotonic() < deadline and load.last_success < restarted + 1:
                time.sleep(0.5)
            load.phase = "after"
            time.sleep(2)
        assert load.bad == [], load.bad[:10]
        assert load.statuses[("down", 503)] > 0 and load.unavailable_outcomes > 0, load.statuses
        assert not [key for key in load.statuses if key[0] == "down" and key[1] != 503], load.statuses
        assert load.statuses[("after", 201)] > 0 and load.statuses[("after", 200)] > 0, load.statuses
        assert server_processes(port)[0] == master  # recovered without a restart of the server

        services = _services(cluster.url, base_settings, definitions)
        try:
            from adapter.services import resources

            for res_id in load.acknowledged:  # every acknowledged write survived the crash
                assert resources.read(services, "Patient", res_id).version == 1
            assert len(load.acknowledged) > 10
        finally:
            services.close()
