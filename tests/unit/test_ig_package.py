"""The implementation guide package ``cmp.fhir.ig`` (``profiles/``) and its examples (``examples/fhir/``).

The package is compiled from FSH by ``scripts/build_ig.py`` (CI runs ``--check``, which needs Node). These
tests need no Node: they read the committed package and check what BRIEF §2-3 and issue 3 ask of it, that
the examples are valid (or invalid exactly as labelled, checked with our validator's profile layer and,
for invariants, with fhirpathpy directly) and that the generated files are not stale.

Which constraint carries which program rule is written down below (:data:`RULE_CONSTRAINTS`), so that a
rule cannot silently lose its constraint.
"""

from __future__ import annotations

import copy
import importlib.util
import re
import sys
import tarfile
from collections import Counter
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
import simplejson
from fhirpathpy import compile as compile_fhirpath
from fhirpathpy.models import models

from adapter.conformance.definitions import Definitions
from adapter.validation import Validator

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / "profiles"
EXAMPLES = REPO / "examples" / "fhir"
US_CORE_PACKAGE = REPO.parent / "shared" / "fhir-packages" / "hl7.fhir.us.core-6.1.0.tgz"
CANONICAL = "https://cmp-adapter.org/fhir"
EXPECTATION_SYSTEM = f"{CANONICAL}/CodeSystem/example-expectation"
PACKAGE_FILES = ("package.json", ".index.json")

#: BRIEF §3: profile id -> the resource type it constrains.
BRIEF_PROFILES = {
    "cmp-member": "Patient", "cmp-coverage": "Coverage", "cmp-enrollment": "EpisodeOfCare",
    "cmp-team-organization": "Organization", "cmp-team": "CareTeam", "cmp-sdmi-determination": "Observation",
    "cmp-loi-rating": "Observation", "cmp-treatment-plan": "CarePlan", "cmp-quality-contact": "Encounter",
    "cmp-team-meeting": "Encounter", "cmp-claim": "Claim", "cmp-claim-response": "ClaimResponse",
    "shared-care-plan": "CarePlan", "shared-care-team": "CareTeam", "shared-plan-service": "ServiceRequest",
    "care-coordination-form": "QuestionnaireResponse", "care-management-fee-claim": "Claim",
}
BRIEF_MEASURES = ("cmp-weekly-contact", "cmp-team-meeting", "followup-after-discharge")

#: BRIEF §2, every rule id.
RULES = (
    "CMP-ELIG-1", "CMP-ELIG-2", "CMP-ELIG-3", "CMP-ELIG-4", "CMP-TEAM-1", "CMP-TEAM-2", "CMP-ITP-1", "CMP-QC-1",
    "CMP-QC-2", "CMP-TM-1", "CMP-BILL-1", "CMP-BILL-2", "CMP-BILL-3", "CMP-BILL-4", "SCP-1", "SCP-2", "SCP-3",
    "SCP-4", "SCP-5", "PCCM-1", "PCCM-2", "PCMH-1", "PCMH-2", "PCMH-3",
)

#: Each rule that can be seen on one resource -> (profile id, constraint key or ElementDefinition id) pairs
#: that carry it. A key names an invariant whose text cites the rule; an element id names a cardinality,
#: binding, pattern or slice whose short or definition cites it. The part of a rule that spans resources or
#: time (every week, per week across claims, one plan per member...) is the rules layer's and a measure's.
RULE_CONSTRAINTS: dict[str, list[tuple[str, str]]] = {
    "CMP-ELIG-1": [("cmp-sdmi-determination", "cmp-elig-1"), ("cmp-sdmi-determination", "Observation.value[x]")],
    "CMP-ELIG-2": [("cmp-sdmi-determination", "cmp-elig-2"),
                   ("cmp-sdmi-determination", "Observation.component:dangerToSelfOrOthers")],
    "CMP-ELIG-3": [("cmp-sdmi-determination", "cmp-elig-3"),
                   ("cmp-sdmi-determination", "Observation.component:loiArea3"),
                   ("cmp-sdmi-determination", "Observation.component:loiArea4"),
                   ("cmp-loi-rating", "Observation.code"), ("cmp-loi-rating", "Observation.value[x]")],
    "CMP-ELIG-4": [("cmp-sdmi-determination", "cmp-elig-4"),
                   ("cmp-sdmi-determination", "Observation.component:ableAndWilling")],
    "CMP-TEAM-1": [("cmp-team-organization", "Organization.type:teamType"),
                   ("cmp-team-organization", "Organization.extension:cmpApproval"),
                   ("cmp-enrollment", "EpisodeOfCare.managingOrganization"),
                   ("cmp-team", "CareTeam.managingOrganization")],
    "CMP-ITP-1": [("cmp-treatment-plan", "CarePlan.activity"), ("cmp-treatment-plan", "CarePlan.activity.detail.code"),
                  ("cmp-quality-contact", "Encounter.extension:treatmentPlan")],
    "CMP-QC-1": [("cmp-quality-contact", "Encounter.class"), ("cmp-quality-contact", "Encounter.participant")],
    "CMP-QC-2": [("cmp-quality-contact", "Encounter.extension:purpose"),
                 ("cmp-quality-contact", "Encounter.extension:treatmentPlan")],
    "CMP-TM-1": [("cmp-team-meeting", "Encounter.type:meetingType"), ("cmp-team-meeting", "Encounter.subject"),
                 ("cmp-team-meeting", "Encounter.participant")],
    "CMP-BILL-1": [("cmp-claim", "cmp-bill-1"), ("cmp-claim", "Claim.item.encounter"),
                   ("cmp-claim", "Claim.item.quantity"), ("cmp-claim", "Claim.item.unitPrice")],
    "CMP-BILL-2": [("cmp-claim", "cmp-bill-2"), ("cmp-claim", "cmp-bill-2-days"), ("cmp-claim", "cmp-bill-2-in-period"),
                   ("cmp-claim", "Claim.item")],
    "CMP-BILL-3": [("cmp-claim", "cmp-bill-3"), ("cmp-claim", "Claim.type"),
                   ("cmp-claim", "Claim.item.productOrService"), ("cmp-claim", "Claim.item.detail")],
    "CMP-BILL-4": [("cmp-claim", "cmp-bill-4")],
    "SCP-1": [("shared-care-plan", "scp-1"), ("shared-care-plan", "CarePlan.careTeam"),
              ("shared-care-plan", "CarePlan.category:mltcProgram"),
              ("shared-care-team", "CareTeam.managingOrganization")],
    "SCP-2": [("shared-care-team", "scp-2"), ("shared-care-team", "scp-2-basis"),
              ("shared-care-team", "CareTeam.participant:leadCareManager"),
              ("shared-care-team", "CareTeam.participant:leadCareManager.extension:basis"),
              ("shared-care-plan", "CarePlan.extension:custodian"), ("care-coordination-form", "scp-2-form")],
    "SCP-3": [("shared-plan-service", "ServiceRequest.extension:coordinator"),
              ("shared-plan-service", "ServiceRequest.extension:planCoverage"),
              ("shared-care-plan", "CarePlan.activity.reference")],
    "SCP-4": [("care-coordination-form", "QuestionnaireResponse.questionnaire"),
              ("shared-care-plan", "CarePlan.supportingInfo")],
    "SCP-5": [("shared-plan-service", "ServiceRequest.extension:coordinator")],
    "PCCM-1": [("pccm-member", "Patient.generalPractitioner"), ("care-management-fee-claim", "Claim.provider")],
    "PCCM-2": [("care-management-fee-claim", "pccm-2"), ("care-management-fee-claim", "Claim.item.productOrService")],
    "PCMH-1": [("care-management-fee-claim", "pcmh-1"), ("care-management-fee-claim", "Claim.item.quantity"),
               ("care-management-fee-claim", "Claim.item.unitPrice")],
}

#: Rules no single resource can show, and where they are measured instead.
CROSS_RESOURCE_RULES = {
    "CMP-TEAM-2": "a team's CMP members against all its PACT/MCT members: rules layer",
    "PCMH-2": "incentive from quality, utilization and experience metrics: measure reports",
    "PCMH-3": "a contact after each discharge: Measure followup-after-discharge",
}


# --- loading ------------------------------------------------------------------------------------------------

def load_json(path: Path) -> dict:
    return simplejson.loads(path.read_text(encoding="utf-8"), use_decimal=True)


@cache
def package() -> dict[str, dict]:
    """file name -> resource, for every resource of the package folder."""
    return {p.name: load_json(p) for p in sorted(PROFILES.glob("*.json")) if p.name not in PACKAGE_FILES}


@cache
def profiles() -> dict[str, dict]:
    """profile id -> StructureDefinition (extensions excluded)."""
    return {sd["id"]: sd for sd in package().values()
            if sd["resourceType"] == "StructureDefinition" and sd["type"] != "Extension"}


@cache
def examples(kind: str) -> dict[str, dict]:
    return {p.name: load_json(p) for p in sorted((EXAMPLES / kind).glob("*.json"))}


def profile_of(resource: dict) -> dict:
    return profiles()[resource["meta"]["profile"][0].rsplit("/", 1)[1]]


@cache
def load_script(name: str) -> ModuleType:
    """A module of ``scripts/`` (not a package), registered so that its dataclasses resolve."""
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ig_definitions(base_settings, tmp_path_factory) -> Definitions:
    """The R4 definitions plus our package, loaded as the service loads them."""
    return Definitions.load(base_settings.fhir_packages, base_settings.core_packages, (str(PROFILES),),
                            tmp_path_factory.mktemp("ig-compiled"))


@pytest.fixture(scope="module")
def validator(ig_definitions) -> Validator:
    return Validator(ig_definitions)


def errors(issues) -> list:
    return [i for i in issues if i.severity in ("error", "fatal")]


# --- the package --------------------------------------------------------------------------------------------

def test_the_package_loads_with_our_definitions_loader(ig_definitions):
    for profile_id in BRIEF_PROFILES:
        assert ig_definitions.resource(f"{CANONICAL}/StructureDefinition/{profile_id}") is not None
    assert "purpose" in ig_definitions.search_params("Encounter")
    assert "lead" in ig_definitions.search_params("CareTeam")


def test_the_package_resources_are_valid_r4(validator):
    problems = {name: errors(validator.validate(resource)) for name, resource in package().items()}
    assert {name: issues for name, issues in problems.items() if issues} == {}


def test_package_manifest():
    manifest = load_json(PROFILES / "package.json")
    assert manifest["name"] == "cmp.fhir.ig"
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert manifest["fhirVersions"] == ["4.0.1"]
    assert manifest["dependencies"] == {"hl7.fhir.r4.core": "4.0.1"}
    assert manifest["canonical"] == CANONICAL
    assert manifest["type"] == "IG"


def test_every_brief_profile_is_there_with_its_metadata():
    version = load_json(PROFILES / "package.json")["version"]
    for profile_id, resource_type in BRIEF_PROFILES.items():
        sd = profiles().get(profile_id)
        assert sd is not None, f"no profile {profile_id}"
        assert sd["url"] == f"{CANONICAL}/StructureDefinition/{profile_id}"
        assert sd["type"] == resource_type and sd["derivation"] == "constraint" and sd["kind"] == "resource"
        assert sd["name"] and sd["title"] and sd["status"] and sd["version"] == version
        assert len(sd["description"]) > 80
        assert sd["differential"]["element"] and sd["snapshot"]["element"]


def test_every_conformance_resource_lives_at_its_canonical_url():
    version = load_json(PROFILES / "package.json")["version"]
    for name, resource in package().items():
        assert name == f"{resource['resourceType']}-{resource['id']}.json"
        if "url" in resource:
            assert resource["url"] == f"{CANONICAL}/{resource['resourceType']}/{resource['id']}", name
            assert resource["version"] == version, name
    for measure_id in BRIEF_MEASURES:
        assert package()[f"Measure-{measure_id}.json"]["url"] == f"{CANONICAL}/Measure/{measure_id}"


def test_the_index_lists_exactly_the_files():
    index = load_json(PROFILES / ".index.json")
    assert index["index-version"] == 1
    names = [entry["filename"] for entry in index["files"]]
    assert names == sorted(package())
    for entry in index["files"]:
        resource = package()[entry["filename"]]
        for field in ("resourceType", "id", "url", "version", "kind", "type"):
            assert entry.get(field) == (resource.get(field) if isinstance(resource.get(field), str) else None)


def test_the_implementation_guide_lists_every_resource():
    guide = package()["ImplementationGuide-cmp.fhir.ig.json"]
    listed = {entry["reference"]["reference"] for entry in guide["definition"]["resource"]}
    expected = {f"{r['resourceType']}/{r['id']}" for r in package().values()
                if r["resourceType"] != "ImplementationGuide"}
    assert listed == expected
    assert guide["packageId"] == "cmp.fhir.ig" and guide["fhirVersion"] == ["4.0.1"]


def test_generated_index_and_documentation_are_current():
    build_ig = load_script("build_ig")
    resources = build_ig.read_package(PROFILES)
    assert (PROFILES / ".index.json").read_text(encoding="utf-8") == build_ig.dumps(build_ig.package_index(resources))
    assert (REPO / "docs" / "profiles.md").read_text(encoding="utf-8") == build_ig.render_docs(resources)


def test_descriptions_name_rule_ids_and_the_us_core_alignment():
    for profile_id, sd in profiles().items():
        alignment = [m for m in sd.get("mapping", []) if m["identity"] == "us-core"]
        if alignment:
            us_core_id = alignment[0]["uri"].rsplit("/", 1)[1]
            assert alignment[0]["uri"].startswith("http://hl7.org/fhir/us/core/StructureDefinition/")
            assert "US Core 6.1.0" in sd["description"] and us_core_id in sd["description"], profile_id
        else:
            assert "US Core 6.1.0 has no" in sd["description"], profile_id
    for rule, carriers in RULE_CONSTRAINTS.items():
        for profile_id, _ in carriers:
            assert _names_rule(profiles()[profile_id]["description"], rule), f"{profile_id} does not name {rule}"


def _names_rule(text: str, rule: str) -> bool:
    """Whether ``text`` names ``rule``, also inside a range such as CMP-ELIG-1..4."""
    family, number = rule.rsplit("-", 1)
    for first, last in re.findall(rf"\b{re.escape(family)}-(\d)(?:\.\.(\d))?\b", text):
        if int(first) <= int(number) <= int(last or first):
            return True
    return False


def test_every_single_resource_rule_is_carried_by_a_named_constraint():
    assert set(RULE_CONSTRAINTS) | set(CROSS_RESOURCE_RULES) == set(RULES)
    for rule, carriers in RULE_CONSTRAINTS.items():
        assert carriers
        for profile_id, key in carriers:
            sd = profiles()[profile_id]
            differential = {e["id"]: e for e in sd["differential"]["element"]}
            constraints = {c["key"]: c for e in sd["differential"]["element"] for c in e.get("constraint", [])}
            if key in constraints:
                assert _names_rule(constraints[key]["human"], rule), f"{profile_id} {key} does not cite {rule}"
            else:
                element = differential.get(key)
                assert element is not None, f"{profile_id} has no constraint or element {key}"
                text = f"{element.get('short', '')} {element.get('definition', '')}"
                assert _names_rule(text, rule), f"{profile_id} {key} does not cite {rule}"
    measures = " ".join(package()[f"Measure-{m}.json"]["description"] for m in BRIEF_MEASURES)
    for rule in ("CMP-QC-1", "CMP-TM-1", "PCMH-3"):
        assert rule in measures


def test_invariants_and_search_expressions_compile():
    model = models["r4"]
    for sd in package().values():
        if sd["resourceType"] == "StructureDefinition":
            for element in sd["differential"]["element"]:
                for constraint in element.get("constraint", []):
                    compile_fhirpath(constraint["expression"], model)
    for resource in package().values():
        if resource["resourceType"] == "SearchParameter":
            compile_fhirpath(resource["expression"], model)


def test_the_capability_statement_names_only_known_profiles_and_search_parameters(ig_definitions):
    statement = package()["CapabilityStatement-cmp-adapter-server.json"]
    for resource in statement["rest"][0]["resource"]:
        for url in resource.get("supportedProfile", []):
            assert ig_definitions.resource(url) is not None, url
        for param in resource.get("searchParam", []):
            definition = ig_definitions.resource(param["definition"])
            assert definition is not None, param["definition"]
            assert definition["code"] == param["name"] and definition["type"] == param["type"]


def test_the_medicaid_id_system_of_the_profile_is_the_naming_system():
    naming = package()["NamingSystem-medicaid-member-id.json"]
    slice_system = next(e for e in profiles()["cmp-member"]["differential"]["element"]
                        if e["id"] == "Patient.identifier:medicaidId.system")
    assert slice_system["patternUri"] == naming["uniqueId"][0]["value"]


# --- examples -----------------------------------------------------------------------------------------------

def test_the_examples_are_what_the_generator_writes():
    make_examples = load_script("make_examples")
    files = make_examples.outputs()
    on_disk = {p for kind in ("valid", "invalid") for p in (EXAMPLES / kind).glob("*.json")}
    assert set(files) == on_disk
    stale = [p.name for p, text in files.items() if p.read_text(encoding="utf-8") != text]
    assert stale == []


def test_every_example_declares_a_profile_of_the_package():
    for kind in ("valid", "invalid"):
        for name, resource in examples(kind).items():
            assert name == f"{resource['resourceType']}-{resource['id']}.json"
            declared = resource["meta"]["profile"]
            assert len(declared) == 1 and declared[0].startswith(f"{CANONICAL}/StructureDefinition/"), name
            assert profile_of(resource)["type"] == resource["resourceType"], name


def test_every_profile_has_two_valid_and_three_invalid_examples():
    valid = Counter(profile_of(r)["id"] for r in examples("valid").values())
    invalid = Counter(profile_of(r)["id"] for r in examples("invalid").values())
    assert {p for p in profiles() if valid[p] < 2} == set()
    assert {p for p in profiles() if invalid[p] < 3} == set()


def test_the_story_is_big_enough():
    valid = Counter(profile_of(r)["id"] for r in examples("valid").values())
    assert valid["cmp-member"] >= 10 + 2  # ten or more CMP members, two MLTC/Health Home members
    weeks = {r["period"]["start"][:10] for r in examples("valid").values() if profile_of(r)["id"] == "cmp-team-meeting"}
    assert len(weeks) >= 8
    modes = {r["class"]["code"] for r in examples("valid").values() if profile_of(r)["id"] == "cmp-quality-contact"}
    assert modes == {"AMB", "VR"}
    teams = {r["type"][1]["coding"][0]["code"] for r in examples("valid").values()
             if profile_of(r)["id"] == "cmp-team-organization"}
    assert "mct" in teams and any(t.startswith("pact-") for t in teams)
    programs = {c["coding"][0]["code"] for r in examples("valid").values() if profile_of(r)["id"] == "shared-care-plan"
                for c in r["category"]}
    assert {"mltcp", "map"} <= programs


def test_valid_examples_are_valid(validator):
    problems = {name: errors(validator.validate(resource)) for name, resource in examples("valid").items()}
    assert {name: issues for name, issues in problems.items() if issues} == {}


def test_valid_examples_reference_only_resources_of_the_story():
    valid = examples("valid")
    present = {f"{r['resourceType']}/{r['id']}" for r in valid.values()}
    missing = {(name, target) for name, resource in valid.items() for target in _references(resource)
               if re.fullmatch(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]+", target) and target not in present}
    assert missing == set()


def _references(value: object) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def test_invalid_examples_are_labelled_and_otherwise_valid_r4(validator):
    """Without its profile, each invalid example is valid R4, except that an extension's own definition is
    checked wherever the extension is used: a variant that breaks it (a purpose code outside the value set)
    fails there, and only there."""
    for name, resource in examples("invalid").items():
        tags = [t for t in resource["meta"].get("tag", []) if t.get("system") == EXPECTATION_SYSTEM]
        assert len(tags) == 1 and tags[0].get("display"), name
        sd = profile_of(resource)
        keys = {c["key"] for e in sd["snapshot"]["element"] for c in e.get("constraint", [])}
        element_ids = {e["id"] for e in sd["snapshot"]["element"]}
        assert tags[0]["code"] in keys | element_ids, f"{name}: {tags[0]['code']} is not a constraint of {sd['id']}"
        base_only = copy.deepcopy(resource)
        del base_only["meta"]
        found = errors(validator.validate(base_only))
        if re.search(r"\.extension:[A-Za-z]+$", tags[0]["code"]):
            found = [i for i in found if ".extension[" not in (i.expression or "")]
        assert found == [], name


def test_invalid_examples_fail_on_their_label_only(validator):
    """Validated against their profile, invalid examples fail, and every error is about the labelled
    constraint: the invariant with that key, or the labelled element (slice names and ``[x]`` dropped; an
    error inside an extension or a repeated element counts for the element above it)."""
    def element_path(expression: str | None) -> str:
        return re.sub(r"\.ofType\([A-Za-z]+\)", "", re.sub(r"\[\d+\]", "", expression or ""))

    wrong = {}
    for name, resource in examples("invalid").items():
        label = resource["meta"]["tag"][0]["code"]
        found = errors(validator.validate(resource))
        if "." not in label:
            fine = bool(found) and {i.rule_id for i in found} == {label}
        else:
            path = re.sub(r":[A-Za-z0-9]+", "", label).replace("[x]", "")
            fine = bool(found) and all(element_path(i.expression).startswith(path) for i in found)
        if not fine:
            wrong[name] = [(i.rule_id, i.expression) for i in found]
    assert wrong == {}


@cache
def our_invariants(profile_id: str) -> dict[str, object]:
    """Constraint key -> compiled FHIRPath, for this guide's invariants of a profile (all on the root)."""
    sd = profiles()[profile_id]
    found = {}
    for element in sd["snapshot"]["element"]:
        for constraint in element.get("constraint", []):
            if constraint.get("source", "").startswith(CANONICAL):
                assert "." not in element["path"], f"{constraint['key']} is not on the root; extend this test"
                found[constraint["key"]] = compile_fhirpath(constraint["expression"], models["r4"])
    return found


def failing_invariants(resource: dict) -> set[str]:
    invariants = our_invariants(profile_of(resource)["id"])
    return {key for key, check in invariants.items() if check(resource, {"resource": resource}) != [True]}


def test_valid_examples_satisfy_our_invariants():
    failing = {name: failing_invariants(r) for name, r in examples("valid").items()}
    assert {name: keys for name, keys in failing.items() if keys} == {}


def test_invariant_labelled_invalid_examples_break_exactly_that_invariant():
    checked = 0
    for name, resource in examples("invalid").items():
        expected = resource["meta"]["tag"][0]["code"]
        invariants = our_invariants(profile_of(resource)["id"])
        assert failing_invariants(resource) == ({expected} if expected in invariants else set()), name
        checked += expected in invariants
    assert checked >= 15


# --- US Core 6.1.0 ------------------------------------------------------------------------------------------

@cache
def us_core_profiles() -> dict[str, dict]:
    """US Core 6.1.0 StructureDefinitions by URL, read from the package tarball."""
    found = {}
    with tarfile.open(US_CORE_PACKAGE, "r:gz") as archive:
        for member in archive.getmembers():
            if member.name.startswith("package/StructureDefinition-") and member.name.endswith(".json"):
                sd = simplejson.loads(archive.extractfile(member).read())
                found[sd["url"]] = sd
    return found


def _present(resource: dict, name: str) -> bool:
    if name.endswith("[x]"):
        return any(key.startswith(name[:-3]) and key[len(name) - 3:][:1].isupper() for key in resource)
    return name in resource


def _contains(value: object, pattern: object) -> bool:
    """FHIR pattern matching: every element of the pattern is found in the value."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(_contains(value.get(k), v) for k, v in pattern.items())
    if isinstance(pattern, list):
        items = value if isinstance(value, list) else []
        return all(any(_contains(item, p) for item in items) for p in pattern)
    return value == pattern


def missing_us_core_elements(resource: dict, us_core: dict) -> list[str]:
    """Mandatory elements of a US Core profile a resource lacks: top-level and first-level ones (the latter
    only where their parent is present), and mandatory top-level slices fixed by a pattern."""
    missing = []
    elements = us_core["snapshot"]["element"]
    for element in elements:
        parts = element["id"].split(".")
        if element.get("min", 0) < 1 or len(parts) not in (2, 3) or element["path"].endswith(".id"):
            continue
        if ":" not in element["id"]:
            if len(parts) == 2 and not _present(resource, parts[1]):
                missing.append(element["id"])
            if len(parts) == 3 and parts[1] in resource:
                items = resource[parts[1]] if isinstance(resource[parts[1]], list) else [resource[parts[1]]]
                missing += [element["id"] for item in items if not _present(item, parts[2])]
        elif len(parts) == 2:
            pattern = next((v for k, v in element.items() if k.startswith("pattern")), None)
            items = resource.get(parts[1].split(":")[0], [])
            if pattern is not None and not any(_contains(item, pattern) for item in items):
                missing.append(element["id"])
    return missing


@pytest.mark.skipif(not US_CORE_PACKAGE.is_file(), reason="US Core 6.1.0 package not in ../shared/fhir-packages")
def test_valid_examples_carry_the_mandatory_elements_of_us_core():
    checked = Counter()
    problems = {}
    for name, resource in examples("valid").items():
        alignment = [m for m in profile_of(resource).get("mapping", []) if m["identity"] == "us-core"]
        if not alignment:
            continue
        us_core = us_core_profiles()[alignment[0]["uri"]]
        assert us_core["type"] == resource["resourceType"]
        checked[us_core["id"]] += 1
        missing = missing_us_core_elements(resource, us_core)
        if missing:
            problems[name] = missing
    assert problems == {}
    assert set(checked) >= {"us-core-patient", "us-core-encounter", "us-core-careplan", "us-core-careteam",
                            "us-core-coverage", "us-core-organization", "us-core-practitioner",
                            "us-core-questionnaireresponse", "us-core-servicerequest"}


@pytest.mark.skipif(not US_CORE_PACKAGE.is_file(), reason="US Core 6.1.0 package not in ../shared/fhir-packages")
def test_the_us_core_check_notices_a_missing_element():
    encounter = next(r for r in examples("valid").values() if r["resourceType"] == "Encounter")
    us_core = us_core_profiles()["http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter"]
    broken = copy.deepcopy(encounter)
    del broken["type"]
    broken["identifier"][0].pop("system")
    assert set(missing_us_core_elements(broken, us_core)) == {"Encounter.type", "Encounter.identifier.system"}
    careplan = copy.deepcopy(next(r for r in examples("valid").values() if r["resourceType"] == "CarePlan"))
    careplan["category"] = careplan["category"][1:]
    us_core = us_core_profiles()["http://hl7.org/fhir/us/core/StructureDefinition/us-core-careplan"]
    assert missing_us_core_elements(careplan, us_core) == ["CarePlan.category:AssessPlan"]
