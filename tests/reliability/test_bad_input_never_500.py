"""Arbitrary bodies and search queries never become a 5xx, and a rejected write stores nothing."""

from __future__ import annotations

import json
import string
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mappings.claim import ClaimRecord
from mappings.x12_837p import ParseError, parse_837p
from tests.reliability.store_state import store_digest
from tests.unit.test_mappings_x12 import PARTIES
from tests.unit.test_mappings_x12 import TEXT as X12_EXAMPLE

pytestmark = pytest.mark.reliability

_SETTINGS = settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                    st.text(max_size=20))
json_values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.sampled_from(["id", "name", "given", "value", "reference", "status", "code", "url",
                                     "extension", "_birthDate", "coding", "system", "text", "x"]),
                    children, max_size=4)), max_leaves=20)
bodies = st.fixed_dictionaries(
    {"resourceType": st.sampled_from(["Patient", "Encounter", "Bundle", "Observation", "Nope", ""])},
    optional={"id": scalars, "name": json_values, "status": json_values, "meta": json_values,
              "subject": json_values, "entry": json_values, "type": json_values, "birthDate": scalars})


def _assert_clean_refusal(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        _assert_outcome(response)


def _assert_outcome(response) -> None:
    """The body is an OperationOutcome, in JSON or (when the client asked for XML) XML."""
    if "xml" in (response.content_type or ""):
        assert response.get_data().lstrip().startswith(b'<OperationOutcome xmlns="http://hl7.org/fhir"'), \
            response.get_data()[:200]
    else:
        assert response.get_json(force=True)["resourceType"] == "OperationOutcome", response.get_data()[:200]


@_SETTINGS
@given(body=bodies)
@example(body={"resourceType": "Patient", "meta": 1})  # once crashed the validate-on-write policy
@example(body={"resourceType": "Encounter", "meta": {"profile": [1]}, "type": "quality-contact"})
def test_arbitrary_json_bodies_are_accepted_or_refused_cleanly(client, body):
    url = "/fhir" if body["resourceType"] == "Bundle" else f"/fhir/{body['resourceType'] or 'Patient'}"
    response = client.post(url, data=json.dumps(body), headers={"Content-Type": "application/fhir+json"})
    _assert_clean_refusal(response)


@_SETTINGS
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_are_refused_cleanly_and_store_nothing(client, raw):
    for content_type in ("application/fhir+json", "application/fhir+xml"):
        response = client.post("/fhir/Patient", data=raw, headers={"Content-Type": content_type})
        _assert_clean_refusal(response)
    assert client.get("/fhir/_history?_summary=count").get_json(force=True)["total"] == 0


query_names = st.one_of(st.sampled_from(["name", "birthdate", "identifier", "_id", "_lastUpdated", "_count",
                                         "_sort", "_include", "_revinclude", "general-practitioner",
                                         "general-practitioner:Practitioner.name", "_summary", "_elements",
                                         "gender:not", "name:exact", "_total", "_offset", "address-city"]),
                        st.text(alphabet=string.ascii_letters + ":._-", max_size=12))
query_values = st.text(alphabet=string.printable, max_size=25)


@_SETTINGS
@given(pairs=st.lists(st.tuples(query_names, query_values), max_size=4),
       strict=st.booleans())
def test_arbitrary_search_queries_never_fail_with_5xx(client, pairs, strict):
    headers = {"Prefer": "handling=strict"} if strict else {}
    response = client.get("/fhir/Patient", query_string=pairs, headers=headers)
    _assert_clean_refusal(response)


# --- every refusal is a 4xx OperationOutcome, fast, and leaves the store as it was ----------------------------

#: A request that takes longer than this is a hang for our purposes (the slowest legitimate ones here take
#: well under a second; the margin is for a loaded CI machine).
HANG_SECONDS = 20
#: The fuzzers below each send a few requests per example; fewer examples keep the default run fast.
_FUZZ = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cmp"
FHIR_JSON = {"Content-Type": "application/fhir+json"}
FHIR_XML = {"Content-Type": "application/fhir+xml"}


def _send(client, method: str, url: str, **kwargs):
    started = time.monotonic()
    response = client.open(url, method=method, **kwargs)
    elapsed = time.monotonic() - started
    assert elapsed < HANG_SECONDS, f"{method} {url} took {elapsed:.1f}s"
    return response


def _refused_and_unchanged(client, services, method: str, url: str, **kwargs):
    """The request is refused with a 4xx OperationOutcome and stores nothing (audit trail aside)."""
    before = store_digest(services)
    response = _send(client, method, url, **kwargs)
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    _assert_outcome(response)
    assert store_digest(services) == before
    return response


def _clean_and_unchanged_if_refused(client, services, method: str, url: str, **kwargs):
    """Accepted, or refused as above: never a 5xx, never a partial write."""
    before = store_digest(services)
    response = _send(client, method, url, **kwargs)
    _assert_clean_refusal(response)
    if response.status_code >= 400:
        assert store_digest(services) == before
    return response


_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
           + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8))
           + b']><Patient xmlns="http://hl7.org/fhir"><name><family value="&i;"/></name></Patient>')
XML_ATTACKS = {
    "xxe-file": b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<Patient xmlns="http://hl7.org/fhir"><name><family value="&x;"/></name></Patient>',
    "xxe-url": b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>'
               b'<Patient xmlns="http://hl7.org/fhir"><name><family value="&x;"/></name></Patient>',
    "external-dtd": b'<?xml version="1.0"?><!DOCTYPE Patient SYSTEM "http://127.0.0.1:9/p.dtd">'
                    b'<Patient xmlns="http://hl7.org/fhir"/>',
    "parameter-entity": b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY % x SYSTEM "file:///etc/passwd"> %x;]>'
                        b'<Patient xmlns="http://hl7.org/fhir"/>',
    "billion-laughs": _LAUGHS,
    "quadratic-blowup": b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "' + b"x" * 50000 + b'">]>'
                        b'<Patient xmlns="http://hl7.org/fhir"><name><family value="' + b"&a;" * 2000
                        + b'"/></name></Patient>',
    "deep-nesting": b'<Patient xmlns="http://hl7.org/fhir">' + b'<extension url="u">' * 3000
                    + b"</extension>" * 3000 + b"</Patient>",
    "invalid-utf8": b'<Patient xmlns="http://hl7.org/fhir"><name><family value="\xff\xfe\xc3"/></name></Patient>',
    "nul-reference": b'<Patient xmlns="http://hl7.org/fhir"><name><family value="a&#0;b"/></name></Patient>',
    "surrogate-reference": b'<Patient xmlns="http://hl7.org/fhir"><name><family value="&#xD800;"/></name></Patient>',
    "huge-exponent": b'<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><text value="x"/>'
                     b'</code><valueQuantity><value value="1e999999999999"/></valueQuantity></Observation>',
    "1e400": b'<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><text value="x"/>'
             b'</code><valueQuantity><value value="1e400"/></valueQuantity></Observation>',
    "unclosed": b'<Patient xmlns="http://hl7.org/fhir"><name>',
    "not-fhir-namespace": b'<Patient><name><family value="x"/></name></Patient>',
}


@pytest.mark.parametrize("attack", sorted(XML_ATTACKS))
def test_hostile_xml_is_refused_quickly_and_stores_nothing(client, services, attack):
    body = XML_ATTACKS[attack]
    url = "/fhir/Observation" if b"<Observation" in body else "/fhir/Patient"
    response = _refused_and_unchanged(client, services, "POST", url, data=body, headers=FHIR_XML)
    assert "root:" not in response.get_data(as_text=True)  # /etc/passwd never comes back
    batch = b'<Bundle xmlns="http://hl7.org/fhir"><type value="transaction"/><entry><resource>' \
            + body.split(b"?>", 1)[-1] + b"</resource></entry></Bundle>"
    _refused_and_unchanged(client, services, "POST", "/fhir", data=batch, headers=FHIR_XML)


def _observation(value: bytes) -> bytes:
    return (b'{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":'
            + value + b"}}")


JSON_ATTACKS = {
    "deep-arrays": b'{"resourceType":"Patient","extension":' + b"[" * 5000 + b"]" * 5000 + b"}",
    "deep-objects": b'{"resourceType":"Patient","x":' + b'{"a":' * 200 + b"1" + b"}" * 200 + b"}",
    "just-over-the-depth-limit": b'{"resourceType":"Patient","extension":' + b'[{"extension":' * 40 + b"[]"
                                 + b"}]" * 40 + b"}",
    "invalid-utf8": b'{"resourceType":"Patient","name":[{"family":"\xff\xfe"}]}',
    "overlong-utf8": b'{"resourceType":"Patient","name":[{"family":"\xc0\xaf"}]}',
    "nul": b'{"resourceType":"Patient","name":[{"family":"a\\u0000b"}]}',
    "nul-in-key": b'{"resourceType":"Patient","a\\u0000":1}',
    "lone-surrogate": b'{"resourceType":"Patient","name":[{"family":"\\ud800"}]}',
    "1e400": _observation(b"1e400"),
    "-1e400": _observation(b"-1e400"),
    "huge-exponent": _observation(b"1e999999999999"),
    "zero-huge-exponent": _observation(b"0e999999999999"),
    "tiny": _observation(b"1e-999999999999"),
    "400-digit-integer": _observation(b"1" + b"0" * 400),
    "5000-digit-integer": _observation(b"9" * 5000),
    "NaN": _observation(b"NaN"),
    "Infinity": _observation(b"Infinity"),
    "integer-overflow": b'{"resourceType":"Patient","multipleBirthInteger":99999999999999999999}',
    "not-an-object": b"[1, 2, 3]",
    "empty": b"",
    "truncated": b'{"resourceType":"Patient","name":[{"family":"x"',
}


@pytest.mark.parametrize("attack", sorted(JSON_ATTACKS))
def test_hostile_json_is_refused_and_stores_nothing(client, services, attack):
    body = JSON_ATTACKS[attack]
    url = "/fhir/Observation" if b'"Observation"' in body else "/fhir/Patient"
    _refused_and_unchanged(client, services, "POST", url, data=body, headers=FHIR_JSON)
    _refused_and_unchanged(client, services, "PUT", url + "/x1", data=body, headers=FHIR_JSON)
    bundle = (b'{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Patient"},'
              b'"resource":{"resourceType":"Patient"}},{"request":{"method":"POST","url":"Observation"},'
              b'"resource":' + (body if body.startswith(b"{") else b"1") + b"}]}")
    _refused_and_unchanged(client, services, "POST", "/fhir", data=bundle, headers=FHIR_JSON)


def test_bodies_over_the_size_limit_are_413(settings, services):
    from adapter.app import create_app

    client = create_app(settings.replace(max_body_bytes=10_000), services=services).test_client()
    body = b'{"resourceType":"Patient","name":[{"family":"' + b"a" * 20_000 + b'"}]}'
    response = _refused_and_unchanged(client, services, "POST", "/fhir/Patient", data=body, headers=FHIR_JSON)
    assert response.status_code == 413
    for url in ("/fhir", "/fhir/$import-cmp?kind=member"):
        assert _refused_and_unchanged(client, services, "POST", url, data=body, headers=FHIR_JSON).status_code == 413


def test_nesting_deeper_than_the_setting_is_400(settings, definitions):
    from adapter.app import create_app
    from adapter.services.container import Services

    shallow = settings.replace(max_nesting_depth=8)
    services = Services.build(shallow, definitions=definitions)
    try:
        client = create_app(shallow, services=services).test_client()
        nested = {"resourceType": "Patient", "extension": [{"url": "u", "extension": [{"url": "v", "extension": [
            {"url": "w", "extension": [{"url": "x", "valueString": "deep"}]}]}]}]}
        for data, headers in ((json.dumps(nested), FHIR_JSON), (
                b'<Patient xmlns="http://hl7.org/fhir">' + b'<extension url="u">' * 12 + b'<valueString value="d"/>'
                + b"</extension>" * 12 + b"</Patient>", FHIR_XML)):
            response = _refused_and_unchanged(client, services, "POST", "/fhir/Patient", data=data, headers=headers)
            assert "nested" in response.get_data(as_text=True) or "deep" in response.get_data(as_text=True)
        nested["extension"][0]["extension"] = []
        assert client.post("/fhir/Patient", data=json.dumps(nested), headers=FHIR_JSON).status_code in (201, 422)
    finally:
        services.close()


PAGING_VALUES = ["99999999999999999999999999", "2147483648", "9223372036854775808", "-1", "1e400", "1e3", "0x10",
                 "١٢", "", " 5", "5 ", "+5", "NaN", "٣"]


@pytest.mark.parametrize("name", ["_count", "_offset"])
@pytest.mark.parametrize("value", PAGING_VALUES)
def test_paging_numbers_out_of_range_are_refused_or_clamped(client, name, value):
    for url in ("/fhir/Patient", "/fhir/_history", "/fhir/Patient/_history"):
        response = _send(client, "GET", url, query_string={name: value})
        _assert_clean_refusal(response)


@pytest.mark.parametrize("query", [
    "value-quantity=1e999999999999", "value-quantity=1e400", "value-quantity=gt-1e400", "date=1e400",
    "date=ge99999-01-01", "date=2020-13-45T25:61:61Z", "subject=Patient/%00", "code=%00", "_id=%00",
    "subject:Patient.name=%ff%fe", "code=" + "|" * 50, "_sort=" + ",".join(["-date"] * 100),
    "_include=*:*", "_revinclude=*:*", "_include:iterate=Observation:subject&_include:iterate=Patient:*",
    "subject.name.given=x", "_has:Observation:subject:code=x", "_has:::=x", "value-quantity=ap5||",
    "_lastUpdated=gt" + "9" * 100, "_elements=" + ",".join(["a"] * 1000), "_summary=%00",
])
def test_hostile_search_parameters_never_fail_with_5xx(client, query):
    for prefer in ("handling=lenient", "handling=strict"):
        response = _send(client, "GET", f"/fhir/Observation?{query}", headers={"Prefer": prefer})
        _assert_clean_refusal(response)


@pytest.mark.parametrize("path", ["/fhir/Patient/%00", "/fhir/Patient/%00/_history", "/fhir/Patient/%00/_history/1",
                                  "/fhir/Patient/x/_history/99999999999999999999", "/fhir/Pat%00ient",
                                  "/fhir/Patient/" + "a" * 5000, "/fhir/Patient/x/$%00", "/fhir/%ff%fe"])
def test_hostile_paths_never_fail_with_5xx(client, services, path):
    _assert_clean_refusal(_send(client, "GET", path))
    _clean_and_unchanged_if_refused(client, services, "DELETE", path)
    _clean_and_unchanged_if_refused(client, services, "PUT", path, data=b'{"resourceType":"Patient"}',
                                    headers=FHIR_JSON)


# --- search parameters from the CapabilityStatement ----------------------------------------------------------

_TYPED_VALUES = {
    "date": st.one_of(st.sampled_from(["", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap", "zz"]).flatmap(
        lambda prefix: st.one_of(st.dates().map(lambda d: f"{prefix}{d.isoformat()}"),
                                 st.datetimes().map(lambda d: f"{prefix}{d.isoformat()}Z"),
                                 st.text(max_size=12).map(lambda t: prefix + t))),
        st.sampled_from(["1e400", "99999-01-01", "2020-02-30", "2020-01-01T24:00:00Z", "0000"])),
    "number": st.one_of(st.decimals(allow_nan=True, allow_infinity=True).map(str),
                        st.integers(-2**80, 2**80).map(str),
                        st.sampled_from(["1e400", "1e999999999999", "-0", "ap1e308", "gt", "1.", ".5", "1e-400"])),
    "quantity": st.tuples(st.sampled_from(["", "gt", "lt", "ap"]), st.sampled_from(["5", "1e400", "x", "5.0e99999"]),
                          st.sampled_from(["", "|", "|http://unitsofmeasure.org|mg", "||", "|a|b|c"])
                          ).map("".join),
    "token": st.one_of(st.text(max_size=20), st.tuples(st.text(max_size=8), st.text(max_size=8)).map("|".join)),
    "reference": st.one_of(st.text(max_size=20), st.sampled_from(["Patient/1", "Patient/", "/", "http://x/Patient/1",
                                                                   "urn:uuid:1", "Patient/1/_history/x", "#c"])),
}
_MODIFIERS = st.sampled_from(["", ":missing", ":exact", ":contains", ":not", ":text", ":above", ":below", ":in",
                              ":not-in", ":of-type", ":identifier", ":Patient", ":Nope", ":", "::"])


@pytest.fixture(scope="module")
def search_parameters(definitions) -> dict[str, list[tuple[str, str]]]:
    """Each type's search parameters as the CapabilityStatement would list them (name, type)."""
    from adapter.settings import Settings

    found: dict[str, list[tuple[str, str]]] = {}
    for res_type in ("Patient", "Observation", "Encounter", "CarePlan", "Claim", "AuditEvent"):
        assert res_type in Settings().resource_types
        found[res_type] = sorted((param.code, param.type) for param in definitions.search_params(res_type).values())
    return found


@_FUZZ
@given(data=st.data())
def test_capability_search_parameters_with_typed_and_hostile_values_never_fail_with_5xx(client, search_parameters,
                                                                                          data):
    res_type = data.draw(st.sampled_from(sorted(search_parameters)))
    pairs = []
    for _ in range(data.draw(st.integers(1, 3))):
        name, kind = data.draw(st.sampled_from(search_parameters[res_type]))
        value = data.draw(_TYPED_VALUES.get(kind, st.text(max_size=20)).filter(lambda v: "\x00" not in v))
        pairs.append((name + data.draw(_MODIFIERS), value))
    response = _send(client, "GET", f"/fhir/{res_type}", query_string=pairs,
                     headers={"Prefer": data.draw(st.sampled_from(["handling=strict", "handling=lenient"]))})
    _assert_clean_refusal(response)


# --- headers ---------------------------------------------------------------------------------------------------

header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255, blacklist_characters="\x7f"),
                      max_size=40)


@_FUZZ
@given(if_match=st.one_of(st.none(), header_text, st.sampled_from(['W/"1"', 'W/"99999999999999999999"', '"-1"', "*"])),
       if_none_exist=st.one_of(st.none(), header_text, st.sampled_from(["identifier=a|b", "_count=1e400", "x=%00"])),
       prefer=st.one_of(st.none(), header_text, st.sampled_from(["return=minimal", "return=OperationOutcome",
                                                                  "handling=strict", "respond-async"])),
       accept=st.one_of(st.none(), header_text, st.sampled_from(["application/fhir+xml", "text/html", "*/*;q=x"])),
       content_type=st.one_of(header_text, st.sampled_from(["application/fhir+json; charset=utf-16",
                                                             "application/fhir+xml;fhirVersion=9.9", "text/csv"])),
       request_id=st.one_of(st.none(), header_text))
def test_hostile_headers_never_fail_with_5xx_or_store_a_refused_write(client, services, if_match, if_none_exist,
                                                                       prefer, accept, content_type, request_id):
    headers = {name: value for name, value in (
        ("If-Match", if_match), ("If-None-Exist", if_none_exist), ("Prefer", prefer), ("Accept", accept),
        ("Content-Type", content_type), ("X-Request-ID", request_id)) if value is not None}
    body = json.dumps({"resourceType": "Patient", "id": "hdr", "name": [{"family": "Header"}]})
    _clean_and_unchanged_if_refused(client, services, "PUT", "/fhir/Patient/hdr", data=body, headers=headers)
    _clean_and_unchanged_if_refused(client, services, "POST", "/fhir/Patient", data=body, headers=headers)
    _assert_clean_refusal(_send(client, "GET", "/fhir/Patient/hdr", headers={**headers, "If-None-Match": "x"}))


# --- $import-cmp: CSV and JSON records ---------------------------------------------------------------------------

IMPORT_KINDS = sorted(path.stem for path in EXAMPLES.glob("*.csv"))


def _mutate(text: str, data) -> str:
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        row = data.draw(st.integers(0, len(lines) - 1))
        cells = lines[row].split(",")
        column = data.draw(st.integers(0, len(cells) - 1))
        cells[column] = data.draw(st.one_of(
            st.text(max_size=15).filter(lambda v: "\x00" not in v),
            st.sampled_from(["", '"', '""', '"a,b"', "1e400", "-1", "9" * 400, "2025-02-30", "\u202e", "=cmd|' /C"])))
        lines[row] = ",".join(cells)
        if data.draw(st.booleans()):
            lines.insert(data.draw(st.integers(0, len(lines))), data.draw(st.text(max_size=30)))
    return "\n".join(lines[: data.draw(st.integers(1, len(lines)))])


@pytest.mark.slow  # each example maps and validates a whole CSV file
@_FUZZ
@given(data=st.data())
def test_mutated_csv_imports_are_all_or_nothing_and_never_5xx(client, services, data):
    kind = data.draw(st.sampled_from(IMPORT_KINDS))
    text = _mutate((EXAMPLES / f"{kind}.csv").read_text(encoding="utf-8"), data)
    raw = text.encode("utf-8")
    if data.draw(st.booleans()):
        position = data.draw(st.integers(0, len(raw)))
        raw = raw[:position] + data.draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xef\xbb\xbf"])) + raw[position:]
    _clean_and_unchanged_if_refused(client, services, "POST", f"/fhir/$import-cmp?kind={kind}", data=raw,
                                    headers={"Content-Type": "text/csv"})


@_FUZZ
@given(kind=st.sampled_from([*IMPORT_KINDS, "nope", ""]), records=st.one_of(
    json_values, st.lists(st.dictionaries(st.text(max_size=12), json_values, max_size=6), max_size=3)))
def test_arbitrary_json_records_are_refused_cleanly(client, services, kind, records):
    _clean_and_unchanged_if_refused(client, services, "POST", f"/fhir/$import-cmp?kind={kind}",
                                    data=json.dumps(records), headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("body", [b"\xff\xfe", b'{"records": [' * 5000, b"[" + b"1e400," * 3 + b"1]",
                                  b'[{"member_id": "\\ud800"}]', b'[{"member_id": "a\\u0000"}]'])
def test_hostile_import_bodies_are_refused(client, services, body):
    _refused_and_unchanged(client, services, "POST", "/fhir/$import-cmp?kind=member", data=body,
                           headers={"Content-Type": "application/json"})


# --- X12 837P: the parser answers every input with claims or ParseErrors ------------------------------------------


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_x12_is_parsed_or_rejected_never_raises(data):
    """pyx12 validates each interchange (about a second each), hence few examples."""
    text = X12_EXAMPLE
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace", "truncate"]))
        chunk = data.draw(st.one_of(st.text(max_size=8), st.sampled_from(["~", "*", ":", "^", "ISA*", "~SE*1*0001~",
                                                                          "9" * 400, "1e400"])))
        if action == "insert":
            text = text[:position] + chunk + text[position:]
        elif action == "delete":
            text = text[:position] + text[position + data.draw(st.integers(1, 40)):]
        elif action == "replace":
            text = text[:position] + chunk + text[position + len(chunk):]
        else:
            text = text[:position]
    started = time.monotonic()
    for item in parse_837p(text, PARTIES):
        assert isinstance(item, ClaimRecord | ParseError)
    assert time.monotonic() - started < HANG_SECONDS
