"""Organization-level access: a client restricted to Organization/team-a sees and writes only its members'
Patient compartments (members by Patient.managingOrganization, EpisodeOfCare.managingOrganization and
CareTeam participants). SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from adapter.app import create_app
from adapter.auth.clients import Client, ClientRegistry
from adapter.services import resources as interactions
from tests.integration.auth_helpers import KeyPair, bearer, get_token
from tests.integration.fhir_helpers import patient

FHIR_JSON = "application/fhir+json"
SCOPE = "system/*.cruds"


def _encounter(enc_id, patient_id):
    return {"resourceType": "Encounter", "id": enc_id, "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{patient_id}"},
            "serviceProvider": {"reference": "Organization/team-a"}}


def _org(org_id):
    return {"resourceType": "Organization", "id": org_id, "name": org_id}


STORY = [
    _org("team-a"), _org("team-b"), _org("health-home"),
    patient(id="p1", managingOrganization={"reference": "Organization/team-a"}),
    patient(id="p2", managingOrganization={"reference": "Organization/team-b"}),
    patient(id="p3"),  # a member of team-a through its enrollment
    patient(id="p4"),  # a member of the health home through a shared care team
    {"resourceType": "EpisodeOfCare", "id": "eoc3", "status": "active", "patient": {"reference": "Patient/p3"},
     "managingOrganization": {"reference": "Organization/team-a"}},
    {"resourceType": "CareTeam", "id": "ct4", "subject": {"reference": "Patient/p4"},
     "participant": [{"member": {"reference": "Organization/health-home"}}]},
    _encounter("e1", "p1"), _encounter("e2", "p2"), _encounter("e3", "p3"), _encounter("e4", "p4"),
    {"resourceType": "Binary", "id": "bin", "contentType": "text/plain", "data": "aGk="},
]


@pytest.fixture
def web(settings, services):
    for resource in STORY:
        interactions.update(services, resource["resourceType"], resource["id"], resource)
    app = create_app(settings.replace(auth="on"), services=services)
    key = KeyPair.generate("ES384")
    registry = ClientRegistry(services.store.engine)
    registry.add(Client("team-a-ehr", SCOPE, ("Organization/team-a",), key.jwks()))
    registry.add(Client("hh", SCOPE, ("Organization/health-home",), key.jwks()))
    client = app.test_client()
    client.team_a = get_token(client, key, "team-a-ehr", SCOPE)
    client.hh = get_token(client, key, "hh", SCOPE)
    return client


def _ids(bundle, res_type=None):
    return sorted(e["resource"]["id"] for e in bundle.get("entry", [])
                  if res_type is None or e["resource"]["resourceType"] == res_type)


def _get(web, url, token):
    return web.get(url, headers=bearer(token))


def _send(web, method, url, resource, token):
    return web.open(url, method=method, json=resource, headers={**bearer(token), "Content-Type": FHIR_JSON})


def test_searches_are_filtered_to_the_members(web):
    bundle = _get(web, "/fhir/Patient", web.team_a).get_json()
    assert _ids(bundle) == ["p1", "p3"] and bundle["total"] == 2
    bundle = _get(web, "/fhir/Encounter?_include=Encounter:subject", web.team_a).get_json()
    assert _ids(bundle, "Encounter") == ["e1", "e3"] and bundle["total"] == 2
    assert _ids(bundle, "Patient") == ["p1", "p3"]
    bundle = _get(web, "/fhir/Encounter?subject=Patient/p2", web.team_a).get_json()
    assert bundle["total"] == 0
    # _revinclude from a shared type brings only members
    bundle = _get(web, "/fhir/Organization?_id=team-b&_revinclude=Patient:organization", web.team_a).get_json()
    assert _ids(bundle, "Organization") == ["team-b"] and _ids(bundle, "Patient") == []
    assert _ids(_get(web, "/fhir/Patient", web.hh).get_json()) == ["p4"]
    assert _get(web, "/fhir/Binary", web.team_a).get_json()["total"] == 0


def test_reads_outside_the_members_are_404(web):
    assert _get(web, "/fhir/Patient/p1", web.team_a).status_code == 200
    assert _get(web, "/fhir/Encounter/e3", web.team_a).status_code == 200
    for url in ("/fhir/Patient/p2", "/fhir/Encounter/e2", "/fhir/Patient/p2/_history",
                "/fhir/Patient/p2/_history/1", "/fhir/Encounter/e4", "/fhir/Binary/bin"):
        response = _get(web, url, web.team_a)
        assert response.status_code == 404, url
    assert _get(web, "/fhir/Organization/team-b", web.team_a).status_code == 200  # shared: no member data


def test_writes_outside_the_members_are_403(web):
    assert _send(web, "POST", "/fhir/Encounter", _encounter("x", "p1"), web.team_a).status_code == 201
    assert _send(web, "POST", "/fhir/Encounter", _encounter("x", "p2"), web.team_a).status_code == 403
    assert _send(web, "PUT", "/fhir/Encounter/e1", _encounter("e1", "p2"), web.team_a).status_code == 403  # move out
    assert _send(web, "PUT", "/fhir/Encounter/e2", _encounter("e2", "p1"), web.team_a).status_code == 403  # steal
    assert _send(web, "PUT", "/fhir/Encounter/e3", _encounter("e3", "p3"), web.team_a).status_code == 200
    assert web.delete("/fhir/Encounter/e2", headers=bearer(web.team_a)).status_code == 403
    assert _send(web, "PUT", "/fhir/Organization/team-b", _org("team-b"), web.team_a).status_code == 403
    new_member = patient(managingOrganization={"reference": "Organization/team-a"})
    assert _send(web, "POST", "/fhir/Patient", new_member, web.team_a).status_code == 201
    outsider = patient(managingOrganization={"reference": "Organization/team-b"})
    assert _send(web, "POST", "/fhir/Patient", outsider, web.team_a).status_code == 403
    # enrolling a non-member into the team is not a way in
    enroll = {"resourceType": "EpisodeOfCare", "status": "active", "patient": {"reference": "Patient/p2"},
              "managingOrganization": {"reference": "Organization/team-a"}}
    assert _send(web, "POST", "/fhir/EpisodeOfCare", enroll, web.team_a).status_code == 403
    assert _get(web, "/fhir/Patient/p2", web.team_a).status_code == 404


def test_routes_not_filtered_yet_are_refused(web):
    assert _get(web, "/fhir/Patient/_history", web.team_a).status_code == 403
    assert _get(web, "/fhir/_history", web.team_a).status_code == 403
    assert _send(web, "PUT", "/fhir/Patient?identifier=x|y", patient(), web.team_a).status_code == 403
    response = web.post("/fhir/Encounter", json=_encounter("x", "p1"),
                        headers={**bearer(web.team_a), "Content-Type": FHIR_JSON, "If-None-Exist": "_id=e2"})
    assert response.status_code == 403


def test_bundle_entries_respect_the_organizations(web):
    entries = [{"request": {"method": "GET", "url": "Patient/p2"}},
               {"request": {"method": "GET", "url": "Patient/p1"}},
               {"request": {"method": "GET", "url": "Encounter"}},
               {"resource": _encounter("b1", "p2"), "request": {"method": "PUT", "url": "Encounter/b1"}}]
    response = _send(web, "POST", "/fhir", {"resourceType": "Bundle", "type": "batch", "entry": entries}, web.team_a)
    out = response.get_json()["entry"]
    assert [e["response"]["status"][:3] for e in out] == ["404", "200", "200", "403"]
    assert _ids(out[2]["resource"]) == ["e1", "e3"]
    # a transaction creating a member and their encounter together
    entries = [{"fullUrl": "urn:uuid:6f0c5a8e-0000-4000-8000-0000000000aa",
                "resource": patient(managingOrganization={"reference": "Organization/team-a"}),
                "request": {"method": "POST", "url": "Patient"}},
               {"resource": {**_encounter("b2", "x"), "subject": {
                   "reference": "urn:uuid:6f0c5a8e-0000-4000-8000-0000000000aa"}},
                "request": {"method": "PUT", "url": "Encounter/b2"}}]
    response = _send(web, "POST", "/fhir", {"resourceType": "Bundle", "type": "transaction", "entry": entries},
                     web.team_a)
    assert response.status_code == 200, response.get_json()
