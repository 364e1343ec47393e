"""The server's own token-signing keys, kept and rotated in the database (``auth_signing_keys``).

Every worker on every host signs and verifies with the same keys because they live in the shared database.
An ES384 (P-384) key is generated on first use; after ``auth_key_rotation_days`` a new one is generated and
signs from then on, while the older ones keep verifying until they are retired (twice the rotation period
after their creation; by then no token they signed can still be alive). The private keys are as secret as
the database itself: see docs/security.md.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy import Engine, insert, select, update

from adapter.store.schema import auth_signing_keys
from adapter.store.sql import now_utc

#: The algorithm of our access tokens.
TOKEN_ALGORITHM = "ES384"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    created_at: datetime


class SigningKeys:
    """Our signing keys: the newest signs, every unretired one verifies. Cached per process, re-read when
    an unknown ``kid`` shows up (another worker rotated) or the cache is a minute old."""

    def __init__(self, engine: Engine, rotation_days: int) -> None:
        self.engine = engine
        self.rotation = timedelta(days=max(1, rotation_days))
        self._keys: dict[str, SigningKey] = {}
        self._loaded_at: datetime | None = None
        self._lock = threading.Lock()

    def current(self) -> SigningKey:
        """The key to sign with now (creating or rotating it when due)."""
        now = now_utc()
        self._refresh(now)
        newest = max(self._keys.values(), key=lambda k: k.created_at, default=None)
        if newest is None or now - newest.created_at >= self.rotation:
            newest = self._generate(now)
        return newest

    def verifying_key(self, kid: str) -> ec.EllipticCurvePublicKey | None:
        key = self._keys.get(kid)
        if key is None:
            self._refresh(now_utc(), force=True)
            key = self._keys.get(kid)
        return key.private_key.public_key() if key is not None else None

    def jwks(self) -> dict:
        """The public keys as a JWKS (served at ``/auth/jwks``)."""
        self._refresh(now_utc())
        keys = []
        for key in sorted(self._keys.values(), key=lambda k: k.created_at):
            jwk = ECAlgorithm.to_jwk(key.private_key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": key.kid, "alg": TOKEN_ALGORITHM, "use": "sig"})
        return {"keys": keys}

    def _refresh(self, now: datetime, *, force: bool = False) -> None:
        with self._lock:
            if not force and self._loaded_at is not None and now - self._loaded_at < timedelta(minutes=1):
                return
            retire_before = now - 2 * self.rotation
            with self.engine.begin() as conn:
                conn.execute(update(auth_signing_keys).where(auth_signing_keys.c.retired_at.is_(None),
                                                             auth_signing_keys.c.created_at < retire_before)
                             .values(retired_at=now))
                rows = conn.execute(select(auth_signing_keys).where(auth_signing_keys.c.retired_at.is_(None))).all()
            self._keys = {row.kid: SigningKey(row.kid, ECAlgorithm.from_jwk(row.private_jwk), row.created_at)
                          for row in rows}
            self._loaded_at = now

    def _generate(self, now: datetime) -> SigningKey:
        private_key = ec.generate_private_key(ec.SECP384R1())
        key = SigningKey(uuid.uuid4().hex, private_key, now)
        with self.engine.begin() as conn:
            conn.execute(insert(auth_signing_keys).values(
                kid=key.kid, private_jwk=json.dumps(ECAlgorithm.to_jwk(private_key, as_dict=True)), created_at=now))
        with self._lock:
            self._keys[key.kid] = key
        return key
