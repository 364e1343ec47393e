"""SMART Backend Services end to end over real HTTP: our server (gunicorn, auth on) and our client.

The client registers with ``cmp-adapter clients keygen/add``, discovers the token endpoint in the SMART
configuration, signs its assertion, caches the token, and the ``push``/``pull`` commands authenticate with
``--client-id --private-key``. A second client publishes its keys at a JWKS URL; a third gets its tokens
from an "external" authorization server (a key of the test's own, its JWKS on a local HTTP server).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
import requests
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from adapter.cli import main
from adapter.client import BackendServicesCredentials, FhirClient, Forbidden, TokenError, Unauthorized
from tests.integration.auth_helpers import KeyPair
from tests.integration.live_server import running_server

EXTERNAL_ISSUER = "https://idp.example.org"


class JwksServer:
    """Serves JWKS documents on 127.0.0.1 (``/<name>.json``)."""

    def __init__(self) -> None:
        self.documents: dict[str, dict] = {}
        documents = self.documents

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps(documents.get(self.path.strip("/").removesuffix(".json"), {})).encode()
                self.send_response(200 if self.path.strip("/").removesuffix(".json") in documents else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, base_settings) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("auth-http")
    env = {"CMP_ADAPTER_DATA_DIR": str(folder / "data"), "CMP_ADAPTER_FHIR_PACKAGES": base_settings.fhir_packages,
           "CMP_ADAPTER_COMPILED_CACHE_DIR": base_settings.effective_compiled_cache_dir,
           "CMP_ADAPTER_AUTH": "on", "CMP_ADAPTER_AUTH_EXTERNAL_ISSUER": EXTERNAL_ISSUER}
    runner = CliRunner()
    keys = runner.invoke(main, ["clients", "keygen", "--private-key", str(folder / "client.pem"),
                                "--jwks", str(folder / "client.jwks.json")], env=env)
    assert keys.exit_code == 0, keys.output
    added = runner.invoke(main, ["clients", "add", "--id", "state-mmis", "--jwks", str(folder / "client.jwks.json"),
                                 "--scope", "system/*.cruds"], env=env)
    assert added.exit_code == 0, added.output
    jwks = JwksServer()
    url_key = KeyPair.generate("RS384")
    jwks.documents["url-client"] = url_key.jwks()
    external_key = ec.generate_private_key(ec.SECP384R1())
    jwks.documents["idp"] = {"keys": [{**ECAlgorithm.to_jwk(external_key.public_key(), as_dict=True),
                                       "kid": "idp-1", "alg": "ES384"}]}
    for args in (["--id", "url-client", "--jwks-url", f"{jwks.url}/url-client.json", "--scope", "system/Patient.rs"],
                 ["--id", "reader", "--jwks", str(folder / "client.jwks.json"), "--scope", "system/*.rs"]):
        result = runner.invoke(main, ["clients", "add", *args], env=env)
        assert result.exit_code == 0, result.output
    listed = runner.invoke(main, ["clients", "list"], env=env)
    assert "state-mmis" in listed.output and "url-client" in listed.output
    env["CMP_ADAPTER_AUTH_EXTERNAL_JWKS_URL"] = f"{jwks.url}/idp.json"
    try:
        with running_server(env, workers=1) as base:
            yield {"base": base, "env": env, "folder": folder, "url_key": url_key, "external_key": external_key}
    finally:
        jwks.close()


def _credentials(setup, client_id="state-mmis", scope="system/*.cruds") -> BackendServicesCredentials:
    return BackendServicesCredentials(setup["base"], client_id, (setup["folder"] / "client.pem").read_bytes(),
                                      scope=scope)


def test_without_credentials_the_server_says_401(setup):
    with FhirClient(setup["base"]) as client, pytest.raises(Unauthorized):
        client.read("Patient", "x")
    assert requests.get(f"{setup['base']}/metadata", timeout=10).status_code == 200


def test_backend_services_credentials_get_cache_and_renew_a_token(setup):
    credentials = _credentials(setup)
    with FhirClient(setup["base"], auth=credentials) as client:
        created = client.create({"resourceType": "Patient", "name": [{"family": "Okafor"}]})
        assert client.read("Patient", created["id"])["name"][0]["family"] == "Okafor"
    assert credentials.token_url == setup["base"].removesuffix("/fhir") + "/auth/token"
    assert credentials.granted_scope == "system/*.cruds"
    first = credentials()
    assert credentials() == first  # cached
    credentials.invalidate()
    assert credentials() != first


def test_scopes_granted_are_enforced_for_the_client(setup):
    with FhirClient(setup["base"], auth=_credentials(setup, "reader", "system/*.cruds")) as client:
        client.resources("Patient").limit(1).fetch()
        with pytest.raises(Forbidden):
            client.create({"resourceType": "Patient"})


def test_an_unregistered_client_gets_a_token_error(setup):
    with pytest.raises(TokenError) as caught:
        _credentials(setup, "nobody")()
    assert caught.value.error == "invalid_client"


def test_a_client_with_a_jwks_url(setup):
    credentials = BackendServicesCredentials(setup["base"], "url-client", setup["url_key"].private_key,
                                             kid=setup["url_key"].kid, scope="system/Patient.rs")
    with FhirClient(setup["base"], auth=credentials) as client:
        assert isinstance(client.resources("Patient").limit(1).fetch(), list)
        with pytest.raises(Forbidden):
            client.resources("Encounter").limit(1).fetch()
    assert credentials.algorithm == "RS384"


def test_tokens_from_an_external_authorization_server(setup):
    now = int(time.time())
    claims = {"iss": EXTERNAL_ISSUER, "sub": "ext-app", "client_id": "ext-app", "scope": "system/Patient.rs",
              "iat": now, "exp": now + 120, "jti": uuid.uuid4().hex}
    token = jwt.encode(claims, setup["external_key"], algorithm="ES384", headers={"kid": "idp-1"})
    with FhirClient(setup["base"], auth=token) as client:
        client.resources("Patient").limit(1).fetch()
        with pytest.raises(Forbidden):
            client.resources("Encounter").limit(1).fetch()
    forged = jwt.encode(claims, ec.generate_private_key(ec.SECP384R1()), algorithm="ES384", headers={"kid": "idp-1"})
    with FhirClient(setup["base"], auth=forged) as client, pytest.raises(Unauthorized):
        client.resources("Patient").limit(1).fetch()


def test_push_and_pull_commands_authenticate(setup, tmp_path: Path):
    resource = {"resourceType": "Patient", "id": f"cli-{uuid.uuid4().hex[:8]}", "name": [{"family": "Cruz"}]}
    (tmp_path / "p.json").write_text(json.dumps(resource))
    runner = CliRunner()
    options = ["--client-id", "state-mmis", "--private-key", str(setup["folder"] / "client.pem")]
    refused = runner.invoke(main, ["push", "--to", setup["base"], str(tmp_path / "p.json")])
    assert refused.exit_code != 0
    pushed = runner.invoke(main, ["push", "--to", setup["base"], *options, str(tmp_path / "p.json")])
    assert pushed.exit_code == 0, pushed.output
    assert "1 accepted" in pushed.output
    env = {"CMP_ADAPTER_CLIENT_ID": "state-mmis", "CMP_ADAPTER_CLIENT_PRIVATE_KEY": str(setup["folder"] / "client.pem"),
           "CMP_ADAPTER_CLIENT_SCOPE": "system/Patient.rs"}
    pulled = runner.invoke(main, ["pull", "--from", setup["base"], "--query", f"Patient?_id={resource['id']}",
                                  "--out", str(tmp_path / "out")], env=env)
    assert pulled.exit_code == 0, pulled.output
    assert resource["id"] in (tmp_path / "out" / "Patient.ndjson").read_text()
