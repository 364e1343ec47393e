"""Concurrent writers on one resource: optimistic locking loses no update (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from adapter.errors import Conflict, PreconditionFailed
from adapter.services import resources

pytestmark = pytest.mark.reliability


def _patient(pid: str, family: str) -> dict:
    return {"resourceType": "Patient", "id": pid, "name": [{"family": family}]}


WRITERS = 50


def test_racing_if_match_updates_exactly_one_wins_per_version(services):
    resources.update(services, "Patient", "race", _patient("race", "v1"))

    def attempt(n: int) -> str:
        try:
            resources.update(services, "Patient", "race", _patient("race", f"writer-{n}"), if_match=1)
            return "won"
        except PreconditionFailed:
            return "412"

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        outcomes = list(pool.map(attempt, range(WRITERS)))
    assert outcomes.count("won") == 1
    assert outcomes.count("412") == WRITERS - 1
    current = resources.read(services, "Patient", "race")
    assert current.version == 2


def test_fifty_writers_each_land_exactly_once_one_winner_per_version(services):
    """50 concurrent writers, each retrying ``If-Match`` on the version it read until its write lands: every
    version has exactly one writer, every writer is in the history exactly once (no lost update)."""
    resources.update(services, "Patient", "chain", _patient("chain", "start"))
    winners: dict[int, list[int]] = {}

    def write_once(n: int) -> None:
        while True:
            seen = resources.read(services, "Patient", "chain").version
            try:
                stored = resources.update(services, "Patient", "chain", _patient("chain", f"writer-{n}"),
                                          if_match=seen).stored
            except (PreconditionFailed, Conflict):
                continue
            winners.setdefault(stored.version, []).append(n)
            return

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(write_once, range(WRITERS)))
    assert sorted(winners) == list(range(2, WRITERS + 2))
    assert all(len(names) == 1 for names in winners.values())
    versions, total = resources.history(services, "Patient", "chain", since=None, at=None, count=1000, offset=0)
    assert total == WRITERS + 1
    families = [services_json(v)["name"][0]["family"] for v in versions]
    assert sorted(families) == sorted(["start", *(f"writer-{n}" for n in range(WRITERS))])


def test_increments_under_contention_lose_nothing(services):
    """Each writer reads, then writes with If-Match and retries on 412: every increment lands."""
    resources.update(services, "Patient", "counter", _patient("counter", "0"))

    def increment(_: int) -> None:
        while True:
            stored = resources.read(services, "Patient", "counter")
            value = int(services_json(stored)["name"][0]["family"]) + 1
            try:
                resources.update(services, "Patient", "counter", _patient("counter", str(value)),
                                 if_match=stored.version)
                return
            except (PreconditionFailed, Conflict):
                continue

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(increment, range(30)))
    final = resources.read(services, "Patient", "counter")
    assert services_json(final)["name"][0]["family"] == "30"
    assert final.version == 31


def test_concurrent_conditional_creates_make_one_resource_or_fail_cleanly(services):
    """Racing If-None-Exist creates: exactly one resource; the others find it (R4 conditional create)."""
    body = {"resourceType": "Patient", "identifier": [{"system": "urn:test", "value": "same"}]}

    def attempt(_: int) -> str:
        try:
            result = resources.create(services, "Patient", dict(body), if_none_exist="identifier=urn:test|same")
            return "created" if result.created else "matched"
        except (PreconditionFailed, Conflict):
            return "refused"

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        outcomes = list(pool.map(attempt, range(WRITERS)))
    from adapter.services.search import search

    found = search(services, "Patient", [("identifier", "urn:test|same")], handling="strict").page.total
    assert found == 1
    assert outcomes.count("created") == 1
    assert outcomes.count("matched") == WRITERS - 1


def services_json(stored) -> dict:
    from adapter import fhirjson

    return fhirjson.loads(stored.content)


# --- the same over HTTP: gunicorn worker processes on PostgreSQL ----------------------------------------------------


@pytest.fixture(scope="module")
def live_postgres_base(tmp_path_factory, base_settings):
    import uuid

    from tests.integration.live_server import running_server
    from tests.reliability.live_postgres import shared_schema

    with shared_schema(f"race-{uuid.uuid4().hex[:8]}") as database_url:
        data_dir = tmp_path_factory.mktemp("race")
        env = {"CMP_ADAPTER_DATA_DIR": str(data_dir), "CMP_ADAPTER_DATABASE_URL": database_url,
               "CMP_ADAPTER_FHIR_PACKAGES": base_settings.fhir_packages,
               "CMP_ADAPTER_COMPILED_CACHE_DIR": base_settings.effective_compiled_cache_dir}
        _SERVER_DIR["path"] = data_dir
        with running_server(env, workers=3) as base:
            yield base


_SERVER_DIR: dict = {}


FHIR_JSON = {"Content-Type": "application/fhir+json"}


@pytest.mark.slow
@pytest.mark.postgres
def test_fifty_http_writers_with_if_match_one_winner_per_version_no_lost_update(live_postgres_base):
    import requests

    base = live_postgres_base
    assert requests.put(f"{base}/Patient/http-chain", json=_patient("http-chain", "start"), headers=FHIR_JSON,
                        timeout=60).status_code == 201
    winners: dict[str, list[int]] = {}
    refusals: list[int] = []

    def write_once(n: int) -> None:
        session = requests.Session()
        while True:
            etag = session.get(f"{base}/Patient/http-chain", timeout=60).headers["ETag"]
            response = session.put(f"{base}/Patient/http-chain", json=_patient("http-chain", f"writer-{n}"),
                                   headers={**FHIR_JSON, "If-Match": etag, "Prefer": "return=minimal"}, timeout=60)
            if response.status_code == 200:
                winners.setdefault(response.headers["ETag"], []).append(n)
                return
            assert response.status_code in (409, 412), (response.status_code, response.text[:300])
            assert response.json()["resourceType"] == "OperationOutcome"
            refusals.append(response.status_code)

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(write_once, range(WRITERS)))
    assert sorted(winners) == sorted(f'W/"{v}"' for v in range(2, WRITERS + 2))
    assert all(len(names) == 1 for names in winners.values())
    assert refusals, "the writers never actually raced"
    history = requests.get(f"{base}/Patient/http-chain/_history", params={"_count": 100}, timeout=60).json()
    assert history["total"] == WRITERS + 1
    families = sorted(entry["resource"]["name"][0]["family"] for entry in history["entry"])
    assert families == sorted(["start", *(f"writer-{n}" for n in range(WRITERS))])


@pytest.mark.slow
@pytest.mark.postgres
def test_fifty_http_conditional_creates_with_one_identifier_make_one_resource(live_postgres_base):
    import requests

    base = live_postgres_base
    body = {"resourceType": "Patient", "identifier": [{"system": "urn:test:http", "value": "one"}]}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:6f1c2d9e-0000-4000-8000-000000000001", "resource": body,
         "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:test:http|one"}}]}

    def attempt(n: int) -> int:
        if n % 2:  # half as a conditional create, half as a transaction Bundle's conditional entry
            return requests.post(f"{base}/Patient", json=body, timeout=60,
                                 headers={**FHIR_JSON, "If-None-Exist": "identifier=urn:test:http|one"}).status_code
        response = requests.post(base, json=bundle, headers=FHIR_JSON, timeout=60)
        assert response.status_code == 200, response.text[:300]
        return int(response.json()["entry"][0]["response"]["status"].split()[0])

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        statuses = list(pool.map(attempt, range(WRITERS)))
    assert sorted(set(statuses)) == [200, 201] and statuses.count(201) == 1, statuses
    found = requests.get(f"{base}/Patient", params={"identifier": "urn:test:http|one"}, timeout=60,
                         headers={"X-Request-ID": "search-one"}).json()
    assert found["total"] == 1


@pytest.mark.slow
@pytest.mark.postgres
def test_the_server_log_has_request_ids_and_no_query_values(live_postgres_base):
    """The real server's log (gunicorn access log and the app's lines) after the requests above."""
    import requests

    requests.get(f"{live_postgres_base}/Patient", params={"family": "Xylophonist"}, timeout=60,
                 headers={"X-Request-ID": "log-check"})
    requests.put(f"{live_postgres_base}/Patient/log-check", json={"resourceType": "Patient", "id": "other"},
                 headers={**FHIR_JSON, "X-Request-ID": "log-check-2"}, timeout=60)  # a 400 quoting the ids
    text = "".join(path.read_text(errors="replace") for path in _SERVER_DIR["path"].glob("server-*.log"))
    assert '"GET /fhir/Patient" 200' in text and "rid=log-check" in text
    assert "[log-check-2]: 400 BadRequest" in text
    assert "Xylophonist" not in text and "urn:test:http" not in text and "'other'" not in text
