"""Who is calling and what they may do: the result of checking an access token. Pure data."""

from __future__ import annotations

from dataclasses import dataclass

from adapter.auth.scopes import Permissions


@dataclass(frozen=True)
class Access:
    """An authenticated caller: its client id, the permissions its token grants (cut down to what the client
    is registered for now), and the organizations it is restricted to (``Organization/id``; empty: none)."""

    client_id: str
    permissions: Permissions
    organizations: tuple[str, ...] = ()
    scope: str = ""

    @property
    def restricted(self) -> bool:
        """True when the caller sees only the members of its organizations."""
        return bool(self.organizations)

    @property
    def organization_ids(self) -> tuple[str, ...]:
        return tuple(ref.split("/", 1)[1] for ref in self.organizations if "/" in ref)
