"""``cmp-adapter import``: CMP JSON, CSV and X12 files into the local store (SQLite, PostgreSQL) and to a
second, real server over HTTP (``cmp-adapter serve`` started by ``live_server.running_server``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapter import fhirjson
from adapter.cli import main
from adapter.client import FhirClient
from adapter.services import resources, search
from tests.integration.live_server import running_server
from tests.integration.test_cli import cli_env

CMP = Path(__file__).resolve().parents[2] / "examples" / "cmp"
PARTIES = CMP / "claims.x12.parties.json"
CONTACTS = len(json.loads((CMP / "quality_contact.json").read_text()))
MEMBERS = len(json.loads((CMP / "member.json").read_text()))


def run(env: dict, *args: str):
    return CliRunner().invoke(main, ["import", *args], env=env)


def count(services, res_type: str) -> int:
    return search.search(services, res_type, [("_summary", "count")], handling="strict").page.total


def members_with_three_bad_rows(tmp_path: Path) -> tuple[Path, list[str]]:
    """The story's member CSV with one row that does not read, one that does not map and one our profiles
    refuse (medical necessity with a danger to self or others: ``cmp-elig-2``); the file and the three ids."""
    rows = list(csv.DictReader(io.StringIO((CMP / "member.csv").read_text())))
    rows[1]["birth_date"] = "not-a-date"
    rows[2]["gender"] = "Q"
    rows[3]["sdmi.danger_to_self_or_others"] = "true"
    path = tmp_path / "member.csv"
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path, [rows[n]["member_id"] for n in (1, 2, 3)]


# --- into the local store ------------------------------------------------------------------------------------

def test_import_json_csv_and_x12_into_the_store(settings, services):
    env = cli_env(settings)
    for kind in ("team", "member"):
        result = run(env, "--kind", kind, str(CMP / f"{kind}.json"))
        assert result.exit_code == 0, result.output
    result = run(env, "--kind", "quality_contact", "--batch-size", "50", str(CMP / "quality_contact.csv"))
    assert result.exit_code == 0, result.output
    assert f"{CONTACTS} records, {CONTACTS} accepted ({CONTACTS} resources in 4 transactions)" in result.output
    # the members and the billing teams are found in the store by Medicaid id and NPI; the payer in the file
    result = run(env, "--kind", "claim", "--parties", str(PARTIES), str(CMP / "claims.x12"))
    assert result.exit_code == 0, result.output
    per_diem = [c for c in json.loads((CMP / "claim.json").read_text()) if c["kind"] == "per-diem"]
    assert count(services, "Claim") == len(per_diem)
    claim = fhirjson.loads(resources.read(services, "Claim", per_diem[0]["claim_id"]).content)
    assert claim["patient"]["reference"] == f"Patient/{per_diem[0]['member_id']}"
    assert str(claim["total"]["value"]) == "231.00"  # money keeps its digits
    assert count(services, "Encounter") == CONTACTS
    assert count(services, "Provenance") == 2 + 4 + 1  # one per transaction: the translation's provenance


def test_importing_the_same_file_twice_updates_and_never_duplicates(settings, services):
    env = cli_env(settings)
    for _ in range(2):
        result = run(env, "--kind", "quality_contact", str(CMP / "quality_contact.csv"))
        assert result.exit_code == 0, result.output
    assert count(services, "Encounter") == CONTACTS
    first = json.loads((CMP / "quality_contact.json").read_text())[0]["contact_id"]
    assert resources.read(services, "Encounter", first).version == 2


def test_bad_rows_are_rejected_alone_into_a_rejects_file_that_can_be_rerun(settings, services, tmp_path):
    env = cli_env(settings)
    path, bad = members_with_three_bad_rows(tmp_path)
    result = run(env, "--kind", "member", "--batch-size", "5", str(path))
    assert result.exit_code == 1
    assert f"{MEMBERS - 3} accepted" in result.output and "3 rejected" in result.output
    assert "row 3: column birth_date" in result.output
    assert "ConceptMap/gender" in result.output
    assert "row 5: error [cmp-elig-2]" in result.output  # refused by the profile, with the constraint's key
    assert count(services, "Patient") == MEMBERS - 3
    rejects = path.with_name(path.name + ".rejects.csv")
    rows = list(csv.DictReader(rejects.open(newline="")))
    assert [r["member_id"] for r in rows] == bad
    assert all(r["error"] for r in rows)

    good = {r["member_id"]: r for r in csv.DictReader((CMP / "member.csv").open(newline=""))}
    with rejects.open("w", newline="") as out:  # correct the rejected rows and import the rejects file
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**good[r["member_id"]], "error": ""} for r in rows)
    result = run(env, "--kind", "member", "--format", "cmp-csv", str(rejects))
    assert result.exit_code == 0, result.output
    assert count(services, "Patient") == MEMBERS


def test_one_transaction_per_file_is_all_or_nothing(settings, services, tmp_path):
    path, _ = members_with_three_bad_rows(tmp_path)
    result = run(cli_env(settings), "--kind", "member", "--batch-size", "0", str(path))
    assert result.exit_code == 1
    assert f"{MEMBERS} records, 0 accepted" in result.output  # the profile's refusal sinks the whole file
    assert count(services, "Patient") == 0


def test_unusable_imports_are_one_line_errors(settings, tmp_path):
    env = cli_env(settings)
    assert run(env, "--kind", "spaceship", str(CMP / "member.json")).exit_code == 2
    assert run(env, "--kind", "member", str(CMP / "claims.x12")).exit_code == 1  # X12 holds claims only
    (tmp_path / "records.txt").write_text("{}")
    assert "give --format" in run(env, "--kind", "member", str(tmp_path / "records.txt")).output
    header = run(env, "--kind", "member", str(CMP / "quality_contact.csv"))
    assert header.exit_code == 1 and "Traceback" not in header.output
    (tmp_path / "parties.json").write_text('{"payers": [{"payer_id": "x"}]}')
    parties = run(env, "--kind", "claim", "--parties", str(tmp_path / "parties.json"), str(CMP / "claims.x12"))
    assert parties.exit_code == 1 and "parties file" in parties.output and "Traceback" not in parties.output


# --- to a remote server --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory, base_settings) -> Iterator[str]:
    """A second server of our own, in its own process and data folder, reached only over HTTP."""
    env = {"CMP_ADAPTER_DATA_DIR": str(tmp_path_factory.mktemp("remote")),
           "CMP_ADAPTER_FHIR_PACKAGES": base_settings.fhir_packages,
           "CMP_ADAPTER_COMPILED_CACHE_DIR": base_settings.effective_compiled_cache_dir}
    with running_server(env, workers=1) as base:
        yield base


def test_import_to_a_remote_server_twice_including_x12(remote, tmp_path):
    env = {"CMP_ADAPTER_DATA_DIR": str(tmp_path)}  # no local store is opened
    for kind in ("team", "member"):
        result = run(env, "--kind", kind, "--to", remote, str(CMP / f"{kind}.json"))
        assert result.exit_code == 0, result.output
    for _ in range(2):
        result = run(env, "--kind", "quality_contact", "--to", remote, str(CMP / "quality_contact.csv"))
        assert result.exit_code == 0, result.output
        # the parties: members and teams read from the remote server, the payer from the file
        result = run(env, "--kind", "claim", "--to", remote, "--parties", str(PARTIES), str(CMP / "claims.x12"))
        assert result.exit_code == 0, result.output
    per_diem = [c for c in json.loads((CMP / "claim.json").read_text()) if c["kind"] == "per-diem"]
    with FhirClient(remote) as client:
        assert client.resources("Encounter").count() == CONTACTS
        assert client.resources("Claim").count() == len(per_diem)
        claim = client.read("Claim", per_diem[0]["claim_id"])
        assert claim["meta"]["versionId"] == "2" and claim["insurer"]["reference"] == "Organization/mt-medicaid"


def test_remote_rejections_carry_the_servers_outcome(remote, tmp_path):
    path, bad = members_with_three_bad_rows(tmp_path)
    result = run({"CMP_ADAPTER_DATA_DIR": str(tmp_path)}, "--kind", "member", "--to", remote, str(path))
    assert result.exit_code == 1
    assert "3 rejected" in result.output
    refused = next(line for line in result.output.splitlines() if "row 5:" in line)
    assert "422" in refused and "cmp-elig-2" in refused  # the server's OperationOutcome, on one line
    rows = list(csv.DictReader(path.with_name(path.name + ".rejects.csv").open(newline="")))
    assert [r["member_id"] for r in rows] == bad


def test_x12_parties_not_found_anywhere_are_named(remote, tmp_path):
    result = run({"CMP_ADAPTER_DATA_DIR": str(tmp_path)}, "--kind", "claim", "--to", remote, str(CMP / "claims.x12"))
    assert result.exit_code == 1
    assert "no party has payer id 'MTMEDICAID'" in result.output
