"""Reading a CSV streams: 200,000 quality-contact rows, generated on the fly, in flat memory."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest

from mappings import csv_format

ROWS = 200_000


def generated_csv(rows: int) -> Iterator[str]:
    """A quality-contact CSV, line by line, never whole in memory."""
    yield ",".join(csv_format.header("quality_contact")) + "\n"
    for i in range(rows):
        yield (f"qc-{i},https://t.example.org/c,m-{i % 500},Ruth Halvorsen,pact-billings,Yellowstone PACT Team,"
               f"finished,{'FT'[i % 2]},2026-01-06T13:00:00-07:00,2026-01-06T13:45:00-07:00,ward|reyes,Jamie Ward|,"
               f"{'e|f' if i % 3 else 'a'}\n")


@pytest.mark.slow  # ~20 s: tracemalloc traces every allocation of 200k validations
def test_reading_200k_rows_keeps_memory_flat():
    tracemalloc.start()
    try:
        read = bad = 0
        for result in csv_format.read_csv("quality_contact", generated_csv(ROWS)):
            read += 1
            bad += not result.ok
            if read == 1_000:
                early = tracemalloc.get_traced_memory()[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (read, bad) == (ROWS, 0)
    assert peak < 5_000_000, peak  # well under 50 MB: one row at a time
    assert peak < early + 2_000_000, (early, peak)
