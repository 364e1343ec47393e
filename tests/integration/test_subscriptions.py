"""R4 rest-hook subscriptions: the Subscription resource, matching, delivery, retries, error.

The server side runs in-process (Flask test client) on real SQLite and PostgreSQL; the worker's rounds are
driven one at a time with ``run_once`` so that every assertion is about a known state; the notifications
cross real HTTP to a receiver on 127.0.0.1. tests/integration/test_subscriptions_live.py runs the same
over gunicorn, with the worker thread, a slow receiver and a restart.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from adapter.settings import Settings
from adapter.store.schema import subscription_deliveries
from adapter.subscriptions.worker import SubscriptionWorker
from tests.integration.fhir_helpers import issues, post_json, put_json
from tests.integration.hook_receiver import hook_receiver
from tests.integration.live_server import free_port

REPO = Path(__file__).resolve().parents[2]
SHARED = "https://cmp-adapter.org/fhir/CodeSystem/cmp-careplan-category|shared-care-plan"


#: These tests write a lone shared plan, and one member's plan again and again: the shared-plan rules
#: (SCP-1 one plan, SCP-2 a lead) are switched off by name; they have tests of their own.
SHARED_PLAN_RULES_OFF = ("SCP-1=off", "SCP-2=off", "SCP-5=off")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Fast retries; no worker thread (the tests run the rounds). The shared-plan rules are off: these tests
    write a lone shared plan, without the care team SCP-2 asks for (the rules have tests of their own)."""
    return settings.replace(subscription_worker=False, subscription_poll_ms=50, subscription_retry_initial_ms=200,
                            subscription_retry_max_ms=400, subscription_max_attempts=3,
                            subscription_timeout_ms=2000, rule_enforcement=SHARED_PLAN_RULES_OFF)


@pytest.fixture
def worker(services):
    built = SubscriptionWorker(services)
    yield built
    built.stop()


def subscription_body(endpoint: str, **channel: object) -> dict:
    body = json.loads((REPO / "examples" / "subscriptions" / "shared-care-plans.json").read_text())
    body["channel"].update(endpoint=endpoint, **channel)
    return body


def shared_care_plan() -> dict:
    plan = json.loads((REPO / "examples" / "fhir" / "valid" / "CarePlan-scp-m-101.json").read_text())
    del plan["id"]
    return plan


def other_care_plan() -> dict:
    return {"resourceType": "CarePlan", "status": "active", "intent": "plan",
            "category": [{"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/careplan-category",
                                      "code": "assess-plan"}]}],
            "subject": {"reference": "Patient/m-101"}}


def rounds(worker: SubscriptionWorker, count: int = 1) -> None:
    """``count`` matching rounds, then hand out what is due until nothing is (one per subscription a time)."""
    for _ in range(count):
        worker.run_once()
        worker.wait_idle(10)
    while worker.run_once(match=False)[1]:
        worker.wait_idle(10)


def subscribe(client, body: dict) -> dict:
    response = post_json(client, "/fhir/Subscription", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


# --- the Subscription resource ------------------------------------------------------------------------------


def test_a_requested_subscription_becomes_active(client):
    created = subscribe(client, subscription_body("https://vendor.example/fhir"))
    assert created["status"] == "active"
    off = {**created, "status": "off"}
    assert put_json(client, f"/fhir/Subscription/{created['id']}", off).get_json()["status"] == "off"
    again = {**created, "status": "requested"}
    assert put_json(client, f"/fhir/Subscription/{created['id']}", again).get_json()["status"] == "active"
    found = client.get("/fhir/Subscription?status=active").get_json()
    assert [e["resource"]["id"] for e in found.get("entry", [])] == [created["id"]]


@pytest.mark.parametrize(("change", "expression", "words"), [
    ({"criteria": "Bogus?x=1"}, "Subscription.criteria", "not a resource type this server offers"),
    ({"criteria": "CarePlan?no-such-param=1"}, "Subscription.criteria", "no-such-param"),
    ({"criteria": "CarePlan?date=2026-13"}, "Subscription.criteria", "2026-13"),
    ({"criteria": "CarePlan?status=active&_sort=date"}, "Subscription.criteria", "_sort"),
    ({"criteria": "?status=active"}, "Subscription.criteria", "must be a search"),
    ({"channel": {"type": "websocket"}}, "Subscription.channel.type", "rest-hook only"),
    ({"channel": {"type": "email", "endpoint": "mailto:a@b.example"}}, "Subscription.channel.type", "rest-hook"),
    ({"channel": {"type": "rest-hook", "endpoint": "ftp://vendor.example/x"}}, "Subscription.channel.endpoint",
     "http(s) URL"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://v.example", "payload": "text/csv"}},
     "Subscription.channel.payload", "not supported"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://v.example", "header": ["no colon here"]}},
     "Subscription.channel.header[0]", "Name: value"),
    ({"status": "error"}, "Subscription.status", "the server sets"),
])
def test_bad_subscriptions_are_refused_with_the_element_at_fault(client, change, expression, words):
    body = {**subscription_body("https://vendor.example/fhir"), **change}
    response = post_json(client, "/fhir/Subscription", body)
    assert response.status_code == 422, response.get_data(as_text=True)
    found = [i for i in issues(response) if expression in (i.get("expression") or [])]
    assert found and words in found[0]["diagnostics"], issues(response)
    assert client.get("/fhir/Subscription").get_json()["total"] == 0


@pytest.mark.parametrize("change", [
    {"status": ["requested"]}, {"criteria": 5}, {"channel": "rest-hook"}, {"channel": {"type": "rest-hook"}},
    {"channel": {"type": "rest-hook", "endpoint": "https://v.example", "payload": 5}},
    {"channel": {"type": "rest-hook", "endpoint": "https://v.example", "header": "X-A: b"}},
    {"channel": {"type": "rest-hook", "endpoint": "https://v.example", "header": [{"x": 1}]}},
])
def test_malformed_subscriptions_are_client_errors(client, change):
    response = post_json(client, "/fhir/Subscription", {**subscription_body("https://v.example"), **change})
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)


# --- matching and delivery ------------------------------------------------------------------------------------


def test_matching_creates_and_updates_are_delivered_and_nothing_else(client, worker):
    with hook_receiver() as receiver:
        sub = subscribe(client, subscription_body(receiver.url))
        matching = post_json(client, "/fhir/CarePlan", shared_care_plan()).get_json()
        other = post_json(client, "/fhir/CarePlan", other_care_plan()).get_json()
        rounds(worker)
        got = receiver.wait_for(1)
        assert [(r.method, r.path) for r in got] == [("PUT", f"/hook/CarePlan/{matching['id']}")]
        assert got[0].headers["Authorization"] == "Bearer replace-with-the-vendor-token"
        assert got[0].headers["Content-Type"] == "application/fhir+json"
        assert json.loads(got[0].body) == matching  # the stored version, byte for byte as a read serves it

        # an update that makes the other plan match is notified; updating a match again is too
        made_shared = {**copy.deepcopy(shared_care_plan()), "id": other["id"]}
        assert put_json(client, f"/fhir/CarePlan/{other['id']}", made_shared).status_code == 200
        changed = {**matching, "status": "completed"}
        assert put_json(client, f"/fhir/CarePlan/{matching['id']}", changed).status_code == 200
        rounds(worker)
        receiver.wait_for(3)
        # deletes and non-matching writes notify nobody
        post_json(client, "/fhir/CarePlan", other_care_plan())
        client.delete(f"/fhir/CarePlan/{matching['id']}")
        rounds(worker, 2)
        time.sleep(0.3)
        notified = [(r.path, json.loads(r.body)["meta"]["versionId"]) for r in receiver.received]
        assert sorted(notified) == sorted([(f"/hook/CarePlan/{matching['id']}", "1"),
                                           (f"/hook/CarePlan/{other['id']}", "2"),
                                           (f"/hook/CarePlan/{matching['id']}", "2")])
        assert sub["status"] == "active"


def test_a_version_superseded_before_matching_is_coalesced_into_the_latest(client, worker):
    with hook_receiver() as receiver:
        subscribe(client, subscription_body(receiver.url))
        plan = post_json(client, "/fhir/CarePlan", shared_care_plan()).get_json()
        put_json(client, f"/fhir/CarePlan/{plan['id']}", {**plan, "status": "on-hold"})
        put_json(client, f"/fhir/CarePlan/{plan['id']}", {**plan, "status": "completed"})
        gone = post_json(client, "/fhir/CarePlan", shared_care_plan()).get_json()
        client.delete(f"/fhir/CarePlan/{gone['id']}")
        rounds(worker, 2)
        time.sleep(0.2)
        assert [(r.path, json.loads(r.body)["meta"]["versionId"]) for r in receiver.received] == [
            (f"/hook/CarePlan/{plan['id']}", "3")]


def test_without_payload_the_notification_is_an_empty_post(client, worker):
    with hook_receiver() as receiver:
        body = subscription_body(receiver.url)
        del body["channel"]["payload"]
        subscribe(client, body)
        post_json(client, "/fhir/CarePlan", shared_care_plan())
        rounds(worker)
        got = receiver.wait_for(1)
        assert [(r.method, r.path, r.body) for r in got] == [("POST", "/hook", b"")]


def test_xml_payload(client, worker):
    with hook_receiver() as receiver:
        subscribe(client, subscription_body(receiver.url, payload="application/fhir+xml"))
        created = post_json(client, "/fhir/CarePlan", shared_care_plan()).get_json()
        rounds(worker)
        got = receiver.wait_for(1)
        assert got[0].headers["Content-Type"] == "application/fhir+xml"
        assert got[0].body.startswith(b"<CarePlan xmlns=\"http://hl7.org/fhir\">")
        assert f'<id value="{created["id"]}"/>'.encode() in got[0].body


def test_subscriptions_see_only_what_is_written_after_them(client, worker):
    with hook_receiver() as receiver:
        post_json(client, "/fhir/CarePlan", shared_care_plan())
        subscribe(client, subscription_body(receiver.url))
        rounds(worker, 2)
        later = post_json(client, "/fhir/CarePlan", shared_care_plan()).get_json()
        rounds(worker)
        time.sleep(0.2)
        assert [r.path for r in receiver.received] == [f"/hook/CarePlan/{later['id']}"]


def test_a_failing_endpoint_is_retried_with_backoff_then_the_subscription_is_in_error(client, worker, services):
    with hook_receiver() as receiver:
        receiver.status = 503
        sub = subscribe(client, subscription_body(receiver.url))
        post_json(client, "/fhir/CarePlan", shared_care_plan())
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(receiver.received) < 3:
            rounds(worker)
            time.sleep(0.02)
        rounds(worker)
        attempts = [r.at for r in receiver.received]
        assert len(attempts) == 3  # subscription_max_attempts
        gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
        assert gaps[0] >= 0.2 and gaps[1] >= 0.4  # 200 ms, then doubled
    stored = client.get(f"/fhir/Subscription/{sub['id']}").get_json()
    assert stored["status"] == "error"
    assert "3 attempts" in stored["error"] and "HTTP 503" in stored["error"]
    with services.store.connect() as conn:
        row = conn.execute(select(subscription_deliveries)).one()
    assert (row.status, row.attempts) == ("abandoned", 3)
    # in error, nothing more is matched or sent; set back to requested, it is active again
    post_json(client, "/fhir/CarePlan", shared_care_plan())
    rounds(worker)
    with services.store.connect() as conn:
        assert conn.execute(select(subscription_deliveries)).all() == [row]
    revived = put_json(client, f"/fhir/Subscription/{sub['id']}", {**stored, "status": "requested"}).get_json()
    assert revived["status"] == "active" and "error" not in revived


def test_an_endpoint_that_is_down_puts_the_subscription_in_error(client, worker):
    sub = subscribe(client, subscription_body(f"http://127.0.0.1:{free_port()}/hook"))
    post_json(client, "/fhir/CarePlan", shared_care_plan())
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        rounds(worker)
        stored = client.get(f"/fhir/Subscription/{sub['id']}").get_json()
        if stored["status"] == "error":
            break
        time.sleep(0.05)
    assert stored["status"] == "error"
    assert "ConnectionError" in stored["error"]


def test_one_failing_subscription_does_not_hold_up_another(client, worker):
    with hook_receiver() as good, hook_receiver() as bad:
        bad.status = 500
        subscribe(client, subscription_body(bad.url))
        subscribe(client, subscription_body(good.url))
        for _ in range(3):
            post_json(client, "/fhir/CarePlan", shared_care_plan())
        rounds(worker, 2)
        assert len(good.wait_for(3)) == 3


def test_an_ended_subscription_is_not_notified(client, worker):
    with hook_receiver() as receiver:
        subscribe(client, {**subscription_body(receiver.url), "end": "2026-01-01T00:00:00Z"})
        post_json(client, "/fhir/CarePlan", shared_care_plan())
        rounds(worker, 2)
        time.sleep(0.2)
        assert receiver.received == []


def test_sent_notifications_are_pruned_after_the_retention(client, worker, services):
    with hook_receiver() as receiver:
        subscribe(client, subscription_body(receiver.url))
        post_json(client, "/fhir/CarePlan", shared_care_plan())
        rounds(worker)
        assert receiver.wait_for(1)
    assert worker.deliverer.prune(keep_hours=1) == 0  # delivered just now: kept
    with services.store.connect() as conn:
        assert conn.execute(select(subscription_deliveries.c.status)).scalars().all() == ["delivered"]
    assert worker.deliverer.prune(keep_hours=-1) == 1


def test_versions_of_one_resource_arrive_in_order(client, worker):
    with hook_receiver() as receiver:
        receiver.delay = 0.2
        subscribe(client, subscription_body(receiver.url))
        plan = post_json(client, "/fhir/CarePlan", shared_care_plan()).get_json()
        for version in range(2, 6):
            rounds(worker)  # each version is matched while it is current
            put_json(client, f"/fhir/CarePlan/{plan['id']}", {**plan, "status": "active" if version % 2 else "on-hold"})
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(receiver.received) < 5:
            rounds(worker)
            time.sleep(0.05)
        assert [json.loads(r.body)["meta"]["versionId"] for r in receiver.received] == ["1", "2", "3", "4", "5"]


def test_a_switched_off_subscription_is_not_notified(client, worker, services):
    with hook_receiver() as receiver:
        sub = subscribe(client, subscription_body(receiver.url))
        post_json(client, "/fhir/CarePlan", shared_care_plan())
        worker.matcher.advance()  # queued, not yet sent
        put_json(client, f"/fhir/Subscription/{sub['id']}", {**sub, "status": "off"})
        rounds(worker, 2)
        time.sleep(0.2)
        assert receiver.received == []
    with services.store.connect() as conn:
        assert conn.execute(select(subscription_deliveries.c.status)).scalars().all() == ["abandoned"]


def test_the_worker_thread_delivers_without_being_driven(settings, definitions):
    from adapter.app import create_app
    from adapter.services.container import Services

    services = Services.build(settings.replace(subscription_worker=True), definitions=definitions)
    try:
        app = create_app(services.settings, services=services)
        worker = app.extensions["cmp.subscriptions"]
        client = app.test_client()
        with hook_receiver() as receiver:
            subscribe(client, subscription_body(receiver.url))
            created = post_json(client, "/fhir/CarePlan", shared_care_plan()).get_json()
            got = receiver.wait_for(1, timeout=10)
            assert [r.path for r in got] == [f"/hook/CarePlan/{created['id']}"]
    finally:
        services.close()
    assert not worker._thread.is_alive()  # closing the services stopped it


# --- PostgreSQL: a transaction that commits after a later one ------------------------------------------------


def test_a_version_committed_late_is_not_skipped(client, worker, services, database_url):
    """A writer that took a lower ``resource_versions.pk`` but commits after a higher one is visible: the
    matcher waits at the gap instead of moving past it (and a rolled-back gap does not stall it)."""
    if not services.store.is_postgres:
        pytest.skip("SQLite has one writer: no version becomes visible after a later one")
    from adapter.services import resources

    with hook_receiver() as receiver:
        subscribe(client, subscription_body(receiver.url))
        rounds(worker)
        with services.store.begin() as slow:
            early = resources.create(services, "CarePlan", shared_care_plan(), conn=slow).stored
            late = resources.create(services, "CarePlan", shared_care_plan()).stored  # commits first
            rounds(worker, 2)
            assert receiver.received == []  # the matcher waits at early's gap
        rounds(worker, 2)
        assert sorted(r.path for r in receiver.wait_for(2)) == sorted(
            [f"/hook/CarePlan/{early.res_id}", f"/hook/CarePlan/{late.res_id}"])

        class Abort(Exception):
            pass

        with pytest.raises(Abort), services.store.begin() as doomed:
            resources.create(services, "CarePlan", shared_care_plan(), conn=doomed)
            raise Abort
        after = resources.create(services, "CarePlan", shared_care_plan()).stored
        rounds(worker, 3)
        assert receiver.wait_for(3)[-1].path == f"/hook/CarePlan/{after.res_id}"
