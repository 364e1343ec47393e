"""Validate-on-write policy: which profiles a resource must meet before it is stored.

The policy is data (``profiles/other/validation-policy.json`` by default, ``CMP_ADAPTER_VALIDATION_POLICY``
to use another file): each rule names a resource type, a FHIRPath condition and the profiles that apply,
so a state changes what is enforced without touching code. The validator itself knows nothing of it
(as in HAPI, where validate-on-write is an interceptor wrapped around the validator).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fhirpathpy
from fhirpathpy.models import models

from adapter.errors import Issue
from adapter.validation import Validator

_R4 = models["r4"]


class PolicyError(Exception):
    """The policy file is unreadable or malformed (the message says where)."""


@dataclass(frozen=True)
class PolicyRule:
    name: str
    resource_type: str
    when: Callable[[Any], list] | None
    conform_to: tuple[str, ...]
    declare_one_of: tuple[str, ...]
    rule_ids: tuple[str, ...]

    def applies_to(self, resource: dict) -> bool:
        return self.when is None or self.when(resource) == [True]


@dataclass(frozen=True)
class ValidationPolicy:
    """The rules, grouped by resource type, FHIRPath compiled once."""

    by_type: dict[str, tuple[PolicyRule, ...]]

    @classmethod
    def empty(cls) -> ValidationPolicy:
        return cls({})

    @classmethod
    def load(cls, path: str | Path) -> ValidationPolicy:
        """:raise PolicyError: not JSON, or a rule without a resourceType or with a bad FHIRPath."""
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PolicyError(f"cannot read the validation policy {path}: {exc}") from exc
        rules: dict[str, list[PolicyRule]] = {}
        for number, raw in enumerate(document.get("rules", [])):
            if raw.get("enabled", True):
                rule = _rule(raw, f"{path}: rules[{number}]")
                rules.setdefault(rule.resource_type, []).append(rule)
        return cls({res_type: tuple(found) for res_type, found in rules.items()})

    def check(self, validator: Validator, resource: dict, profiles: Sequence[str] = ()) -> list[Issue]:
        """Every issue of ``resource`` as the server sees it on write: base R4 and declared profiles and
        ``profiles`` first; then, for a resource without errors, the profiles this policy requires.

        The policy's FHIRPath conditions only ever look at resources that are structurally valid R4, so a
        malformed resource is reported by the validator and never trips a condition.
        """
        issues = validator.validate(resource, profiles)
        if any(issue.is_error for issue in issues):
            return issues
        declared = (resource.get("meta") or {}).get("profile") or ()
        required = tuple(p for p in self.profiles_for(resource) if p not in profiles and p not in declared)
        if required:  # a required profile the resource declares was checked above: validating again is waste
            issues = validator.validate(resource, (*profiles, *required))
        return issues + self.declaration_issues(resource)

    def profiles_for(self, resource: dict) -> tuple[str, ...]:
        """The profiles the policy requires of this resource (beyond those it declares)."""
        required: list[str] = []
        for rule in self.by_type.get(resource.get("resourceType", ""), ()):
            if rule.conform_to and rule.applies_to(resource):
                required.extend(p for p in rule.conform_to if p not in required)
        return tuple(required)

    def declaration_issues(self, resource: dict) -> list[Issue]:
        """Errors for rules that require the resource to declare one of some profiles, and it does not."""
        declared = set((resource.get("meta") or {}).get("profile") or ())
        issues = []
        for rule in self.by_type.get(resource.get("resourceType", ""), ()):
            if rule.declare_one_of and rule.applies_to(resource) and not declared & set(rule.declare_one_of):
                issues.append(Issue(
                    "error", "required",
                    f"{resource['resourceType']}.meta.profile: this server requires a {resource['resourceType']} "
                    f"to declare one of {', '.join(rule.declare_one_of)} (policy rule '{rule.name}')",
                    f"{resource['resourceType']}.meta.profile", rule.rule_ids[0] if rule.rule_ids else rule.name))
        return issues


def _rule(raw: dict, where: str) -> PolicyRule:
    resource_type = raw.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        raise PolicyError(f"{where}: resourceType is required")
    when = None
    if raw.get("when"):
        when = fhirpathpy.compile(raw["when"], _R4)
        try:  # fhirpathpy reports syntax errors only when an expression first runs, as bare Exceptions
            when({"resourceType": resource_type})
        except Exception as exc:  # see above: a broken policy must stop the start-up
            raise PolicyError(f"{where}: 'when' is not valid FHIRPath ({raw['when']!r}): {exc}") from exc
    return PolicyRule(
        name=str(raw.get("name", where)), resource_type=resource_type, when=when,
        conform_to=_urls(raw.get("conformTo", []), where), declare_one_of=_urls(raw.get("declareOneOf", []), where),
        rule_ids=tuple(raw.get("ruleIds", [])),
    )


def _urls(value: Sequence[str], where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(url, str) for url in value):
        raise PolicyError(f"{where}: conformTo / declareOneOf must be lists of profile URLs")
    return tuple(value)
