"""Authentication hooks: any :class:`requests.auth.AuthBase`, or a bearer token (or a function giving one).

The token function is the seam for SMART Backend Services (http://hl7.org/fhir/smart-app-launch/backend-services.html),
implemented by :class:`adapter.client._smart.BackendServicesCredentials`:
a credentials object that signs a JWT, fetches an access token and caches it until it expires is a callable
returning the current token; it can also expose ``invalidate()``, which the client calls before its one
retry after a 401 (the token was revoked or expired early).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import requests
from requests.auth import AuthBase


@runtime_checkable
class TokenSource(Protocol):
    """Something that yields the current access token (and may be told it went stale)."""

    def __call__(self) -> str: ...


class BearerAuth(AuthBase):
    """``Authorization: Bearer <token>`` on every request; the token is asked for each time, so a
    refreshing source (SMART backend services) keeps working across expiries."""

    def __init__(self, token: str | Callable[[], str]) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._token() if callable(self._token) else self._token
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    def invalidate(self) -> bool:
        """Tell the token source its token was refused; True when it can produce another one."""
        invalidate = getattr(self._token, "invalidate", None)
        if invalidate is None:
            return False
        invalidate()
        return True


def as_auth(auth: AuthBase | str | Callable[[], str] | None) -> AuthBase | None:
    """``auth`` as something :mod:`requests` takes: a string or a callable token source becomes :class:`BearerAuth`."""
    if auth is None or isinstance(auth, AuthBase):
        return auth
    return BearerAuth(auth)
