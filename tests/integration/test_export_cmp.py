"""$import-cmp (JSON, CSV, X12) then $export-cmp gives back exactly the story's records and 837P claims."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from adapter import fhirjson
from tests.integration.fhir_helpers import issues

REPO = Path(__file__).resolve().parents[2]
CMP = REPO / "examples" / "cmp"
VALID = REPO / "examples" / "fhir" / "valid"
MEMBER_KINDS = ("member", "enrollment", "treatment_plan", "quality_contact", "team_meeting", "claim",
                "shared_care_plan")
PAYERS = ("mt-medicaid", "ny-medicaid", "ct-medicaid")


def records(kind: str) -> list[dict]:
    return json.loads((CMP / f"{kind}.json").read_text())


def member_of(kind: str, record: dict) -> str:
    return record["member_id"]


def put_payers(client) -> None:
    for payer in PAYERS:
        body = (VALID / f"Organization-{payer}.json").read_bytes()
        response = client.put(f"/fhir/Organization/{payer}", data=body,
                              headers={"Content-Type": "application/fhir+json"})
        assert response.status_code in (200, 201), response.get_data(as_text=True)[:1000]


def import_json(client, kind: str, body) -> None:
    response = client.post(f"/fhir/$import-cmp?kind={kind}", data=json.dumps(body),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]


def import_story(client, kinds=("team", *MEMBER_KINDS)) -> None:
    put_payers(client)
    for kind in kinds:
        import_json(client, kind, records(kind))


def export(client, patient_id: str, query: str = ""):
    return client.get(f"/fhir/Patient/{patient_id}/$export-cmp{query}")


def test_json_import_then_export_gives_back_every_record_of_every_member(client):
    import_story(client)
    members = [m["member_id"] for m in records("member")]
    exported: dict[str, list[dict]] = {kind: [] for kind in MEMBER_KINDS}
    for member_id in members:
        response = export(client, member_id)
        assert response.status_code == 200, response.get_data(as_text=True)[:3000]
        body = response.get_json()
        assert set(body) == set(MEMBER_KINDS)
        for kind in MEMBER_KINDS:
            assert all(r["member_id"] == member_id for r in body[kind])
            exported[kind] += body[kind]
    for kind in MEMBER_KINDS:
        expected = records(kind)
        assert sorted(exported[kind], key=json.dumps) == sorted(expected, key=json.dumps), kind
        in_member_order = [r for m in members for r in expected if member_of(kind, r) == m]
        assert exported[kind] == in_member_order, kind  # and in the order they were imported


def test_kind_restricts_and_csv_gives_the_kind_layout(client):
    import_story(client, ("team", "member", "quality_contact"))
    restricted = export(client, "m-001", "?kind=member,quality_contact").get_json()
    assert set(restricted) == {"member", "quality_contact"}
    assert restricted["member"] == [r for r in records("member") if r["member_id"] == "m-001"]
    response = export(client, "m-001", "?kind=quality_contact&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = (CMP / "quality_contact.csv").read_text().splitlines()
    got = response.get_data(as_text=True).splitlines()
    header = lines[0].split(",")
    member_column = header.index("member_id")
    assert got[0] == lines[0]
    assert got[1:] == [line for line in lines[1:] if next(csv.reader([line]))[member_column] == "m-001"]
    assert export(client, "m-001", "?format=csv").status_code == 400  # which kind?
    assert export(client, "m-001", "?kind=team").status_code == 400
    assert export(client, "m-001", "?kind=spaceship").status_code == 400
    assert export(client, "nobody").status_code == 404
    assert export(client, "m-001", "?kind=quality_contact&format=cmp-csv").get_data() == response.get_data()
    refused = export(client, "m-001", "?format=x12")  # an 837P is a claim's, not a member's
    assert refused.status_code == 400 and "format" in refused.get_json()["issue"][0]["expression"]


def test_csv_import_then_csv_export_is_the_same_file(client):
    put_payers(client)
    for kind in ("team", "member"):
        text = (CMP / f"{kind}.csv").read_text()
        response = client.post(f"/fhir/$import-cmp?kind={kind}", data=text, headers={"Content-Type": "text/csv"})
        assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    text = (CMP / "member.csv").read_text()
    header, *rows = list(csv.reader(io.StringIO(text)))
    exported_rows = []
    for row in rows:
        member_id = row[header.index("member_id")]
        got = list(csv.reader(io.StringIO(export(client, member_id, "?kind=member&format=csv")
                                          .get_data(as_text=True))))
        assert got[0] == header
        exported_rows += got[1:]
    assert exported_rows == rows


def transaction_sets(text: str) -> dict[str, list[str]]:
    """Claim id -> the segments of its ST..SE, with ST02/SE02 and BHT05 (the interchange's) blanked."""
    out: dict[str, list[str]] = {}
    current: list[str] = []
    for segment in (s.strip() for s in text.split("~")):
        fields = segment.split("*")
        if fields[0] == "ST":
            current = []
        if fields[0] in ("ST", "SE"):
            fields[2] = "#"
        if fields[0] == "BHT":
            fields[5] = "#"
            out[fields[3]] = current
        if fields[0] not in ("ISA", "GS", "GE", "IEA", ""):
            current.append("*".join(fields))
    return out


def test_x12_import_then_claim_export_gives_the_same_837p_claims(client):
    # the contacts first: each billed day needs one (CMP-BILL-1, enforced on write)
    import_story(client, ("team", "member", "enrollment", "treatment_plan", "quality_contact"))
    text = (CMP / "claims.x12").read_text()
    response = client.post("/fhir/$import-cmp?source=mmis", data=text, headers={"Content-Type": "application/edi-x12"})
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    expected = transaction_sets(text)
    assert len(expected) == 83
    for claim_id, segments in expected.items():
        exported = client.get(f"/fhir/Claim/{claim_id}/$export-cmp?format=x12")
        assert exported.status_code == 200, exported.get_data(as_text=True)[:2000]
        assert exported.mimetype == "application/edi-x12"
        assert transaction_sets(exported.get_data(as_text=True)) == {claim_id: segments}
    record = client.get("/fhir/Claim/clm-m-001-w1/$export-cmp").get_json()
    story = next(r for r in records("claim") if r["claim_id"] == "clm-m-001-w1")
    assert record == {k: v for k, v in story.items() if k != "diagnosis_display"}  # 837P carries no display


def test_x12_naming_an_unknown_member_is_an_outcome_naming_claim_and_segment(client):
    import_story(client, ("team",))
    text = (CMP / "claims.x12").read_text()
    response = client.post("/fhir/$import-cmp", data=text, headers={"Content-Type": "application/edi-x12"})
    assert response.status_code == 422
    found = [i["diagnostics"] for i in issues(response) if i["severity"] == "error"]
    assert found and all("segment NM1" in d and "NM109" in d and "Medicaid id" in d for d in found)
    assert found[0].startswith("claim clm-m-001-w1: ")
    assert client.get("/fhir/Claim?_summary=count").get_json(force=True)["total"] == 0


def test_malformed_x12_is_rejected_with_the_segment(client):
    text = (CMP / "claims.x12").read_text().replace("SE*29*0001~", "SE*28*0001~", 1)
    response = client.post("/fhir/$import-cmp", data=text, headers={"Content-Type": "application/edi-x12"})
    assert response.status_code == 422
    assert any("SE" in i["diagnostics"] for i in issues(response))
    assert client.post("/fhir/$import-cmp", data="hello", headers={"Content-Type": "application/edi-x12"}) \
        .status_code == 400
    assert client.post("/fhir/$import-cmp?kind=member", data=(CMP / "claims.x12").read_text(),
                       headers={"Content-Type": "application/edi-x12"}).status_code == 400


def test_resources_our_mappings_did_not_write_are_a_422_listing_the_differences(client):
    import_story(client, ("team", "member"))
    patient = fhirjson.loads(client.get("/fhir/Patient/m-001").get_data())
    patient["address"].append({"use": "old", "city": "Helena", "state": "MT"})
    patient.pop("meta")
    response = client.put("/fhir/Patient/m-001", data=fhirjson.dumps({**patient, "meta": {"profile": [
        "https://cmp-adapter.org/fhir/StructureDefinition/cmp-member"]}}),
        headers={"Content-Type": "application/fhir+json"})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    exported = export(client, "m-001", "?kind=member")
    assert exported.status_code == 422
    assert any("Patient/m-001.address" in i["diagnostics"] for i in issues(exported))


def test_a_missing_companion_is_named(client):
    import_story(client, ("team", "member", "enrollment"))
    assert client.delete("/fhir/CareTeam/team-m-001").status_code == 200
    exported = export(client, "m-001", "?kind=enrollment")
    assert exported.status_code == 422
    assert any("EpisodeOfCare/enr-m-001.team -> CareTeam/team-m-001 is not stored" in i["diagnostics"]
               for i in issues(exported))


def test_a_care_management_fee_claim_has_no_837p(client):
    import_story(client, ("team", "member", "enrollment", "treatment_plan", "quality_contact", "claim"))
    fee = next(r for r in records("claim") if r["kind"] == "care-management-fee")
    assert client.get(f"/fhir/Claim/{fee['claim_id']}/$export-cmp").get_json() == fee
    response = client.get(f"/fhir/Claim/{fee['claim_id']}/$export-cmp?format=x12")
    assert response.status_code == 422
    assert client.get("/fhir/Claim/nothing/$export-cmp").status_code == 404


@pytest.mark.parametrize("name", ["export-cmp", "import-cmp"])
def test_capability_lists_the_operations(client, name):
    rest = client.get("/fhir/metadata").get_json(force=True)["rest"][0]
    by_type = {r["type"]: r for r in rest["resource"]}
    if name == "import-cmp":
        assert any(op["name"] == name for op in rest["operation"])
    else:
        for res_type in ("Patient", "Claim"):
            assert any(op["name"] == name for op in by_type[res_type].get("operation", [])), res_type


def test_a_patient_of_no_member_profile_is_not_a_member_record(client):
    patient = {"resourceType": "Patient", "id": "stranger", "name": [{"family": "Doe"}]}
    assert client.put("/fhir/Patient/stranger", data=json.dumps(patient),
                      headers={"Content-Type": "application/fhir+json"}).status_code in (200, 201)
    response = export(client, "stranger", "?kind=member")
    assert response.status_code == 422
    assert any("declares none of the record profiles" in i["diagnostics"] for i in issues(response))
    assert export(client, "stranger", "?kind=claim").get_json() == {"claim": []}
