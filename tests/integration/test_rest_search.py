"""Search through the REST API: Bundles, links, paging, includes, handling (R4 search.html)."""

from __future__ import annotations

from tests.integration.fhir_helpers import issues, link, local, patient, post_json


def make_story(client) -> tuple[list[str], str]:
    pids = [post_json(client, "/fhir/Patient", patient(family=f"Fam{n}", given=f"G{n}",
                                                        birthDate=f"19{60 + n}-01-01")).get_json(force=True)["id"]
            for n in range(7)]
    org = post_json(client, "/fhir/Organization", {"resourceType": "Organization", "name": "PACT"}).get_json(force=True)
    for number, pid in enumerate(pids):
        post_json(client, "/fhir/Encounter", {
            "resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                      "code": "VR" if number % 2 else "AMB"},
            "subject": {"reference": f"Patient/{pid}"}, "serviceProvider": {"reference": f"Organization/{org['id']}"},
            "period": {"start": f"2026-10-{number + 1:02d}T10:00:00Z"}})
    return pids, org["id"]


def test_searchset_bundle_with_total_and_full_urls(client):
    pids, _ = make_story(client)
    bundle = client.get(f"/fhir/Encounter?subject=Patient/{pids[0]}").get_json(force=True)
    assert bundle["type"] == "searchset"
    assert bundle["total"] == 1
    entry = bundle["entry"][0]
    assert entry["search"]["mode"] == "match"
    assert entry["fullUrl"].endswith(f"/fhir/Encounter/{entry['resource']['id']}")
    assert link(bundle, "self").startswith("http://localhost/fhir/Encounter?")


def test_paging_links_cover_every_match_once_even_when_resources_are_added(client):
    make_story(client)
    first = client.get("/fhir/Patient?_count=3").get_json(force=True)
    seen = [e["resource"]["id"] for e in first["entry"]]
    assert link(first, "previous") is None
    post_json(client, "/fhir/Patient", patient(family="Late"))  # arrives while the client pages
    page = first
    while link(page, "next"):
        page = client.get(local(link(page, "next"))).get_json(force=True)
        seen += [e["resource"]["id"] for e in page["entry"]]
    assert len(seen) == len(set(seen)) == 8
    back = client.get(local(link(page, "previous"))).get_json(force=True)
    assert [e["resource"]["id"] for e in back["entry"]] == seen[3:6]


def test_sort_and_date_prefixes(client):
    make_story(client)
    newest_first = client.get("/fhir/Encounter?_sort=-date&_count=3").get_json(force=True)
    starts = [e["resource"]["period"]["start"] for e in newest_first["entry"]]
    assert starts == sorted(starts, reverse=True)
    october_first_week = client.get("/fhir/Encounter?date=ge2026-10-01&date=lt2026-10-04").get_json(force=True)
    assert october_first_week["total"] == 3


def test_token_string_and_chained_search(client):
    make_story(client)
    assert client.get("/fhir/Encounter?class=http://terminology.hl7.org/CodeSystem/v3-ActCode|VR") \
        .get_json(force=True)["total"] == 3
    assert client.get("/fhir/Encounter?class:not=VR").get_json(force=True)["total"] == 4
    assert client.get("/fhir/Patient?family=fam1").get_json(force=True)["total"] == 1
    assert client.get("/fhir/Patient?family:exact=fam1").get_json(force=True)["total"] == 0
    assert client.get("/fhir/Encounter?subject:Patient.family=Fam2").get_json(force=True)["total"] == 1


def test_include_and_revinclude(client):
    pids, _ = make_story(client)
    bundle = client.get(f"/fhir/Encounter?subject=Patient/{pids[0]}&_include=Encounter:subject"
                        "&_include=Encounter:service-provider").get_json(force=True)
    modes = sorted((e["search"]["mode"], e["resource"]["resourceType"]) for e in bundle["entry"])
    assert modes == [("include", "Organization"), ("include", "Patient"), ("match", "Encounter")]
    reverse = client.get(f"/fhir/Patient?_id={pids[1]}&_revinclude=Encounter:subject").get_json(force=True)
    assert [e["resource"]["resourceType"] for e in reverse["entry"]] == ["Patient", "Encounter"]


def test_summary_count_and_elements(client):
    make_story(client)
    count = client.get("/fhir/Patient?_summary=count").get_json(force=True)
    assert count["total"] == 7 and "entry" not in count
    elements = client.get("/fhir/Patient?_elements=birthDate&_count=1").get_json(force=True)
    assert set(elements["entry"][0]["resource"]) == {"resourceType", "id", "meta", "birthDate"}


def test_post_search_equals_get_search(client):
    make_story(client)
    by_get = client.get("/fhir/Patient?family=Fam3").get_json(force=True)
    by_post = client.post("/fhir/Patient/_search", data={"family": "Fam3"}).get_json(force=True)
    assert [e["resource"]["id"] for e in by_get["entry"]] == [e["resource"]["id"] for e in by_post["entry"]]


def test_unknown_parameters_lenient_and_strict(client):
    make_story(client)
    lenient = client.get("/fhir/Patient?shoe-size=42").get_json(force=True)
    assert lenient["total"] == 7
    assert lenient["entry"][-1]["search"]["mode"] == "outcome"
    assert "shoe-size" not in link(lenient, "self")
    strict = client.get("/fhir/Patient?shoe-size=42", headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400
    assert "shoe-size" in issues(strict)[0]["diagnostics"]


def test_bad_values_are_400(client):
    for query in ("birthdate=yesterday", "_count=many", "birthdate=xx2020", "_summary=maybe"):
        response = client.get(f"/fhir/Patient?{query}")
        assert response.status_code == 400, query
    strict = client.get("/fhir/Patient?_sort=nonsense", headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400


def test_search_results_in_xml(client):
    make_story(client)
    response = client.get("/fhir/Patient?_count=2&_format=xml")
    assert response.status_code == 200
    assert response.get_data().startswith(b"<Bundle")


def test_deleted_resources_leave_search_results(client):
    pids, _ = make_story(client)
    client.delete(f"/fhir/Patient/{pids[0]}")
    assert client.get("/fhir/Patient").get_json(force=True)["total"] == 6
