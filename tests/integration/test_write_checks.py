"""The write-check seam: checks see every change of a transaction before it commits, and veto or warn."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import Connection

from adapter.errors import Issue, Unprocessable
from adapter.services import bundles, resources
from adapter.services.container import Services
from adapter.services.write_checks import Change


def _patient(res_id: str, family: str) -> dict:
    return {"resourceType": "Patient", "id": res_id, "name": [{"family": family}]}


class Recorder:
    """A check that records what it saw, and refuses patients named "Refused", warns on "Doubtful"."""

    def __init__(self) -> None:
        self.calls: list[list[Change]] = []

    def __call__(self, services: Services, conn: Connection, changes: Sequence[Change]) -> list[Issue]:
        self.calls.append(list(changes))
        found = []
        for change in changes:
            family = (change.resource or {}).get("name", [{}])[0].get("family")
            if family == "Refused":
                found.append(Issue("error", "business-rule", f"refused {change.res_type}/{change.res_id}"))
            if family == "Doubtful":
                found.append(Issue("warning", "business-rule", f"doubtful {change.res_type}/{change.res_id}"))
        return found


@pytest.fixture
def recorder(services: Services) -> Recorder:
    check = Recorder()
    services.write_checks.append(check)
    return check


def test_a_check_sees_each_interaction(services: Services, recorder: Recorder) -> None:
    created = resources.create(services, "Patient", {"resourceType": "Patient"})
    resources.update(services, "Patient", "p1", _patient("p1", "A"))
    resources.update(services, "Patient", "p1", _patient("p1", "B"))
    resources.delete(services, "Patient", "p1")
    seen = [(c.interaction, c.res_type, c.res_id, c.version) for call in recorder.calls for c in call]
    assert seen == [("create", "Patient", created.stored.res_id, 1), ("create", "Patient", "p1", 1),
                    ("update", "Patient", "p1", 2), ("delete", "Patient", "p1", 3)]


def test_an_error_rolls_the_write_back(services: Services, recorder: Recorder) -> None:
    with pytest.raises(Unprocessable, match="refused Patient/p2"):
        resources.update(services, "Patient", "p2", _patient("p2", "Refused"))
    with services.store.connect() as conn:
        assert services.store.read(conn, "Patient", "p2") is None


def test_a_warning_is_returned_with_the_write(services: Services, recorder: Recorder) -> None:
    result = resources.update(services, "Patient", "p3", _patient("p3", "Doubtful"))
    assert result.stored.version == 1
    assert [i.diagnostics for i in result.issues if i.severity == "warning"] == ["doubtful Patient/p3"]


def test_a_transaction_is_checked_once_with_all_its_entries(services: Services, recorder: Recorder) -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": _patient("t1", "A"), "request": {"method": "PUT", "url": "Patient/t1"}},
        {"resource": _patient("t2", "B"), "request": {"method": "PUT", "url": "Patient/t2"}}]}
    bundles.process(services, bundle, "http://test/fhir")
    assert [[c.res_id for c in call] for call in recorder.calls] == [["t1", "t2"]]


def test_one_refused_entry_refuses_the_whole_transaction(services: Services, recorder: Recorder) -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": _patient("t3", "A"), "request": {"method": "PUT", "url": "Patient/t3"}},
        {"resource": _patient("t4", "Refused"), "request": {"method": "PUT", "url": "Patient/t4"}}]}
    with pytest.raises(Unprocessable):
        bundles.process(services, bundle, "http://test/fhir")
    with services.store.connect() as conn:
        assert services.store.read(conn, "Patient", "t3") is None


def test_a_batch_checks_each_entry_alone(services: Services, recorder: Recorder) -> None:
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": _patient("b1", "A"), "request": {"method": "PUT", "url": "Patient/b1"}},
        {"resource": _patient("b2", "Refused"), "request": {"method": "PUT", "url": "Patient/b2"}}]}
    response = bundles.process(services, bundle, "http://test/fhir")
    assert [e["response"]["status"][:3] for e in response["entry"]] == ["201", "422"]


class Attributing(Recorder):
    """The Recorder, naming the resource each issue is about (as the program rules do)."""

    def __call__(self, services: Services, conn: Connection, changes: Sequence[Change]) -> list[Issue]:
        return [Issue(i.severity, i.code, i.diagnostics, resource=i.diagnostics.split(" ", 1)[1])
                for i in super().__call__(services, conn, changes)]


def test_a_transaction_puts_each_warning_on_its_entry(services: Services) -> None:
    services.write_checks.append(Attributing())
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": _patient("w1", "A"), "request": {"method": "PUT", "url": "Patient/w1"}},
        {"resource": _patient("w2", "Doubtful"), "request": {"method": "PUT", "url": "Patient/w2"}}]}
    first, second = bundles.process(services, bundle, "http://test/fhir")["entry"]
    assert "outcome" not in first["response"]
    assert [i["diagnostics"] for i in second["response"]["outcome"]["issue"]] == ["doubtful Patient/w2"]


def test_a_transaction_refusal_is_located_at_its_entry(services: Services) -> None:
    services.write_checks.append(Attributing())
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": _patient("w3", "A"), "request": {"method": "PUT", "url": "Patient/w3"}},
        {"resource": _patient("w4", "Refused"), "request": {"method": "PUT", "url": "Patient/w4"}}]}
    with pytest.raises(Unprocessable) as refused:
        bundles.process(services, bundle, "http://test/fhir")
    assert [(i.expression, i.diagnostics) for i in refused.value.issues] == [
        ("Bundle.entry[1]", "Bundle.entry[1]: refused Patient/w4")]


def test_a_batch_entry_carries_its_warnings(services: Services, recorder: Recorder) -> None:
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": _patient("b3", "Doubtful"), "request": {"method": "PUT", "url": "Patient/b3"}}]}
    (entry,) = bundles.process(services, bundle, "http://test/fhir")["entry"]
    assert entry["response"]["status"][:3] == "201"
    assert [i["severity"] for i in entry["response"]["outcome"]["issue"]] == ["warning"]
