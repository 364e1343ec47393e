"""Replay a generated scenario's writes through the service (validation and write checks included).

``load(services, scenario)`` writes every accepted write in transaction Bundles of ``chunk`` entries (the
same path a client's Bundle takes; a DELETE never shares a Bundle with a PUT, since a transaction runs its
deletes first) and returns the refused writes untried. ``write_one`` replays one write as its own
interaction (``resources.update`` / ``resources.delete``).
"""

from __future__ import annotations

from adapter.services import bundles, resources
from adapter.services.container import Services
from adapter.services.resources import WriteResult
from tests.scenarios.generator import Scenario, Write


def load(services: Services, scenario: Scenario, *, chunk: int = 200) -> list[Write]:
    """Write the accepted writes; return the refused ones, in order, for the caller to try."""
    batch: list[Write] = []
    for write in scenario.accepted_writes():
        if batch and (len(batch) >= chunk or batch[-1].method != write.method):
            write_in_transaction(services, batch)
            batch = []
        batch.append(write)
    if batch:
        write_in_transaction(services, batch)
    return scenario.refused_writes()


def write_one(services: Services, write: Write) -> WriteResult | None:
    """One write as its own interaction. :raise adapter.errors.Unprocessable: a rule refused it."""
    if write.method == "DELETE":
        resources.delete(services, write.res_type, write.res_id)
        return None
    return resources.update(services, write.res_type, write.res_id, write.resource)


def transaction_bundle(writes: list[Write]) -> dict:
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": w.method, "url": w.url}, **({"resource": w.resource} if w.resource else {})}
        for w in writes]}


def write_in_transaction(services: Services, writes: list[Write]) -> None:
    """The writes as one transaction Bundle. :raise AssertionError: an entry failed."""
    response = bundles.process(services, transaction_bundle(writes), "http://scenario/fhir")
    statuses = [entry["response"]["status"] for entry in response["entry"]]
    if not all(status[:1] == "2" for status in statuses):
        raise AssertionError(f"scenario writes failed: {statuses}")
