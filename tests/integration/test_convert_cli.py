"""`cmp-adapter convert`: CMP JSON/CSV records to FHIR JSON, NDJSON and XML, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapter import fhirjson
from adapter.cli import main
from adapter.services.offline import offline_validation
from tests.integration.test_cli import cli_env

CMP = Path(__file__).resolve().parents[2] / "examples" / "cmp"
VALID = Path(__file__).resolve().parents[2] / "examples" / "fhir" / "valid"


def run(settings, *args: str):
    return CliRunner().invoke(main, ["convert", *args], env=cli_env(settings))


def test_csv_to_ndjson_gives_exactly_the_fhir_examples(settings, tmp_path):
    out = tmp_path / "contacts.ndjson"
    result = run(settings, "--kind", "quality_contact", "--from", "cmp-csv", "--to", "fhir-ndjson",
                 str(CMP / "quality_contact.csv"), str(out))
    assert result.exit_code == 0, result.output
    resources = [fhirjson.loads(line) for line in out.read_text().splitlines()]
    assert resources
    for resource in resources:
        expected = fhirjson.loads((VALID / f"{resource['resourceType']}-{resource['id']}.json").read_bytes())
        assert resource == expected


def test_json_to_a_transaction_bundle_that_validates(settings, tmp_path):
    out = tmp_path / "members.json"
    result = run(settings, "--kind", "member", "--from", "cmp-json", "--to", "fhir-json", str(CMP / "member.json"),
                 str(out))
    assert result.exit_code == 0, result.output
    bundle = json.loads(out.read_text())
    assert bundle["type"] == "transaction"
    assert bundle["entry"][-1]["resource"]["resourceType"] == "Provenance"
    assert not any(r.has_errors for r in offline_validation(settings, [out]))


def test_xml_output(settings, tmp_path):
    out = tmp_path / "claims.xml"
    result = run(settings, "--kind", "claim", "--from", "cmp-json", "--to", "fhir-xml", str(CMP / "claim.json"),
                 str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("<Bundle")


def test_bad_csv_rows_go_to_a_rejects_file_that_can_be_fixed_and_rerun(settings, tmp_path):
    lines = (CMP / "quality_contact.csv").read_text().splitlines()
    start = lines[0].split(",").index("start")
    broken = lines[1].split(",")
    broken[start] = "yesterday"
    source = tmp_path / "in.csv"
    source.write_text("\n".join([lines[0], ",".join(broken), lines[2]]) + "\n")
    out = tmp_path / "out.ndjson"
    result = run(settings, "--kind", "quality_contact", "--from", "cmp-csv", "--to", "fhir-ndjson", str(source),
                 str(out))
    assert result.exit_code == 1
    assert "row 2, column start" in result.output
    assert len(out.read_text().splitlines()) == 1  # the good row still converted
    rejects = tmp_path / "out.ndjson.rejects.csv"
    fixed = rejects.read_text().replace("yesterday", lines[1].split(",")[start])
    rejects.write_text(fixed)
    again = run(settings, "--kind", "quality_contact", "--from", "cmp-csv", "--to", "fhir-ndjson", str(rejects),
                str(tmp_path / "fixed.ndjson"))
    assert again.exit_code == 0, again.output


def test_unknown_kind_is_a_usage_error(settings, tmp_path):
    result = run(settings, "--kind", "spaceship", "--from", "cmp-json", "--to", "fhir-json", str(CMP / "member.json"),
                 str(tmp_path / "x.json"))
    assert result.exit_code == 2


# --- the reverse direction and X12 -------------------------------------------------------------------------

KINDS = ("member", "team", "enrollment", "treatment_plan", "quality_contact", "team_meeting", "claim",
         "shared_care_plan")
STORY_ENVELOPE = {"sender_id": "CMPADAPTER", "receiver_id": "MTMEDICAID", "control_number": 1, "date": "2026-03-02",
                  "time": "0900", "submitter_name": "CMP FHIR ADAPTER", "submitter_contact": "BILLING OFFICE",
                  "submitter_phone": "4065550100", "receiver_name": "MONTANA MEDICAID", "usage": "T"}


def parties_file(tmp_path: Path) -> Path:
    """The story's team and payer Organizations and Patients as NDJSON."""
    path = tmp_path / "parties.ndjson"
    files = sorted(VALID.glob("Organization-*.json")) + sorted(VALID.glob("Patient-*.json"))
    path.write_text("".join(json.dumps(json.loads(p.read_text())) + "\n" for p in files))
    return path


@pytest.mark.parametrize("kind", KINDS)
def test_csv_to_ndjson_to_csv_is_the_same_file(settings, tmp_path, kind):
    ndjson, back = tmp_path / "out.ndjson", tmp_path / "back.csv"
    assert run(settings, "--kind", kind, "--from", "cmp-csv", "--to", "fhir-ndjson", str(CMP / f"{kind}.csv"),
               str(ndjson)).exit_code == 0
    result = run(settings, "--kind", kind, "--from", "fhir-ndjson", "--to", "cmp-csv", str(ndjson), str(back))
    assert result.exit_code == 0, result.output
    assert back.read_bytes() == (CMP / f"{kind}.csv").read_bytes()


@pytest.mark.parametrize("kind", ["member", "shared_care_plan"])
def test_a_fhir_bundle_back_to_cmp_json_is_the_same_file(settings, tmp_path, kind):
    bundle_path, back = tmp_path / "bundle.json", tmp_path / "back.json"
    assert run(settings, "--kind", kind, "--from", "cmp-json", "--to", "fhir-json", str(CMP / f"{kind}.json"),
               str(bundle_path)).exit_code == 0
    result = run(settings, "--kind", kind, "--from", "fhir-json", "--to", "cmp-json", str(bundle_path), str(back))
    assert result.exit_code == 0, result.output
    assert "1 Provenance skipped" in result.output
    assert back.read_text() == (CMP / f"{kind}.json").read_text()


def test_x12_to_fhir_to_x12_gives_the_same_interchange(settings, tmp_path):
    parties, envelope = parties_file(tmp_path), tmp_path / "envelope.json"
    envelope.write_text(json.dumps(STORY_ENVELOPE))
    ndjson, back = tmp_path / "claims.ndjson", tmp_path / "claims.x12"
    result = run(settings, "--kind", "claim", "--from", "x12", "--to", "fhir-ndjson", "--parties", str(parties),
                 str(CMP / "claims.x12"), str(ndjson))
    assert result.exit_code == 0, result.output
    assert len(ndjson.read_text().splitlines()) == 83
    result = run(settings, "--kind", "claim", "--from", "fhir-ndjson", "--to", "x12", "--parties", str(parties),
                 "--envelope", str(envelope), str(ndjson), str(back))
    assert result.exit_code == 0, result.output
    assert back.read_text() == (CMP / "claims.x12").read_text()


def test_fhir_to_x12_takes_the_parties_from_the_input_and_reports_what_is_no_claim(settings, tmp_path):
    story = tmp_path / "story.ndjson"
    files = [p for p in sorted(VALID.glob("*.json")) if p.name.startswith(("Claim-", "Organization-", "Patient-"))]
    story.write_text("".join(json.dumps(json.loads(p.read_text())) + "\n" for p in files))
    out = tmp_path / "out.x12"
    result = run(settings, "--kind", "claim", "--from", "fhir-ndjson", "--to", "x12", str(story), str(out))
    assert result.exit_code == 1  # the care-management fee claims cannot go to 837P: rejected, named
    assert "only per-diem claims go to 837P" in result.output
    assert "83 records" in result.output and "belong to no claim record" in result.output
    from mappings.x12_837p import validate_837p

    assert validate_837p(out.read_text()) == []


def test_x12_needs_parties_and_the_claim_kind(settings, tmp_path):
    out = str(tmp_path / "x.ndjson")
    assert run(settings, "--kind", "claim", "--from", "x12", "--to", "fhir-ndjson", str(CMP / "claims.x12"),
               out).exit_code == 1
    assert run(settings, "--kind", "member", "--from", "x12", "--to", "fhir-ndjson", "--parties",
               str(parties_file(tmp_path)), str(CMP / "claims.x12"), out).exit_code == 1
    assert run(settings, "--kind", "member", "--from", "fhir-json", "--to", "fhir-ndjson",
               str(CMP / "member.json"), out).exit_code == 1


def test_fhir_resources_that_do_not_convert_are_rejected_by_name(settings, tmp_path):
    contact = json.loads((VALID / "Encounter-qc-m-001-20260106.json").read_text())
    contact["period"]["end"] = "not even a time"
    contact["serviceType"] = {"text": "something the record cannot carry"}
    source = tmp_path / "in.ndjson"
    source.write_text(json.dumps(contact) + "\n")
    result = run(settings, "--kind", "quality_contact", "--from", "fhir-ndjson", "--to", "cmp-json", str(source),
                 str(tmp_path / "out.json"))
    assert result.exit_code == 1
    assert "Encounter/qc-m-001-20260106" in result.output


@pytest.mark.parametrize("kind", ["member", "team", "enrollment", "shared_care_plan"])
def test_ndjson_with_companions_anywhere_groups_in_two_passes(settings, tmp_path, kind):
    ndjson = tmp_path / "out.ndjson"
    assert run(settings, "--kind", kind, "--from", "cmp-json", "--to", "fhir-ndjson", str(CMP / f"{kind}.json"),
               str(ndjson)).exit_code == 0
    lines = ndjson.read_text().splitlines()
    anchors = [line for line in lines if '"Patient"' in line[:40] or '"Organization"' in line[:40]
               or '"EpisodeOfCare"' in line[:40] or ('"CarePlan"' in line[:40])]
    moved = tmp_path / "moved.ndjson"  # every anchor last: its companions all come before it
    moved.write_text("\n".join([line for line in lines if line not in anchors] + anchors) + "\n")
    back = tmp_path / "back.json"
    result = run(settings, "--kind", kind, "--from", "fhir-ndjson", "--to", "cmp-json", str(moved), str(back))
    assert result.exit_code == 0, result.output
    got = sorted(json.loads(back.read_text()), key=json.dumps)
    assert got == sorted(json.loads((CMP / f"{kind}.json").read_text()), key=json.dumps)
