"""What each endpoint needs from the caller: the declarations authorization is driven by (fail-closed).

Every Flask endpoint the app serves is declared in a table of :class:`Need` (``ACCESS`` next to the
INTERACTIONS/OPERATIONS tables in :mod:`adapter.rest.fhir_api`, and one per blueprint). An endpoint
without a declaration is refused when authorization is on, so a new route cannot be open by accident;
``test_every_fhir_endpoint_declares_what_it_needs`` (tests/integration/test_auth.py) walks ``app.url_map``
and fails on any undeclared one.

A need names the resource type (from the URL, fixed, or ``*`` for "every type"), the SMART permission
letters (``c r u d s``) the scopes must grant on it, and how the endpoint treats a client restricted to
organizations (:class:`Restricted`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from adapter.auth.access import Access
from adapter.auth.scopes import ANY_TYPE


class Restricted(enum.Enum):
    """How an endpoint serves a client restricted to the members of organizations."""

    REFUSE = "refuse"
    """Not filtered yet: 403 for restricted clients (correct before broad)."""
    FILTER = "filter"
    """A search: the handler passes the caller's visibility, so SQL filters matches and includes."""
    READ_INSTANCE = "read-instance"
    """Reads one resource: a resource outside the compartments answers 404, as if absent."""
    WRITE_INSTANCE = "write-instance"
    """Changes one resource: the existing one and the new content must be in the compartments (else 403)."""
    CREATE = "create"
    """Creates a resource: its content must put it in a member's compartment (else 403)."""
    NO_MEMBER_DATA = "no-member-data"
    """Touches no member data (a ConceptMap translation, type-level ``$validate``): served as to anyone."""
    ENTRIES = "entries"
    """A batch/transaction: every entry is checked as the endpoint it stands for."""


@dataclass(frozen=True)
class Need:
    """What one endpoint needs.

    ``res_type``: a view argument name prefixed with ``<`` (``"<res_type"``), a fixed type, or ``*``.
    ``all_of``: letters every one of which must be granted; ``one_of``: letters one of which must be.
    ``if_absent``: more letters needed when the instance in the URL does not exist (update-as-create needs
    ``c``); ``if_header``: more letters needed when a header is present (``If-None-Exist`` searches: ``s``).
    """

    public: bool = False
    res_type: str = "<res_type"
    all_of: str = ""
    one_of: str = ""
    restricted: Restricted = Restricted.REFUSE
    if_absent: str = ""
    if_header: tuple[tuple[str, str], ...] = ()
    also: tuple[tuple[str, str], ...] = ()
    """More (type, letters) pairs needed besides the main type: ``Group/[id]/$export`` reads the Group and
    every type; ``$generate-cmp-claims`` reads everything and creates Claims."""

    def resource_type(self, view_args: Mapping[str, str] | None) -> str:
        if self.res_type.startswith("<"):
            return (view_args or {}).get(self.res_type[1:], "")
        return self.res_type

    def refusal(self, access: Access, view_args: Mapping[str, str] | None, *, extra: str = "") -> str | None:
        """Why ``access`` may not use the endpoint (with ``extra`` letters also needed), or None."""
        res_type = self.resource_type(view_args)
        wanted = self.all_of + "".join(letter for letter in extra if letter not in self.all_of)
        missing = [letter for letter in wanted if not access.permissions.allows(res_type, letter)]
        if self.one_of and not any(access.permissions.allows(res_type, letter) for letter in self.one_of):
            missing.append("|".join(self.one_of))
        for other_type, letters in self.also:
            lacking = "".join(letter for letter in letters if not access.permissions.allows(other_type, letter))
            if lacking:
                return (f"the access token's scopes do not grant {lacking} on "
                        f"{'every resource type' if other_type == ANY_TYPE else other_type} "
                        f"(e.g. system/{other_type}.{lacking})")
        if not missing:
            return None
        target = "every resource type" if res_type == ANY_TYPE else res_type
        return (f"the access token's scopes do not grant {', '.join(missing)} on {target} "
                f"(e.g. system/{res_type}.{''.join(sorted(set(wanted + self.one_of), key='cruds'.index))})")


#: Anyone, no token: metadata, SMART discovery, the token endpoint.
PUBLIC = Need(public=True)


def on_type(all_of: str = "", *, one_of: str = "", restricted: Restricted = Restricted.REFUSE,
            if_absent: str = "", if_header: tuple[tuple[str, str], ...] = ()) -> Need:
    """Needs letters on the type in the URL (``<res_type>``)."""
    return Need(all_of=all_of, one_of=one_of, restricted=restricted, if_absent=if_absent, if_header=if_header)


def on(res_type: str, all_of: str = "", *, one_of: str = "", restricted: Restricted = Restricted.REFUSE,
       also: tuple[tuple[str, str], ...] = ()) -> Need:
    """Needs letters on a fixed type (``ConceptMap`` for ``$translate``)."""
    return Need(res_type=res_type, all_of=all_of, one_of=one_of, restricted=restricted, also=also)


def on_every_type(all_of: str, *, restricted: Restricted = Restricted.REFUSE,
                  also: tuple[tuple[str, str], ...] = ()) -> Need:
    """Needs letters on every type (a ``system/*`` scope): system history, ``$import-cmp``, system ``$export``."""
    return Need(res_type=ANY_TYPE, all_of=all_of, restricted=restricted, also=also)


#: A valid token, no particular scope: for URLs that belong to one client's earlier request (a Bulk export's
#: status and files), whose handler must check that the job is the caller's
#: (``enforcement.current_access().client_id``).
AUTHENTICATED = Need(res_type=ANY_TYPE, restricted=Restricted.NO_MEMBER_DATA)


#: A batch or transaction: the endpoint itself needs nothing; each entry is checked on its own.
PER_ENTRY = Need(res_type=ANY_TYPE, restricted=Restricted.ENTRIES)

#: The letters each Bundle entry method needs on its type (a GET with an id reads, without one searches).
ENTRY_LETTERS: Mapping[str, str] = {"POST": "c", "PUT": "u", "PATCH": "u", "DELETE": "d", "GET": "r", "HEAD": "r"}
