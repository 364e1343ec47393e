"""The measure operations over real HTTP (gunicorn, the IG's example data loaded): the SQL measure and the
per-member compliance are two code paths that must agree on every example member."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.live_server import story_server

REPO = Path(__file__).resolve().parents[2]
#: The story's eight whole program weeks (Monday 2026-01-05 to Sunday 2026-03-01, the shipped program-rules.json
#: week): the weeks starting in the period (the measure) and the weeks overlapping it (the compliance) are the same.
PERIOD = {"periodStart": "2026-01-05", "periodEnd": "2026-03-01"}
MEMBERS = [f"m-{n:03d}" for n in range(1, 12)]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, base_settings) -> Iterator[str]:
    with story_server(tmp_path_factory.mktemp("live-measures"), base_settings) as base:
        yield base


def _counts(report: dict) -> tuple[int, int]:
    populations = {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}
    return populations["denominator"], populations["numerator"]


def test_measures_agree_with_compliance_for_every_example_member(base_url: str) -> None:
    session = requests.Session()
    total = [0, 0, 0]
    for member in MEMBERS:
        answer = session.get(f"{base_url}/Patient/{member}/$cmp-compliance",
                             params={"start": PERIOD["periodStart"], "end": PERIOD["periodEnd"]}, timeout=30)
        assert answer.status_code == 200, answer.text
        weeks = [p for p in answer.json()["parameter"] if p["name"] == "week"]
        broken = [{part["part"][0]["valueId"] for part in week["part"] if part["name"] == "ruleBroken"}
                  for week in weeks]
        contact = session.get(f"{base_url}/Measure/cmp-weekly-contact/$evaluate-measure",
                              params={**PERIOD, "subject": f"Patient/{member}"}, timeout=30).json()
        review = session.get(f"{base_url}/Measure/cmp-team-meeting/$evaluate-measure",
                             params={**PERIOD, "subject": f"Patient/{member}"}, timeout=30).json()
        assert _counts(contact) == (len(weeks), sum("CMP-QC-1" not in rules for rules in broken)), member
        assert _counts(review) == (len(weeks), sum("CMP-TM-1" not in rules for rules in broken)), member
        total[0] += len(weeks)
        total[1] += _counts(contact)[1]
        total[2] += _counts(review)[1]
    program = session.get(f"{base_url}/Measure/cmp-weekly-contact/$evaluate-measure", params=PERIOD, timeout=30)
    assert program.status_code == 200
    assert _counts(program.json()) == (total[0], total[1])
    assert total[0] > 0 and total[1] > 0 and total[2] > 0


def test_a_stored_team_report_over_http(base_url: str) -> None:
    created = requests.post(f"{base_url}/Measure/cmp-weekly-contact/$evaluate-measure",
                            params={**PERIOD, "subject": "Organization/pact-billings", "store": "true"}, timeout=30)
    assert created.status_code == 201, created.text
    found = requests.get(f"{base_url}/MeasureReport", params={"reporter": "Organization/pact-billings",
                                                               "period": "ge2026-01-05"}, timeout=30).json()
    assert created.json()["id"] in {entry["resource"]["id"] for entry in found.get("entry", [])}


@pytest.mark.parametrize("example", sorted((REPO / "examples" / "fhir" / "valid").glob("MeasureReport-*.json")),
                         ids=lambda path: path.stem)
def test_the_igs_example_reports_are_what_the_server_computes(base_url: str, example: Path) -> None:
    """The example MeasureReports of the story are the reports the engine gives for their period and team."""
    expected = json.loads(example.read_text())
    measure = expected["measure"].rsplit("/", 1)[1]
    answer = requests.get(f"{base_url}/Measure/{measure}/$evaluate-measure", timeout=30, params={
        "periodStart": expected["period"]["start"], "periodEnd": expected["period"]["end"],
        "subject": expected["reporter"]["reference"]})
    assert answer.status_code == 200, answer.text

    def populations(report: dict) -> dict[str, int]:
        return {p["code"]["coding"][0]["code"]: p["count"] for g in report["group"] for p in g["population"]}

    assert populations(answer.json()) == populations(expected)
