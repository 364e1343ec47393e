"""Subscriptions on the real server (gunicorn, two worker processes, each with its worker thread).

A slow endpoint must not slow the write that triggers it; a server stopped with changes not yet notified
(and notifications not yet delivered) delivers them after it restarts, each once. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator

import pytest
import requests

from adapter.services import resources
from adapter.services.container import Services
from tests.integration.hook_receiver import Receiver, hook_receiver
from tests.integration.live_server import running_server
from tests.integration.test_subscriptions import SHARED_PLAN_RULES_OFF, shared_care_plan, subscription_body

FHIR_JSON = {"Content-Type": "application/fhir+json"}


@pytest.fixture
def settings(settings):
    # the shared-plan rules are off: these tests write one member's shared plan again and again (SCP-1)
    return settings.replace(subscription_worker=False, subscription_poll_ms=100, subscription_retry_initial_ms=300,
                            subscription_retry_max_ms=600, subscription_max_attempts=20,
                            subscription_timeout_ms=8000, rule_enforcement=SHARED_PLAN_RULES_OFF)


@pytest.fixture
def server_env(settings, base_settings) -> dict[str, str]:
    return {"CMP_ADAPTER_DATA_DIR": settings.data_dir, "CMP_ADAPTER_DATABASE_URL": settings.database_url,
            "CMP_ADAPTER_FHIR_PACKAGES": base_settings.fhir_packages,
            "CMP_ADAPTER_COMPILED_CACHE_DIR": base_settings.effective_compiled_cache_dir,
            "CMP_ADAPTER_SUBSCRIPTION_POLL_MS": "100", "CMP_ADAPTER_SUBSCRIPTION_RETRY_INITIAL_MS": "300",
            "CMP_ADAPTER_SUBSCRIPTION_RETRY_MAX_MS": "600", "CMP_ADAPTER_SUBSCRIPTION_MAX_ATTEMPTS": "20",
            "CMP_ADAPTER_SUBSCRIPTION_TIMEOUT_MS": "8000",
            "CMP_ADAPTER_RULE_ENFORCEMENT": ",".join(SHARED_PLAN_RULES_OFF)}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with hook_receiver() as running:
        yield running




def post(base: str, resource: dict) -> dict:
    response = requests.post(f"{base}/{resource['resourceType']}", data=json.dumps(resource), headers=FHIR_JSON,
                             timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def timed_posts(base: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        post(base, shared_care_plan())
        times.append(time.perf_counter() - started)
    return times


def test_a_slow_endpoint_does_not_slow_the_writes(server_env, receiver):
    receiver.delay = 5.0
    with running_server(server_env) as base:
        timed_posts(base, 3)  # warm-up
        baseline = timed_posts(base, 5)
        post(base, subscription_body(receiver.url))
        time.sleep(0.3)
        with_hook = timed_posts(base, 5)
        first = receiver.wait_for(1, timeout=15)
        assert first, "the slow endpoint was never called"
        assert max(with_hook) < 1.0, with_hook
        assert statistics.median(with_hook) < statistics.median(baseline) + 0.2, (baseline, with_hook)


def test_a_restarted_server_delivers_what_was_pending_once(server_env, receiver, settings, definitions):
    receiver.status = 503
    with running_server(server_env) as base:
        post(base, subscription_body(receiver.url))
        during = post(base, shared_care_plan())  # notified, refused: retried later
        assert receiver.wait_for(1, timeout=15)
    # while the server is down, more changes are written (by a batch job on the same database)
    offline = Services.build(settings, definitions=definitions)
    try:
        written_offline = [resources.create(offline, "CarePlan", shared_care_plan()).stored.res_id for _ in range(2)]
    finally:
        offline.close()
    with receiver.lock:
        receiver.received.clear()
        receiver.status = 200
    with running_server(server_env):
        expected = {f"/hook/CarePlan/{res_id}" for res_id in [during["id"], *written_offline]}
        receiver.wait_for(3, timeout=45)
        time.sleep(1.5)  # two processes poll: anything delivered twice would show up by now
    assert sorted(r.path for r in receiver.received) == sorted(expected)


def test_the_worker_can_run_as_a_process_of_its_own(server_env, receiver):
    import os
    import signal
    import subprocess
    import sys

    env = {**server_env, "CMP_ADAPTER_SUBSCRIPTION_WORKER": "false"}
    with running_server(env) as base:
        post(base, subscription_body(receiver.url))
        plan = post(base, shared_care_plan())
        time.sleep(1.0)
        assert receiver.received == []  # the API processes send nothing
        worker = subprocess.Popen([sys.executable, "-m", "adapter.cli", "subscriptions-worker"],
                                  env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            got = receiver.wait_for(1, timeout=30)
        finally:
            worker.send_signal(signal.SIGTERM)
            output = worker.communicate(timeout=30)[0].decode()
        assert [r.path for r in got] == [f"/hook/CarePlan/{plan['id']}"], output
        assert worker.returncode == 0, output
