#!/usr/bin/env python3
"""Write the CSV examples (``examples/cmp/<kind>.csv``) and the CSV layout (``docs/records/csv.md``).

The CSV examples are the JSON examples (``examples/cmp/<kind>.json``) written with
:func:`mappings.csv_format.write_csv`; the layout tables come from the record models through
:func:`mappings.csv_format.layout`, so neither can drift from the models. ``--check`` exits 1 when a committed
file differs from what this script writes (``tests/unit/test_mappings_csv.py`` runs it).

Usage::

    python scripts/make_cmp_csv.py [--check]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generated_files import write_or_check  # noqa: E402

from mappings import KIND_NAMES, csv_format, kind  # noqa: E402

EXAMPLES = REPO / "examples" / "cmp"
DOC = REPO / "docs" / "records" / "csv.md"

INTRO = """\
# CMP records as CSV

One CSV layout per record kind, derived from the kind's pydantic model (`mappings/<kind>.py`) by
`mappings/csv_format.py`. This file is written by `python scripts/make_cmp_csv.py` (its `--check` runs in
`tests/unit/test_mappings_csv.py`), so the tables below are the layout the code reads and writes. Examples
of every kind are in `examples/cmp/<kind>.csv` (the same records as `examples/cmp/<kind>.json`).

## Conventions

* **Header**: the first row names the columns; the names are the record's field names. Columns may come in
  any order; optional columns may be left out. An unknown, repeated or missing required column is one error
  naming all of them, and nothing is read.
* **Nested object** (`address`, `sdmi`): one column per field, `object.field` (`address.city`). All its cells
  empty means the object is absent.
* **List of values** (`purposes`, `components`): one cell, the values separated by `|` (`e|f`).
* **List of objects** (`staff`, `coverages`, `care_team`, `days`, `services`, `attendees`): one `|`-separated
  cell per field of the item (`staff.staff_id` = `ward|reyes`, `staff.name` = `Jamie Ward|Maria Reyes`);
  the n-th values of the cells make the n-th item. An optional field absent from one item is an empty
  value (`Jamie Ward|`); absent from every item, an empty cell. A non-empty cell must have as many values as
  the longest cell of the group.
* **Escaping** in multi-valued cells: `\\|` is a `|` inside a value and `\\\\` a backslash; a lone `\\` is an
  error. Single-valued cells are not escaped. CSV quoting is RFC 4180 (`"` doubles, cells with `,`, `"` or a
  line break are quoted).
* **Values**: dates ISO 8601 (`2026-01-06`); dateTimes ISO 8601 with an offset, kept as written
  (`2026-01-06T13:00:00-07:00`); decimals exactly as written (`105.00` stays `105.00`, never a float);
  booleans `true` or `false` (nothing else); an empty cell is an absent value (a field with a default takes
  its default).
* **Rows**: UTF-8 (a byte-order mark is skipped), rows end in `\\n` when written (`\\r\\n` is read too). Row
  numbers count the header as row 1, as a spreadsheet shows them. Blank rows are skipped.

### Why numbered column groups and JSON-in-cell were not chosen

Numbered groups (`staff.1.staff_id`, `staff.2.staff_id`, …) make the header depend on the data: a streaming
writer cannot know the widest list before the last record, and a file with three staff would not be read
by a program expecting two. JSON in a cell is exact but unreadable and unwritable in a spreadsheet, which is
where these files are corrected. Side-by-side `|` lists keep a fixed header per kind, one row per record,
and stay editable; every list item has a required field, so the number of items is never ambiguous (checked
when the layout is derived).

## Errors and rejects

`read_csv(kind, stream)` yields one result per data row: the record, or every error of the row as
`(row, column, reason)`; a bad row never stops the rows after it. `write_rejects(kind, results, stream)`
writes the rejected rows exactly as they were read, with the original header and an `error` column
(`column: reason; …`); `RejectsWriter(kind, stream).add(result)` does the same row by row, in the loop that
handles the good rows. Correct the cells and read the file again: `read_csv` ignores the `error` column.
Reading and writing stream one row at a time (200,000 rows read in well under 5 MB traced peak; see
`tests/unit/test_mappings_csv_memory.py`).

## Columns
"""


def document() -> str:
    parts = [INTRO]
    for kind_name in KIND_NAMES:
        parts.append(f"\n### `{kind_name}`\n\n| column | type | required | shape | notes |\n|---|---|---|---|---|\n")
        for c in csv_format.layout(kind(kind_name).MODEL):
            shape = {"scalar": "single", "object": "object field", "list": "`\\|` list",
                     "objects": "`\\|` list (item field)"}[c.shape]
            notes = c.description.replace("|", "\\|")
            required = "yes" if c.required else (
                f"in each item of `{c.field}`" if c.shape == "objects" and c.required_in_item
                else f"when `{c.field}` is given" if c.shape == "object" and c.required_in_item else "")
            parts.append(f"| `{c.name}` | {c.type_name} | {required} | {shape} | {notes} |\n")
    return "".join(parts)


def example(kind_name: str) -> str:
    model = kind(kind_name).MODEL
    records = [model.model_validate(r)
               for r in json.loads((EXAMPLES / f"{kind_name}.json").read_text(encoding="utf-8"))]
    out = io.StringIO(newline="")
    csv_format.write_csv(kind_name, records, out)
    return out.getvalue()


def outputs() -> dict[Path, str]:
    files = {EXAMPLES / f"{k}.csv": example(k) for k in KIND_NAMES}
    files[DOC] = document()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a committed file is stale")
    args = parser.parse_args(argv)
    return write_or_check(outputs(), check=args.check, repo=REPO, script="make_cmp_csv.py")


if __name__ == "__main__":
    sys.exit(main())
