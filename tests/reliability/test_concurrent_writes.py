"""Concurrent writers on one resource: optimistic locking loses no update (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from adapter.errors import Conflict, PreconditionFailed
from adapter.services import resources

pytestmark = pytest.mark.reliability


def _patient(pid: str, family: str) -> dict:
    return {"resourceType": "Patient", "id": pid, "name": [{"family": family}]}


def test_racing_if_match_updates_exactly_one_wins_per_version(services):
    resources.update(services, "Patient", "race", _patient("race", "v1"))

    def attempt(n: int) -> str:
        try:
            resources.update(services, "Patient", "race", _patient("race", f"writer-{n}"), if_match=1)
            return "won"
        except PreconditionFailed:
            return "412"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(24)))
    assert outcomes.count("won") == 1
    assert outcomes.count("412") == 23
    current = resources.read(services, "Patient", "race")
    assert current.version == 2


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

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(attempt, range(12)))
    from adapter.services.search import search

    found = search(services, "Patient", [("identifier", "urn:test|same")], handling="strict").page.total
    assert found == 1
    assert outcomes.count("created") == 1
    assert outcomes.count("matched") == 11


def services_json(stored) -> dict:
    from adapter import fhirjson

    return fhirjson.loads(stored.content)
