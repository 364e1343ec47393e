"""The profile layer: each check of a profile catches what it should, and says so plainly.

The profiles are small differential-only StructureDefinitions in ``validation_package/`` (so every test
also exercises snapshot generation): a member Patient, an Observation with every kind of slicing, two
extensions, a ContactPoint profile, an Organization profile and a Questionnaire profile that constrains
inside a ``contentReference``. Each failing case changes one thing in a valid resource and asserts the
issue's severity, expression, rule id and words of its diagnostics, and that nothing else is an error.
"""

from __future__ import annotations

import copy
import shutil
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import simplejson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.conformance.definitions import Definitions
from adapter.errors import Issue
from adapter.settings import Settings
from adapter.validation import Validator

FIXTURE_PACKAGE = Path(__file__).parent / "validation_package"
TEST = "https://example.org/test/StructureDefinition/"
CORE = "http://hl7.org/fhir/StructureDefinition/"
XHTML = '<div xmlns="http://www.w3.org/1999/xhtml">{}</div>'


@pytest.fixture(scope="session")
def test_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture profiles in a writable folder (loading writes an ``.index.json``)."""
    folder = tmp_path_factory.mktemp("packages") / "cmp.test.validation"
    shutil.copytree(FIXTURE_PACKAGE, folder)
    return folder


@pytest.fixture(scope="session")
def profile_definitions(base_settings: Settings, test_package: Path) -> Definitions:
    return Definitions.load(base_settings.fhir_packages, base_settings.core_packages, (str(test_package),),
                            base_settings.effective_compiled_cache_dir)


@pytest.fixture(scope="session")
def validator(profile_definitions: Definitions) -> Validator:
    return Validator(profile_definitions)


def errors(issues: list[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue.is_error]


def describe(issues: list[Issue]) -> str:
    return "\n".join(f"  {i.severity} {i.code} [{i.rule_id}] {i.expression}: {i.diagnostics}" for i in issues)


# --- valid resources --------------------------------------------------------------------------------------

PATIENT: dict[str, Any] = {
    "resourceType": "Patient", "id": "p1", "meta": {"profile": [TEST + "test-patient"]},
    "text": {"status": "generated", "div": XHTML.format("Ann Lee")},
    "extension": [{"url": TEST + "test-favorite-color", "valueCode": "red"}],
    "identifier": [{"use": "official", "system": "https://example.org/medicaid", "value": "MA123"}],
    "name": [{"family": "Lee", "given": ["Ann"]}], "telecom": [{"system": "phone", "value": "555-0100"}],
    "gender": "female", "birthDate": "1970-01-01",
    "maritalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}]},
    "multipleBirthInteger": 1, "generalPractitioner": [{"reference": "Practitioner/dr1"}],
    "managingOrganization": {"reference": "Organization/o1"},
    "address": [{"city": "Helena", "extension": [{"url": TEST + "test-address-details",
                                                  "extension": [{"url": "floor", "valueInteger": 2}]}]}],
}

SYSTOLIC = {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 120}}
DIASTOLIC = {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": {"value": 80}}

OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation", "id": "o1", "meta": {"profile": [TEST + "test-observation"]},
    "text": {"status": "generated", "div": XHTML.format("weight")},
    "contained": [{"resourceType": "Practitioner", "id": "dr"}],
    "extension": [{"url": TEST + "test-favorite-color", "valueCode": "blue"}],
    "identifier": [{"system": "https://example.org/obs", "value": "1"},
                   {"system": "https://example.org/other", "value": "2"}],
    "status": "final", "category": [{"text": "vital signs"}],
    "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
    "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2024-01-01",
    "performer": [{"reference": "#dr"}],
    "valueQuantity": {"value": Decimal("72.5"), "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
    "component": [SYSTOLIC, DIASTOLIC],
}

QUESTIONNAIRE: dict[str, Any] = {
    "resourceType": "Questionnaire", "meta": {"profile": [TEST + "test-questionnaire"]}, "status": "draft",
    "text": {"status": "generated", "div": XHTML.format("form")},
    "item": [{"linkId": "1", "type": "group", "text": "Group", "item": [{"linkId": "1.1", "type": "string",
                                                                          "text": "Name"}]}],
}


def changed(base: dict, change: Callable[[dict], object]) -> dict:
    resource = copy.deepcopy(base)
    change(resource)
    return resource


def revalue(extension: dict, key: str, value: object) -> None:
    """Give an extension another value (of another type)."""
    for old in [k for k in extension if k.startswith("value")]:
        del extension[old]
    extension[key] = value


def patient(change: Callable[[dict], object]) -> dict:
    return changed(PATIENT, change)


def observation(change: Callable[[dict], object]) -> dict:
    return changed(OBSERVATION, change)


@pytest.mark.parametrize("resource", [PATIENT, OBSERVATION, QUESTIONNAIRE], ids=["patient", "observation",
                                                                                  "questionnaire"])
def test_the_valid_resources_are_valid(validator: Validator, resource: dict) -> None:
    issues = validator.validate(resource)
    assert not [i for i in issues if i.severity in ("error", "warning")], describe(issues)


# --- one failure per case ---------------------------------------------------------------------------------

#: (case id, resource, severity, expression, rule id, words the diagnostics must contain[, other rule ids
#: the same change also breaks])
FAILURES: list[tuple[Any, ...]] = [
    # cardinality in a profile
    ("min", patient(lambda r: r.pop("name")), "error", "Patient.name", "cardinality",
     "profile 'Test Member' requires at least 1 value for Patient.name, but found 0", {"tp-1"}),
    ("max", patient(lambda r: r.update(telecom=[{"system": "phone", "value": str(n)} for n in range(3)])),
     "error", "Patient.telecom", "cardinality", "3 values, but profile 'Test Member' allows at most 2"),
    ("min-from-a-type-profile-in-the-snapshot", patient(lambda r: r.update(telecom=[{"system": "phone"}])),
     "error", "Patient.telecom[0].value", "cardinality",
     "profile 'Test Member' requires at least 1 value for Patient.telecom.value"),
    ("min-in-a-datatype-profile", patient(lambda r: r.update(contact=[{"name": {"family": "Lee"},
                                                                      "telecom": [{"system": "phone"}]}])),
     "error", "Patient.contact[0].telecom[0].value", "cardinality",
     "profile 'Test Phone' requires at least 1 value for ContactPoint.value"),
    ("min-inside-content-reference", changed(QUESTIONNAIRE, lambda r: r["item"][0]["item"][0].pop("text")),
     "error", "Questionnaire.item[0].item[0].text", "cardinality",
     "requires at least 1 value for Questionnaire.item.item.text"),
    # fixed and pattern
    ("fixed", patient(lambda r: r["identifier"][0].update(use="usual")), "error", "Patient.identifier[0].use",
     "fixed", 'must be exactly "official" (fixed by profile \'Test Member\'), but is "usual"'),
    ("fixed-in-datatype-profile", patient(lambda r: r.update(contact=[{"name": {"family": "Lee"}, "telecom": [
        {"system": "email", "value": "a@b.c"}]}])), "error", "Patient.contact[0].telecom[0].system", "fixed",
     'must be exactly "phone" (fixed by profile \'Test Phone\')'),
    ("fixed-through-renamed-choice", observation(lambda r: r["valueQuantity"].update(code="g")), "error",
     "Observation.value.ofType(Quantity).code", "fixed", 'must be exactly "kg"'),
    ("pattern", observation(lambda r: r["code"]["coding"][0].update(code="8302-2")), "error", "Observation.code",
     "pattern", "must contain a CodeableConcept with coding http://loinc.org|29463-7"),
    # types
    ("type-restriction", patient(lambda r: (r.pop("multipleBirthInteger"), r.update(multipleBirthBoolean=True))),
     "error", "Patient.multipleBirth.ofType(boolean)", "type",
     "a boolean is not allowed here; profile 'Test Member' allows only integer"),
    ("type-slice-of-renamed-choice", observation(lambda r: (r.pop("effectiveDateTime"),
                                                            r.update(effectivePeriod={"start": "2024-01-01"}))),
     "error", "Observation.effective.ofType(Period)", "type", "allows only dateTime"),
    ("target-type", patient(lambda r: r.update(generalPractitioner=[{"reference": "Organization/o1"}])),
     "error", "Patient.generalPractitioner[0]", "target-profile",
     'the reference "Organization/o1" names a Organization, but profile \'Test Member\' only allows references '
     "to Practitioner"),
    # value limits
    ("max-length", patient(lambda r: r["identifier"][0].update(value="MA1234567890")), "error",
     "Patient.identifier[0].value", "max-length", "12 characters, but profile 'Test Member' allows at most 10"),
    ("min-value", patient(lambda r: r.update(birthDate="1850-03-01")), "error", "Patient.birthDate", "min-value",
     'requires at least "1900-01-01"'),
    ("max-value", patient(lambda r: r.update(multipleBirthInteger=12)), "error",
     "Patient.multipleBirth.ofType(integer)", "max-value", "requires at most 9"),
    ("max-value-under-a-type-profile", patient(lambda r: r["telecom"][0].update(rank=9)), "error",
     "Patient.telecom[0].rank", "max-value", "profile 'Test Member' requires at most 5"),
    # slicing: each discriminator, rules and counts
    ("value-discriminator", patient(lambda r: r["identifier"][0].update(system="https://example.org/other")),
     "error", "Patient.identifier", "slice-cardinality",
     "slice 'medicaidId' requires at least 1 item with system = \"https://example.org/medicaid\", but found 0"),
    ("slice-max", patient(lambda r: r["identifier"].append(dict(r["identifier"][0], value="MA999"))), "error",
     "Patient.identifier", "slice-cardinality", "slice 'medicaidId' allows at most 1 item"),
    ("pattern-discriminator", observation(lambda r: r.update(component=[DIASTOLIC])), "error",
     "Observation.component", "slice-cardinality",
     "slice 'systolic' requires at least 1 item with code matching a CodeableConcept with coding "
     "http://loinc.org|8480-6, but found 0"),
    ("closed-slicing", observation(lambda r: r["component"].append(
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}})), "error",
     "Observation.component[2]", "slice-closed",
     "matches none of the slices profile 'Test Observation' allows here, and the slicing is closed. Allowed "
     "slices: 'systolic' (with code matching"),
    ("ordered-slicing", observation(lambda r: r.update(component=[DIASTOLIC, SYSTOLIC])), "error",
     "Observation.component[1]", "slice-order",
     "is in slice 'systolic' but comes after a value of slice 'diastolic'"),
    ("open-at-end", observation(lambda r: r["identifier"].reverse()), "error", "Observation.identifier[1]",
     "slice-order", "requires values in no slice to come last (openAtEnd)"),
    ("exists-discriminator", observation(lambda r: r.update(category=[{"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}])),
     "error", "Observation.category", "slice-cardinality",
     "slice 'described' requires at least 1 item with text present, but found 0"),
    ("type-discriminator-through-resolve", observation(lambda r: r.update(
        contained=[{"resourceType": "Organization", "id": "dr", "name": "Lab"}])), "error",
     "Observation.performer", "slice-cardinality",
     "slice 'practitioner' requires at least 1 item with resolve() of type Practitioner, but found 0"),
    ("extension-path-discriminator", patient(lambda r: r["address"].append(copy.deepcopy(r["address"][0]))),
     "error", "Patient.address", "slice-cardinality",
     "slice 'upstairs' allows at most 1 item with extension('https://example.org/test/StructureDefinition/"
     "test-address-details').extension('floor').value matching 2, but found 2"),
    ("profile-discriminator", observation(lambda r: r["extension"][0].update(valueCode="purple")), "error",
     "Observation.extension", "slice-cardinality",
     "slice 'color' requires at least 1 item conforming to 'Favorite Color', but found 0", {"binding"}),
    # extensions
    ("unknown-extension", patient(lambda r: r["extension"].append({"url": "https://x.org/e", "valueString": "a"})),
     "warning", "Patient.extension[1]", "extension-unknown",
     "unknown extension https://x.org/e: no definition with this URL is loaded, so its content was not checked"),
    ("unknown-modifier-extension", patient(lambda r: r.update(modifierExtension=[
        {"url": "https://x.org/m", "valueBoolean": True}])), "error", "Patient.modifierExtension[0]",
     "extension-unknown", "unknown modifier extension https://x.org/m"),
    ("extension-value-type", patient(lambda r: revalue(r["extension"][0], "valueString", "red")),
     "error", "Patient.extension[0].value.ofType(string)", "type",
     "a string is not allowed here; profile 'Favorite Color' allows only code"),
    ("extension-value-binding", patient(lambda r: r["extension"][0].update(valueCode="purple")), "error",
     "Patient.extension[0].value.ofType(code)", "binding",
     '"purple" is not one of the allowed codes (red, green, blue) of ValueSet '
     "https://example.org/test/ValueSet/test-colors"),
    ("nested-extension-type", patient(lambda r: revalue(r["address"][0]["extension"][0]["extension"][0],
                                                        "valueString", "2nd")), "error",
     "Patient.address[0].extension[0].extension[0].value.ofType(string)", "type", "allows only integer"),
    ("nested-extension-closed", patient(lambda r: r["address"][0]["extension"][0]["extension"].append(
        {"url": "wing", "valueString": "B"})), "error", "Patient.address[0].extension[0].extension[1]",
     "slice-closed", "Allowed slices: 'floor' (with url = \"floor\"); 'note' (with url = \"note\")"),
    ("extension-used-as-modifier", patient(lambda r: r.update(modifierExtension=r.pop("extension"))), "error",
     "Patient.modifierExtension[0]", "extension-modifier", "is not a modifier extension, so it cannot be used "
                                                          "as modifierExtension"),
    # bindings
    ("required-binding", patient(lambda r: r.update(gender="other")), "error", "Patient.gender", "binding",
     '"other" is not one of the allowed codes (male, female) of ValueSet '
     "https://example.org/test/ValueSet/test-gender"),
    ("extensible-binding", patient(lambda r: r["maritalStatus"]["coding"][0].update(code="D")), "warning",
     "Patient.maritalStatus", "binding", "(extensible binding: use one of them when one fits"),
    ("external-code-syntax", observation(lambda r: r["code"]["coding"][0].update(code="weight")), "error",
     "Observation.code", "binding", "'weight' is not a valid LOINC code (digits, a dash and a check digit",
     {"pattern"}),
    # invariants
    ("invariant-error", patient(lambda r: r["name"][0].pop("family")), "error", "Patient", "tp-1",
     "A member needs a family name (constraint tp-1 of profile 'Test Member': name.family.exists())"),
    ("invariant-warning", patient(lambda r: r.pop("telecom")), "warning", "Patient", "tp-2",
     "A member should have a phone or e-mail"),
    ("base-invariant-in-a-datatype", observation(lambda r: r.update(
        referenceRange=[{"low": {"value": 1, "system": "http://unitsofmeasure.org", "code": "kg"},
                         "high": {"value": 2, "code": "kg"}}])), "error",
     "Observation.referenceRange[0].high", "qty-3", "If a code for the unit is present, the system SHALL also be"),
    # unknown profiles
    ("unknown-meta-profile", patient(lambda r: r["meta"]["profile"].append("https://x.org/StructureDefinition/p")),
     "error", "Patient.meta.profile[1]", "profile-unknown",
     "the profile https://x.org/StructureDefinition/p cannot be checked: no StructureDefinition with this URL "
     "is loaded"),
]


@pytest.mark.parametrize(("resource", "severity", "expression", "rule_id", "words", "also"),
                         [(*case[1:6], case[6] if len(case) > 6 else set()) for case in FAILURES],
                         ids=[case[0] for case in FAILURES])
def test_each_profile_check_reports_its_failure(validator: Validator, resource: dict, severity: str,
                                                expression: str, rule_id: str, words: str, also: set[str]) -> None:
    issues = validator.validate(resource)
    matching = [i for i in issues if i.expression == expression and i.rule_id == rule_id and words in i.diagnostics]
    assert matching, f"expected {severity} [{rule_id}] at {expression} mentioning {words!r}, got:\n{describe(issues)}"
    assert all(i.severity == severity for i in matching)
    assert matching[0].diagnostics.startswith(expression), "diagnostics name the element first"
    others = [i for i in issues if i.severity in ("error", "warning") and i not in matching
              and i.rule_id not in also]
    assert not others, f"only the one problem; also got:\n{describe(others)}"


def test_snapshots_generated_for_the_fixture_profiles(validator: Validator) -> None:
    """What the differentials leave to the generator: children from a type profile and from a
    ``contentReference``, a renamed choice as a closed type slice, default extension slicing."""
    snapshots = validator.profiles._snapshots
    patient_elements = {e["id"]: e for e in snapshots.elements(TEST + "test-patient")}
    assert patient_elements["Patient.telecom.system"]["fixedCode"] == "phone"  # from test-phone
    assert patient_elements["Patient.telecom.rank"]["maxValuePositiveInt"] == 5
    assert patient_elements["Patient.extension"]["slicing"]["discriminator"] == [{"type": "value", "path": "url"}]
    floor = "Patient.address:upstairs.extension:details.extension:floor"
    assert patient_elements[f"{floor}.url"]["fixedUri"] == "floor"  # from test-address-details
    assert patient_elements[f"{floor}.value[x]"]["patternInteger"] == 2
    observation_elements = {e["id"]: e for e in snapshots.elements(TEST + "test-observation")}
    effective = observation_elements["Observation.effective[x]"]
    assert (effective["min"], [t["code"] for t in effective["type"]]) == (1, ["dateTime"])
    assert effective["slicing"]["rules"] == "closed"
    assert "Observation.effective[x]:effectiveDateTime" in observation_elements
    assert observation_elements["Observation.value[x].code"]["fixedCode"] == "kg"
    assert observation_elements["Observation.component:diastolic"]["min"] == 0
    questionnaire = {e["id"]: e for e in snapshots.elements(TEST + "test-questionnaire")}
    assert questionnaire["Questionnaire.item.item.text"]["min"] == 1
    assert questionnaire["Questionnaire.item.item.linkId"]["min"] == 1  # copied from Questionnaire.item


def test_a_caller_named_profile_is_applied(validator: Validator) -> None:
    resource = {k: v for k, v in PATIENT.items() if k != "meta"}
    assert not errors(validator.validate(resource))
    found = errors(validator.validate(dict(resource, gender="other"), [TEST + "test-patient"]))
    assert [(i.expression, i.rule_id) for i in found] == [("Patient.gender", "binding")]


def test_a_caller_named_unknown_profile_is_an_error(validator: Validator) -> None:
    [issue] = errors(validator.validate(PATIENT, ["https://x.org/StructureDefinition/nowhere"]))
    assert (issue.expression, issue.rule_id) == ("Patient", "profile-unknown")
    assert "https://x.org/StructureDefinition/nowhere" in issue.diagnostics


def test_a_profile_for_another_type_is_an_error(validator: Validator) -> None:
    [issue] = errors(validator.validate(PATIENT, [TEST + "test-observation"]))
    assert issue.rule_id == "profile-type"
    assert "is a profile for Observation, not for Patient" in issue.diagnostics


def test_base_invariants_when_the_base_definition_is_named(validator: Validator) -> None:
    """Base invariants are part of every profile; naming the base definition checks them alone."""
    resource = {"resourceType": "Patient", "contact": [{"gender": "male"}]}
    assert not errors(validator.validate(resource))
    [issue] = errors(validator.validate(resource, [CORE + "Patient"]))
    assert (issue.expression, issue.rule_id) == ("Patient.contact[0]", "pat-1")
    assert "SHALL at least contain a contact's details or a reference to an organization" in issue.diagnostics


def test_codes_of_external_systems_are_not_checked(validator: Validator) -> None:
    resource = observation(lambda r: r["code"]["coding"].append({"system": "http://loinc.org", "code": "3141-9"}))
    notes = [i for i in validator.validate(resource) if i.rule_id == "binding"]
    assert [(n.severity, n.expression) for n in notes] == [("information", "Observation.code")]
    assert "was not checked against ValueSet" in notes[0].diagnostics


# --- Bundles ------------------------------------------------------------------------------------------------


def transaction(*entries: tuple[str, dict]) -> dict:
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"fullUrl": url, "resource": resource,
                       "request": {"method": "POST", "url": resource["resourceType"]}} for url, resource in entries]}


ORGANIZATION_URL = "urn:uuid:9f1a1c1e-0000-4000-8000-000000000001"
PATIENT_URL = "urn:uuid:9f1a1c1e-0000-4000-8000-000000000002"


def bundled_patient(organization: dict) -> dict:
    member = patient(lambda r: r.update(managingOrganization={"reference": ORGANIZATION_URL}))
    return transaction((ORGANIZATION_URL, organization), (PATIENT_URL, member))


def test_bundle_entries_are_validated_against_their_profiles(validator: Validator) -> None:
    bundle = bundled_patient({"resourceType": "Organization", "name": "Team A"})
    bundle["entry"][1]["resource"]["gender"] = "other"
    found = errors(validator.validate(bundle))
    assert [(i.expression, i.rule_id) for i in found] == [("Bundle.entry[1].resource.gender", "binding")]


def test_bundle_reference_resolves_by_full_url(validator: Validator) -> None:
    """managingOrganization must be a test-organization: the entry it names by fullUrl has no name."""
    assert not errors(validator.validate(bundled_patient({"resourceType": "Organization", "name": "Team A"})))
    found = errors(validator.validate(bundled_patient({"resourceType": "Organization"})))
    assert [(i.expression, i.rule_id) for i in found] == [("Bundle.entry[1].resource.managingOrganization",
                                                           "target-profile")]
    assert (f'the reference "{ORGANIZATION_URL}" resolves to a Organization (an entry of this Bundle), which '
            "does not conform to profile 'Test Organization'") in found[0].diagnostics


def test_bundle_reference_to_the_wrong_type(validator: Validator) -> None:
    found = errors(validator.validate(bundled_patient({"resourceType": "Practitioner"})))
    assert [(i.expression, i.rule_id) for i in found] == [("Bundle.entry[1].resource.managingOrganization",
                                                           "target-profile")]
    assert "resolves to a Practitioner (an entry of this Bundle)" in found[0].diagnostics


def test_bundle_urn_reference_that_names_no_entry(validator: Validator) -> None:
    bundle = bundled_patient({"resourceType": "Organization", "name": "Team A"})
    bundle["entry"][0]["fullUrl"] = "urn:uuid:9f1a1c1e-0000-4000-8000-00000000000f"
    found = errors(validator.validate(bundle))
    assert [(i.expression, i.rule_id) for i in found] == [("Bundle.entry[1].resource.managingOrganization",
                                                           "reference-resolution")]


def test_relative_reference_resolves_against_the_entry_base(validator: Validator) -> None:
    member = patient(lambda r: r.update(managingOrganization={"reference": "Organization/o1"}))
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "https://ehr.example.org/fhir/Organization/o1", "resource": {"resourceType": "Organization",
                                                                                 "id": "o1"}},
        {"fullUrl": "https://ehr.example.org/fhir/Patient/p1", "resource": member}]}
    found = errors(validator.validate(bundle))
    assert [(i.expression, i.rule_id) for i in found] == [("Bundle.entry[1].resource.managingOrganization",
                                                           "target-profile")]


def large_bundle(members: int) -> dict:
    """A transaction of members, each with an Observation that refers to it by fullUrl."""
    entries: list[tuple[str, dict]] = []
    for index in range(members):
        member_url = f"urn:uuid:00000000-0000-4000-8000-{index:012d}"
        entries.append((member_url, dict(PATIENT, id=f"p{index}")))
        subject = {"reference": member_url}
        entries.append((f"urn:uuid:10000000-0000-4000-8000-{index:012d}", dict(OBSERVATION, subject=subject)))
    return transaction(*entries)


def timed(validator: Validator, bundle: dict) -> float:
    start = time.perf_counter()
    issues = validator.validate(bundle)
    elapsed = time.perf_counter() - start
    assert not errors(issues), describe(errors(issues)[:5])
    return elapsed


def test_bundle_validation_is_linear(validator: Validator) -> None:
    """2,000 and 4,000 entries, every Observation resolving its subject in the Bundle: about twice the time.

    The bound is loose (3.5x) so that a busy machine does not fail it; quadratic resolution would be 4x
    and more.
    """
    small, big = large_bundle(1000), large_bundle(2000)
    timed(validator, large_bundle(50))  # compile the profiles first
    small_time = min(timed(validator, small) for _ in range(2))
    big_time = min(timed(validator, big) for _ in range(2))
    assert big_time < 3.5 * small_time, f"2k entries {small_time:.2f}s, 4k entries {big_time:.2f}s"


# --- the core profiles on the official examples -------------------------------------------------------------


def _declared(resource: dict) -> list[str]:
    profiles = (resource.get("meta") or {}).get("profile")
    return profiles if isinstance(profiles, list) else []


def official_examples_with_core_profiles(r4_examples_dir: Path, validator: Validator) -> list[Path]:
    """Examples whose declared profiles are all in the core package (vital signs, shareable value sets...)."""
    found = []
    for path in sorted(r4_examples_dir.glob("*.json")):
        if path.name in ("package.json", ".index.json"):
            continue
        declared = _declared(simplejson.loads(path.read_bytes()))
        if declared and all(validator.profiles.tree(url) is not None for url in declared):
            found.append(path)
    return found


def test_official_vital_signs_examples_have_no_errors(validator: Validator, r4_examples_dir: Path) -> None:
    checked = 0
    for path in sorted(r4_examples_dir.glob("Observation-*.json")):
        resource = simplejson.loads(path.read_bytes(), use_decimal=True)
        if CORE + "vitalsigns" in _declared(resource):
            checked += 1
            found = errors(validator.validate(resource))
            assert not found, f"{path.name}:\n{describe(found)}"
    assert checked >= 10


@pytest.mark.slow
def test_official_examples_that_declare_core_profiles_have_no_errors(validator: Validator,
                                                                     r4_examples_dir: Path) -> None:
    """About 1,900 examples declare core profiles (vitalsigns, shareablevalueset, shareablecodesystem,
    cqf-questionnaire); each is valid against them, base invariants included."""
    paths = official_examples_with_core_profiles(r4_examples_dir, validator)
    assert len(paths) > 1900
    failures = []
    for path in paths:
        found = errors(validator.validate(simplejson.loads(path.read_bytes(), use_decimal=True)))
        if found:
            failures.append(f"{path.name}:\n{describe(found)}")
    assert not failures, "\n".join(failures)


# --- robustness -----------------------------------------------------------------------------------------------

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.text(max_size=12),
                     st.sampled_from(["#dr", "Patient/p1", ORGANIZATION_URL, TEST + "test-favorite-color", "kg"]))
_json = st.recursive(_scalars, lambda children: st.one_of(
    st.lists(children, max_size=3),
    st.dictionaries(st.sampled_from(["url", "valueCode", "valueString", "extension", "reference", "system",
                                     "code", "coding", "value", "text", "profile", "resourceType", "id"]),
                    children, max_size=3)), max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from([PATIENT, OBSERVATION, QUESTIONNAIRE]),
       changes=st.dictionaries(st.sampled_from(["meta", "extension", "modifierExtension", "identifier", "code",
                                                "component", "contained", "performer", "item", "name",
                                                "telecom", "valueQuantity", "effectiveDateTime", "address",
                                                "category", "subject", "managingOrganization"]),
                               _json, max_size=3))
def test_any_content_gives_issues_not_exceptions(validator: Validator, base: dict, changes: dict) -> None:
    resource = copy.deepcopy(base)
    resource.update(changes)
    issues = validator.validate(resource)
    assert all(isinstance(issue, Issue) and issue.diagnostics for issue in issues)
    validator.validate(transaction(("urn:uuid:1", resource), ("urn:uuid:2", copy.deepcopy(PATIENT))))
