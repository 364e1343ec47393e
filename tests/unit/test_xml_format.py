"""FHIR R4 XML <-> FHIR JSON (adapter.wire.xml_format).

What these tests pin:
- every official R4 example (hl7.fhir.r4.examples#4.0.1) survives JSON -> XML -> JSON unchanged, and the
  XML it gives is stable (XML -> JSON -> XML gives the same bytes);
- the XML rules of http://hl7.org/fhir/R4/xml.html, on hand-written documents: value/id/url attributes,
  primitive extensions (also in arrays with nulls), exact decimals, booleans, XHTML kept character for
  character, wrapped resources, snapshot element order;
- hostile documents (XXE, billion laughs, external DTDs, deep nesting) fail fast with BadRequest;
- malformed or non-FHIR documents fail with BadRequest naming the line and the element, and nothing
  else ever escapes (no lxml error, no KeyError).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import simplejson
from lxml import etree

from adapter.conformance.definitions import Definitions
from adapter.conformance.structure import TypeModel
from adapter.errors import BadRequest, Unprocessable
from adapter.wire.xml_format import FHIR_NS, XHTML_NS, resource_to_xml, xml_to_resource

F = "{" + FHIR_NS + "}"
XHTML_DIV = f'<div xmlns="{XHTML_NS}">'

#: Files of the examples package that are not resources: the npm manifest and the package index.
NOT_RESOURCES = {"package.json", ".index.json"}

#: Official examples that cannot round-trip because the example itself is not valid FHIR. None so far;
#: an entry needs the reason next to it.
KNOWN_INVALID_EXAMPLES: dict[str, str] = {}

#: A spread of the official examples, for a quick run (the full sweep is marked slow).
REPRESENTATIVE_EXAMPLES = [
    "Patient-example.json",                 # birthDate with an extension, div with nested markup and &quot;
    "Observation-example.json",             # valueQuantity
    "Observation-decimal.json",             # decimals with odd precision
    "Observation-bmd.json",                 # a decimal in a Quantity
    "Claim-100151.json",                    # 105.00 stays 105.00
    "Bundle-bundle-example.json",           # entries holding resources
    "Bundle-bundle-transaction.json",       # request/response backbone elements
    "Questionnaire-3141.json",              # nested items (contentReference)
    "Questionnaire-qs1.json",               # nested items with extensions
    "QuestionnaireResponse-3141.json",      # answers nesting items
    "Medication-med0306.json",              # contained
    "RiskAssessment-population.json",       # contained
    "PlanDefinition-options-example.json",  # contained and element ids
    "ActivityDefinition-administer-zika-virus-exposure-assessment.json",  # _event with extensions only
    "Provenance-example.json",              # element ids
    "Media-sound.json",
    "Binary-example.json",                  # a 170 kB base64 attribute
    "OperationOutcome-validationfail.json",
    "Composition-example.json",             # sections with their own narrative
    "StructureDefinition-patient-birthTime.json",  # a conformance resource with a snapshot
    "ValueSet-all-time-units.json",
    "CodeSystem-example.json",
]


@pytest.fixture(scope="module")
def types(definitions: Definitions) -> TypeModel:
    return definitions.types


def load_json(path: Path) -> Any:
    return simplejson.loads(path.read_bytes(), use_decimal=True)


def first_difference(got: Any, expected: Any, path: str = "") -> str | None:
    """Where two JSON values differ, for assertion messages (None when equal)."""
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in sorted(set(got) | set(expected)):
            if key not in got or key not in expected:
                return f"{path}.{key}: only in {'result' if key in got else 'original'}"
            found = first_difference(got[key], expected[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(got, list):
        if len(got) != len(expected):
            return f"{path}: {len(got)} items instead of {len(expected)}"
        for i, (a, b) in enumerate(zip(got, expected, strict=True)):
            found = first_difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    if got == expected and type(got) is type(expected):
        return None
    return f"{path}: {got!r} instead of {expected!r}"


def round_trip_problem(resource: dict, types: TypeModel, *, pretty: bool = False) -> str | None:
    """None when JSON -> XML -> JSON gives the same JSON (same types too) and the XML is stable."""
    try:
        xml = resource_to_xml(resource, types, pretty=pretty)
        back = xml_to_resource(xml, types)
        again = resource_to_xml(back, types, pretty=pretty)
    except (BadRequest, Unprocessable) as exc:
        return f"{type(exc).__name__}: {exc}"
    difference = first_difference(back, resource)
    if difference:
        return difference
    return None if again == xml else "XML -> JSON -> XML changed the XML"


def fhir(body: str) -> bytes:
    return body.encode("utf-8")


def read(types: TypeModel, body: str, **kwargs: Any) -> dict:
    return xml_to_resource(fhir(body), types, **kwargs)


# --- the official examples ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_official_r4_example_round_trips(r4_examples_dir: Path, types: TypeModel) -> None:
    files = sorted(r4_examples_dir.glob("*.json"))
    resources = [f for f in files if f.name not in NOT_RESOURCES]
    assert len(resources) > 5000, "the examples package looks incomplete"
    failures = []
    for path in resources:
        resource = load_json(path)
        assert "resourceType" in resource, f"{path.name} is not a resource; add it to NOT_RESOURCES?"
        problem = round_trip_problem(resource, types)
        if problem and path.name not in KNOWN_INVALID_EXAMPLES:
            failures.append(f"{path.name}: {problem}")
    assert not failures, f"{len(failures)} of {len(resources)} examples do not round-trip:\n" + "\n".join(failures)


@pytest.mark.parametrize("name", REPRESENTATIVE_EXAMPLES)
@pytest.mark.parametrize("pretty", [False, True], ids=["compact", "pretty"])
def test_representative_examples_round_trip(r4_examples_dir: Path, types: TypeModel, name: str,
                                            pretty: bool) -> None:
    resource = load_json(r4_examples_dir / name)
    assert round_trip_problem(resource, types, pretty=pretty) is None


def test_example_xml_has_the_fhir_shape(r4_examples_dir: Path, types: TypeModel) -> None:
    resource = load_json(r4_examples_dir / "Patient-example.json")
    root = etree.fromstring(resource_to_xml(resource, types))
    assert root.tag == F + "Patient" and root.nsmap == {None: FHIR_NS}
    names = [etree.QName(c).localname for c in root]
    assert list(dict.fromkeys(names)) == ["id", "text", "identifier", "active", "name", "telecom", "gender",
                                          "birthDate", "deceasedBoolean", "address", "contact",
                                          "managingOrganization"]
    assert root.find(F + "id").get("value") == "example"            # Resource.id is an element
    birth = root.find(F + "birthDate")
    assert birth.get("value") == "1974-12-25"
    assert birth.find(F + "extension").get("url") == "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
    assert root.find(F + "active").get("value") == "true"
    assert root.find(f"{F}text/{{{XHTML_NS}}}div") is not None


def test_decimals_keep_their_digits(r4_examples_dir: Path, types: TypeModel) -> None:
    claim = load_json(r4_examples_dir / "Claim-100151.json")
    xml = resource_to_xml(claim, types)
    assert b'<value value="105.00"/>' in xml
    back = xml_to_resource(xml, types)
    prices = [item["unitPrice"]["value"] for item in back["item"] if "unitPrice" in item]
    assert "105.00" in [str(p) for p in prices]
    assert all(isinstance(p, Decimal) for p in prices)


# --- hand-written XML -> JSON ---------------------------------------------------------------------------------

EXT = "http://example.org/fhir/StructureDefinition"


def test_primitive_arrays_with_extensions_and_nulls(types: TypeModel) -> None:
    resource = read(types, f"""<Patient xmlns="{FHIR_NS}">
      <name>
        <given value="Alice"/>
        <given id="g2"><extension url="{EXT}/masked"><valueCode value="masked"/></extension></given>
        <given value="Zoe"><extension url="{EXT}/nick"><valueBoolean value="true"/></extension></given>
      </name>
    </Patient>""")
    assert resource == {
        "resourceType": "Patient",
        "name": [{
            "given": ["Alice", None, "Zoe"],
            "_given": [None,
                       {"id": "g2", "extension": [{"url": f"{EXT}/masked", "valueCode": "masked"}]},
                       {"extension": [{"url": f"{EXT}/nick", "valueBoolean": True}]}],
        }],
    }
    assert round_trip_problem(resource, types) is None


def test_a_primitive_array_with_extensions_only_has_no_value_array(types: TypeModel) -> None:
    resource = read(types, f"""<Patient xmlns="{FHIR_NS}"><name>
        <given><extension url="{EXT}/a"><valueString value="x"/></extension></given>
        <given><extension url="{EXT}/b"><valueString value="y"/></extension></given>
    </name></Patient>""")
    assert resource["name"][0] == {"_given": [{"extension": [{"url": f"{EXT}/a", "valueString": "x"}]},
                                              {"extension": [{"url": f"{EXT}/b", "valueString": "y"}]}]}
    assert round_trip_problem(resource, types) is None


def test_an_element_with_only_extensions_and_no_value(types: TypeModel) -> None:
    absent = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
    resource = read(types, f"""<Patient xmlns="{FHIR_NS}">
        <birthDate><extension url="{absent}"><valueCode value="unknown"/></extension></birthDate>
    </Patient>""")
    assert resource == {"resourceType": "Patient",
                        "_birthDate": {"extension": [{"url": absent, "valueCode": "unknown"}]}}
    assert round_trip_problem(resource, types) is None


def test_ids_and_urls_are_attributes_but_the_resource_id_is_an_element(types: TypeModel) -> None:
    resource = read(types, f"""<Patient xmlns="{FHIR_NS}">
        <id value="p1"/>
        <extension id="e1" url="{EXT}/outer">
            <extension url="inner"><valueString value="v"/></extension>
        </extension>
        <name id="n1"><family id="f1" value="Chalmers"/></name>
    </Patient>""")
    assert resource == {
        "resourceType": "Patient", "id": "p1",
        "extension": [{"id": "e1", "url": f"{EXT}/outer",
                       "extension": [{"url": "inner", "valueString": "v"}]}],
        "name": [{"id": "n1", "family": "Chalmers", "_family": {"id": "f1"}}],
    }
    root = etree.fromstring(resource_to_xml(resource, types))
    assert root.get("id") is None and root.find(F + "id").get("value") == "p1"
    assert root.find(F + "extension").attrib == {"id": "e1", "url": f"{EXT}/outer"}
    assert root.find(F + "name").get("id") == "n1"
    assert root.find(f"{F}name/{F}family").attrib == {"id": "f1", "value": "Chalmers"}


@pytest.mark.parametrize("text", ["105.00", "0.356", "-0.0", "1E+3", "1.50e-7", "0", "12345678901234567890.12"])
def test_decimals_are_exact(types: TypeModel, text: str) -> None:
    resource = read(types, f"""<Observation xmlns="{FHIR_NS}"><status value="final"/><code><text value="x"/></code>
        <valueQuantity><value value="{text}"/><unit value="mg"/></valueQuantity></Observation>""")
    value = resource["valueQuantity"]["value"]
    assert value == simplejson.loads(text, use_decimal=True)       # what the JSON codec reads from it
    assert type(value) is type(simplejson.loads(text, use_decimal=True))
    assert str(value) == str(Decimal(text))
    assert f'<value value="{value}"/>'.encode() in resource_to_xml(resource, types)


def test_json_scalar_types(types: TypeModel) -> None:
    resource = read(types, f"""<Observation xmlns="{FHIR_NS}"><status value="final"/><code><text value="x"/></code>
        <valueInteger value="-42"/>
        <component><code><text value="b"/></code><valueBoolean value="false"/></component>
        <component><code><text value="s"/></code><valueString value="  spaced &amp; &lt;escaped&gt; "/></component>
        <component><code><text value="r"/></code>
            <valueSampledData><origin><value value="0"/></origin><period value="10.0"/>
                <dimensions value="2"/><data value="1 2 E"/></valueSampledData></component>
    </Observation>""")
    assert resource["valueInteger"] == -42 and type(resource["valueInteger"]) is int
    assert resource["component"][0]["valueBoolean"] is False
    assert resource["component"][1]["valueString"] == "  spaced & <escaped> "
    sampled = resource["component"][2]["valueSampledData"]
    assert type(sampled["dimensions"]) is int and sampled["dimensions"] == 2            # positiveInt
    assert isinstance(sampled["period"], Decimal) and str(sampled["period"]) == "10.0"  # decimal
    assert round_trip_problem(resource, types) is None


def test_strings_with_line_breaks_and_tabs_survive(types: TypeModel) -> None:
    resource = {"resourceType": "Patient", "name": [{"text": "line one\r\nline two\ttabbed \"quoted\" 'single'"}]}
    assert round_trip_problem(resource, types) is None


def test_xhtml_is_kept_character_for_character(types: TypeModel) -> None:
    div = (f'{XHTML_DIV}\r\n  <p class="a" id=\'b\'>A &amp; B &quot;q&quot; &#160;&gt;<br/><br />'
           '<!-- a comment --><b>bold <i>nested</i></b></p>\r\n<table><tr><td>1</td></tr></table></div>')
    xml = f'<Patient xmlns="{FHIR_NS}"><text><status value="generated"/>{div}</text></Patient>'
    resource = read(types, xml)
    assert resource["text"]["div"] == div
    assert resource_to_xml(resource, types) == fhir(xml)


def test_xhtml_with_a_prefix_declared_on_the_root_becomes_self_contained(types: TypeModel) -> None:
    resource = read(types, f"""<Patient xmlns="{FHIR_NS}" xmlns:h="{XHTML_NS}"><text><status value="generated"/>
        <h:div><h:p>Hello <h:b>you</h:b></h:p></h:div></text></Patient>""")
    assert resource["text"]["div"] == f"{XHTML_DIV}<p>Hello <b>you</b></p></div>"


def test_a_json_div_without_the_xhtml_namespace_is_written_as_xhtml(types: TypeModel) -> None:
    resource = {"resourceType": "Patient", "text": {"status": "generated", "div": "<div><p>hi</p></div>"}}
    back = xml_to_resource(resource_to_xml(resource, types), types)
    assert back["text"]["div"] == f"{XHTML_DIV}<p>hi</p></div>"


def test_comments_and_processing_instructions_are_ignored(types: TypeModel) -> None:
    resource = read(types, f"""<?xml version="1.0" encoding="UTF-8"?>
    <!-- before -->
    <Patient xmlns="{FHIR_NS}"><!-- inside --><?some-pi data?>
        <active value="true"/><!-- between --><gender value="male"/>
    </Patient>""")
    assert resource == {"resourceType": "Patient", "active": True, "gender": "male"}


def test_resources_in_elements_are_wrapped(types: TypeModel) -> None:
    patient = {"resourceType": "Patient", "id": "p", "active": True}
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}]}
    parameters = {"resourceType": "Parameters", "parameter": [{"name": "p", "resource": patient}]}
    observation = {"resourceType": "Observation", "contained": [patient], "status": "final",
                   "code": {"text": "x"}, "subject": {"reference": "#p"}}
    for resource, path in [(bundle, "entry/resource"), (parameters, "parameter/resource"), (observation, "contained")]:
        root = etree.fromstring(resource_to_xml(resource, types))
        wrapper = root.find("/".join(F + step for step in path.split("/")))
        assert [child.tag for child in wrapper] == [F + "Patient"]
        assert xml_to_resource(resource_to_xml(resource, types), types) == resource


def test_elements_are_written_in_snapshot_order(types: TypeModel) -> None:
    resource = {"gender": "male", "name": [{"given": ["A"], "family": "B", "use": "official"}],
                "active": True, "id": "x", "resourceType": "Patient",
                "extension": [{"valueString": "v", "url": f"{EXT}/e"}]}
    root = etree.fromstring(resource_to_xml(resource, types))
    assert [etree.QName(c).localname for c in root] == ["id", "extension", "active", "name", "gender"]
    assert [etree.QName(c).localname for c in root.find(F + "name")] == ["use", "family", "given"]


def test_choice_elements_keep_their_type_suffix(types: TypeModel) -> None:
    resource = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                "effectivePeriod": {"start": "2020-01-01"},
                "valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "1-8"}]}}
    root = etree.fromstring(resource_to_xml(resource, types))
    assert root.find(F + "effectivePeriod") is not None and root.find(F + "valueCodeableConcept") is not None
    assert xml_to_resource(resource_to_xml(resource, types), types) == resource


def test_xsi_attributes_are_ignored(types: TypeModel) -> None:
    resource = read(types, f"""<Patient xmlns="{FHIR_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
        xsi:schemaLocation="http://hl7.org/fhir ../../schema/fhir-single.xsd"><active value="true"/></Patient>""")
    assert resource == {"resourceType": "Patient", "active": True}


# --- security -------------------------------------------------------------------------------------------------


def fails_fast(call: Callable[[], Any], error: type[Exception] = BadRequest) -> Exception:
    """Run a call that must fail with ``error`` within a second; return the error."""
    started = time.perf_counter()
    with pytest.raises(error) as info:
        call()
    assert time.perf_counter() - started < 1.0
    return info.value


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Patient [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Patient xmlns="http://hl7.org/fhir"><id value="&xxe;"/></Patient>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Patient [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]>
<Patient xmlns="http://hl7.org/fhir"/>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Patient SYSTEM "http://127.0.0.1:9/fhir.dtd">
<Patient xmlns="http://hl7.org/fhir"><active value="true"/></Patient>"""


def billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">']
    for i in range(1, 10):
        reference = f"&lol{i - 1};"
        entities.append(f'<!ENTITY lol{i} "{reference * 10}">')
    return (f'<?xml version="1.0"?><!DOCTYPE lolz [{"".join(entities)}]>'
            f'<Patient xmlns="{FHIR_NS}"><id value="&lol9;"/></Patient>').encode()


@pytest.mark.parametrize("document", [XXE, PARAMETER_ENTITY, EXTERNAL_DTD, billion_laughs()],
                         ids=["xxe-file", "parameter-entity", "external-dtd", "billion-laughs"])
def test_documents_with_a_doctype_are_refused(types: TypeModel, document: bytes) -> None:
    error = fails_fast(lambda: xml_to_resource(document, types))
    assert "DOCTYPE" in str(error)
    assert "root:" not in str(error)  # nothing of /etc/passwd


def test_a_doctype_cannot_hide_behind_another_encoding(types: TypeModel) -> None:
    utf16 = XXE.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    fails_fast(lambda: xml_to_resource(utf16.encode("utf-16"), types))
    utf7 = (b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE Patient +AFs-+ADw-!ENTITY x SYSTEM '
            b'+ACI-file:///etc/passwd+ACI-+AD4-+AF0-+AD4-<Patient xmlns="http://hl7.org/fhir"/>')
    fails_fast(lambda: xml_to_resource(utf7, types))


def test_a_json_div_with_a_doctype_is_refused_when_writing(types: TypeModel) -> None:
    div = (f'<!DOCTYPE div [<!ENTITY % x SYSTEM "file:///dev/zero"> %x;]>{XHTML_DIV}x</div>')
    resource = {"resourceType": "Patient", "text": {"status": "generated", "div": div}}
    fails_fast(lambda: resource_to_xml(resource, types), Unprocessable)


def nested_items(levels: int) -> bytes:
    item = '<item><linkId value="x"/><type value="group"/>'
    return (f'<Questionnaire xmlns="{FHIR_NS}"><status value="draft"/>' + item * levels
            + "</item>" * levels + "</Questionnaire>").encode()


def test_nesting_deeper_than_max_depth_is_refused(types: TypeModel) -> None:
    assert xml_to_resource(nested_items(60), types, max_depth=64)["resourceType"] == "Questionnaire"
    error = fails_fast(lambda: xml_to_resource(nested_items(100), types, max_depth=64))
    assert "64 levels" in str(error)
    fails_fast(lambda: xml_to_resource(nested_items(100_000), types))


def test_xhtml_counts_towards_the_depth(types: TypeModel) -> None:
    deep_div = XHTML_DIV + "<span>" * 70 + "x" + "</span>" * 70 + "</div>"
    body = f'<Patient xmlns="{FHIR_NS}"><text><status value="generated"/>{deep_div}</text></Patient>'
    fails_fast(lambda: read(types, body, max_depth=64))
    assert read(types, body, max_depth=80)["text"]["div"] == deep_div


# --- errors ---------------------------------------------------------------------------------------------------


def bad(types: TypeModel, body: str | bytes) -> BadRequest:
    data = body if isinstance(body, bytes) else fhir(body)
    with pytest.raises(BadRequest) as info:
        xml_to_resource(data, types)
    issue = info.value.issues[0]
    assert issue.code == "invalid" and issue.severity == "error"
    return info.value


def test_malformed_xml(types: TypeModel) -> None:
    error = bad(types, f'<Patient xmlns="{FHIR_NS}">\n  <active value="true">\n</Patient>')
    assert "not well-formed" in str(error) and "line 3" in str(error)
    bad(types, b"")
    bad(types, b"not xml at all")
    bad(types, b"\xff\xfe<\x00")


def test_unknown_element_names_line_and_path(types: TypeModel) -> None:
    error = bad(types, f"""<Patient xmlns="{FHIR_NS}">
        <name><family value="A"/></name>
        <name><given value="B"/>
            <middle value="C"/></name>
    </Patient>""")
    assert "unknown element <middle>" in str(error) and "line 4" in str(error)
    assert error.issues[0].expression == "Patient.name[1].middle"


def test_index_of_primitive_arrays_in_paths(types: TypeModel) -> None:
    error = bad(types, f"""<Patient xmlns="{FHIR_NS}"><name><given value="A"/>
        <given value="B" foo="x"/></name></Patient>""")
    assert "unknown attribute 'foo'" in str(error) and "line 2" in str(error)
    assert error.issues[0].expression == "Patient.name[0].given[1]"


@pytest.mark.parametrize(("body", "message"), [
    ('<Patient><active value="true"/></Patient>', "not the FHIR namespace"),
    ('<Patient xmlns="http://hl7.org/fhir/other"/>', "not the FHIR namespace"),
    (f'<Patient xmlns="{FHIR_NS}"><active xmlns="urn:x" value="true"/></Patient>', "is in namespace 'urn:x'"),
    (f'<Patient xmlns="{FHIR_NS}"><text><status value="generated"/><div>x</div></text></Patient>',
     "must be an XHTML element"),
])
def test_wrong_namespace(types: TypeModel, body: str, message: str) -> None:
    assert message in str(bad(types, body))


@pytest.mark.parametrize(("body", "message", "expression"), [
    ('<Foo xmlns="http://hl7.org/fhir"/>', "not a FHIR R4 resource type", "Foo"),
    ('<HumanName xmlns="http://hl7.org/fhir"/>', "not a FHIR R4 resource type", "HumanName"),
    ('<Patient xmlns="http://hl7.org/fhir"><birthDate/></Patient>', "no value attribute", "Patient.birthDate"),
    ('<Patient xmlns="http://hl7.org/fhir"><birthDate value=""/></Patient>', "empty", "Patient.birthDate.value"),
    ('<Patient xmlns="http://hl7.org/fhir"><name><family>Smith</family></name></Patient>',
     "text 'Smith' is not allowed", "Patient.name[0].family"),
    ('<Patient xmlns="http://hl7.org/fhir">stray<active value="true"/></Patient>', "text 'stray'", "Patient"),
    ('<Patient xmlns="http://hl7.org/fhir"><active value="yes"/></Patient>', "not a valid boolean",
     "Patient.active"),
    ('<Patient xmlns="http://hl7.org/fhir"><multipleBirthInteger value="1.5"/></Patient>',
     "not a valid integer", "Patient.multipleBirthInteger"),
    ('<Observation xmlns="http://hl7.org/fhir"><valueQuantity><value value="NaN"/></valueQuantity></Observation>',
     "not a valid decimal", "Observation.valueQuantity.value"),
    ('<Observation xmlns="http://hl7.org/fhir"><valueQuantity><value value="1,5"/></valueQuantity></Observation>',
     "not a valid decimal", "Observation.valueQuantity.value"),
    ('<Patient xmlns="http://hl7.org/fhir"><gender value="male"/><gender value="female"/></Patient>',
     "cannot repeat", "Patient.gender"),
    ('<Patient xmlns="http://hl7.org/fhir"><deceasedBoolean value="true"/><deceasedDateTime value="2020"/>'
     "</Patient>", "takes one type", "Patient.deceasedDateTime"),
    ('<Patient xmlns="http://hl7.org/fhir" id="x"/>', "unknown attribute 'id'", "Patient"),
    ('<Patient xmlns="http://hl7.org/fhir"><extension><url value="http://x"/></extension></Patient>',
     "must be an attribute", "Patient.extension[0].url"),
    ('<Patient xmlns="http://hl7.org/fhir"><contained/></Patient>', "exactly one resource",
     "Patient.contained[0]"),
    ('<Patient xmlns="http://hl7.org/fhir"><contained><Patient/><Patient/></contained></Patient>',
     "exactly one resource", "Patient.contained[0]"),
    ('<Patient xmlns="http://hl7.org/fhir"><contained><name/></contained></Patient>',
     "not a FHIR R4 resource type", "Patient.contained[0]"),
])
def test_not_fhir(types: TypeModel, body: str, message: str, expression: str) -> None:
    error = bad(types, body)
    assert message in str(error) and "line 1" in str(error)
    assert error.issues[0].expression == expression


def test_only_bad_request_escapes_from_broken_documents(r4_examples_dir: Path, types: TypeModel) -> None:
    """Cut and corrupt a real document in many places: the reader answers with a dict or BadRequest."""
    document = resource_to_xml(load_json(r4_examples_dir / "Patient-example.json"), types)
    for end in range(0, len(document), 13):
        with pytest.raises(BadRequest):
            xml_to_resource(document[:end], types)
    rng = random.Random(4)
    for _ in range(300):
        corrupted = bytearray(document)
        for _ in range(3):
            corrupted[rng.randrange(len(corrupted))] = rng.choice(b'<>/="&;x \x00\xc3!?-')
        try:
            result = xml_to_resource(bytes(corrupted), types)
        except BadRequest:
            continue
        assert result["resourceType"] == "Patient"


# --- writing invalid JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("resource", "expression"), [
    ({"resourceType": "Nope"}, "resourceType"),
    ({"resourceType": "Patient", "name": [{"nickname": "x"}]}, "Patient.name[0].nickname"),
    ({"resourceType": "Patient", "active": "true"}, "Patient.active"),
    ({"resourceType": "Patient", "active": None}, "Patient.active"),
    ({"resourceType": "Patient", "name": {"family": "x"}}, "Patient.name"),
    ({"resourceType": "Patient", "name": []}, "Patient.name"),
    ({"resourceType": "Patient", "name": [{"given": ["a", None]}]}, "Patient.name[0].given[1]"),
    ({"resourceType": "Patient", "name": [{"given": ["a"], "_given": [None, None]}]}, "Patient.name[0].given"),
    ({"resourceType": "Patient", "name": [{"family": "a\x01b"}]}, "Patient.name[0].family"),
    ({"resourceType": "Patient", "deceasedBoolean": True, "deceasedDateTime": "2020"}, "Patient.deceasedDateTime"),
    ({"resourceType": "Patient", "contained": [{"id": "x"}]}, "Patient.contained[0].resourceType"),
    ({"resourceType": "Patient", "text": {"status": "generated", "div": "<div>unclosed"}}, "Patient.text.div"),
    ({"resourceType": "Patient", "text": {"status": "generated", "div": f"{XHTML_DIV}x</div>",
                                          "_div": {"id": "d"}}}, "Patient.text._div"),
    ({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
      "valueQuantity": {"value": Decimal("NaN")}}, "Observation.valueQuantity.value"),
    ({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueInteger": True},
     "Observation.valueInteger"),
])
def test_writing_json_that_is_not_fhir(types: TypeModel, resource: dict, expression: str) -> None:
    with pytest.raises(Unprocessable) as info:
        resource_to_xml(resource, types)
    assert info.value.issues[0].expression == expression
