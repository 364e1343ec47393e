"""Bulk Data ``$export`` against the real server (gunicorn) over HTTP, on SQLite and PostgreSQL.

* our client (``adapter.client``: ``pull_export``, ``cmp-adapter pull --export``) downloads a whole export of
  the example story, and every line equals what the server returns for a read of that resource;
* a server stopped in the middle of an export: the next server re-claims the job once the lease expires
  and completes it, or fails it cleanly (500 + OperationOutcome) when it is out of attempts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from adapter.cli import main
from adapter.client import FhirClient, pull_export
from adapter.services.container import Services
from tests.integration.live_server import running_server

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "fhir" / "valid"
ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


def _env(settings, **extra) -> dict[str, str]:
    env = {"CMP_ADAPTER_DATA_DIR": settings.data_dir, "CMP_ADAPTER_DATABASE_URL": settings.database_url,
           "CMP_ADAPTER_FHIR_PACKAGES": settings.fhir_packages,
           "CMP_ADAPTER_COMPILED_CACHE_DIR": settings.effective_compiled_cache_dir,
           "CMP_ADAPTER_EXPORT_RETRY_AFTER_SECONDS": "1"}
    return env | {f"CMP_ADAPTER_{name.upper()}": str(value) for name, value in extra.items()}


def test_our_client_downloads_an_export_equal_to_the_server_reads(settings, tmp_path):
    with running_server(_env(settings), "--load", str(EXAMPLES)) as base:
        with FhirClient(base) as client:
            result = pull_export(client, tmp_path / "all", poll_interval=0.2, timeout=120)
            session = requests.Session()
            expected_types = {path.name.split("-", 1)[0] for path in EXAMPLES.glob("*.json")}
            assert set(result.counts) == expected_types
            for res_type, count in result.counts.items():
                total = session.get(f"{base}/{res_type}", params={"_summary": "count"}, timeout=10).json()["total"]
                assert count == total
                for line in (tmp_path / "all" / f"{res_type}.ndjson").read_text().splitlines():
                    exported = json.loads(line)
                    assert session.get(f"{base}/{res_type}/{exported['id']}", timeout=10).json() == exported
            patients = pull_export(client, tmp_path / "patients", patients=True, types=["Patient", "Encounter"],
                                   poll_interval=0.2, timeout=120)
            assert patients.counts == {"Patient": result.counts["Patient"], "Encounter": result.counts["Encounter"]}
            panel = json.loads((EXAMPLES / "Group-panel-pact-billings.json").read_text())
            members = {m["entity"]["reference"] for m in panel["member"]}
            team = pull_export(client, tmp_path / "panel", group_id="panel-pact-billings",
                               types=["Patient", "EpisodeOfCare"], poll_interval=0.2, timeout=120)
            exported = {kind: [json.loads(line) for line in (tmp_path / "panel" / f"{kind}.ndjson").read_text()
                               .splitlines()] for kind in team.counts}
            assert {f"Patient/{p['id']}" for p in exported["Patient"]} == members
            assert sorted(e["patient"]["reference"] for e in exported["EpisodeOfCare"]) == sorted(members)
        cli = CliRunner().invoke(main, ["pull", "--from", base, "--export", "--type", "CarePlan",
                                        "--out", str(tmp_path / "cli")])
        assert cli.exit_code == 0, cli.output
        assert f"pulled {result.counts['CarePlan']} resources" in cli.output


def _load_basics(settings, definitions, count: int) -> None:
    """Many small resources written straight through the store (the fast path), so an export takes a while."""
    services = Services.build(settings, definitions=definitions)
    try:
        with services.store.begin() as conn:
            for number in range(count):
                services.store.create(conn, "Basic", {"resourceType": "Basic", "code": {"text": f"b{number}"}})
    finally:
        services.close()


@pytest.mark.parametrize("attempts, outcome", [(3, "completed"), (1, "failed")])
def test_a_server_stopped_mid_export_is_resumed_or_failed_cleanly(settings, definitions, attempts, outcome):
    total = 4000
    _load_basics(settings, definitions, total)
    # Small pages make the export take seconds (PostgreSQL round trips cost more, so its pages are larger).
    page_size = 4 if settings.database_url.startswith("postgresql") else 1
    slow = {"export_page_size": page_size, "export_lease_seconds": 2, "export_max_attempts": attempts}
    with running_server(_env(settings, **slow), workers=1) as base:
        kick_off = requests.get(f"{base}/$export", params={"_type": "Basic"}, headers=ASYNC, timeout=10)
        assert kick_off.status_code == 202
        status_url = kick_off.headers["Content-Location"]
        status_path = status_url.removeprefix(base)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            polled = requests.get(status_url, timeout=10)
            assert polled.status_code == 202, "the export finished before the server could be stopped"
            if polled.headers["X-Progress"] != "queued":  # claimed: a worker holds the lease and is running it
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the export never got under way")
    # The server is gone mid-export; the job's lease lapses. A new server takes over.
    with running_server(_env(settings, **slow), workers=2) as base:
        status_url = base + status_path  # the new server listens on another port
        deadline = time.monotonic() + 120
        while (polled := requests.get(status_url, timeout=10)).status_code == 202 and time.monotonic() < deadline:
            time.sleep(0.2)
        if outcome == "completed":
            assert polled.status_code == 200, polled.text
            manifest = polled.json()
            assert sum(o["count"] for o in manifest["output"]) == total
            lines = sum(len(requests.get(o["url"], timeout=30).content.splitlines()) for o in manifest["output"])
            assert lines == total
            notes = requests.get(manifest["error"][0]["url"], timeout=10).text
            assert "restarted (attempt 2)" in notes
        else:
            assert polled.status_code == 500
            outcome_resource = polled.json()
            assert outcome_resource["resourceType"] == "OperationOutcome"
            assert "interrupted 1 time " in outcome_resource["issue"][-1]["diagnostics"]
