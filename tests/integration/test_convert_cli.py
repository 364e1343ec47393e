"""`cmp-adapter convert`: CMP JSON/CSV records to FHIR JSON, NDJSON and XML, offline."""

from __future__ import annotations

import json
from pathlib import Path

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
