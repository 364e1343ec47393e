"""The loader writes a resource after the resources of the same load it refers to."""

from __future__ import annotations

from adapter.services.loader import referenced_first


def _named(order: list[tuple[str, dict]]) -> list[str]:
    return [where for where, _ in order]


def test_a_referenced_resource_comes_first() -> None:
    claim = ("Claim-1", {"resourceType": "Claim", "id": "c1", "item": [{"encounter": [{"reference": "Encounter/e1"}]}]})
    plan = ("CarePlan-1", {"resourceType": "CarePlan", "id": "p1", "careTeam": [{"reference": "CareTeam/t1"}]})
    team = ("CareTeam-1", {"resourceType": "CareTeam", "id": "t1"})
    encounter = ("Encounter-1", {"resourceType": "Encounter", "id": "e1", "subject": {"reference": "Patient/x"}})
    assert _named(referenced_first([plan, claim, team, encounter])) == ["CareTeam-1", "CarePlan-1", "Encounter-1",
                                                                       "Claim-1"]


def test_a_cycle_is_broken_and_resources_without_ids_still_wait_for_their_targets() -> None:
    a = ("a", {"resourceType": "Basic", "id": "a", "subject": {"reference": "Basic/b"}})
    b = ("b", {"resourceType": "Basic", "id": "b", "subject": {"reference": "Basic/a"}})
    anonymous = ("n", {"resourceType": "Basic", "subject": {"reference": "Basic/a"}})
    assert _named(referenced_first([anonymous, a, b])) == ["b", "a", "n"]
