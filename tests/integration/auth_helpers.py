"""Keys, client assertions and tokens for the authorization tests (real keys, PyJWT + cryptography)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

TOKEN_URL = "http://localhost/auth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class KeyPair:
    private_key: Any
    alg: str
    kid: str

    @classmethod
    def generate(cls, alg: str = "ES384") -> KeyPair:
        key = ec.generate_private_key(ec.SECP384R1()) if alg == "ES384" else rsa.generate_private_key(65537, 2048)
        return cls(key, alg, uuid.uuid4().hex[:12])

    def jwks(self) -> dict:
        loader = ECAlgorithm if self.alg == "ES384" else RSAAlgorithm
        return {"keys": [{**loader.to_jwk(self.private_key.public_key(), as_dict=True), "kid": self.kid,
                          "alg": self.alg}]}

    def assertion(self, client_id: str, *, aud: str = TOKEN_URL, exp_in: int = 240, jti: str | None = None,
                  alg: str | None = None, sub: str | None = None, kid: str | None = None) -> str:
        now = int(time.time())
        claims = {"iss": client_id, "sub": sub or client_id, "aud": aud, "exp": now + exp_in, "iat": now,
                  "jti": jti or uuid.uuid4().hex}
        return jwt.encode(claims, self.private_key, algorithm=alg or self.alg, headers={"kid": kid or self.kid})


def token_form(assertion: str, scope: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "scope": scope, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion}


def get_token(client, key: KeyPair, client_id: str, scope: str) -> str:
    """A token from the app's token endpoint (asserts it was issued)."""
    response = client.post("/auth/token", data=token_form(key.assertion(client_id), scope))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
