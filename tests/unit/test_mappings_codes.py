"""ConceptMaps of the mappings, and the transaction Bundle with its Provenance."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapter.validation import Validator
from mappings import bundle, codes, member
from mappings.member import Coverage, MemberRecord, Sdmi

RECORD = MemberRecord(
    member_id="m-9", medicaid_id="MT9", given="Ann", family="Lee", gender="F", birth_date="1980-02-03",
    coverages=(Coverage(program="CMP", payor_id="mt-medicaid", start="2025-01-01"),),
    sdmi=Sdmi(assessed_at="2025-05-01T09:00:00-07:00", assessor_id="okafor", sdmi="Y", medical_necessity=True,
              danger_to_self_or_others=False, loi_area_3="2", loi_area_4="3", able_and_willing=True),
)
WHEN = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("map_id", codes.concept_map_ids())
def test_every_concept_map_has_its_canonical_url_and_reverses(map_id):
    resource = codes.concept_map(map_id)
    assert resource["url"] == f"https://cmp-adapter.org/fhir/ConceptMap/{map_id}"
    assert resource["id"] == map_id
    table = codes.table(map_id)
    for local in table.local_codes:
        assert table.from_fhir(table.to_fhir(local).as_fhir()) == local


def test_contact_modes_are_v3_act_codes():
    table = codes.table("contact-mode")
    assert table.to_fhir("F").as_fhir() == {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                            "code": "AMB", "display": "ambulatory"}
    assert table.to_fhir("T").code == "VR"


def test_an_unmapped_code_is_an_error_naming_code_and_map():
    with pytest.raises(codes.UnmappedCode) as caught:
        codes.table("quality-contact-purpose").to_fhir("g")
    assert "'g'" in str(caught.value)
    assert caught.value.map_url == "https://cmp-adapter.org/fhir/ConceptMap/quality-contact-purpose"
    with pytest.raises(codes.UnmappedCode, match="ConceptMap/service-code"):
        codes.table("service-code").from_fhir({"system": "http://example.org", "code": "H0040"})


def test_the_transaction_updates_by_identifier_and_resolves_references_inside():
    resources = member.to_fhir(RECORD)
    tx = bundle.transaction(resources, WHEN, "mt-cmp-tracker", "cmp-json")
    assert tx == bundle.transaction(member.to_fhir(RECORD), WHEN, "mt-cmp-tracker", "cmp-json")
    assert tx["type"] == "transaction"
    entries = tx["entry"]
    patient = entries[0]
    assert patient["request"] == {
        "method": "PUT",
        "url": "Patient?identifier=https://cmp-adapter.org/fhir/NamingSystem/medicaid-member-id|MT9"}
    assert entries[2]["request"] == {"method": "PUT", "url": "Observation/sdmi-m-9"}
    full_urls = {e["fullUrl"] for e in entries}
    coverage = entries[1]["resource"]
    assert coverage["beneficiary"]["reference"] == patient["fullUrl"]
    assert coverage["payor"][0]["reference"] == "Organization/mt-medicaid"  # not in the Bundle: unchanged
    assert resources[1]["beneficiary"]["reference"] == "Patient/m-9"  # the input is not changed
    provenance = entries[-1]
    assert provenance["request"] == {"method": "POST", "url": "Provenance"}
    targets = {t["reference"] for t in provenance["resource"]["target"]}
    assert targets == full_urls - {provenance["fullUrl"]}
    agents = [a["type"]["coding"][0]["code"] for a in provenance["resource"]["agent"]]
    assert agents == ["assembler", "author"]
    assert provenance["resource"]["entity"][0]["what"]["display"] == "CMP record (cmp-json)"


def test_the_bundle_and_provenance_are_valid_r4(definitions):
    validator = Validator(definitions)
    tx = bundle.transaction(member.to_fhir(RECORD), WHEN, "mt-cmp-tracker", "cmp-json")
    problems = [f"{i.expression}: {i.diagnostics}" for i in validator.validate(tx) if i.is_error]
    assert problems == []


def test_mappings_import_nothing_of_the_service():
    """``mappings/`` is pure (see its README): no adapter, Flask, SQLAlchemy or HTTP imports."""
    import ast
    from pathlib import Path

    folder = Path(member.__file__).parent
    forbidden = ("adapter", "flask", "sqlalchemy", "requests", "socket", "os")
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"


def test_the_concept_maps_are_valid_r4(definitions):
    validator = Validator(definitions)
    for map_id in codes.concept_map_ids():
        issues = validator.validate(codes.concept_map(map_id))
        assert [f"{i.expression}: {i.diagnostics}" for i in issues if i.is_error] == [], map_id


def test_from_fhir_refuses_what_a_record_cannot_carry():
    """Nothing is silently dropped: a second address, an unknown extension or another profile is an error."""
    import copy

    from mappings.common import LossyConversion

    resources = member.to_fhir(RECORD.model_copy(update={"address": member.Address(
        line="1 Main", city="Helena", state="MT", postal_code="59601")}))
    patient = copy.deepcopy(resources[0])
    patient["address"].append({**patient["address"][0], "use": "old"})
    patient["extension"] = [{"url": "https://example.org/x", "valueString": "y"}]
    patient["meta"]["profile"].append("http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient")
    with pytest.raises(LossyConversion) as caught:
        member.from_fhir([patient, *resources[1:]])
    assert set(caught.value.differences) == {
        "Patient/m-9.meta.profile has 2 items, the record carries 1",
        "Patient/m-9.extension is not carried",
        "Patient/m-9.address has 2 items, the record carries 1",
    }


def test_from_fhir_accepts_server_meta_and_missing_profiles_and_float_money():
    from decimal import Decimal

    from mappings import claim

    record = claim.ClaimRecord(claim_id="c", kind="care-management-fee", member_id="m", coverage_id="c", payer_id="p",
                               provider_id="s", period_start="2026-01-01", period_end="2026-01-31",
                               created="2026-02-01", service_code="CM-FEE", rate=Decimal("10.10"))
    (body,) = claim.to_fhir(record)
    meta = {"versionId": "2", "lastUpdated": "2026-02-01T00:00:00Z", "profile": body["meta"]["profile"]}
    sent = {**body, "meta": meta, "total": {"value": 10.1, "currency": "USD"}}
    assert claim.from_fhir([sent]) == record
    unprofiled = {k: v for k, v in member.to_fhir(RECORD)[0].items() if k != "meta"}
    assert member.from_fhir([unprofiled]).member_id == "m-9"


def test_translate_answers_as_the_operation_does(definitions):
    url = "https://cmp-adapter.org/fhir/ConceptMap/contact-mode"
    forward = codes.translate(url, "T")
    assert forward["parameter"][0] == {"name": "result", "valueBoolean": True}
    assert forward["parameter"][1]["part"][1]["valueCoding"] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR", "display": "virtual"}
    back = codes.translate(url, "AMB", system="http://terminology.hl7.org/CodeSystem/v3-ActCode", reverse=True)
    assert back["parameter"][1]["part"][1]["valueCoding"] == {"system": "https://cmp-adapter.org/fhir/local/contact-mode",
                                                               "code": "F"}
    missing = codes.translate(url, "X")
    assert missing["parameter"][0]["valueBoolean"] is False
    assert "'X'" in missing["parameter"][1]["valueString"]
    assert codes.translate(url, "F", system="http://example.org")["parameter"][0]["valueBoolean"] is False
    validator = Validator(definitions)
    for answer in (forward, back, missing):
        assert [i for i in validator.validate(answer) if i.is_error] == []
    with pytest.raises(KeyError):
        codes.translate("https://cmp-adapter.org/fhir/ConceptMap/nope", "F")


def test_coverages_sharing_the_medicaid_id_are_written_by_id():
    """Two conditional updates on one identifier would overwrite each other inside the transaction."""
    record = RECORD.model_copy(update={"coverages": (
        Coverage(program="FFS", payor_id="mt-medicaid", start="2024-01-01"),
        Coverage(program="CMP", payor_id="mt-medicaid", start="2025-01-01"))})
    tx = bundle.transaction(member.to_fhir(record), WHEN, "mt-cmp-tracker", "cmp-json")
    urls = [e["request"]["url"] for e in tx["entry"] if e["resource"]["resourceType"] == "Coverage"]
    assert urls == ["Coverage/cov-m-9-medicaid", "Coverage/cov-m-9-cmp"]
    assert tx["entry"][0]["request"]["url"].startswith("Patient?identifier=")


def test_keys_that_name_resources_are_unique():
    from mappings import enrollment, team

    with pytest.raises(ValueError, match="coverage programs must be unique; repeated: CMP"):
        MemberRecord(member_id="m", medicaid_id="X", given="A", family="B", gender="F", birth_date="1980-01-01",
                     coverages=[{"program": "CMP", "payor_id": "a", "start": "2025-01-01"},
                                {"program": "CMP", "payor_id": "b", "start": "2025-02-01"}])
    staff = {"staff_id": "s", "given": "A", "family": "B", "role": "PEER", "npi": "1000000004", "phone": "1"}
    with pytest.raises(ValueError, match="staff ids must be unique"):
        team.TeamRecord(team_id="t", name="T", team_type="MCT", approved_since="2025-01-01", npi="1000000004",
                        address_line="1", city="c", state="MT", postal_code="1", staff=[staff, staff])
    with pytest.raises(ValueError, match="care team staff ids must be unique"):
        enrollment.EnrollmentRecord(member_id="m", team_id="t", start="2025-01-01", care_team_name="T",
                                    care_team=[{"staff_id": "s", "role": "PEER"}, {"staff_id": "s", "role": "LCSW"}])


def test_differences_compare_numbers_as_decimals_and_booleans_as_booleans():
    from decimal import Decimal

    from mappings.common import differences

    assert differences({"v": 1.5, "n": 1}, {"v": Decimal("1.50"), "n": Decimal("1")}, "X") == []
    assert differences({"b": True}, {"b": 1}, "X") == ["X.b: True would become 1"]
    assert differences({"a": [1, 2]}, {"a": [1], "c": 3}, "X") == ["X.a has 2 items, the record carries 1",
                                                                    "X.c would be added"]
