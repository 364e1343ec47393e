"""The hand-made edge scenario (edge_scenario.py) was written for program weeks that start on Sunday, so
these tests pin that week start. The engine follows whatever ``program-rules.json`` says; the shipped default
starts weeks on Monday, as the example story's claims and MeasureReports do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapter.settings import Settings


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    document = json.loads(Path(settings.effective_program_rules).read_text(encoding="utf-8"))
    for program in document["programs"].values():
        program["weekStartsOn"] = "sunday"
    pinned = tmp_path / "program-rules-sunday.json"
    pinned.write_text(json.dumps(document), encoding="utf-8")
    return settings.replace(program_rules=str(pinned))
