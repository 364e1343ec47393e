"""Reference targets: a literal reference must point to a resource type the element allows.

Each ``Reference`` element lists its allowed targets as ``targetProfile`` canonicals
(``Reference(Patient | Group)``). A literal ``reference`` names its target's type (references.html#literal:
``[type]/[id]``, optionally with a base URL, ``/_history/[vid]``, or as a conditional ``[type]?[query]``),
and ``Reference.type`` may name it too. When that type is not among the targets, the resource is invalid.
A reference whose type cannot be read (``#contained``, ``urn:uuid:``, a non-FHIR URL), an element with no
target profiles, or ``Reference(Any)`` (target ``Resource``) is not checked here.
"""

from __future__ import annotations

from typing import Any

from adapter.conformance.structure import ElementDef, TypeModel
from adapter.errors import Issue
from adapter.validation.plans import Check, CheckContext
from adapter.validation.primitives import shown

#: The datatype whose values are references (datatypes.html#Reference).
REFERENCE_TYPE = "Reference"


def reference_target_check(element: ElementDef, type_code: str, context: CheckContext) -> Check | None:
    """The check for a Reference element that restricts its targets, or None."""
    if type_code != REFERENCE_TYPE or not element.target_profiles:
        return None
    allowed = _allowed_types(element.target_profiles, context)
    if allowed is None:
        return None
    return _ReferenceTargets(allowed, context.types)


def _allowed_types(profiles: tuple[str, ...], context: CheckContext) -> frozenset[str] | None:
    """The resource types the target profiles stand for; None when any resource (or unknown) is allowed."""
    allowed: set[str] = set()
    for url in profiles:
        canonical = url.split("|", 1)[0]
        type_def = context.types.types.get(canonical.rsplit("/", 1)[-1])
        if type_def is None or type_def.url != canonical:
            structure = context.definitions.resource(url) or {}
            type_def = context.types.types.get(structure.get("type") or "")
        if type_def is None or type_def.abstract:
            return None
        allowed.add(type_def.name)
    return frozenset(allowed)


def reference_type(reference: str, types: TypeModel) -> str | None:
    """The resource type a literal reference names (``Patient/1``, ``http://x/Patient/1/_history/2``,
    ``Patient?identifier=x``), or None when it names none we know (``#a``, ``urn:uuid:...``)."""
    if reference.startswith(("#", "urn:")):
        return None
    head, query, _ = reference.partition("?")
    if query:
        return head if types.is_resource_type(head) else None
    parts = head.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) < 2:
        return None
    candidate = parts[-2]
    return candidate if types.is_resource_type(candidate) else None


class _ReferenceTargets:
    """Compares the type a reference names with the element's allowed target types."""

    __slots__ = ("_allowed", "_types")

    def __init__(self, allowed: frozenset[str], types: TypeModel) -> None:
        self._allowed = allowed
        self._types = types

    def __call__(self, value: Any, expression: str, issues: list[Issue]) -> None:
        reference = value.get("reference")
        if type(reference) is str:
            target = self.target_type(reference)
            if target is not None and target not in self._allowed:
                issues.append(self._issue(expression, f"the reference {shown(reference)} points to a "
                                                      f"{target}"))
        declared = value.get("type")
        if type(declared) is str and self._types.is_resource_type(declared) and declared not in self._allowed:
            issues.append(self._issue(expression, f"Reference.type is {declared}"))

    def target_type(self, reference: str) -> str | None:
        """The resource type a literal reference names, or None when it names none we know."""
        return reference_type(reference, self._types)

    def _issue(self, expression: str, what: str) -> Issue:
        allowed = ", ".join(sorted(self._allowed))
        return Issue("error", "structure", f"{expression}: {what}, but this element only allows "
                                           f"references to {allowed}", expression)
