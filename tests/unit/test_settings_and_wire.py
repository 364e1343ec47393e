"""Settings layering, content negotiation and the decimal-exact JSON codec."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MIMEAccept

from adapter import fhirjson
from adapter.errors import NotAcceptable, UnsupportedMediaType
from adapter.settings import Settings
from adapter.wire.formats import Format, request_format, response_format


def test_settings_layers_env_then_overrides():
    env = {"CMP_ADAPTER_DATABASE_URL": "sqlite:///x.db", "CMP_ADAPTER_MAX_PAGE_SIZE": "50",
           "CMP_ADAPTER_ECHO_SQL": "yes", "CMP_ADAPTER_RESOURCE_TYPES": "Patient, Encounter"}
    settings = Settings.load({"max_page_size": 10}, environ=env)
    assert settings.database_url == "sqlite:///x.db"
    assert settings.max_page_size == 10
    assert settings.echo_sql is True
    assert settings.resource_types == ("Patient", "Encounter")


def test_our_ig_loads_first_then_extra_packages(tmp_path):
    settings = Settings.load({"ig_dir": "/ig", "extra_packages": ("/us-core",)}, environ={})
    assert settings.package_folders == ("/ig", "/us-core")
    assert Settings.load({"ig_dir": ""}, environ={}).package_folders == ()
    assert Settings.load(environ={}).ig_dir.endswith("profiles")  # this checkout's IG by default


def test_settings_default_database_is_sqlite_in_the_data_dir(tmp_path):
    settings = Settings.load({"data_dir": str(tmp_path)}, environ={})
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'cmp-adapter.sqlite'}"


@pytest.mark.parametrize("env", [{"CMP_ADAPTER_MAX_PAGE_SIZE": "many"}, {"CMP_ADAPTER_ECHO_SQL": "perhaps"}])
def test_settings_reject_bad_values(env):
    with pytest.raises(ValueError, match="CMP_ADAPTER_"):
        Settings.load(environ=env)


def test_settings_reject_unknown_overrides():
    with pytest.raises(ValueError, match="unknown setting"):
        Settings.load({"colour": "blue"}, environ={})


@pytest.mark.parametrize("accept, param, expected", [
    ("", None, Format.JSON),
    ("application/fhir+xml", None, Format.XML),
    ("application/xml;q=0.9, application/fhir+json", None, Format.JSON),
    ("text/html, */*;q=0.1", None, Format.JSON),
    ("application/fhir+json", "xml", Format.XML),
    ("", "application/fhir+xml", Format.XML),
    ("", "application/fhir json", Format.JSON),  # '+' decoded as a space in a query string
])
def test_response_format(accept, param, expected):
    parsed = MIMEAccept([(part.split(";")[0].strip(), 0.5 if "q=" in part else 1)
                         for part in accept.split(",") if part.strip()])
    assert response_format(param, parsed) is expected


def test_response_format_refuses_what_it_cannot_write():
    with pytest.raises(NotAcceptable):
        response_format(None, MIMEAccept([("text/html", 1)]))
    with pytest.raises(NotAcceptable):
        response_format("rdf", MIMEAccept())


def test_request_format():
    assert request_format("application/fhir+json; charset=utf-8") is Format.JSON
    assert request_format("application/xml") is Format.XML
    with pytest.raises(UnsupportedMediaType):
        request_format("text/csv")
    with pytest.raises(UnsupportedMediaType):
        request_format(None)


def test_json_keeps_decimal_digits():
    text = b'{"a":105.00,"b":0.356,"c":-0.0,"d":12345678901234567890}'
    assert fhirjson.dumps(fhirjson.loads(text)) == text
    with pytest.raises(ValueError):
        fhirjson.loads(b'{"a": NaN}')


@given(st.integers(0, 6).flatmap(lambda p: st.decimals(allow_nan=False, allow_infinity=False, places=p)))
def test_any_decimal_round_trips_exactly(value: Decimal):
    text = fhirjson.dumps({"v": value})
    assert str(fhirjson.loads(text)["v"]) == str(value)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20)


@given(_json_values)
def test_compact_json_is_exactly_what_simplejson_writes(value):
    """fhirjson writes compact JSON with orjson (fast) but must give simplejson's bytes (decision 003)."""
    import simplejson

    try:
        expected = simplejson.dumps(value, separators=(",", ":"), ensure_ascii=False, use_decimal=True).encode()
    except UnicodeEncodeError:  # lone surrogates are not UTF-8 either way
        with pytest.raises((UnicodeEncodeError, TypeError)):
            fhirjson.dumps(value)
        return
    assert fhirjson.dumps(value) == expected
