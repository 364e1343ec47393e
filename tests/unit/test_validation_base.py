"""Base R4 validation: no false errors on the official examples, and every check catches what it should.

The official examples (``hl7.fhir.r4.examples#4.0.1``) are the reference for "valid": a validator that
flags one of them is wrong, unless the example itself breaks the specification. Those few are listed in
:data:`KNOWN_INVALID_EXAMPLES` with the rule they break, and the sweep also asserts that they are still
flagged for exactly that reason, so the list cannot silently go stale.

``validate`` also applies the profiles an example declares and checks extensions by URL. Examples that
declare a profile the core package does not define (SDC, CQF...) or carry a modifier extension nobody
defines are rejected by policy (issue 4: unknown profiles and modifier extensions are errors, not
passes); they are listed in :data:`REJECTED_BY_POLICY` and must be rejected for exactly that reason.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest
import simplejson

from adapter.conformance.definitions import Definitions
from adapter.errors import Issue
from adapter.validation import Validator
from adapter.validation.terminology import Terminology

#: Files of the examples package that are package metadata, not example resources.
PACKAGE_FILES = frozenset({"package.json", ".index.json"})

#: Official examples that really are invalid R4: file -> (an expression flagged, why it is invalid).
KNOWN_INVALID_EXAMPLES: dict[str, tuple[str, str]] = {
    "DeviceMetric-example.json": (
        "DeviceMetric.parent", "refers to DeviceDefinition/dc102; DeviceMetric.parent is Reference(Device)"),
    "DeviceUseStatement-example.json": (
        "DeviceUseStatement.reasonReference[0]",
        "refers to Procedure/example; reasonReference allows Condition, Observation, DiagnosticReport, "
        "DocumentReference, Media"),
    "MedicationRequest-medrx0301.json": (
        "MedicationRequest.dispenseRequest.performer",
        "refers to Practitioner/f001; dispenseRequest.performer is Reference(Organization)"),
    "Observation-clinical-gender.json": (
        "Observation.performer[0]", "refers to Encounter/example, which Observation.performer does not allow"),
    "Questionnaire-qs1.json": (
        "Questionnaire.item[0].item[0].linkId", "nested display items have no linkId (item.linkId is 1..1)"),
    "ImplementationGuide-fhir.json": (
        "ImplementationGuide.name", "the core package's own IG has no name and no status (both 1..1)"),
    "ig-r4.json": (
        "ImplementationGuide.name", "the same IG resource as ImplementationGuide-fhir.json"),
    "SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json": (
        "SearchParameter.id", "its id has 67 characters; an id has at most 64"),
    **{
        f"SearchParameter-{kind}-extensions-{resource}-{code}.json": (
            "SearchParameter.base",
            "generated search parameters for extensions have no base (SearchParameter.base is 1..*)")
        for kind, resource in (("codesystem", "CodeSystem"), ("valueset", "ValueSet"))
        for code in ("author", "effective", "end", "keyword", "workflow")
    },
}

#: Examples rejected by policy, not by a flaw: file -> (rule id of every error, why).
REJECTED_BY_POLICY: dict[str, tuple[str, str]] = {
    "Basic-referral.json": ("extension-unknown", "three modifierExtensions at http://example.org/do-not-use/..."),
    **{name: ("profile-unknown", "declares a profile that is not in hl7.fhir.r4.core (SDC, CQF, ...)")
       for name in ("Bundle-ussg-fht.json", "Bundle-valueset-expansions.json", "Bundle-valuesets.json",
                    "ValueSet-endpoint-connection-type.json", "ValueSet-endpoint-payload-type.json",
                    "ValueSet-provenance-history-agent-type.json",
                    "ValueSet-provenance-history-record-activity.json")},
}

#: A quick cross-section: the program's resource types, Bundles with nested resources, contained
#: resources, primitive extensions (``_x``), choice types, decimals, and large conformance resources.
REPRESENTATIVE_EXAMPLES = (
    "Patient-example.json", "Encounter-home.json", "Encounter-f001.json", "Observation-example.json",
    "Observation-10minute-apgar-score.json", "Observation-vitals-panel.json", "Condition-example.json",
    "CarePlan-example.json", "CareTeam-example.json", "Coverage-9876B1.json", "EpisodeOfCare-example.json",
    "Claim-100150.json", "MeasureReport-hiv-indicators.json", "Questionnaire-phq-9-questionnaire.json",
    "QuestionnaireResponse-ussg-fht-answers.json", "Provenance-example.json", "AuditEvent-example.json",
    "Group-101.json", "PractitionerRole-example.json", "Bundle-bundle-transaction.json",
    "Bundle-bundle-response-medsallergies.json", "ActivityDefinition-citalopramPrescription.json",
    "StructureDefinition-Patient.json", "ValueSet-administrative-gender.json",
)


@pytest.fixture(scope="module")
def validator(definitions: Definitions) -> Validator:
    return Validator(definitions)


@pytest.fixture(scope="module")
def terminology(definitions: Definitions) -> Terminology:
    return Terminology(definitions)


def load(path: Path) -> dict:
    """Parse as our codec does: FHIR decimals as ``Decimal``."""
    return simplejson.loads(path.read_bytes(), use_decimal=True)


def errors(issues: list[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue.is_error]


def describe(issues: list[Issue]) -> str:
    return "\n".join(f"  {i.severity} {i.code} {i.expression}: {i.diagnostics}" for i in issues)


# --- official examples ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REPRESENTATIVE_EXAMPLES)
def test_representative_examples_have_no_errors(validator: Validator, r4_examples_dir: Path, name: str) -> None:
    issues = errors(validator.validate(load(r4_examples_dir / name)))
    assert not issues, f"{name}:\n{describe(issues)}"


@pytest.mark.slow
def test_no_false_errors_on_the_official_examples(validator: Validator, r4_examples_dir: Path) -> None:
    failures: list[str] = []
    checked = 0
    for path in sorted(r4_examples_dir.glob("*.json")):
        if path.name in PACKAGE_FILES:
            continue
        checked += 1
        found = errors(validator.validate(load(path)))
        policy = REJECTED_BY_POLICY.get(path.name)
        if policy is not None:
            if policy[0] not in {issue.rule_id for issue in found}:
                failures.append(f"{path.name} is listed as rejected for {policy[0]} ({policy[1]}) but is not")
            found = [issue for issue in found if issue.rule_id != policy[0]]
        known = KNOWN_INVALID_EXAMPLES.get(path.name)
        if known is None and found:
            failures.append(f"{path.name}:\n{describe(found)}")
        elif known is not None and known[0] not in {issue.expression for issue in found}:
            failures.append(f"{path.name} is listed as invalid at {known[0]} ({known[1]}) but got:\n"
                            f"{describe(found)}")
    assert checked > 5000
    assert not failures, f"{len(failures)} of {checked} examples:\n" + "\n".join(failures)


# --- hand-made failures -----------------------------------------------------------------------------------

PATIENT = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Chalmers", "given": ["Peter", "James"]}],
           "gender": "male", "birthDate": "1974-12-25"}
ENCOUNTER = {"resourceType": "Encounter", "status": "finished",
             "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
             "subject": {"reference": "Patient/p1"}}
OBSERVATION = {"resourceType": "Observation", "status": "final", "code": {"text": "weight"},
               "valueQuantity": {"value": Decimal("72.5"), "unit": "kg"}}


def patient(**changes: object) -> dict:
    resource = copy.deepcopy(PATIENT)
    resource.update(changes)
    return resource


def observation(**changes: object) -> dict:
    resource = copy.deepcopy(OBSERVATION)
    resource.update(changes)
    return resource


def test_the_hand_made_bases_are_valid(validator: Validator) -> None:
    for resource in (PATIENT, ENCOUNTER, OBSERVATION):
        assert validator.validate(resource) == []


#: (case id, resource, expected expression, issue code, words the diagnostics must contain)
FAILURES = [
    # resourceType
    ("no-resource-type", {"id": "x"}, None, "structure", "no resourceType"),
    ("unknown-resource-type", {"resourceType": "Patientt"}, None, "structure", '"Patientt" is not an R4 resource'),
    ("abstract-resource-type", {"resourceType": "DomainResource"}, None, "structure", "abstract"),
    # unknown elements and choices
    ("unknown-element", patient(nickname="Pete"), "Patient.nickname", "structure", 'unknown element "nickname"'),
    ("unknown-element-at-depth", patient(name=[{"family": "C", "middle": "J"}]), "Patient.name[0].middle",
     "structure", 'unknown element "middle"'),
    ("wrong-choice-type", patient(deceasedString="yes"), "Patient.deceasedString", "structure",
     "String is not an allowed type for deceased[x] (allowed: boolean, dateTime)"),
    ("two-choice-types", observation(valueString="72.5 kg"), "Observation.value", "structure",
     "only one of valueQuantity and valueString"),
    # JSON shape
    ("single-where-array", patient(name={"family": "C"}), "Patient.name", "structure", "must be an array"),
    ("array-where-single", patient(gender=["male"]), "Patient.gender", "structure",
     "must be a single value, not an array"),
    ("complex-array-where-single", patient(maritalStatus=[{"text": "married"}]), "Patient.maritalStatus",
     "structure", "must be a single value"),
    ("string-where-object", patient(name=["Peter"]), "Patient.name[0]", "structure",
     "a HumanName must be a JSON object, not the string"),
    ("string-where-boolean", patient(active="true"), "Patient.active", "value",
     'must be a JSON boolean (true or false), not the string "true"'),
    ("string-where-number", observation(valueQuantity={"value": "72.5"}), "Observation.value.ofType(Quantity).value",
     "value", "a decimal must be a JSON number"),
    ("number-where-string", patient(birthDate=1974), "Patient.birthDate", "value", "must be a JSON string"),
    # primitive formats
    ("bad-date", patient(birthDate="1974-13-01"), "Patient.birthDate", "value", '"1974-13-01" is not a valid date'),
    ("date-not-in-calendar", patient(birthDate="2019-02-29"), "Patient.birthDate", "value",
     "February 2019 has 28 days"),
    ("bad-datetime", patient(deceasedDateTime="2020-01-01T10:00"), "Patient.deceased.ofType(dateTime)", "value",
     "is not a valid dateTime"),
    ("datetime-not-in-calendar", patient(deceasedDateTime="2021-04-31T10:00:00Z"),
     "Patient.deceased.ofType(dateTime)", "value", "April 2021 has 30 days"),
    ("bad-id", patient(id="p_1"), "Patient.id", "value", '"p_1" is not a valid id'),
    ("id-too-long", patient(id="p" * 65), "Patient.id", "value", "is not a valid id"),
    ("bad-uri", patient(implicitRules="http://example.org/my rules"), "Patient.implicitRules", "value",
     "is not a valid uri"),
    ("bad-decimal", observation(valueQuantity={"value": Decimal("NaN")}),
     "Observation.value.ofType(Quantity).value", "value", "NaN is not a valid decimal"),
    ("integer-with-fraction", patient(multipleBirthInteger=Decimal("2.5")), "Patient.multipleBirth.ofType(integer)",
     "value", "2.5 is not a valid integer"),
    ("integer-out-of-range", patient(multipleBirthInteger=2**31), "Patient.multipleBirth.ofType(integer)",
     "value", "2147483648 is out of range for the type integer (-2147483648..2147483647)"),
    ("positive-int-zero", {"resourceType": "Questionnaire", "status": "draft",
                           "item": [{"linkId": "1", "type": "string", "maxLength": 0}],
                           "extension": [{"url": "http://x.org/e", "valuePositiveInt": 0}]},
     "Questionnaire.extension[0].value.ofType(positiveInt)", "value", "0 is not a valid positiveInt"),
    ("unsigned-int-negative", {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                               "valueSampledData": {"origin": {"value": 0}, "period": 1, "dimensions": 1,
                                                    "data": "1"},
                               "extension": [{"url": "http://x.org/e", "valueUnsignedInt": -1}]},
     "Observation.extension[0].value.ofType(unsignedInt)", "value", "-1 is not a valid unsignedInt"),
    ("bad-code-whitespace", patient(gender="male "), "Patient.gender", "value", "is not a valid code"),
    # cardinality
    ("missing-required-top", {"resourceType": "Encounter", "class": ENCOUNTER["class"]}, "Encounter.status",
     "required", "Encounter.status: required element missing (min 1)"),
    ("missing-required-at-depth", observation(component=[{"valueString": "x"}]), "Observation.component[0].code",
     "required", "required element missing (min 1)"),
    ("missing-required-in-nested-backbone", {"resourceType": "Questionnaire", "status": "draft",
                                             "item": [{"linkId": "1", "type": "group",
                                                       "item": [{"type": "string"}]}]},
     "Questionnaire.item[0].item[0].linkId", "required", "required element missing"),
    ("missing-required-choice", {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                                 "subject": {"reference": "Patient/p1"}}, "MedicationRequest.medication",
     "required", "required element missing"),
    ("missing-extension-url", patient(extension=[{"valueString": "x"}]), "Patient.extension[0].url", "required",
     "required element missing"),
    # required bindings
    ("required-code", patient(gender="xyz"), "Patient.gender", "code-invalid",
     '"xyz" is not one of the allowed codes (male, female, other, unknown) of ValueSet '
     "http://hl7.org/fhir/ValueSet/administrative-gender"),
    ("required-code-in-datatype", patient(name=[{"use": "alias", "family": "C"}]), "Patient.name[0].use",
     "code-invalid", '"alias" is not one of the allowed codes (usual, official, temp'),
    ("required-codeable-concept", {"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/p1"},
                                   "clinicalStatus": {"coding": [{
                                       "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                       "code": "cured"}]}},
     "AllergyIntolerance.clinicalStatus", "code-invalid", "cured\" is not one of the allowed codes (active, "
                                                          "inactive, resolved)"),
    ("required-codeable-concept-wrong-system", {
        "resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/p1"},
        "clinicalStatus": {"coding": [{"system": "http://example.org/status", "code": "active"}]}},
     "AllergyIntolerance.clinicalStatus", "code-invalid", "http://example.org/status|active"),
    ("required-codeable-concept-text-only", {"resourceType": "AllergyIntolerance",
                                             "patient": {"reference": "Patient/p1"},
                                             "clinicalStatus": {"text": "active"}},
     "AllergyIntolerance.clinicalStatus", "code-invalid", "no coding given"),
    # references
    ("wrong-reference-target", dict(ENCOUNTER, subject={"reference": "Medication/m1"}), "Encounter.subject",
     "structure", 'the reference "Medication/m1" points to a Medication, but this element only allows '
                  "references to Group, Patient"),
    ("wrong-absolute-reference-target", dict(ENCOUNTER, subject={"reference": "https://x.org/fhir/Device/d1"}),
     "Encounter.subject", "structure", "points to a Device"),
    ("wrong-reference-type", dict(ENCOUNTER, subject={"type": "Practitioner", "display": "Dr X"}),
     "Encounter.subject", "structure", "Reference.type is Practitioner"),
    # nested resources
    ("invalid-contained-type", patient(contained=[{"resourceType": "Thing", "id": "t"}]), "Patient.contained[0]",
     "structure", '"Thing" is not an R4 resource type'),
    ("invalid-contained-content", patient(contained=[{"resourceType": "Patient", "id": "c", "gender": "xyz"}]),
     "Patient.contained[0].gender", "code-invalid", '"xyz" is not one of the allowed codes'),
    ("invalid-bundle-entry", {"resourceType": "Bundle", "type": "collection",
                              "entry": [{"resource": PATIENT}, {"resource": PATIENT},
                                        {"resource": dict(OBSERVATION, subject={"reference": "Claim/c1"})}]},
     "Bundle.entry[2].resource.subject", "structure", "points to a Claim"),
    ("invalid-parameters-resource", {"resourceType": "Parameters",
                                     "parameter": [{"name": "p", "resource": patient(birthDate="1974-02-30")}]},
     "Parameters.parameter[0].resource.birthDate", "value", "February 1974 has 28 days"),
    # empty values and null
    ("empty-string", patient(name=[{"given": ["Peter", ""]}]), "Patient.name[0].given[1]", "value",
     "empty string: FHIR does not allow empty values"),
    ("empty-object", patient(maritalStatus={}), "Patient.maritalStatus", "invariant", "empty object"),
    ("empty-array", patient(telecom=[]), "Patient.telecom", "structure", "empty array"),
    ("empty-primitive-array", patient(name=[{"given": []}]), "Patient.name[0].given", "structure", "empty array"),
    ("null-single", patient(gender=None), "Patient.gender", "structure", "null is not allowed"),
    ("null-complex-item", patient(name=[None]), "Patient.name[0]", "structure", "null is not allowed"),
    ("null-primitive-without-companion", patient(name=[{"given": ["Peter", None]}]), "Patient.name[0].given[1]",
     "structure", "null is only allowed where the _given array has an extension"),
    # _x companions
    ("companion-not-object", patient(_gender="male"), "Patient.gender", "structure",
     "_gender must hold an object with id/extension"),
    ("companion-with-value", patient(_gender={"value": "male"}), "Patient.gender.value", "structure",
     'unknown element "value" (not defined for the _x object of a code (id and extension only))'),
    ("companion-empty", patient(_birthDate={}), "Patient.birthDate", "invariant", "empty object"),
    ("companion-of-complex", patient(_name=[{"id": "n"}]), "Patient._name", "structure",
     "_name is only allowed next to a primitive element, and name is a HumanName"),
    ("companion-misaligned", patient(name=[{"given": ["Peter", "James"], "_given": [None]}]),
     "Patient.name[0].given", "structure", "the _given array has 1 items but given has 2"),
    ("companion-unknown-element", patient(_nickname={"id": "x"}), "Patient._nickname", "structure",
     'unknown element "_nickname"'),
]


@pytest.mark.parametrize(("resource", "expression", "code", "words"),
                         [case[1:] for case in FAILURES], ids=[case[0] for case in FAILURES])
def test_each_check_reports_its_failure(validator: Validator, resource: dict, expression: str | None,
                                        code: str, words: str) -> None:
    found = errors(validator.validate(resource))
    matching = [i for i in found if i.expression == expression and i.code == code and words in i.diagnostics]
    assert matching, f"expected {code} at {expression} mentioning {words!r}, got:\n{describe(found)}"
    assert all(i.severity == "error" for i in matching)
    assert len(found) == 1, f"one problem, one error; got:\n{describe(found)}"
    if expression:
        assert matching[0].diagnostics.startswith(expression), "diagnostics name the element first"


def test_ele1_is_named_for_empty_objects(validator: Validator) -> None:
    [issue] = errors(validator.validate(patient(maritalStatus={})))
    assert issue.rule_id == "ele-1"


def only_unknown_extension_warnings(issues: list[Issue]) -> bool:
    """Valid, apart from extensions made up for the test (which the server warns about)."""
    return all(issue.severity == "warning" and issue.rule_id == "extension-unknown" for issue in issues)


def test_edge_values_that_are_valid(validator: Validator) -> None:
    """The limits themselves, leap days, partial dates, exponents and huge decimals are all valid R4."""
    resources = [
        patient(birthDate="2020-02-29", deceasedDateTime="2000-02-29T23:59:60+14:00"),
        patient(birthDate="1974", multipleBirthInteger=-(2**31)),
        patient(birthDate="1974-12", multipleBirthInteger=2**31 - 1, id="A-1.b" * 12 + "abcd"),
        observation(valueQuantity={"value": Decimal("1E+400")}),
        observation(valueQuantity={"value": Decimal("-0.000001")}),
        observation(valueQuantity={"value": 3}),
        patient(extension=[{"url": "http://x.org/e", "valueUnsignedInt": 0},
                           {"url": "http://x.org/f", "valuePositiveInt": 2**31 - 1}]),
    ]
    for resource in resources:
        assert only_unknown_extension_warnings(validator.validate(resource)), resource


def test_primitive_extensions_are_valid(validator: Validator) -> None:
    resource = patient(_birthDate={"extension": [{"url": "http://x.org/time", "valueTime": "08:30:00"}]},
                       name=[{"given": ["Peter", None], "_given": [None, {"extension": [
                           {"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier",
                            "valueCode": "CL"}]}]}])
    issues = validator.validate(resource)
    assert only_unknown_extension_warnings(issues)
    assert [issue.expression for issue in issues] == ["Patient.birthDate.extension[0]"]


def test_an_extension_alone_satisfies_a_required_primitive(validator: Validator) -> None:
    absent = {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                             "valueCode": "unknown"}]}
    resource = {k: v for k, v in ENCOUNTER.items() if k != "status"} | {"_status": absent}
    assert validator.validate(resource) == []


def test_contained_and_bundle_references_are_not_guessed(validator: Validator) -> None:
    for reference in ("#p1", "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", "Patient?identifier=x|1",
                      "https://example.org/fhir/Patient/p1/_history/2"):
        assert validator.validate(dict(ENCOUNTER, subject={"reference": reference})) == [], reference
    assert errors(validator.validate(dict(ENCOUNTER, subject={"reference": "Claim?identifier=x"})))


def test_reference_any_allows_every_type(validator: Validator) -> None:
    resource = {"resourceType": "Provenance", "target": [{"reference": "Claim/c1"}],
                "recorded": "2020-01-01T00:00:00Z",
                "agent": [{"who": {"reference": "Practitioner/x"}}]}
    assert validator.validate(resource) == []


def test_a_code_from_an_unheld_system_is_information_only(validator: Validator) -> None:
    resource = patient(photo=[{"contentType": "image/x-unheard-of", "url": "http://x.org/p.png"}])
    issues = validator.validate(resource)
    assert not errors(issues)
    [note] = issues
    assert (note.severity, note.code, note.expression) == ("information", "informational",
                                                           "Patient.photo[0].contentType")
    assert "urn:ietf:bcp:13" in note.diagnostics


def test_validation_is_fast_enough(validator: Validator, r4_examples_dir: Path) -> None:
    """A generous bound (CI machines vary); the benchmark figures are in the commit message."""
    import time

    resource = load(r4_examples_dir / "Patient-example.json")
    validator.validate(resource)
    start = time.perf_counter()
    for _ in range(200):
        validator.validate(resource)
    assert (time.perf_counter() - start) / 200 < 0.001


# --- terminology ------------------------------------------------------------------------------------------

V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def test_concept_list_value_set(terminology: Terminology) -> None:
    """units-of-time lists UCUM codes: they are enumerable even though we do not hold UCUM."""
    expansion = terminology.expand("http://hl7.org/fhir/ValueSet/units-of-time")
    assert expansion.is_closed
    assert expansion.order == ("s", "min", "h", "d", "wk", "mo", "a")
    assert expansion.contains("http://unitsofmeasure.org", "wk") is True
    assert expansion.contains("http://unitsofmeasure.org", "week") is False
    assert expansion.contains(None, "h") is True


def test_whole_system_value_set(terminology: Terminology) -> None:
    expansion = terminology.expand("http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1")
    assert expansion.is_closed
    assert expansion.describe() == "male, female, other, unknown"
    assert expansion.contains("http://hl7.org/fhir/administrative-gender", "female") is True
    assert expansion.contains("http://example.org/gender", "female") is False
    assert expansion.contains(None, "xyz") is False


def test_whole_system_recurses_into_nested_concepts(terminology: Terminology) -> None:
    expansion = terminology.expand("http://terminology.hl7.org/ValueSet/v3-ActCode")
    assert expansion.contains(V3_ACT_CODE, "AMB") is True  # nested under _ActEncounterCode
    assert expansion.contains(V3_ACT_CODE, "_ActAccountCode") is True


def test_is_a_filter_with_exclude(terminology: Terminology) -> None:
    """v3-ActEncounterCode: is-a _ActEncounterCode, excluding the abstract head itself."""
    expansion = terminology.expand("http://terminology.hl7.org/ValueSet/v3-ActEncounterCode")
    assert expansion.is_closed
    assert set(expansion.order) == {"AMB", "EMER", "FLD", "HH", "IMP", "ACUTE", "NONAC", "OBSENC", "PRENC",
                                    "SS", "VR"}
    assert expansion.contains(V3_ACT_CODE, "ACUTE") is True  # a grandchild
    assert expansion.contains(V3_ACT_CODE, "_ActEncounterCode") is False  # excluded
    assert expansion.contains(V3_ACT_CODE, "PBILLACCT") is False  # another branch


def test_descendent_of_filter(terminology: Terminology) -> None:
    expansion = terminology.expand("http://hl7.org/fhir/ValueSet/inactive")
    assert expansion.contains("http://terminology.hl7.org/CodeSystem/v3-ActMood", "GOL") is True
    assert expansion.contains("http://terminology.hl7.org/CodeSystem/v3-ActMood", "_ActMoodPredicate") is False


def test_exclude_of_listed_concepts(terminology: Terminology) -> None:
    expansion = terminology.expand("http://hl7.org/fhir/ValueSet/encounter-participant-type")
    participation = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
    assert expansion.contains(participation, "ADM") is True  # from the is-a filter
    assert expansion.contains(participation, "SPRF") is True  # listed
    assert expansion.contains(participation, "_ParticipationAncillary") is False  # excluded
    assert expansion.contains("http://terminology.hl7.org/CodeSystem/participant-type", "translator") is True


def test_unknown_system_is_not_checked(terminology: Terminology) -> None:
    expansion = terminology.expand("http://hl7.org/fhir/ValueSet/mimetypes")
    assert not expansion.is_closed
    assert expansion.contains("urn:ietf:bcp:13", "application/pdf") is None
    assert expansion.contains(None, "anything") is None
    assert "urn:ietf:bcp:13" in expansion.unknown_reason()


def test_mixed_value_set_checks_only_what_it_holds(terminology: Terminology) -> None:
    """care-team-category draws on LOINC: LOINC codes are unknown, other systems are certainly out."""
    expansion = terminology.expand("http://hl7.org/fhir/ValueSet/care-team-category")
    assert expansion.contains("http://loinc.org", "LA27976-2") is None
    assert expansion.contains("http://example.org/other", "LA27976-2") is False


def test_unsupported_filter_is_not_checked(terminology: Terminology) -> None:
    """example-filter filters on a property its code system does not define: we cannot say."""
    expansion = terminology.expand("http://hl7.org/fhir/ValueSet/example-filter")
    assert expansion.contains("http://hl7.org/fhir/CodeSystem/example", "chol") is None
    assert "not supported" in expansion.unknown_reason()


def test_missing_value_set_is_not_checked(terminology: Terminology) -> None:
    expansion = terminology.expand("http://example.org/ValueSet/nowhere")
    assert expansion.contains("http://example.org", "x") is None


def test_expansions_are_memoized_per_url(terminology: Terminology) -> None:
    first = terminology.expand("http://hl7.org/fhir/ValueSet/administrative-gender")
    assert terminology.expand("http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1") is first
