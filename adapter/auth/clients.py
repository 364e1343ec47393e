"""The registry of SMART Backend Services clients, in the database (``auth_clients``).

A client is registered out of band (``cmp-adapter clients add``) with its public keys, as a JWKS or a JWKS
URL (SMART backend-services: the server fetches the URL, so the client can rotate keys on its own), the
scopes it may be granted, and optionally the organizations whose members it is restricted to.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import requests
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKError, PyJWKSetError
from sqlalchemy import Engine, delete, insert, select

from adapter.auth.scopes import Permissions
from adapter.store.schema import auth_clients
from adapter.store.sql import now_utc

#: How long a fetched JWKS is reused before it is fetched again, in seconds.
JWKS_URL_CACHE_SECONDS = 300
#: How long a client's registration is reused by a process before it is read again, in seconds: a removed
#: client's tokens stop working within this time on every worker (at once on the one that removed it).
CLIENT_CACHE_SECONDS = 2.0
#: Timeout for fetching a client's JWKS URL, in seconds.
JWKS_URL_TIMEOUT = 5.0


class ClientError(ValueError):
    """A registration that cannot be stored (bad JWKS, no scope, bad organization reference)."""


@dataclass(frozen=True)
class Client:
    """One registered client."""

    client_id: str
    scope: str
    organizations: tuple[str, ...] = ()
    jwks: dict | None = None
    jwks_url: str | None = None

    @property
    def permissions(self) -> Permissions:
        return Permissions.parse(self.scope)

    def check(self) -> None:
        """:raise ClientError: the registration is incomplete or malformed."""
        if not self.client_id or len(self.client_id) > 255:
            raise ClientError("a client id is 1 to 255 characters")
        if (self.jwks is None) == (self.jwks_url is None):
            raise ClientError("give the client's public keys as a JWKS or as a JWKS URL (one of them)")
        if self.jwks is not None:
            public_keys(self.jwks)
        if self.jwks_url is not None and not self.jwks_url.startswith(("https://", "http://")):
            raise ClientError(f"{self.jwks_url!r} is not an http(s) URL")
        if Permissions.parse(self.scope).is_empty():
            raise ClientError(f"{self.scope!r} holds no system/ scope this server grants "
                              "(e.g. system/*.rs, system/CarePlan.read)")
        for org in self.organizations:
            kind, _, org_id = org.partition("/")
            if kind != "Organization" or not org_id:
                raise ClientError(f"{org!r} is not an Organization reference (Organization/[id])")


def public_keys(jwks: dict) -> list[PyJWK]:
    """The usable public keys of a JWKS. :raise ClientError: not a JWKS, or a private key in it."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ClientError("a JWKS is a JSON object with a 'keys' array")
    if any(isinstance(key, dict) and "d" in key for key in jwks["keys"]):
        raise ClientError("the JWKS holds a private key; register the public keys only")
    try:
        return list(PyJWKSet.from_dict(jwks).keys)
    except (PyJWKError, PyJWKSetError) as exc:
        raise ClientError(f"the JWKS has no usable key: {exc}") from exc


class ClientRegistry:
    """Clients in the database, and a short cache of the JWKS fetched from their URLs (per process)."""

    def __init__(self, engine: Engine, session: requests.Session | None = None) -> None:
        self.engine = engine
        self._session = session or requests.Session()
        self._fetched: dict[str, tuple[float, list[PyJWK]]] = {}
        self._registrations: dict[str, tuple[float, Client | None]] = {}
        self._lock = threading.Lock()

    def add(self, client: Client) -> None:
        """Register (or replace) a client. :raise ClientError: see :meth:`Client.check`."""
        client.check()
        self._registrations.pop(client.client_id, None)
        with self.engine.begin() as conn:
            conn.execute(delete(auth_clients).where(auth_clients.c.client_id == client.client_id))
            conn.execute(insert(auth_clients).values(
                client_id=client.client_id, jwks=json.dumps(client.jwks) if client.jwks is not None else None,
                jwks_url=client.jwks_url, scope=" ".join(client.scope.split()),
                organizations=" ".join(client.organizations), created_at=now_utc()))

    def remove(self, client_id: str) -> bool:
        self._registrations.pop(client_id, None)
        with self.engine.begin() as conn:
            return conn.execute(delete(auth_clients).where(auth_clients.c.client_id == client_id)).rowcount > 0

    def get(self, client_id: str, *, max_age: float = 0.0) -> Client | None:
        """The client's registration; ``max_age`` > 0 accepts one this process read that many seconds ago."""
        now = time.monotonic()
        cached = self._registrations.get(client_id) if max_age > 0 else None
        if cached is not None and now - cached[0] < max_age:
            return cached[1]
        with self.engine.connect() as conn:
            row = conn.execute(select(auth_clients).where(auth_clients.c.client_id == client_id)).first()
        client = _client(row) if row is not None else None
        if len(self._registrations) > 10_000:
            self._registrations.clear()
        self._registrations[client_id] = (now, client)
        return client

    def all(self) -> Iterator[Client]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(auth_clients).order_by(auth_clients.c.client_id)).all()
        return (_client(row) for row in rows)

    def keys_of(self, client: Client, *, refresh: bool = False) -> list[PyJWK]:
        """The client's public keys; a JWKS URL is fetched (and cached for a few minutes).

        :raise ClientError: the URL cannot be fetched or holds no usable key.
        """
        if client.jwks is not None:
            return public_keys(client.jwks)
        url = client.jwks_url or ""
        with self._lock:
            cached = self._fetched.get(url)
        if cached is not None and not refresh and time.monotonic() - cached[0] < JWKS_URL_CACHE_SECONDS:
            return cached[1]
        try:
            response = self._session.get(url, timeout=JWKS_URL_TIMEOUT, headers={"Accept": "application/json"})
            response.raise_for_status()
            keys = public_keys(response.json())
        except (requests.RequestException, ValueError) as exc:
            raise ClientError(f"cannot fetch the client's JWKS from {url}: {exc}") from exc
        with self._lock:
            self._fetched[url] = (time.monotonic(), keys)
        return keys


def _client(row) -> Client:
    return Client(row.client_id, row.scope, tuple(row.organizations.split()),
                  json.loads(row.jwks) if row.jwks else None, row.jwks_url)
