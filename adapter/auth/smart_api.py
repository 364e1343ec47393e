"""SMART discovery and the OAuth token endpoint (SMART App Launch 2.x conformance, backend-services).

``/.well-known/smart-configuration`` (also under ``/fhir``, where clients look relative to the FHIR base)
says where the token endpoint is and what it accepts; ``/auth/token`` exchanges a signed client assertion
for an access token and answers errors as RFC 6749 §5.2 JSON; ``/auth/jwks`` publishes our token-signing
public keys (for gateways that verify our tokens themselves). All three are public.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, request

from adapter.auth import enforcement
from adapter.auth.needs import PUBLIC, Need
from adapter.auth.tokens import ASSERTION_ALGORITHMS, OAuthError

log = logging.getLogger(__name__)
smart_api = Blueprint("smart", __name__)

#: Every endpoint of this blueprint is public (no token is needed to find or call the token endpoint).
ACCESS: dict[str, Need] = {
    "smart.configuration": PUBLIC,
    "smart.fhir_configuration": PUBLIC,
    "smart.token": PUBLIC,
    "smart.jwks": PUBLIC,
}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def origin() -> str:
    """``https://host`` of this server: from the configured base URL, else as the client sees it."""
    base = current_app.extensions["cmp"].settings.base_url
    if base:
        return base.rstrip("/").removesuffix("/fhir")
    return request.host_url.rstrip("/")


def token_url() -> str:
    return origin() + "/auth/token"


def configuration() -> dict:
    """The SMART configuration document (backend services only: no authorization endpoint, no launch)."""
    return {
        "token_endpoint": token_url(),
        "jwks_uri": origin() + "/auth/jwks",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "scopes_supported": ["system/*.cruds", "system/*.rs", "system/*.read", "system/*.write", "system/*.*"],
        "response_types_supported": ["token"],
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
        "code_challenge_methods_supported": ["S256"],
    }


@smart_api.get("/.well-known/smart-configuration", endpoint="configuration")
@smart_api.get("/fhir/.well-known/smart-configuration", endpoint="fhir_configuration")
def smart_configuration() -> Response:
    return jsonify(configuration())


@smart_api.post("/auth/token", endpoint="token")
def token() -> Response:
    """``client_credentials`` + ``private_key_jwt`` → a bearer access token (RFC 6749 §4.4, RFC 7523)."""
    if request.mimetype != "application/x-www-form-urlencoded":
        return _oauth_error(OAuthError("invalid_request", "the token request is a form "
                                                          "(application/x-www-form-urlencoded)"))
    auth = enforcement.state()
    try:
        issued = auth.tokens.exchange(request.form.to_dict(), token_url())
    except OAuthError as error:
        return _oauth_error(error)
    log.info("token issued to client %s: %s", issued.client_id, issued.scope)
    response = jsonify({"access_token": issued.access_token, "token_type": "bearer",
                        "expires_in": issued.expires_in, "scope": issued.scope})
    response.headers.update(_NO_STORE)
    return response


@smart_api.get("/auth/jwks", endpoint="jwks")
def jwks() -> Response:
    return jsonify(enforcement.state().tokens.keys.jwks())


def _oauth_error(error: OAuthError) -> Response:
    log.info("token request refused: %s", error.error)
    response = jsonify({"error": error.error, "error_description": error.description})
    response.status_code = error.status
    response.headers.update(_NO_STORE)
    return response


#: The extension that carries the OAuth endpoints in a CapabilityStatement (SMART App Launch).
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
_SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
AUTH_OFF_NOTE = ("AUTHORIZATION IS OFF on this server (CMP_ADAPTER_AUTH=off): every client can read and change "
                 "every record. Never expose it beyond localhost.")


def with_security(statement: dict) -> dict:
    """The CapabilityStatement with ``rest.security``: SMART-on-FHIR and the token URL, or (auth off) a
    loud note in ``security.description`` and in the statement's ``description``."""
    rest = statement["rest"][0]
    if enforcement.state().enabled:
        rest["security"] = {
            "extension": [{"url": OAUTH_URIS, "extension": [{"url": "token", "valueUri": token_url()}]}],
            "service": [{"coding": [{"system": _SECURITY_SERVICE, "code": "SMART-on-FHIR"}],
                         "text": "SMART Backend Services (client_credentials, private_key_jwt)"}],
            "description": "SMART Backend Services: get a token at the token endpoint with a signed client "
                           "assertion; system/ scopes (v1 and v2) are enforced on every interaction. See "
                           "/.well-known/smart-configuration.",
        }
    else:
        rest["security"] = {"cors": False, "description": AUTH_OFF_NOTE}
        statement["description"] = AUTH_OFF_NOTE
    return statement
