#!/usr/bin/env python3
"""Write the CMP record examples (``examples/cmp/<kind>.json``) of the story in ``examples/fhir/valid/``.

The records are read back from the FHIR examples with each kind's ``from_fhir``, grouped by record (one
member's Patient, Coverages and eligibility Observations; one team's Organization and staff; one member's
EpisodeOfCare and CareTeam). ``tests/unit/test_mappings_examples.py`` then checks the other direction:
``to_fhir`` of every record gives exactly the FHIR example files.

Usage::

    python scripts/make_cmp_examples.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import simplejson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generated_files import write_or_check  # noqa: E402

from mappings import KIND_NAMES, kind  # noqa: E402

VALID = REPO / "examples" / "fhir" / "valid"
OUT = REPO / "examples" / "cmp"
PROFILE = "https://cmp-adapter.org/fhir/StructureDefinition/"


def load_valid() -> dict[str, dict]:
    """``Type/id`` -> resource of every valid FHIR example."""
    out = {}
    for path in sorted(VALID.glob("*.json")):
        body = simplejson.loads(path.read_text(encoding="utf-8"), use_decimal=True)
        out[f"{body['resourceType']}/{body['id']}"] = body
    return out


def profile_of(body: dict) -> str:
    return body["meta"]["profile"][0].removeprefix(PROFILE)


def refers_to(value: dict | None, key: str) -> bool:
    return bool(value) and value.get("reference") == key


def member_groups(valid: dict[str, dict]) -> Iterator[list[dict]]:
    for key, patient in valid.items():
        if patient["resourceType"] != "Patient":
            continue
        coverages = [r for r in valid.values() if r["resourceType"] == "Coverage" and refers_to(r["beneficiary"], key)]
        observations = [r for r in valid.values() if r["resourceType"] == "Observation"
                        and refers_to(r.get("subject"), key)]
        yield [patient, *coverages, *observations]


def team_groups(valid: dict[str, dict]) -> Iterator[list[dict]]:
    for key, org in valid.items():
        if org["resourceType"] != "Organization" or profile_of(org) != "cmp-team-organization":
            continue
        group = [org]
        for role in valid.values():
            if role["resourceType"] == "PractitionerRole" and refers_to(role["organization"], key):
                group += [valid[role["practitioner"]["reference"]], role]
        yield group


def enrollment_groups(valid: dict[str, dict]) -> Iterator[list[dict]]:
    for episode in valid.values():
        if episode["resourceType"] == "EpisodeOfCare":
            yield [episode, *(valid[t["reference"]] for t in episode.get("team", []))]


def shared_plan_groups(valid: dict[str, dict]) -> Iterator[list[dict]]:
    for plan in valid.values():
        if plan["resourceType"] == "CarePlan" and profile_of(plan) == "shared-care-plan":
            parts = [plan["careTeam"][0], *(a["reference"] for a in plan["activity"]), plan["supportingInfo"][0]]
            yield [*(valid[p["reference"]] for p in parts), plan]


def single(resource_type: str, profile: str) -> Callable[[dict[str, dict]], Iterator[list[dict]]]:
    def groups(valid: dict[str, dict]) -> Iterator[list[dict]]:
        for body in valid.values():
            if body["resourceType"] == resource_type and profile_of(body) == profile:
                yield [body]
    return groups


GROUPS = {"member": member_groups, "team": team_groups, "enrollment": enrollment_groups,
          "treatment_plan": single("CarePlan", "cmp-treatment-plan"),
          "quality_contact": single("Encounter", "cmp-quality-contact"),
          "team_meeting": single("Encounter", "cmp-team-meeting"),
          "claim": lambda valid: (group for profile in ("cmp-claim", "care-management-fee-claim")
                                  for group in single("Claim", profile)(valid)),
          "shared_care_plan": shared_plan_groups}


def records(kind_name: str, valid: dict[str, dict]) -> list[dict]:
    module = kind(kind_name)
    return [module.from_fhir(group).model_dump(mode="json", exclude_none=True)
            for group in GROUPS[kind_name](valid)]


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
