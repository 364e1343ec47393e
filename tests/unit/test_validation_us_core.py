"""US Core 6.1.0: its examples validate against its profiles with no false error, with the published
snapshots and with snapshots we generate from the differentials; the generated snapshots match the
published ones.

The package comes from ``../shared/fhir-packages`` (public packages kept for tests); without that folder
these tests skip, since the product itself never needs it. US Core depends on packages we do not have
(terminology, VSAC, SDC, the extensions pack): codes from their value sets are reported as "not checked"
(information), their extensions as unknown (warning), never as errors. The exceptions, each an honest
error, are listed with their reason.
"""

from __future__ import annotations

import copy
import json
import shutil
import tarfile
from pathlib import Path

import pytest
import simplejson

from adapter.conformance.definitions import Definitions
from adapter.errors import Issue
from adapter.settings import Settings
from adapter.validation import Validator
from adapter.validation.snapshots import Snapshots

SHARED_PACKAGES = Path(__file__).resolve().parents[3] / "shared" / "fhir-packages"
US_CORE_TGZ = SHARED_PACKAGES / "hl7.fhir.us.core-6.1.0.tgz"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"

#: Examples whose errors are right: file -> (rule id of each error, why).
GENUINE_ERRORS: dict[str, tuple[str, str]] = {
    name: ("profile-unknown", "declares http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire; the "
                              "SDC package (a US Core dependency) is not available, so it cannot be checked")
    for name in ("Questionnaire-hunger-vital-sign-example.json", "Questionnaire-phq-9-example.json",
                 "Questionnaire-prapare-example.json")
}

#: With generated snapshots only: us-core-questionnaireresponse is based on SDC's QuestionnaireResponse
#: profile, which we do not have, so its snapshot cannot be generated (the published one is complete).
NOT_GENERATED = "us-core-questionnaireresponse"


@pytest.fixture(scope="session")
def us_core_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not US_CORE_TGZ.is_file():
        pytest.skip(f"{US_CORE_TGZ} is not there (public test packages are optional)")
    target = tmp_path_factory.mktemp("us-core")
    with tarfile.open(US_CORE_TGZ, "r:gz") as archive:
        archive.extractall(target, filter="data")
    return target / "package"


@pytest.fixture(scope="session")
def differential_only_folder(us_core_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """US Core with the snapshots of its profiles dropped, as SUSHI would ship it."""
    target = tmp_path_factory.mktemp("us-core-differential") / "package"
    shutil.copytree(us_core_folder, target, ignore=shutil.ignore_patterns("example", ".index.json"))
    for path in target.glob("StructureDefinition-*.json"):
        structure = json.loads(path.read_text(encoding="utf-8"))
        if structure.get("derivation") == "constraint":
            structure.pop("snapshot", None)
            path.write_text(json.dumps(structure), encoding="utf-8")
    return target


def _load(settings: Settings, folder: Path) -> Definitions:
    return Definitions.load(settings.fhir_packages, settings.core_packages, (str(folder),),
                            settings.effective_compiled_cache_dir)


@pytest.fixture(scope="session")
def published(base_settings: Settings, us_core_folder: Path) -> Validator:
    return Validator(_load(base_settings, us_core_folder))


@pytest.fixture(scope="session")
def generated(base_settings: Settings, differential_only_folder: Path) -> Validator:
    return Validator(_load(base_settings, differential_only_folder))


@pytest.fixture(scope="session")
def examples(us_core_folder: Path) -> dict[str, dict]:
    found = {path.name: simplejson.loads(path.read_bytes(), use_decimal=True)
             for path in sorted((us_core_folder / "example").glob("*.json"))}
    assert len(found) > 150
    return found


def describe(issues: list[Issue]) -> str:
    return "\n".join(f"  {i.severity} [{i.rule_id}] {i.expression}: {i.diagnostics}" for i in issues)


def declares(resource: dict, profile_id: str) -> bool:
    return US_CORE + profile_id in (resource.get("meta") or {}).get("profile", [])


def test_examples_have_no_false_errors(published: Validator, examples: dict[str, dict]) -> None:
    failures = []
    for name, resource in examples.items():
        found = [issue for issue in published.validate(resource) if issue.is_error]
        expected = GENUINE_ERRORS.get(name)
        if expected is not None:
            assert found and {issue.rule_id for issue in found} == {expected[0]}, f"{name}:\n{describe(found)}"
        elif found:
            failures.append(f"{name}:\n{describe(found)}")
    assert not failures, "\n".join(failures)


def test_every_invariant_of_the_examples_is_evaluated(published: Validator, examples: dict[str, dict]) -> None:
    """No constraint of US Core or R4 is left "not evaluable" on the examples."""
    unevaluated = [f"{name}: {issue.diagnostics}" for name, resource in examples.items()
                   for issue in published.validate(resource) if "could not be evaluated" in issue.diagnostics]
    assert not unevaluated, "\n".join(unevaluated)


def test_generated_snapshots_give_the_same_results(published: Validator, generated: Validator,
                                                   examples: dict[str, dict]) -> None:
    differences = []
    compared = 0
    for name, resource in examples.items():
        if declares(resource, NOT_GENERATED):
            found = [i for i in generated.validate(resource) if i.is_error]
            assert {i.rule_id for i in found} == {"profile-unknown"}, f"{name}:\n{describe(found)}"
            assert "its snapshot cannot be built" in found[0].diagnostics
            continue
        compared += 1
        expected, actual = published.validate(resource), generated.validate(resource)
        if expected != actual:
            differences.append(f"{name}: published\n{describe(expected)}\ngenerated\n{describe(actual)}")
    assert compared > 170
    assert not differences, "\n".join(differences)


def _outline(elements: tuple[dict, ...]) -> list[tuple]:
    """What must agree between two snapshots: ids in order, cardinalities, types, fixed/pattern values."""
    return [(e["id"], e.get("min"), e.get("max"), tuple(t.get("code") for t in e.get("type", [])),
             tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in e.items()
                          if k.startswith(("fixed", "pattern")))),
             (e.get("slicing") or {}).get("rules"), (e.get("binding") or {}).get("valueSet"))
            for e in elements]


def test_generated_snapshots_match_the_published_ones(published: Validator) -> None:
    definitions = published.definitions
    published_snapshots, generated_snapshots = Snapshots(definitions), Snapshots(definitions, regenerate=True)
    urls = [url for url in definitions.urls("StructureDefinition")
            if url.startswith(US_CORE) and not url.endswith(NOT_GENERATED)]
    assert len(urls) == 58
    mismatched = []
    for url in urls:
        expected, actual = _outline(published_snapshots.elements(url)), _outline(generated_snapshots.elements(url))
        if expected != actual:
            diff = [f"    published {e}\n    generated {a}" for e, a in zip(expected, actual, strict=False) if e != a]
            mismatched.append(f"{url} ({len(expected)} vs {len(actual)} elements):\n" + "\n".join(diff[:3]))
    assert not mismatched, "\n".join(mismatched)


@pytest.mark.parametrize("profile_id", ["us-core-patient", "us-core-blood-pressure", "us-core-race",
                                        "us-core-smokingstatus", "us-core-pulse-oximetry"])
def test_a_generated_snapshot_in_detail(published: Validator, profile_id: str) -> None:
    """Slices, renamed choices (``effectiveDateTime``), type slices with their children and extension
    slices come out as the IG Publisher wrote them, element for element."""
    definitions = published.definitions
    expected = Snapshots(definitions).elements(US_CORE + profile_id)
    actual = Snapshots(definitions, regenerate=True).elements(US_CORE + profile_id)
    assert [e["id"] for e in actual] == [e["id"] for e in expected]
    for mine, theirs in zip(actual, expected, strict=True):
        for key in ("path", "min", "max", "sliceName", "binding", "slicing", "fixedUri", "fixedCode",
                    "patternCodeableConcept", "patternCoding", "mustSupport"):
            assert mine.get(key) == theirs.get(key), f"{mine['id']}.{key}"
        assert _types(mine) == _types(theirs), f"{mine['id']}.type"
        assert _keys(mine, "constraint") == _keys(theirs, "constraint"), f"{mine['id']}.constraint"


def _types(element: dict) -> list[tuple]:
    """Type codes with their profiles (the IG Publisher also rewrites type extensions, which do not
    matter to validation)."""
    return [(t.get("code"), tuple(t.get("profile", [])), tuple(t.get("targetProfile", [])))
            for t in element.get("type", [])]


def _keys(element: dict, key: str) -> list[str]:
    return sorted(c.get("key", "") for c in element.get(key, []))


# --- real profiles catch real mistakes ----------------------------------------------------------------------


def test_us_core_checks_catch_mistakes(published: Validator, examples: dict[str, dict]) -> None:
    patient = copy.deepcopy(examples["Patient-example.json"])
    del patient["identifier"]
    patient["extension"][0]["extension"][0]["valueCoding"]["code"] = "2106"
    encounter = copy.deepcopy(examples["Encounter-example-1.json"])
    encounter["subject"] = {"reference": "Group/g1"}
    pressure = copy.deepcopy(examples["Observation-blood-pressure.json"])
    pressure["component"][0]["valueQuantity"]["code"] = "mmHg"

    found = {(i.expression, i.rule_id) for r in (patient, encounter, pressure)
             for i in published.validate(r) if i.is_error}
    assert found == {
        ("Patient.identifier", "cardinality"),
        ("Patient.extension[0].extension[0].value.ofType(Coding)", "binding"),  # not a CDC race code
        ("Encounter.subject", "target-profile"),
        ("Observation.component[0].value.ofType(Quantity).code", "fixed"),
    }
