"""Authorization on: SMART Backend Services tokens, v1/v2 system scopes on every route, organization-level
access. Real keys and signatures, on SQLite and PostgreSQL (the ``services`` fixture)."""

from __future__ import annotations

import logging

import jwt
import pytest

from adapter.app import create_app
from adapter.auth.clients import Client, ClientRegistry
from adapter.settings import Settings
from tests.integration.auth_helpers import KeyPair, bearer, get_token, token_form
from tests.integration.fhir_helpers import patient

FHIR_JSON = "application/fhir+json"


@pytest.fixture
def auth_settings(settings: Settings) -> Settings:
    return settings.replace(auth="on")


@pytest.fixture
def auth_app(auth_settings, services):
    return create_app(auth_settings, services=services)


@pytest.fixture
def web(auth_app):
    return auth_app.test_client()


@pytest.fixture
def registry(services) -> ClientRegistry:
    return ClientRegistry(services.store.engine)


@pytest.fixture(scope="module")
def es_key() -> KeyPair:
    return KeyPair.generate("ES384")


@pytest.fixture(scope="module")
def rs_key() -> KeyPair:
    return KeyPair.generate("RS384")


def _register(registry, client_id, key, scope, organizations=()):
    registry.add(Client(client_id, scope, tuple(organizations), key.jwks()))


def _seed(services, resources):
    """Store resources directly (auth does not apply below the REST layer)."""
    from adapter.services import resources as interactions

    for resource in resources:
        interactions.update(services, resource["resourceType"], resource["id"], resource)


def _post(web, url, resource, token, **headers):
    return web.post(url, json=resource, headers={**bearer(token), "Content-Type": FHIR_JSON, **headers})


def _put(web, url, resource, token):
    return web.put(url, json=resource, headers={**bearer(token), "Content-Type": FHIR_JSON})


def _ids(bundle, res_type=None):
    return sorted(e["resource"]["id"] for e in bundle.get("entry", [])
                  if res_type is None or e["resource"]["resourceType"] == res_type)


def _encounter(enc_id, patient_id):
    return {"resourceType": "Encounter", "id": enc_id, "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{patient_id}"}}


# --- discovery and public endpoints --------------------------------------------------------------------------


def test_discovery_and_metadata_are_public_and_declare_smart(web):
    for path in ("/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"):
        config = web.get(path).get_json()
        assert config["token_endpoint"] == "http://localhost/auth/token"
        assert config["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
        assert set(config["token_endpoint_auth_signing_alg_values_supported"]) == {"RS384", "ES384"}
        assert "client-confidential-asymmetric" in config["capabilities"]
    statement = web.get("/fhir/metadata").get_json()
    security = statement["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    oauth = security["extension"][0]
    assert oauth["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
    assert oauth["extension"] == [{"url": "token", "valueUri": "http://localhost/auth/token"}]
    assert "OFF" not in statement.get("description", "")


def test_auth_off_is_loud(settings, services, caplog):
    with caplog.at_level(logging.WARNING, logger="adapter.auth.enforcement"):
        app = create_app(settings.replace(auth="off"), services=services)
    assert any("AUTHORIZATION IS OFF" in r.message for r in caplog.records)
    statement = app.test_client().get("/fhir/metadata").get_json()
    assert "AUTHORIZATION IS OFF" in statement["description"]
    assert "AUTHORIZATION IS OFF" in statement["rest"][0]["security"]["description"]
    assert app.test_client().get("/fhir/Patient").status_code == 200


def test_auth_is_on_by_default_and_refuses_a_bad_value(tmp_path):
    assert Settings.load(environ={}).auth == "on"
    from adapter.auth.enforcement import auth_enabled

    assert auth_enabled(Settings.load(environ={}))
    assert not auth_enabled(Settings.load(environ={"CMP_ADAPTER_AUTH": "off"}))
    with pytest.raises(ValueError):
        auth_enabled(Settings.load({"auth": "maybe"}, environ={}))


# --- 401 -----------------------------------------------------------------------------------------------------


def test_no_token_or_a_bad_one_is_401_with_www_authenticate(web, es_key, registry):
    response = web.get("/fhir/Patient")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["resourceType"] == "OperationOutcome"
    for token in ("garbage", jwt.encode({"iss": "x", "sub": "x", "scope": "system/*.*", "exp": 9999999999},
                                         "s" * 32, algorithm="HS256")):
        response = web.get("/fhir/Patient", headers=bearer(token))
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    # a token signed by a key of its own, not the server's
    forged = jwt.encode({"iss": "urn:cmp-adapter:token-endpoint", "sub": "c", "client_id": "c",
                         "scope": "system/*.cruds", "exp": 9999999999}, es_key.private_key, algorithm="ES384",
                        headers={"kid": "nope"})
    assert web.get("/fhir/Patient", headers=bearer(forged)).status_code == 401


def test_an_expired_access_token_is_401(auth_settings, services, es_key, registry):
    _register(registry, "short", es_key, "system/*.rs")
    app = create_app(auth_settings.replace(auth_token_lifetime=1), services=services)
    web = app.test_client()
    token = get_token(web, es_key, "short", "system/*.rs")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 1
    import time

    time.sleep(7)  # past the lifetime and the 5 s clock-skew leeway
    assert web.get("/fhir/Patient", headers=bearer(token)).status_code == 401


# --- the token endpoint --------------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_token_for_a_signed_assertion(web, registry, es_key, rs_key, alg):
    key = es_key if alg == "ES384" else rs_key
    _register(registry, "mmis", key, "system/*.rs system/Encounter.cruds")
    response = web.post("/auth/token", data=token_form(key.assertion("mmis"), "system/*.rs system/Patient.write"))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "bearer"
    assert 0 < body["expires_in"] <= 300
    assert body["scope"] == "system/*.rs"  # Patient.write is not registered: dropped, not granted
    assert web.get("/fhir/Patient", headers=bearer(body["access_token"])).status_code == 200


def _token_error(web, form):
    response = web.post("/auth/token", data=form)
    assert response.status_code == 400, response.get_json()
    return response.get_json()["error"]


def test_refused_assertions(web, registry, es_key, rs_key):
    _register(registry, "vendor", es_key, "system/*.rs")
    scope = "system/*.rs"
    assert _token_error(web, token_form(es_key.assertion("vendor", exp_in=-120), scope)) == "invalid_client"
    assert _token_error(web, token_form(es_key.assertion("vendor", exp_in=900), scope)) == "invalid_client"
    assert _token_error(web, token_form(es_key.assertion("vendor", aud="https://elsewhere/token"), scope)) \
        == "invalid_client"
    assert _token_error(web, token_form(es_key.assertion("vendor", sub="someone-else"), scope)) == "invalid_client"
    assert _token_error(web, token_form(es_key.assertion("stranger"), scope)) == "invalid_client"
    # signed by another key under the registered kid
    assert _token_error(web, token_form(KeyPair.generate("ES384").assertion("vendor", kid=es_key.kid), scope)) \
        == "invalid_client"
    # algorithms other than RS384/ES384: HS256 with the public key as secret, none, ES256
    now_claims = jwt.decode(es_key.assertion("vendor"), options={"verify_signature": False})
    hs = jwt.encode(now_claims, "k" * 32, algorithm="HS256", headers={"kid": es_key.kid})
    unsigned = jwt.encode(now_claims, None, algorithm="none", headers={"kid": es_key.kid})
    assert _token_error(web, token_form(hs, scope)) == "invalid_client"
    assert _token_error(web, token_form(unsigned, scope)) == "invalid_client"
    assert _token_error(web, token_form(rs_key.assertion("vendor", alg="RS256"), scope)) == "invalid_client"
    # replay: the same jti twice
    assertion = es_key.assertion("vendor", jti="once-only")
    assert web.post("/auth/token", data=token_form(assertion, scope)).status_code == 200
    assert _token_error(web, token_form(es_key.assertion("vendor", jti="once-only"), scope)) == "invalid_client"
    # scopes and grant types
    assert _token_error(web, token_form(es_key.assertion("vendor"), "system/Patient.write")) == "invalid_scope"
    assert _token_error(web, token_form(es_key.assertion("vendor"), "patient/*.rs")) == "invalid_scope"
    assert _token_error(web, token_form(es_key.assertion("vendor"), "")) == "invalid_scope"
    assert _token_error(web, {**token_form(es_key.assertion("vendor"), scope), "grant_type": "password"}) \
        == "unsupported_grant_type"
    assert _token_error(web, {**token_form(es_key.assertion("vendor"), scope), "client_assertion_type": "x"}) \
        == "invalid_request"


def test_removed_client_loses_access(web, registry, es_key):
    _register(registry, "gone", es_key, "system/*.rs")
    token = get_token(web, es_key, "gone", "system/*.rs")
    assert web.get("/fhir/Patient", headers=bearer(token)).status_code == 200
    assert registry.remove("gone")  # another process's registry: this app notices within CLIENT_CACHE_SECONDS
    import time

    from adapter.auth.clients import CLIENT_CACHE_SECONDS

    time.sleep(CLIENT_CACHE_SECONDS + 0.1)
    assert web.get("/fhir/Patient", headers=bearer(token)).status_code == 401


# --- scopes on every interaction -----------------------------------------------------------------------------


def test_v1_scopes(web, registry, es_key, services):
    _seed(services, [patient(id="p1"), _encounter("e1", "p1"),
                     {"resourceType": "CarePlan", "id": "cp1", "status": "active", "intent": "plan",
                      "subject": {"reference": "Patient/p1"}}])
    _register(registry, "v1", es_key, "system/CarePlan.read system/*.write")
    reader = get_token(web, es_key, "v1", "system/CarePlan.read")
    assert web.get("/fhir/CarePlan/cp1", headers=bearer(reader)).status_code == 200
    assert web.get("/fhir/CarePlan?status=active", headers=bearer(reader)).status_code == 200
    assert web.get("/fhir/CarePlan/cp1/_history", headers=bearer(reader)).status_code == 200
    refused = web.get("/fhir/Encounter/e1", headers=bearer(reader))
    assert refused.status_code == 403
    assert refused.get_json()["issue"][0]["code"] == "forbidden"
    assert _post(web, "/fhir/CarePlan", {"resourceType": "CarePlan", "status": "active", "intent": "plan",
                                         "subject": {"reference": "Patient/p1"}}, reader).status_code == 403
    writer = get_token(web, es_key, "v1", "system/*.write")
    assert _post(web, "/fhir/Patient", patient(), writer).status_code == 201
    assert web.get("/fhir/Patient/p1", headers=bearer(writer)).status_code == 403
    assert web.delete("/fhir/Encounter/e1", headers=bearer(writer)).status_code == 200


def test_v2_scopes(web, registry, es_key, services):
    _seed(services, [patient(id="p1"), _encounter("e1", "p1")])
    _register(registry, "v2", es_key, "system/*.rs system/Encounter.cruds system/Patient.u")
    rs = get_token(web, es_key, "v2", "system/*.rs")
    assert web.get("/fhir/Patient/p1", headers=bearer(rs)).status_code == 200
    assert web.get("/fhir/Patient/p1/_history/1", headers=bearer(rs)).status_code == 200
    assert web.get("/fhir/_history", headers=bearer(rs)).status_code == 200
    assert _post(web, "/fhir/Encounter", _encounter("x", "p1"), rs).status_code == 403
    r_only = get_token(web, es_key, "v2", "system/Patient.r")
    assert web.get("/fhir/Patient/p1", headers=bearer(r_only)).status_code == 200
    assert web.get("/fhir/Patient", headers=bearer(r_only)).status_code == 403  # search needs s
    cruds = get_token(web, es_key, "v2", "system/Encounter.cruds")
    assert _put(web, "/fhir/Encounter/e2", _encounter("e2", "p1"), cruds).status_code == 201
    assert web.delete("/fhir/Encounter/e2", headers=bearer(cruds)).status_code == 200
    # update (u) of an existing Patient is allowed; creating one with PUT also needs c
    update = get_token(web, es_key, "v2", "system/Patient.u")
    assert _put(web, "/fhir/Patient/p1", patient(id="p1", family="Ng"), update).status_code == 200
    assert _put(web, "/fhir/Patient/new1", patient(id="new1"), update).status_code == 403
    # conditional create also searches
    c_only = get_token(web, es_key, "v2", "system/Encounter.c")
    assert _post(web, "/fhir/Encounter", _encounter("x", "p1"), c_only,
                 **{"If-None-Exist": "identifier=a|b"}).status_code == 403


def test_operations_need_their_scopes(web, registry, es_key):
    _register(registry, "ops", es_key, "system/Patient.rs system/ConceptMap.rs")
    token = get_token(web, es_key, "ops", "system/Patient.rs system/ConceptMap.rs")
    assert _post(web, "/fhir/Patient/$validate", patient(), token).status_code == 403  # needs c or u
    assert web.get("/fhir/ConceptMap/$translate?code=x&system=y", headers=bearer(token)).status_code != 403
    assert web.post("/fhir/$import-cmp?kind=member", json=[], headers=bearer(token)).status_code == 403
    writer_scope = "system/Patient.cu"
    _register(registry, "ops2", es_key, writer_scope)
    writer = get_token(web, es_key, "ops2", writer_scope)
    assert _post(web, "/fhir/Patient/$validate", patient(), writer).status_code == 200
    assert web.get("/fhir/ConceptMap/$translate?code=x&system=y", headers=bearer(writer)).status_code == 403


def test_include_never_leaks_a_type_the_scopes_do_not_cover(web, registry, es_key, services):
    _seed(services, [patient(id="p1"), _encounter("e1", "p1")])
    _register(registry, "enc", es_key, "system/Encounter.rs system/Patient.s")
    encounters_only = get_token(web, es_key, "enc", "system/Encounter.rs system/Patient.s")
    bundle = web.get("/fhir/Encounter?_include=Encounter:subject", headers=bearer(encounters_only)).get_json()
    assert _ids(bundle, "Encounter") == ["e1"]
    assert _ids(bundle, "Patient") == []  # Patient.s is not r: an include is a read
    bundle = web.get("/fhir/Patient?_revinclude=Encounter:subject", headers=bearer(encounters_only)).get_json()
    assert _ids(bundle, "Patient") == ["p1"] and _ids(bundle, "Encounter") == ["e1"]
    _register(registry, "both", es_key, "system/Encounter.rs system/Patient.rs")
    both = get_token(web, es_key, "both", "system/Encounter.rs system/Patient.rs")
    bundle = web.get("/fhir/Encounter?_include=Encounter:subject", headers=bearer(both)).get_json()
    assert _ids(bundle, "Patient") == ["p1"]


def test_transaction_and_batch_entries_are_checked_one_by_one(web, registry, es_key, services):
    _register(registry, "pat", es_key, "system/Patient.cruds")
    token = get_token(web, es_key, "pat", "system/Patient.cruds")
    entries = [{"fullUrl": "urn:uuid:6f0c5a8e-0000-4000-8000-000000000001", "resource": patient(),
                "request": {"method": "POST", "url": "Patient"}},
               {"resource": _encounter("t1", "p-none"), "request": {"method": "PUT", "url": "Encounter/t1"}}]
    response = _post(web, "/fhir", {"resourceType": "Bundle", "type": "transaction", "entry": entries}, token)
    assert response.status_code == 403
    assert "Bundle.entry[1]" in response.get_json()["issue"][0]["expression"][0]
    assert web.get("/fhir/Patient", headers=bearer(token)).get_json().get("total") == 0  # nothing stored
    response = _post(web, "/fhir", {"resourceType": "Bundle", "type": "batch", "entry": entries}, token)
    assert response.status_code == 200
    statuses = [e["response"]["status"] for e in response.get_json()["entry"]]
    assert statuses[0].startswith("201") and statuses[1].startswith("403")
    search_entry = [{"request": {"method": "GET", "url": "Encounter?_count=5"}}]
    response = _post(web, "/fhir", {"resourceType": "Bundle", "type": "batch", "entry": search_entry}, token)
    assert response.get_json()["entry"][0]["response"]["status"].startswith("403")


# --- fail-closed declarations --------------------------------------------------------------------------------


def test_every_fhir_endpoint_declares_what_it_needs(auth_app):
    declared = auth_app.extensions["cmp-auth"].needs
    undeclared = sorted({rule.endpoint for rule in auth_app.url_map.iter_rules()
                         if rule.endpoint not in declared and rule.endpoint != "static"})
    assert undeclared == [], f"endpoints without an access declaration (add them to an ACCESS table): {undeclared}"


def test_an_undeclared_endpoint_is_refused(auth_app, registry, es_key):
    auth_app.add_url_rule("/fhir/$surprise", "fhir.surprise", lambda: "leaked")
    web = auth_app.test_client()
    _register(registry, "all", es_key, "system/*.*")
    token = get_token(web, es_key, "all", "system/*.*")
    assert web.get("/fhir/$surprise", headers=bearer(token)).status_code == 403
    assert web.get("/fhir/$surprise").status_code == 403


def test_include_iterate_does_not_walk_through_a_hidden_type(web, registry, es_key, services):
    _seed(services, [{"resourceType": "Organization", "id": "o1", "name": "Team"},
                     patient(id="p1", managingOrganization={"reference": "Organization/o1"}), _encounter("e1", "p1")])
    scope = "system/Encounter.rs system/Organization.rs"
    _register(registry, "iter", es_key, scope)
    token = get_token(web, es_key, "iter", scope)
    bundle = web.get("/fhir/Encounter?_include=Encounter:subject&_include:iterate=Patient:organization",
                     headers=bearer(token)).get_json()
    assert _ids(bundle, "Patient") == [] and _ids(bundle, "Organization") == []


def test_clients_commands(settings, tmp_path, es_key):
    import json

    from click.testing import CliRunner

    from adapter.cli import main

    env = {"CMP_ADAPTER_DATABASE_URL": settings.database_url, "CMP_ADAPTER_DATA_DIR": settings.data_dir}
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(es_key.jwks()))
    runner = CliRunner()
    added = runner.invoke(main, ["clients", "add", "--id", "hh-1", "--jwks", str(jwks), "--scope", "system/*.rs",
                                 "--organization", "Organization/hh"], env=env)
    assert added.exit_code == 0, added.output
    listed = runner.invoke(main, ["clients", "list"], env=env)
    assert "hh-1\tsystem/*.rs\tOrganization/hh\t1 key(s) in JWKS" in listed.output
    bad = runner.invoke(main, ["clients", "add", "--id", "x", "--jwks", str(jwks), "--scope", "patient/*.rs"], env=env)
    assert bad.exit_code != 0 and "no system/ scope" in bad.output
    private = {"keys": [{**es_key.jwks()["keys"][0], "d": "secret"}]}
    jwks.write_text(json.dumps(private))
    bad = runner.invoke(main, ["clients", "add", "--id", "x", "--jwks", str(jwks), "--scope", "system/*.rs"], env=env)
    assert bad.exit_code != 0 and "private key" in bad.output
    bad = runner.invoke(main, ["clients", "add", "--id", "x", "--jwks-url", "https://a/j", "--scope", "system/*.rs",
                               "--organization", "Group/1"], env=env)
    assert bad.exit_code != 0 and "Organization reference" in bad.output
    assert runner.invoke(main, ["clients", "remove", "hh-1"], env=env).exit_code == 0
    assert runner.invoke(main, ["clients", "remove", "hh-1"], env=env).exit_code != 0
    assert "hh-1" not in runner.invoke(main, ["clients", "list"], env=env).output


# --- what content asks: a Subscription reads what it matches ------------------------------------------------


def _subscription(criteria: str) -> dict:
    return {"resourceType": "Subscription", "status": "requested", "reason": "test", "criteria": criteria,
            "channel": {"type": "rest-hook", "endpoint": "http://127.0.0.1:9/hook"}}


def test_a_subscription_needs_read_and_search_on_what_it_matches(web, registry, es_key):
    scope = "system/Subscription.cru system/CarePlan.rs"
    _register(registry, "sub", es_key, scope)
    token = get_token(web, es_key, "sub", scope)
    assert _post(web, "/fhir/Subscription", _subscription("CarePlan?status=active"), token).status_code == 201
    refused = _post(web, "/fhir/Subscription", _subscription("Patient?name=x"), token)
    assert refused.status_code == 403 and "Patient" in refused.get_json()["issue"][0]["diagnostics"]
    assert _put(web, "/fhir/Subscription/s1", {**_subscription("Patient?"), "id": "s1"}, token).status_code == 403
    entry = {"resource": _subscription("Patient?"), "request": {"method": "POST", "url": "Subscription"}}
    response = _post(web, "/fhir", {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}, token)
    assert response.status_code == 403


def test_an_export_job_is_only_its_clients(web, registry, es_key):
    scope = "system/*.rs"
    for client_id in ("exporter", "other"):
        _register(registry, client_id, es_key, scope)
    mine, theirs = get_token(web, es_key, "exporter", scope), get_token(web, es_key, "other", scope)
    kicked = web.get("/fhir/$export?_type=Patient", headers={**bearer(mine), "Prefer": "respond-async"})
    assert kicked.status_code == 202
    status_url = kicked.headers["Content-Location"].split("/fhir", 1)[1]
    assert web.get(f"/fhir{status_url}", headers=bearer(mine)).status_code in (200, 202)
    assert web.get(f"/fhir{status_url}", headers=bearer(theirs)).status_code == 404
    assert web.delete(f"/fhir{status_url}", headers=bearer(theirs)).status_code == 404
    assert web.get(f"/fhir{status_url}").status_code == 401
    assert web.delete(f"/fhir{status_url}", headers=bearer(mine)).status_code == 202


def test_the_audit_trail_is_only_for_clients_granted_it_by_name(web, registry, es_key):
    broad, admin = "system/*.rs", "system/*.rs system/AuditEvent.rs"
    _register(registry, "reader", es_key, broad)
    _register(registry, "auditor", es_key, admin)
    reader, auditor = get_token(web, es_key, "reader", broad), get_token(web, es_key, "auditor", admin)
    assert web.get("/fhir/Patient", headers=bearer(reader)).status_code == 200
    assert web.get("/fhir/AuditEvent", headers=bearer(reader)).status_code == 403  # * does not cover it
    assert web.get("/fhir/AuditEvent/_history", headers=bearer(reader)).status_code == 403
    refused = web.get("/fhir/$export?_type=AuditEvent", headers={**bearer(reader), "Prefer": "respond-async"})
    assert refused.status_code == 403
    assert web.get("/fhir/AuditEvent", headers=bearer(auditor)).status_code == 200
    # a token cannot ask for more than the registration names: * registered does not grant AuditEvent
    response = web.post("/auth/token", data=token_form(es_key.assertion("reader"),
                                                         "system/AuditEvent.rs system/Patient.rs"))
    assert response.status_code == 200 and "AuditEvent" not in response.get_json()["scope"]
