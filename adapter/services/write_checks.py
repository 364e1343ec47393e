"""Checks over everything one transaction wrote, run just before it commits.

Rules that span resources (a claim and the contacts that back it, a team's enrolments, a member's shared
plans) can only be judged once every entry of a transaction Bundle is written: the claim may arrive in the
same Bundle as its contacts. So the writer that owns a transaction (a single interaction, one batch entry,
or a whole transaction Bundle) opens it with :func:`write_transaction`; the interactions in
:mod:`adapter.services.resources` record each :class:`Change` they make; and before the commit every
registered :class:`WriteCheck` sees the changes on the same connection, where the search index already holds
them. A check that returns an error issue rolls the whole transaction back (422); warnings reach the caller.

The changes are collected in a context variable rather than passed down, so the interactions keep one
signature whether they own their transaction or join a Bundle's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from sqlalchemy import Connection

from adapter.errors import Issue, Unprocessable

if TYPE_CHECKING:
    from adapter.services.container import Services

Interaction = Literal["create", "update", "delete"]


@dataclass(frozen=True, slots=True)
class Change:
    """One resource version a transaction wrote."""

    interaction: Interaction
    res_type: str
    res_id: str
    version: int
    resource: Mapping | None
    """The body as written (without server meta), None for a delete."""


class WriteCheck(Protocol):
    """Looks at one transaction's changes before it commits; returns the issues found (errors veto it)."""

    def __call__(self, services: Services, conn: Connection, changes: Sequence[Change]) -> list[Issue]: ...


@dataclass
class PendingWrites:
    """What the current transaction has written so far, and the warnings its checks raised."""

    changes: list[Change] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)


_pending: ContextVar[PendingWrites | None] = ContextVar("cmp_pending_writes", default=None)


@contextlib.contextmanager
def write_transaction(services: Services) -> Iterator[tuple[Connection, PendingWrites]]:
    """A write transaction whose changes are checked by ``services.write_checks`` before it commits.

    :raise Unprocessable: a check found an error; nothing was stored.
    """
    pending = PendingWrites()
    token = _pending.set(pending)
    try:
        with services.store.begin() as conn:
            yield conn, pending
            run_checks(services, conn, pending)
    finally:
        _pending.reset(token)


def record_change(change: Change) -> None:
    """Note a change for the checks of the transaction that is open (none open: nothing to do)."""
    pending = _pending.get()
    if pending is not None:
        pending.changes.append(change)


def run_checks(services: Services, conn: Connection, pending: PendingWrites) -> None:
    """Run every check on the changes; errors raise, other issues are kept as warnings."""
    if not pending.changes:
        return
    issues = [issue for check in services.write_checks for issue in check(services, conn, pending.changes)]
    errors = [issue for issue in issues if issue.is_error]
    if errors:
        raise Unprocessable(issues=errors)
    pending.warnings.extend(issues)
