"""The client's defaults as named constants and one small config object for retries."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 60.0)
"""``(connect, read)`` seconds, as :mod:`requests` takes them."""

DEFAULT_POOL_SIZE = 10
"""Connections kept open per host by a session the client creates itself."""

FHIR_JSON = "application/fhir+json"

RETRY_ALWAYS = frozenset({429, 503})
"""Statuses that say the request was not processed (rate limit, unavailable): retried for any method."""

RETRY_IDEMPOTENT = frozenset({502, 504})
"""Gateway errors: the request may have reached the server, so only idempotent methods are retried
(a POST create or transaction could otherwise be applied twice)."""

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class Retries:
    """How often and how long to retry.

    The n-th retry (from 0) waits ``backoff * 2**n`` seconds, at most ``max_wait``; a ``Retry-After``
    header (seconds or an HTTP date) overrides that, also capped at ``max_wait``.
    ``Retries(0)`` turns retrying off.
    """

    total: int = 3
    backoff: float = 0.5
    max_wait: float = 30.0
    statuses: frozenset[int] = field(default=RETRY_ALWAYS | RETRY_IDEMPOTENT)

    def should_retry(self, method: str, status: int) -> bool:
        if status not in self.statuses:
            return False
        return status in RETRY_ALWAYS or method.upper() in IDEMPOTENT_METHODS

    def wait(self, attempt: int, retry_after: float | None) -> float:
        delay = retry_after if retry_after is not None else self.backoff * 2 ** attempt
        return max(0.0, min(delay, self.max_wait))


DEFAULT_RETRIES = Retries()
