"""FHIR NDJSON of quality contacts back to CMP CSV in flat memory: the reverse direction streams too."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from adapter.services.convert import convert

REPO = Path(__file__).resolve().parents[2]
COUNT = 5_000
CONTACT = json.loads((REPO / "examples" / "fhir" / "valid" / "Encounter-qc-m-001-20260106.json").read_text())


def write_contacts(path: Path, count: int) -> None:
    with path.open("w") as out:
        for i in range(count):
            body = {**CONTACT, "id": f"qc-{i}", "identifier": [{**CONTACT["identifier"][0], "value": f"qc-{i}"}]}
            out.write(json.dumps(body) + "\n")


@pytest.mark.slow  # ~25 s: tracemalloc traces every allocation of the lossless conversions
def test_ndjson_to_csv_keeps_memory_flat(tmp_path):
    source, out = tmp_path / "contacts.ndjson", tmp_path / "contacts.csv"
    write_contacts(source, COUNT)
    marks: list[int] = []

    def on_record() -> None:
        marks.append(0)
        if len(marks) == 500:
            marks[0] = tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        report = convert("quality_contact", "fhir-ndjson", "cmp-csv", source, out, on_record=on_record)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (report.records, report.rejected, report.unassigned) == (COUNT, 0, [])
    assert len(out.read_text().splitlines()) == COUNT + 1
    assert peak < marks[0] + 2_000_000, (marks[0], peak)  # the last record costs what the 500th did (~15 MB whole)
