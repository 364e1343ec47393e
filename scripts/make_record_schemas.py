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
    stale = []
    for kind_name in KIND_NAMES:
        path = OUT / f"{kind_name}.schema.json"
        text = render(kind_name)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"stale: {path.relative_to(REPO)} (run scripts/make_record_schemas.py)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
