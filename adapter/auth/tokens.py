"""The token endpoint's logic and access-token checks (SMART App Launch 2.x, backend-services.html).

A client authenticates with a JWT it signed with its private key (``private_key_jwt``, RFC 7523): header
``alg`` RS384 or ES384 and the ``kid`` of a key in its registered JWKS; claims ``iss`` = ``sub`` = its
client id, ``aud`` = our token URL, ``exp`` at most five minutes ahead, and a ``jti`` never used before
(kept in ``auth_assertion_jtis`` until the assertion expires). It gets a short-lived access token, a JWT we
sign with our own key (:mod:`adapter.auth.keys`), granting the requested scopes cut down to its
registered ones. Signature checks are PyJWT's with an explicit algorithm list; nothing here does crypto.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt
from jwt import PyJWKClient
from jwt.exceptions import PyJWKClientError, PyJWTError
from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from adapter.auth.access import Access
from adapter.auth.clients import CLIENT_CACHE_SECONDS, Client, ClientError, ClientRegistry
from adapter.auth.keys import TOKEN_ALGORITHM, SigningKeys
from adapter.auth.scopes import Permissions, grant
from adapter.errors import Unauthorized
from adapter.store.schema import auth_assertion_jtis
from adapter.store.sql import now_utc

#: Client-assertion algorithms (SMART: servers SHALL support RS384 and ES384). Nothing else, never ``none``.
ASSERTION_ALGORITHMS = ("RS384", "ES384")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: The longest an assertion may live (SMART: ``exp`` no more than five minutes in the future).
MAX_ASSERTION_SECONDS = 300
#: Clock skew tolerated between client and server, in seconds.
LEEWAY_SECONDS = 30
#: Clock skew tolerated between our own hosts for our access tokens, in seconds.
OWN_TOKEN_LEEWAY_SECONDS = 5
#: Verified access tokens remembered per process (until they expire), so a token's signature is checked once
#: per worker rather than on every request; at most this many are kept.
VERIFIED_CACHE_SIZE = 10_000
#: ``iss`` of the access tokens we issue.
OUR_ISSUER = "urn:cmp-adapter:token-endpoint"
_CURVES = {"ES384": "secp384r1"}


class OAuthError(Exception):
    """An RFC 6749 §5.2 error answer of the token endpoint: ``error`` code, description, HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass(frozen=True)
class IssuedToken:
    client_id: str
    access_token: str
    expires_in: int
    scope: str


@dataclass(frozen=True)
class ExternalIssuer:
    """An external authorization server whose access tokens we accept (issuer, JWKS URL, audience)."""

    issuer: str
    jwks_url: str
    audience: str = ""


class TokenService:
    """Issues access tokens for client assertions and turns bearer tokens back into :class:`Access`."""

    def __init__(self, engine: Engine, clients: ClientRegistry, keys: SigningKeys, lifetime: int,
                 external: ExternalIssuer | None = None) -> None:
        self.engine, self.clients, self.keys = engine, clients, keys
        self.lifetime = max(1, lifetime)
        self.external = external
        self._external_keys = PyJWKClient(external.jwks_url, cache_keys=True, lifespan=300) if external else None
        self._verified: dict[str, dict] = {}

    # --- the token endpoint ----------------------------------------------------------------------------------

    def exchange(self, form: dict[str, str], token_url: str) -> IssuedToken:
        """``client_credentials`` with a signed client assertion → an access token.

        :raise OAuthError: ``unsupported_grant_type``, ``invalid_request``, ``invalid_client``, ``invalid_scope``.
        """
        if form.get("grant_type") != "client_credentials":
            raise OAuthError("unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
        assertion, requested = form.get("client_assertion", ""), form.get("scope", "")
        if not assertion:
            raise OAuthError("invalid_request", "client_assertion is missing")
        if not requested.strip():
            raise OAuthError("invalid_scope", "scope is missing (e.g. system/*.rs)")
        client = self.authenticate_client(assertion, token_url)
        scopes = grant(requested, client.scope)
        if not scopes:
            raise OAuthError("invalid_scope", f"none of the requested scopes ({requested}) is granted to this "
                                              "client; it is registered for: " + client.scope)
        now = int(time.time())
        key = self.keys.current()
        claims = {"iss": OUR_ISSUER, "sub": client.client_id, "client_id": client.client_id,
                  "scope": " ".join(scopes), "iat": now, "exp": now + self.lifetime, "jti": uuid.uuid4().hex}
        token = jwt.encode(claims, key.private_key, algorithm=TOKEN_ALGORITHM,
                           headers={"kid": key.kid, "typ": "at+jwt"})
        return IssuedToken(client.client_id, token, self.lifetime, claims["scope"])

    def authenticate_client(self, assertion: str, token_url: str) -> Client:
        """Check a client assertion (signature, claims, replay) and return the client it names.

        :raise OAuthError: ``invalid_client`` with the reason.
        """
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except PyJWTError as exc:
            raise OAuthError("invalid_client", f"client_assertion is not a JWT: {exc}") from exc
        alg = header.get("alg")
        if alg not in ASSERTION_ALGORITHMS:
            raise OAuthError("invalid_client",
                             f"client_assertion alg {alg!r} is not one of {', '.join(ASSERTION_ALGORITHMS)}")
        client_id = unverified.get("iss")
        client = self.clients.get(client_id) if isinstance(client_id, str) and client_id else None
        if client is None:
            raise OAuthError("invalid_client", "the assertion's iss is not a registered client")
        if unverified.get("sub") != client_id:
            raise OAuthError("invalid_client", "the assertion's sub must equal its iss (the client id)")
        claims = self._verified_claims(assertion, header, client, token_url)
        lifetime = claims["exp"] - time.time()
        if lifetime > MAX_ASSERTION_SECONDS + LEEWAY_SECONDS:
            raise OAuthError("invalid_client", f"the assertion's exp is more than {MAX_ASSERTION_SECONDS} s ahead")
        self._remember_jti(client.client_id, str(claims["jti"]), int(claims["exp"]))
        return client

    def _verified_claims(self, assertion: str, header: dict, client: Client, token_url: str) -> dict:
        kid = header.get("kid")
        last_error: Exception | None = None
        for refresh in (False, True):
            try:
                keys = self.clients.keys_of(client, refresh=refresh)
            except ClientError as exc:
                raise OAuthError("invalid_client", str(exc)) from exc
            candidates = [k for k in keys if kid is None or k.key_id == kid]
            for candidate in candidates:
                if not _fits(candidate, header["alg"]):
                    continue
                try:
                    return jwt.decode(assertion, candidate.key, algorithms=[header["alg"]], audience=token_url,
                                      issuer=client.client_id, leeway=LEEWAY_SECONDS,
                                      options={"require": ["iss", "sub", "aud", "exp", "jti"]})
                except PyJWTError as exc:
                    last_error = exc
            if last_error is not None or client.jwks_url is None:
                break
        reason = f": {last_error}" if last_error else (f": no registered key with kid {kid!r} for {header['alg']}")
        raise OAuthError("invalid_client", f"the client assertion does not verify{reason}")

    def _remember_jti(self, client_id: str, jti: str, exp: int) -> None:
        """Store the assertion's ``jti`` until it expires. :raise OAuthError: it was used before (a replay)."""
        now = now_utc()
        expires = now + timedelta(seconds=max(0, exp - time.time()) + LEEWAY_SECONDS)
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(auth_assertion_jtis).where(auth_assertion_jtis.c.expires_at < now))
                conn.execute(insert(auth_assertion_jtis).values(client_id=client_id, jti=jti[:255], expires_at=expires))
        except IntegrityError as exc:
            raise OAuthError("invalid_client", "this client assertion (jti) was already used") from exc

    # --- resource requests -----------------------------------------------------------------------------------

    def access_for(self, authorization: str | None) -> Access:
        """The caller of a request with this ``Authorization`` header.

        :raise Unauthorized: no bearer token, or one that is malformed, expired, not ours (nor the external
            issuer's), or whose client is no longer registered.
        """
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("this server requires an access token (Authorization: Bearer ...); get one from "
                               "the token endpoint in /.well-known/smart-configuration",
                               headers={"WWW-Authenticate": 'Bearer realm="cmp-adapter"'})
        claims = self._token_claims(token.strip())
        client_id = str(claims.get("client_id") or claims.get("sub") or "")
        client = self.clients.get(client_id, max_age=CLIENT_CACHE_SECONDS)
        granted = Permissions.parse(str(claims.get("scope", "")))
        if claims.get("iss") == OUR_ISSUER:
            if client is None:
                raise _invalid_token("the token's client is no longer registered")
            granted = granted.intersect(client.permissions)
        elif client is not None:
            granted = granted.intersect(client.permissions)
        return Access(client_id, granted, client.organizations if client is not None else (),
                      str(claims.get("scope", "")))

    def _token_claims(self, token: str) -> dict:
        """The claims of a valid token (signature checked once per process; expiry checked every time)."""
        known = self._verified.get(token)
        if known is not None:
            if known["exp"] + OWN_TOKEN_LEEWAY_SECONDS > time.time():
                return known
            self._verified.pop(token, None)
        claims = self._verify_token(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _verify_token(self, token: str) -> dict:
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
            if self.external is not None and issuer == self.external.issuer:
                key = self._external_keys.get_signing_key_from_jwt(token).key
                options = {"require": ["exp", "iss"], "verify_aud": bool(self.external.audience)}
                return jwt.decode(token, key, algorithms=["RS256", "RS384", "ES256", "ES384"], issuer=issuer,
                                  audience=self.external.audience or None, options=options, leeway=LEEWAY_SECONDS)
            kid = jwt.get_unverified_header(token).get("kid")
            key = self.keys.verifying_key(kid) if isinstance(kid, str) else None
            if key is None:
                raise _invalid_token("the token was not issued by this server (unknown key)")
            return jwt.decode(token, key, algorithms=[TOKEN_ALGORITHM], issuer=OUR_ISSUER,
                              options={"require": ["exp", "iss", "sub", "scope"]}, leeway=OWN_TOKEN_LEEWAY_SECONDS)
        except (PyJWTError, PyJWKClientError) as exc:
            raise _invalid_token(f"the access token is not valid: {exc}") from exc


def _fits(key: jwt.PyJWK, alg: str) -> bool:
    """A key can verify ``alg``: RSA for RS384, a P-384 EC key for ES384."""
    kty = key.key_type if hasattr(key, "key_type") else None
    if alg.startswith("RS"):
        return kty == "RSA"
    curve = getattr(getattr(key.key, "curve", None), "name", None)
    return kty == "EC" and curve == _CURVES.get(alg)


def _invalid_token(description: str) -> Unauthorized:
    safe = description.replace('"', "'")
    return Unauthorized(description, headers={
        "WWW-Authenticate": f'Bearer realm="cmp-adapter", error="invalid_token", error_description="{safe}"'})
