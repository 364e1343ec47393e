#!/usr/bin/env python3
"""Write the JSON Schema of every CMP record kind (``docs/records/<kind>.schema.json``) from its model.

The pydantic models in ``mappings/<kind>.py`` are the source of truth; the schemas are what program systems
read. ``--check`` exits 1 when a committed schema differs from what the models give (the unit tests run it).

Usage::

    python scripts/make_record_schemas.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generated_files import write_or_check  # noqa: E402

from mappings import KIND_NAMES, kind  # noqa: E402

OUT = REPO / "docs" / "records"
SCHEMA_BASE = "https://cmp-adapter.org/records"


def schema(kind_name: str) -> dict:
    body = kind(kind_name).MODEL.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{SCHEMA_BASE}/{kind_name}.schema.json", **body}


def render(kind_name: str) -> str:
    return json.dumps(schema(kind_name), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a committed schema is stale")
    args = parser.parse_args(argv)
    outputs = {OUT / f"{kind_name}.schema.json": render(kind_name) for kind_name in KIND_NAMES}
    return write_or_check(outputs, check=args.check, repo=REPO, script="make_record_schemas.py")


if __name__ == "__main__":
    sys.exit(main())
