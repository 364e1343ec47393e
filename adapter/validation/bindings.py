"""Terminology bindings: a coded value must (required) or should (extensible) come from the bound ValueSet.

FHIR R4 §4.1.5.1 (terminologies.html#required): with a ``required`` binding "the concept in this element
SHALL be from the specified value set". For a ``code`` that is the code itself; for a ``Coding`` its
system and code; for a ``CodeableConcept`` at least one of its codings must be in the value set.
The base layer checks the required bindings of the base specification (:func:`required_binding_check`);
profiles add their own bindings (:func:`profile_binding_check`): ``required`` gives an error,
``extensible`` a warning (§4.1.5.2: a code from elsewhere is allowed only when none in the set fits),
``preferred`` and ``example`` nothing. When the value set cannot be fully evaluated (it draws on SNOMED
CT, LOINC, ...), a code we cannot find gets a syntax check against its system
(:mod:`~adapter.validation.code_syntax`) and is otherwise reported as ``information`` ("not checked"),
never as an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapter.conformance.structure import ElementDef
from adapter.errors import Issue
from adapter.validation.code_syntax import syntax_problem
from adapter.validation.plans import Check, CheckContext
from adapter.validation.primitives import shown
from adapter.validation.terminology import Expansion, Terminology

#: (system, code) pairs carried by a value; system None when the binding implies it (a ``code``).
Codes = list[tuple[str | None, str]]


def _plain_code(value: Any) -> Codes:
    return [(None, value)] if isinstance(value, str) else []


def _coding(value: Any) -> Codes:
    code = value.get("code") if isinstance(value, dict) else None
    if not isinstance(code, str):
        return []
    system = value.get("system")
    return [(system if isinstance(system, str) else None, code)]


def _codeable_concept(value: Any) -> Codes:
    codings = value.get("coding") if isinstance(value, dict) else None
    if not isinstance(codings, list):
        return []
    return [pair for coding in codings for pair in _coding(coding)]


def _quantity(value: Any) -> Codes:
    """A Quantity's unit is coded by ``system`` and ``code`` (datatypes.html#Quantity)."""
    return _coding(value)


#: How to read the codes out of each kind of coded value (terminologies.html#4.1.5 "coded data types").
_CODE_READERS: dict[str, Callable[[Any], Codes]] = {
    "code": _plain_code, "string": _plain_code, "uri": _plain_code,
    "Coding": _coding, "CodeableConcept": _codeable_concept,
}

#: Profiles also bind Quantity units (``valueQuantity`` bound to a UCUM value set).
_PROFILE_CODE_READERS: dict[str, Callable[[Any], Codes]] = {**_CODE_READERS, "Quantity": _quantity}

#: The issue per binding strength when a code is certainly not in the value set.
_STRENGTH_SEVERITY = {"required": "error", "extensible": "warning"}


def read_codes(value: Any) -> Codes:
    """The (system, code) pairs of any coded value: a code, a Coding, a CodeableConcept or a Quantity."""
    if isinstance(value, str):
        return _plain_code(value)
    if isinstance(value, dict):
        return _codeable_concept(value) if "coding" in value else _coding(value)
    return []


def required_binding_check(element: ElementDef, type_code: str, context: CheckContext) -> Check | None:
    """The check for a required binding on a coded element, or None when there is nothing to check."""
    reader = _CODE_READERS.get(type_code)
    if element.binding_strength != "required" or not element.binding_value_set or reader is None:
        return None
    return _RequiredBinding(element.binding_value_set, reader, context.terminology)


class _RequiredBinding:
    """Checks values against one value set, expanded on first use."""

    __slots__ = ("_expansion", "_reader", "_terminology", "_url")

    def __init__(self, url: str, reader: Callable[[Any], Codes], terminology: Terminology) -> None:
        self._url = url.split("|", 1)[0]
        self._reader = reader
        self._terminology = terminology
        self._expansion: Expansion | None = None

    def __call__(self, value: Any, expression: str, issues: list[Issue]) -> None:
        expansion = self._expansion
        if expansion is None:
            expansion = self._expansion = self._terminology.expand(self._url)
        if type(value) is str and expansion.contains(None, value):
            return  # the common case: a valid code
        codes = self._reader(value)
        if not codes:
            if self._reader is _codeable_concept:
                issues.append(Issue("error", "code-invalid", f"{expression}: no coding given, but this "
                                    f"element requires a code from ValueSet {self._url}", expression))
            return
        verdicts = [expansion.contains(system, code) for system, code in codes]
        if True in verdicts:
            return
        if None in verdicts:
            issues.append(Issue("information", "informational", f"{expression}: {_listed(codes)} was not "
                                f"checked against ValueSet {self._url}: {expansion.unknown_reason()}",
                                expression))
            return
        issues.append(Issue("error", "code-invalid", self._message(codes, expansion, expression), expression))

    def _message(self, codes: Codes, expansion: Expansion, expression: str) -> str:
        allowed = f"allowed codes ({expansion.describe()}) of ValueSet {self._url}"
        if len(codes) == 1 and codes[0][0] is None:
            return f"{expression}: {shown(codes[0][1])} is not one of the {allowed}"
        if len(codes) == 1:
            return f"{expression}: {_listed(codes)} is not one of the {allowed}"
        return f"{expression}: none of the codings {_listed(codes)} is one of the {allowed}"


def _listed(codes: Codes) -> str:
    return ", ".join(shown(code if system is None else f"{system}|{code}") for system, code in codes)


# --- profile bindings -----------------------------------------------------------------------------------------


def profile_binding_check(strength: str | None, value_set: str | None, type_code: str,
                          terminology: Terminology) -> _ProfileBinding | None:
    """The check of a profile's binding on a coded element, or None for preferred/example bindings."""
    reader = _PROFILE_CODE_READERS.get(type_code)
    severity = _STRENGTH_SEVERITY.get(strength or "")
    if severity is None or not value_set or reader is None:
        return None
    return _ProfileBinding(value_set.split("|", 1)[0], strength or "", severity, reader, terminology)


class _ProfileBinding:
    """A profile's required or extensible binding; ``(value, expression, scope, issues)`` like every
    profile check."""

    __slots__ = ("_expansion", "_reader", "_severity", "_strength", "_terminology", "_url")

    def __init__(self, url: str, strength: str, severity: str, reader: Callable[[Any], Codes],
                 terminology: Terminology) -> None:
        self._url = url
        self._strength = strength
        self._severity = severity
        self._reader = reader
        self._terminology = terminology
        self._expansion: Expansion | None = None

    def __call__(self, value: Any, expression: str, scope: object, issues: list[Issue]) -> None:
        expansion = self._expansion
        if expansion is None:
            expansion = self._expansion = self._terminology.expand(self._url)
        codes = self._reader(value)
        if not codes:
            if self._strength == "required" and self._reader is _codeable_concept:
                issues.append(Issue("error", "code-invalid", f"{expression}: only text given, but the "
                                    f"profile requires a code from ValueSet {self._url}", expression, "binding"))
            return
        verdicts = [expansion.contains(system, code) for system, code in codes]
        if True in verdicts:
            return
        unknown = [pair for pair, verdict in zip(codes, verdicts, strict=True) if verdict is None]
        if unknown:
            self._not_checked(unknown, expansion, expression, issues)
            return
        issues.append(Issue(self._severity, "code-invalid", self._message(codes, expansion, expression),
                            expression, "binding"))

    def _not_checked(self, codes: Codes, expansion: Expansion, expression: str, issues: list[Issue]) -> None:
        """Codes we cannot look up: wrong in form (an issue of the binding's severity), else "not checked"."""
        problems = [p for p in (syntax_problem(system, code) for system, code in codes) if p]
        if problems and len(problems) == len(codes):
            issues.append(Issue(self._severity, "code-invalid", f"{expression}: {'; '.join(problems)}; the "
                                f"profile's {self._strength} binding is to ValueSet {self._url}", expression,
                                "binding"))
            return
        issues.append(Issue("information", "informational", f"{expression}: {_listed(codes)} was not checked "
                            f"against ValueSet {self._url} ({self._strength} binding): "
                            f"{expansion.unknown_reason()}", expression, "binding"))

    def _message(self, codes: Codes, expansion: Expansion, expression: str) -> str:
        what = "is not one" if len(codes) == 1 else "none of them is one"
        advice = "" if self._strength == "required" else \
            " (extensible binding: use one of them when one fits; another code only when none does)"
        allowed = expansion.describe() or "codes of " + ", ".join(sorted(expansion.open_systems))
        return f"{expression}: {_listed(codes)} {what} of the allowed codes ({allowed}) of ValueSet {self._url}{advice}"
