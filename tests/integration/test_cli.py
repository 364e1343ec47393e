"""The ``cmp-adapter`` commands, run in-process with click's runner against a real database."""

from __future__ import annotations

import json
from pathlib import Path

from alembic.script import ScriptDirectory
from click.testing import CliRunner

from adapter.cli import main
from adapter.store.migrate import MIGRATIONS


def cli_env(settings) -> dict[str, str]:
    return {"CMP_ADAPTER_DATABASE_URL": settings.database_url, "CMP_ADAPTER_DATA_DIR": settings.data_dir,
            "CMP_ADAPTER_FHIR_PACKAGES": settings.fhir_packages,
            "CMP_ADAPTER_COMPILED_CACHE_DIR": settings.effective_compiled_cache_dir}


def test_load_files_bundles_and_ndjson_then_reload_is_idempotent(settings, services, tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "Patient-a.json").write_text(json.dumps(
        {"resourceType": "Patient", "id": "a", "gender": "male"}))
    (folder / "sub" / "more.ndjson").write_text("\n".join(json.dumps(
        {"resourceType": "Practitioner", "id": f"p{n}"}) for n in range(3)) + "\n")
    (folder / "sub" / "tx.json").write_text(json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Organization", "name": "Team"},
         "request": {"method": "POST", "url": "Organization"}}]}))
    (folder / "org.xml").write_text('<Organization xmlns="http://hl7.org/fhir"><id value="o1"/>'
                                    '<name value="Team XML"/></Organization>')
    (folder / "bad.json").write_text('{"resourceType": "Patient", "gender": "xyz"}')
    runner = CliRunner()
    result = runner.invoke(main, ["load", str(folder)], env=cli_env(settings))
    assert result.exit_code == 1, result.output  # one file was rejected
    assert "loaded 6 resources from 5 files; 1 rejected" in result.output
    again = runner.invoke(main, ["load", str(folder / "Patient-a.json")], env=cli_env(settings))
    assert again.exit_code == 0
    with services.store.connect() as conn:
        assert services.store.read(conn, "Patient", "a").version == 2
        assert services.store.read(conn, "Practitioner", "p2") is not None


def test_packages_list_and_db_upgrade(settings):
    runner = CliRunner()
    listed = runner.invoke(main, ["packages", "list"], env=cli_env(settings))
    assert "hl7.fhir.r4.examples#4.0.1" in listed.output
    upgraded = runner.invoke(main, ["db", "upgrade"], env=cli_env(settings))
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert upgraded.exit_code == 0 and f"revision {head}" in upgraded.output


def test_packages_install_rejects_a_bad_tarball(settings, tmp_path):
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(b"not a tarball")
    result = CliRunner().invoke(main, ["packages", "install", str(bad)], env=cli_env(settings))
    assert result.exit_code != 0
    assert "cannot install" in result.output


def test_the_shipped_valid_examples_load_without_a_rejection(settings):
    folder = Path(__file__).resolve().parents[2] / "examples" / "fhir" / "valid"
    result = CliRunner().invoke(main, ["load", str(folder)], env=cli_env(settings))
    assert result.exit_code == 0, result.output
    assert " 0 rejected" in result.output
