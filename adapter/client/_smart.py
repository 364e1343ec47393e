"""SMART Backend Services credentials: a token source for :class:`~adapter.client.FhirClient` (any server).

http://hl7.org/fhir/smart-app-launch/backend-services.html: the client finds the token endpoint in
``[base]/.well-known/smart-configuration``, signs a short JWT with its private key (``iss`` = ``sub`` =
client id, ``aud`` = token URL, ``exp`` = now + 5 minutes, a fresh ``jti``; RS384 for an RSA key, ES384 for
a P-384 key), posts it as a ``client_credentials`` grant and gets an access token, which it reuses until
shortly before it expires. Signing is PyJWT's; nothing here does crypto.

    creds = BackendServicesCredentials(base, "state-mmis", private_key_pem, scope="system/*.rs")
    with FhirClient(base, auth=creds) as client: ...
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from adapter.client._config import DEFAULT_TIMEOUT
from adapter.client._exceptions import TokenError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Lifetime of each client assertion (SMART: at most five minutes).
ASSERTION_SECONDS = 300
#: A cached token is renewed this many seconds before it expires.
RENEW_BEFORE_SECONDS = 30


def load_private_key(data: bytes | str) -> tuple[Any, str | None]:
    """A private key from PEM (PKCS#8 or traditional) or a private JWK (JSON), and the JWK's ``kid`` if any.

    :raise ValueError: not a private RSA or EC key.
    """
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    if text.lstrip().startswith("{"):
        jwk = json.loads(text)
        if "d" not in jwk:
            raise ValueError("the JWK is a public key; the client needs its private key")
        loader = RSAAlgorithm if jwk.get("kty") == "RSA" else ECAlgorithm
        return loader.from_jwk(jwk), jwk.get("kid")
    return load_pem_private_key(text.encode("utf-8"), password=None), None


def signing_algorithm(private_key: Any) -> str:
    """RS384 for an RSA key, ES384 for a P-384 EC key (the two SMART requires servers to accept).

    :raise ValueError: another kind of key.
    """
    if isinstance(private_key, rsa.RSAPrivateKey):
        return "RS384"
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and private_key.curve.name == "secp384r1":
        return "ES384"
    raise ValueError("SMART backend services keys are RSA (RS384) or EC P-384 (ES384)")


def public_jwk(private_key: Any, kid: str | None = None) -> dict:
    """The public JWK to register with a server, with ``kid`` (default: its RFC 7638 thumbprint) and ``alg``."""
    algorithm = signing_algorithm(private_key)
    loader = RSAAlgorithm if algorithm == "RS384" else ECAlgorithm
    jwk = loader.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": kid or thumbprint(jwk), "alg": algorithm, "use": "sig"}


def thumbprint(jwk: dict) -> str:
    """RFC 7638 JWK thumbprint (SHA-256 of the required members, base64url): a stable default ``kid``."""
    required = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({name: jwk[name] for name in required}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


class BackendServicesCredentials:
    """A token source: call it for the current access token; :meth:`invalidate` after a 401.

    Parameters (defaults): ``base_url`` the FHIR base whose SMART configuration names the token endpoint;
    ``client_id``; ``private_key`` PEM/JWK bytes or text, or a key object; ``scope`` (``system/*.rs``);
    ``kid`` (the JWK's, else the key's thumbprint); ``token_url`` (skip discovery); ``session`` (a new
    one); ``timeout`` (the client's default).
    """

    def __init__(self, base_url: str, client_id: str, private_key: bytes | str | Any, *,
                 scope: str = "system/*.rs", kid: str | None = None, token_url: str | None = None,
                 session: requests.Session | None = None,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        if isinstance(private_key, bytes | str):
            private_key, jwk_kid = load_private_key(private_key)
            kid = kid or jwk_kid
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.scope = scope
        self.algorithm = signing_algorithm(private_key)
        self.kid = kid or public_jwk(private_key)["kid"]
        self._key = private_key
        self._token_url = token_url
        self._session = session or requests.Session()
        self._timeout = timeout
        self._token: str | None = None
        self._expires_at = 0.0
        self.granted_scope: str | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or time.time() >= self._expires_at - RENEW_BEFORE_SECONDS:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token (the server refused it); the next call fetches a new one."""
        with self._lock:
            self._token = None

    @property
    def token_url(self) -> str:
        """The token endpoint, from ``[base]/.well-known/smart-configuration`` (looked up once).

        :raise TokenError: the configuration cannot be read or names no token endpoint.
        """
        if self._token_url is None:
            url = f"{self.base_url}/.well-known/smart-configuration"
            try:
                response = self._session.get(url, timeout=self._timeout, headers={"Accept": "application/json"})
                response.raise_for_status()
                endpoint = response.json().get("token_endpoint")
            except (requests.RequestException, ValueError, AttributeError) as exc:
                raise TokenError(f"cannot read the SMART configuration at {url}: {exc}") from exc
            if not isinstance(endpoint, str) or not endpoint:
                raise TokenError(f"the SMART configuration at {url} names no token_endpoint")
            self._token_url = endpoint
        return self._token_url

    def assertion(self) -> str:
        """A freshly signed client assertion for the token endpoint."""
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": self.token_url, "iat": now,
                  "exp": now + ASSERTION_SECONDS, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self._key, algorithm=self.algorithm, headers={"kid": self.kid, "typ": "JWT"})

    def _fetch(self) -> None:
        form = {"grant_type": "client_credentials", "scope": self.scope,
                "client_assertion_type": ASSERTION_TYPE, "client_assertion": self.assertion()}
        try:
            response = self._session.post(self.token_url, data=form, timeout=self._timeout,
                                          headers={"Accept": "application/json"})
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise TokenError(f"no answer from the token endpoint {self.token_url}: {exc}") from exc
        if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            error = body.get("error") if isinstance(body, dict) else None
            description = body.get("error_description") if isinstance(body, dict) else None
            raise TokenError(f"the token endpoint refused client {self.client_id!r}: {error or response.status_code}"
                             f"{': ' + description if description else ''}", error=error, description=description)
        self._token = str(body["access_token"])
        self._expires_at = time.time() + float(body.get("expires_in", 300))
        self.granted_scope = body.get("scope")
