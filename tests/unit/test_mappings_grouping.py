"""Grouping a stream of FHIR resources into records by the kinds' declared shapes (mappings/grouping.py)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
import simplejson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings import KIND_NAMES, bundle, grouping, kind
from tests.unit.test_mappings_csv import STRATEGIES

REPO = Path(__file__).resolve().parents[2]
CMP = REPO / "examples" / "cmp"
VALID = REPO / "examples" / "fhir" / "valid"


@pytest.fixture(scope="module")
def story() -> list[dict]:
    return [simplejson.loads(p.read_text(encoding="utf-8"), use_decimal=True) for p in sorted(VALID.glob("*.json"))]


def records_of(kind_name: str) -> list[dict]:
    return json.loads((CMP / f"{kind_name}.json").read_text(encoding="utf-8"))


def dump(record) -> dict:
    return record.model_dump(mode="json", exclude_none=True)


def test_every_kind_declares_its_shape():
    for name in KIND_NAMES:
        shape = grouping.shape(name)
        assert shape.anchor.profiles
        holders = {None} | {c.profile for c in shape.companions}
        for companion in shape.companions:
            if isinstance(companion.link, grouping.Referenced):
                assert companion.link.holder in holders


def test_the_story_groups_into_exactly_the_story_records(story):
    found = grouping.group(story)
    assert not [r for r in found.records if r.missing]
    for name in KIND_NAMES:
        got = [dump(kind(name).from_fhir(r.resources)) for r in found.records if r.kind == name]
        assert sorted(got, key=json.dumps) == sorted(records_of(name), key=json.dumps), name
    unassigned_types = {u.resource.split("/")[0] for u in found.unassigned}
    # the story's adjudications, reports, payers, staff outside a team record and team panels (Group) are not
    # CMP records; each is reported with its reason rather than dropped
    assert unassigned_types == {"ClaimResponse", "Group", "MeasureReport", "Organization", "Practitioner",
                                "PractitionerRole"}
    orphan_staff = next(u for u in found.unassigned if u.resource == "PractitionerRole/pr-chen")
    assert "no record here takes it" in orphan_staff.reason
    payer = next(u for u in found.unassigned if u.resource == "Organization/mt-medicaid")
    assert payer.reason.startswith("declares none of the record profiles")


@pytest.mark.parametrize("seed", range(5))
def test_order_does_not_matter(story, seed):
    shuffled = story[:]
    random.Random(seed).shuffle(shuffled)
    before = {r.anchor: {grouping.key(x) for x in r.resources} for r in grouping.group(story).records}
    after = {r.anchor: {grouping.key(x) for x in r.resources} for r in grouping.group(shuffled).records}
    assert before == after


@pytest.mark.parametrize("kind_name", KIND_NAMES)
def test_a_translated_transaction_bundle_gives_its_records_back(kind_name):
    module = kind(kind_name)
    records = [module.MODEL.model_validate(r) for r in records_of(kind_name)[:3]]
    resources = [resource for record in records for resource in module.to_fhir(record)]
    transaction = bundle.transaction(resources, datetime(2026, 3, 2, tzinfo=UTC), "test", "cmp-json")
    inside = [e["resource"] for e in transaction["entry"] if e["resource"]["resourceType"] != "Provenance"]
    if grouping.shape(kind_name).companions:  # the companions are found through urn:uuid references
        assert '"reference": "urn:uuid:' in json.dumps(inside, default=str)
    found = grouping.group(grouping.resources_of_bundle(transaction), [kind_name])
    assert [module.from_fhir(r.resources) for r in found.records] == records
    assert not found.unassigned and len(found.provenance) == 1


def test_a_missing_companion_is_reported_not_dropped():
    record = kind("shared_care_plan").MODEL.model_validate(records_of("shared_care_plan")[0])
    resources = kind("shared_care_plan").to_fhir(record)
    without_team = [r for r in resources if r["resourceType"] != "CareTeam"]
    (found,) = grouping.group(without_team, ["shared_care_plan"]).records
    assert found.missing == (f"CarePlan/scp-{record.member_id}.careTeam -> CareTeam/sct-{record.member_id}",)


def test_companions_without_their_anchor_are_unassigned():
    record = kind("member").MODEL.model_validate(records_of("member")[0])
    resources = [r for r in kind("member").to_fhir(record) if r["resourceType"] != "Patient"]
    found = grouping.group(resources, ["member"])
    assert not found.records
    assert {u.resource for u in found.unassigned} == {grouping.key(r) for r in resources}
    assert all("member record" in u.reason for u in found.unassigned)


def test_a_resource_of_another_kind_is_unassigned_with_its_reason():
    contact = kind("quality_contact").to_fhir(
        kind("quality_contact").MODEL.model_validate(records_of("quality_contact")[0]))
    found = grouping.group(contact, ["team_meeting"])
    assert found.unassigned == [grouping.Unassigned(grouping.key(contact[0]),
                                                    "declares none of the record profiles of team_meeting")]


def test_a_repeated_resource_is_reported():
    contact = kind("quality_contact").to_fhir(
        kind("quality_contact").MODEL.model_validate(records_of("quality_contact")[0]))
    found = grouping.group(contact * 2, ["quality_contact"])
    assert len(found.records) == 1 and len(found.unassigned) == 1


def test_one_resource_kinds_stream_as_they_come():
    contacts = [kind("quality_contact").to_fhir(kind("quality_contact").MODEL.model_validate(r))[0]
                for r in records_of("quality_contact")[:3]]
    consumed = []

    def source():
        for contact in contacts:
            consumed.append(contact["id"])
            yield contact

    stream = grouping.stream_groups(source(), ["quality_contact"])
    first = next(stream)
    assert isinstance(first, grouping.RecordResources) and consumed == [contacts[0]["id"]]
    assert len(list(stream)) == 2


def test_references_at_walks_lists():
    plan = {"activity": [{"reference": {"reference": "ServiceRequest/a"}}, {"reference": {"reference": "X/b"}},
                         {"detail": {}}]}
    assert grouping.references_at(plan, "activity.reference") == ["ServiceRequest/a", "X/b"]
    assert grouping.references_at(plan, "careTeam") == []


@pytest.mark.parametrize("kind_name", KIND_NAMES)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_generated_record_is_found_among_other_resources(kind_name, data):
    """Any record of the kind, its resources interleaved with another kind's, groups back into that record."""
    other_kind = KIND_NAMES[(KIND_NAMES.index(kind_name) + 1) % len(KIND_NAMES)]
    record = data.draw(STRATEGIES[kind_name])
    mine = kind(kind_name).to_fhir(record)
    ours = {grouping.key(r) for r in mine}
    noise = [r for r in kind(other_kind).to_fhir(data.draw(STRATEGIES[other_kind])) if grouping.key(r) not in ours]
    stream, queues = [], [list(mine), list(noise)]
    while any(queues):
        queue = data.draw(st.sampled_from([q for q in queues if q]))
        stream.append(queue.pop(0))
    found = grouping.group(stream, [kind_name])
    assert [kind(kind_name).from_fhir(r.resources) for r in found.records] == [record]
    assert {u.resource for u in found.unassigned} == {grouping.key(r) for r in noise}


def test_stubs_group_as_the_resources_do(story):
    whole = grouping.group(story)
    stubs = grouping.group([grouping.stub(r) for r in story])
    assert [(r.kind, r.anchor, [grouping.key(x) for x in r.resources], r.missing) for r in stubs.records] == \
        [(r.kind, r.anchor, [grouping.key(x) for x in r.resources], r.missing) for r in whole.records]
    assert stubs.unassigned == whole.unassigned
    assert len(json.dumps([grouping.stub(r) for r in story], default=str)) < \
        len(json.dumps(story, default=str)) / 5
