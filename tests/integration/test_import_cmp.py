"""$import-cmp with CMP JSON records: mapped, validated against our profiles, stored in one transaction."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.fhir_helpers import issues

CMP = Path(__file__).resolve().parents[2] / "examples" / "cmp"


def records(kind: str) -> list[dict]:
    return json.loads((CMP / f"{kind}.json").read_text())


def post_records(client, kind: str | None, body) -> object:
    url = "/fhir/$import-cmp" + (f"?kind={kind}&source=test-mmis" if kind else "")
    return client.post(url, data=json.dumps(body), headers={"Content-Type": "application/json"})


def test_import_members_stores_profiled_resources_with_provenance(client):
    members = records("member")[:2]
    response = post_records(client, "member", members)
    assert response.status_code == 200, response.get_data(as_text=True)
    bundle = response.get_json(force=True)
    assert bundle["type"] == "transaction-response"
    assert all(e["response"]["status"].startswith("20") for e in bundle["entry"])
    patient = client.get(f"/fhir/Patient/{members[0]['member_id']}").get_json(force=True)
    assert any(p.endswith("/cmp-member") or p.endswith("/pccm-member") for p in patient["meta"]["profile"])
    provenance = client.get("/fhir/Provenance").get_json(force=True)
    assert provenance["total"] == 1


def test_importing_the_same_records_twice_updates_rather_than_duplicates(client):
    members = records("member")[:1]
    assert post_records(client, "member", members).status_code == 200
    assert post_records(client, "member", {"records": members}).status_code == 200
    assert client.get("/fhir/Patient").get_json(force=True)["total"] == 1


def test_bad_records_are_all_listed_and_nothing_is_stored(client):
    good, second = records("member")[:2]
    bad_field = {**second, "birth_date": "not-a-date"}
    unknown_field = {**good, "shoe_size": 42}
    response = post_records(client, "member", [good, bad_field, unknown_field])
    assert response.status_code == 422
    where = {i["expression"][0].split(".")[0] for i in issues(response)}
    assert where == {"record[1]", "record[2]"}
    assert client.get("/fhir/Patient").get_json(force=True)["total"] == 0


def test_unusable_import_requests(client):
    assert post_records(client, None, records("member")[:1]).status_code == 400
    assert post_records(client, "spaceship", records("member")[:1]).status_code == 400
    assert post_records(client, "member", []).status_code == 400
    assert client.post("/fhir/$import-cmp?kind=member", data="<x/>",
                       headers={"Content-Type": "application/xml"}).status_code == 415
    bad_header = client.post("/fhir/$import-cmp?kind=member", data="a,b\n1,2\n", headers={"Content-Type": "text/csv"})
    assert bad_header.status_code == 400


def test_import_a_csv_file(client):
    text = (CMP / "quality_contact.csv").read_text()
    response = client.post("/fhir/$import-cmp?kind=quality_contact", data=text, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    expected = len(records("quality_contact"))
    assert client.get("/fhir/Encounter?_summary=count").get_json(force=True)["total"] == expected


def test_bad_csv_rows_are_listed_with_row_and_column_and_nothing_is_stored(client):
    lines = (CMP / "quality_contact.csv").read_text().splitlines()
    header = lines[0].split(",")
    date_column = next(i for i, name in enumerate(header) if "date" in name or "start" in name)
    broken = lines[2].split(",")
    broken[date_column] = "not-a-date"
    text = "\n".join([lines[0], lines[1], ",".join(broken), lines[3]]) + "\n"
    response = client.post("/fhir/$import-cmp?kind=quality_contact", data=text, headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    found = issues(response)
    assert len(found) == 1 and found[0]["diagnostics"].startswith("row 3, column ")
    assert client.get("/fhir/Encounter?_summary=count").get_json(force=True)["total"] == 0


def test_capability_lists_import_cmp_as_a_system_operation(client):
    rest = client.get("/fhir/metadata").get_json(force=True)["rest"][0]
    assert any(op["name"] == "import-cmp" for op in rest["operation"])
