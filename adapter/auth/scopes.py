"""SMART system scopes (App Launch 2.x scopes-and-launch-context): parse, intersect, check.

A scope ``system/<Type|*>.<permissions>`` grants interactions on a resource type to a backend client.
Version 2 spells the permissions as letters in the order ``c r u d s`` (create, read, update, delete,
search); version 1 as ``read`` (= ``rs``), ``write`` (= ``cud``) or ``*`` (= ``cruds``). Everything here is
pure: no Flask, no database.

Scopes this server does not grant are dropped, never widened: ``patient/`` and ``user/`` scopes (there is
no user or launch context in Backend Services), and v2 granular scopes with a query (``?category=...``),
which we cannot enforce yet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Every permission letter, in the order SMART v2 requires.
LETTERS = "cruds"
#: What a SMART v1 permission word means in v2 letters.
V1_WORDS: Mapping[str, str] = {"read": "rs", "write": "cud", "*": "cruds"}
_V2_LETTERS = re.compile(r"c?r?u?d?s?")
_SCOPE = re.compile(r"system/(?P<type>\*|[A-Z][A-Za-z]{0,63})\.(?P<perm>[a-z*]+)")
#: Any type (``system/*.rs``).
ANY_TYPE = "*"


@dataclass(frozen=True)
class SystemScope:
    """One parsed ``system/`` scope: a type (or ``*``), the letters it grants, and the version it was written in."""

    res_type: str
    letters: frozenset[str]
    version: int

    @classmethod
    def parse(cls, text: str) -> SystemScope | None:
        """The scope, or None when it is not a ``system/`` resource scope this server grants."""
        found = _SCOPE.fullmatch(text)
        if found is None:
            return None
        perm = found.group("perm")
        if perm in V1_WORDS:
            return cls(found.group("type"), frozenset(V1_WORDS[perm]), 1)
        if perm and _V2_LETTERS.fullmatch(perm):
            return cls(found.group("type"), frozenset(perm), 2)
        return None

    def text(self) -> str:
        """The scope as a string, in the version it was asked in when that version can say it."""
        letters = "".join(letter for letter in LETTERS if letter in self.letters)
        if self.version == 1:
            for word, meaning in V1_WORDS.items():
                if meaning == letters:
                    return f"system/{self.res_type}.{word}"
        return f"system/{self.res_type}.{letters}"


#: Types a ``*`` scope does not cover: only a scope naming them grants them. The audit trail holds every
#: client's queries (which carry PHI) and addresses; it is for administrators, not for any broad reader.
ADMIN_TYPES: frozenset[str] = frozenset({"AuditEvent"})


@dataclass(frozen=True)
class Permissions:
    """Letters granted per resource type (``*`` for every type): what a set of scopes allows."""

    by_type: Mapping[str, frozenset[str]]

    @classmethod
    def from_scopes(cls, scopes: Iterable[SystemScope]) -> Permissions:
        by_type: dict[str, frozenset[str]] = {}
        for scope in scopes:
            by_type[scope.res_type] = by_type.get(scope.res_type, frozenset()) | scope.letters
        return cls(by_type)

    @classmethod
    def parse(cls, scope_string: str) -> Permissions:
        return cls.from_scopes(s for s in (SystemScope.parse(p) for p in scope_string.split()) if s is not None)

    def letters(self, res_type: str) -> frozenset[str]:
        """What this allows on ``res_type`` (its own scopes and the ``*`` ones, except on :data:`ADMIN_TYPES`)."""
        if res_type in ADMIN_TYPES:
            return self.by_type.get(res_type, frozenset())
        return self.by_type.get(res_type, frozenset()) | self.by_type.get(ANY_TYPE, frozenset())

    def allows(self, res_type: str, letter: str) -> bool:
        """True when ``letter`` is granted on ``res_type``; ``res_type`` ``*`` asks for it on every type."""
        if res_type == ANY_TYPE:
            return letter in self.by_type.get(ANY_TYPE, frozenset())
        return letter in self.letters(res_type)

    def intersect(self, other: Permissions) -> Permissions:
        """What both allow (a token's scopes within what the client is registered for now)."""
        types = set(self.by_type) | set(other.by_type)
        by_type = {}
        for res_type in types:
            mine = self.by_type.get(res_type, frozenset()) if res_type == ANY_TYPE else self.letters(res_type)
            theirs = other.by_type.get(res_type, frozenset()) if res_type == ANY_TYPE else other.letters(res_type)
            if mine & theirs:
                by_type[res_type] = mine & theirs
        return Permissions(by_type)

    def types_allowing(self, letter: str) -> frozenset[str] | None:
        """The types on which ``letter`` is granted; None when it is granted on every type."""
        if letter in self.by_type.get(ANY_TYPE, frozenset()):
            return None
        return frozenset(t for t, letters in self.by_type.items() if letter in letters)

    def hidden_types(self, letter: str) -> frozenset[str]:
        """The admin types on which ``letter`` is not granted (a ``*`` grant leaves them out)."""
        return frozenset(t for t in ADMIN_TYPES if letter not in self.letters(t))

    def is_empty(self) -> bool:
        return not any(self.by_type.values())


def grant(requested: str, registered: str) -> list[str]:
    """The scopes to put in an access token: each requested ``system/`` scope cut down to what the client is
    registered for (SMART: the server may grant fewer scopes than asked). Unknown or ungrantable scopes are
    dropped; a requested ``*`` type is granted per registered type when the registration has no ``*``.

    >>> grant("system/*.rs system/Encounter.cruds", "system/*.read system/Encounter.write")
    ['system/*.rs', 'system/Encounter.cud']
    """
    allowed = Permissions.parse(registered)
    granted: dict[tuple[str, int], frozenset[str]] = {}
    for text in requested.split():
        scope = SystemScope.parse(text)
        if scope is None:
            continue
        if scope.res_type == ANY_TYPE:
            targets = [(ANY_TYPE, allowed.by_type.get(ANY_TYPE, frozenset()))]
            targets += [(t, letters) for t, letters in allowed.by_type.items() if t != ANY_TYPE]
        else:
            targets = [(scope.res_type, allowed.letters(scope.res_type))]
        for res_type, letters in targets:
            given = scope.letters & letters
            if given:
                key = (res_type, scope.version)
                granted[key] = granted.get(key, frozenset()) | given
    everywhere = frozenset().union(*(letters for (t, _), letters in granted.items() if t == ANY_TYPE))
    result = []
    for (res_type, version), letters in granted.items():
        # nothing the * scope already grants (except on the admin types, which * does not cover)
        own = letters if res_type == ANY_TYPE or res_type in ADMIN_TYPES else letters - everywhere
        if own:
            result.append(SystemScope(res_type, own, version).text())
    return result
