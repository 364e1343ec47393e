#!/usr/bin/env python3
"""Write the CMP record examples (``examples/cmp/<kind>.json``) of the story in ``examples/fhir/valid/``.

The records are read back from the FHIR examples with each kind's ``from_fhir``, the resources grouped by
record as each kind declares (``SHAPE``, ``mappings/grouping.py``): one member's Patient, Coverages and
eligibility Observations; one team's Organization and staff; one member's EpisodeOfCare and CareTeam; ...
``tests/unit/test_mappings_examples.py`` then checks the other direction:
``to_fhir`` of every record gives exactly the FHIR example files.

Usage::

    python scripts/make_cmp_examples.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import simplejson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generated_files import write_or_check  # noqa: E402

from mappings import KIND_NAMES, grouping, kind  # noqa: E402

VALID = REPO / "examples" / "fhir" / "valid"
OUT = REPO / "examples" / "cmp"


def load_valid() -> dict[str, dict]:
    """``Type/id`` -> resource of every valid FHIR example."""
    out = {}
    for path in sorted(VALID.glob("*.json")):
        body = simplejson.loads(path.read_text(encoding="utf-8"), use_decimal=True)
        out[f"{body['resourceType']}/{body['id']}"] = body
    return out


def records(kind_name: str, valid: dict[str, dict]) -> list[dict]:
    """The records of ``kind_name`` in the FHIR examples, grouped by the kind's declared shape."""
    module = kind(kind_name)
    return [module.from_fhir(group.resources).model_dump(mode="json", exclude_none=True)
            for group in grouping.group(valid.values(), [kind_name]).records]


def render(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed files are stale")
    args = parser.parse_args(argv)
    valid = load_valid()
    outputs = {OUT / f"{kind_name}.json": render(records(kind_name, valid)) for kind_name in KIND_NAMES}
    return write_or_check(outputs, check=args.check, repo=REPO, script="make_cmp_examples.py")


if __name__ == "__main__":
    sys.exit(main())
