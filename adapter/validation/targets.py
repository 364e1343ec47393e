"""Reference target profiles narrowed by a profile (``Reference(US Core Patient)``).

A profile may allow fewer target types than the base (``Encounter.subject``: Patient only, not Group)
and require the target to conform to a profile. When the reference resolves (a contained resource, or an
entry of the same Bundle by ``fullUrl``), the target itself is checked: its type, and its conformance to
one of the target profiles unless it declares one of them in ``meta.profile`` (then its own validation
covers it). When it does not resolve, only the type the reference names (``Patient/123`` or
``Reference.type``) can be checked; a ``urn:uuid:`` reference in a Bundle that names no entry is an error
of its own (bundle.html#references: such references resolve inside the Bundle or not at all).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from adapter.conformance.structure import TypeModel
from adapter.errors import Issue
from adapter.validation.primitives import shown
from adapter.validation.references import reference_type
from adapter.validation.resolution import describe_target

if TYPE_CHECKING:
    from adapter.validation.resolution import Scope

_CORE_PREFIX = "http://hl7.org/fhir/StructureDefinition/"


class TargetEngine(Protocol):
    """What target checks need from the profile engine."""

    types: TypeModel

    def structure_type(self, url: str) -> str | None: ...

    def conforms(self, value: Any, profile: str, scope: Scope) -> bool | None: ...

    def profile_label(self, url: str) -> str: ...


def target_check(profiles: tuple[str, ...], source: str, engine: TargetEngine) -> ReferenceTargets | None:
    """The check for a Reference whose target profiles a profile narrows, or None when any target goes."""
    allowed: set[str] = set()
    plain: set[str] = set()
    constrained: dict[str, list[str]] = {}
    for url in profiles:
        resource_type = engine.structure_type(url)
        if resource_type is None or resource_type == "Resource":
            return None  # an unknown target profile (or any resource): the allowed types are not known
        allowed.add(resource_type)
        if url.split("|", 1)[0] == _CORE_PREFIX + resource_type:
            plain.add(resource_type)  # ``Reference(Observation)``: any Observation goes
        else:
            constrained.setdefault(resource_type, []).append(url)
    required = {t: tuple(urls) for t, urls in constrained.items() if t not in plain}
    return ReferenceTargets(frozenset(allowed), required, source, engine)


class ReferenceTargets:
    """Checks a Reference value: ``(value, expression, scope, issues)``."""

    __slots__ = ("_allowed", "_engine", "_required", "_source")

    def __init__(self, allowed: frozenset[str], required: dict[str, tuple[str, ...]], source: str,
                 engine: TargetEngine) -> None:
        self._allowed = allowed
        self._required = required
        self._source = source
        self._engine = engine

    def __call__(self, value: Any, expression: str, scope: Scope, issues: list[Issue]) -> None:
        if type(value) is not dict:
            return
        reference = value.get("reference")
        target = scope.resolve(reference) if type(reference) is str else None
        if target is not None:
            self._resolved(reference, target, expression, scope, issues)
            return
        if type(reference) is str and reference.startswith("urn:") and scope.bundle is not None:
            issues.append(Issue("error", "not-found", f"{expression}: {shown(reference)} names no entry of "
                                f"this Bundle (no entry has this fullUrl)", expression, "reference-resolution"))
            return
        named = reference_type(reference, self._engine.types) if type(reference) is str else None
        declared = value.get("type")
        named = named or (declared if type(declared) is str else None)
        if named is not None and named not in self._allowed:
            issues.append(self._wrong_type(expression, f"the reference {shown(reference or declared)} names a "
                                                       f"{named}"))

    def _resolved(self, reference: str, target: dict, expression: str, scope: Scope,
                  issues: list[Issue]) -> None:
        target_type = target.get("resourceType")
        where = "a contained resource" if reference.startswith("#") else "an entry of this Bundle"
        if target_type not in self._allowed:
            issues.append(self._wrong_type(expression, f"the reference {shown(reference)} resolves to "
                                                       f"{describe_target(target)} ({where})"))
            return
        profiles = self._required.get(target_type or "")
        if not profiles or _declares(target, profiles):
            return
        verdicts = [self._engine.conforms(target, url, scope) for url in profiles]
        if False in verdicts and True not in verdicts and None not in verdicts:
            names = " or ".join(self._engine.profile_label(url) for url in profiles)
            issues.append(Issue("error", "structure", f"{expression}: the reference {shown(reference)} resolves "
                                f"to {describe_target(target)} ({where}), which does not conform to {names} as "
                                f"{self._source} requires (validate it against that profile to see why)",
                                expression, "target-profile"))

    def _wrong_type(self, expression: str, what: str) -> Issue:
        allowed = ", ".join(sorted(self._allowed))
        return Issue("error", "structure", f"{expression}: {what}, but {self._source} only allows references "
                                           f"to {allowed}", expression, "target-profile")


def _declares(target: dict, profiles: tuple[str, ...]) -> bool:
    declared = (target.get("meta") or {}).get("profile")
    if type(declared) is not list:
        return False
    wanted = {p.split("|", 1)[0] for p in profiles}
    return any(type(p) is str and p.split("|", 1)[0] in wanted for p in declared)
