"""The program rules enforced on write, as one write check (:mod:`adapter.services.write_checks`).

Each rule module offers a :class:`WriteRule`: which of a transaction's changes concern it (a
:class:`Trigger` per member or team, carrying the lock key that serializes the check) and a ``check`` that
answers in SQL on the search index. :func:`check_program_rules` runs them all just before the commit:

1. rules switched ``off`` for every id they report are skipped;
2. the lock keys of all triggers are taken **in sorted order** (``ResourceStore.serialize_on``: a
   transaction-scoped advisory lock on PostgreSQL, the database write lock on SQLite), so two transactions
   that write claims for the same member run their checks one after the other (the second sees the first's
   committed claim) and two transactions never wait for each other's locks in opposite orders;
3. each finding becomes an error (``enforce``) or a warning (``warn``) naming the rule id
   (``Issue.rule_id``, rendered in ``details.coding``) and the offending resource.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Connection

from adapter.errors import Issue
from adapter.services.write_checks import Change

if TYPE_CHECKING:
    from adapter.services.container import Services


@dataclass(frozen=True)
class Trigger:
    """Something a rule must look at: a member, a team... ``lock_key`` serializes checks of the same thing."""

    lock_key: str
    subject: str
    """What the rule checks, as the rule understands it (a member id, a team id)."""
    change: Change
    """The change that asked for the check (its resource is named in the findings)."""


@dataclass(frozen=True)
class Finding:
    rule_id: str
    resource: str
    """``Type/id`` of the written resource that breaks the rule."""
    message: str
    expression: str | None = None
    """FHIRPath inside that resource (``Claim.item[2].servicedDate``)."""
    warning_only: bool = False
    """The rule could not be judged (missing data): a warning whatever the enforcement."""


class WriteRule(Protocol):
    rule_ids: tuple[str, ...]

    def triggers(self, services: Services, conn: Connection, changes: Sequence[Change]) -> list[Trigger]: ...

    def check(self, services: Services, conn: Connection, triggers: Sequence[Trigger],
              enabled: frozenset[str]) -> list[Finding]: ...


def program_rule_check(rules: Sequence[WriteRule]) -> Callable[[Services, Connection, Sequence[Change]], list[Issue]]:
    """The write check running ``rules`` (see the module docstring)."""

    def check_program_rules(services: Services, conn: Connection, changes: Sequence[Change]) -> list[Issue]:
        settings = services.program_rules
        planned = []
        for rule in rules:
            enabled = frozenset(r for r in rule.rule_ids if settings.enforcement(r) != "off")
            if not enabled:
                continue
            triggers = rule.triggers(services, conn, changes)
            if triggers:
                planned.append((rule, enabled, triggers))
        for key in sorted({t.lock_key for _, _, triggers in planned for t in triggers}):
            services.store.serialize_on(conn, key)
        issues = []
        for rule, enabled, triggers in planned:
            for finding in rule.check(services, conn, triggers, enabled):
                issues.append(as_issue(finding, settings.enforcement(finding.rule_id)))
        return issues

    return check_program_rules


def as_issue(finding: Finding, enforcement: str) -> Issue:
    severity = "error" if enforcement == "enforce" and not finding.warning_only else "warning"
    return Issue(severity, "business-rule", f"{finding.resource}: {finding.rule_id}: {finding.message}",
                 finding.expression, finding.rule_id, finding.resource)


def write_checks() -> list[Callable[[Services, Connection, Sequence[Change]], list[Issue]]]:
    """Every program rule enforced on write, as the write checks ``Services.build`` registers."""
    from adapter.rules import billing, shared_plans, team_cap

    return [program_rule_check([billing.BillingRule(), team_cap.TeamCapRule(), shared_plans.SharedPlanRule()])]
