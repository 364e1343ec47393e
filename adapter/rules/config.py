"""The program rules' parameters and enforcement modes, read once from ``program-rules.json``.

Nothing about a program (its time zone, the day its week starts, the 3-day limit, the 20% cap, the daily
rate, the follow-up window) is a constant in code: a state changes the file, not the adapter. The default
file is ``profiles/other/program-rules.json``; ``CMP_ADAPTER_PROGRAM_RULES`` points at a deployment's own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Enforcement = Literal["enforce", "warn", "off"]
ENFORCEMENTS: tuple[Enforcement, ...] = ("enforce", "warn", "off")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class RulesConfigError(ValueError):
    """The program-rules file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Coding:
    system: str
    code: str


@dataclass(frozen=True)
class Program:
    """One program's calendar and limits. Optional limits are None when the program has none."""

    name: str
    title: str
    time_zone: ZoneInfo
    week_starts_on: int
    """0 = Monday ... 6 = Sunday, as :meth:`datetime.date.weekday`."""
    billable_days_per_week: int | None = None
    max_cmp_share_of_team: Decimal | None = None
    daily_rate: Decimal | None = None
    billing_code: Coding | None = None
    follow_up_days: int | None = None


@dataclass(frozen=True)
class RuleSetting:
    rule_id: str
    program: str
    enforcement: Enforcement


@dataclass(frozen=True)
class ProgramRules:
    """Every program and the enforcement of every rule enforced on write."""

    programs: Mapping[str, Program]
    rules: Mapping[str, RuleSetting] = field(default_factory=dict)

    def program(self, name: str) -> Program:
        """:raise KeyError: no such program in the configuration."""
        return self.programs[name]

    def enforcement(self, rule_id: str) -> Enforcement:
        """How ``rule_id`` applies on write; a rule the file does not list is off."""
        setting = self.rules.get(rule_id)
        return setting.enforcement if setting else "off"

    def program_of(self, rule_id: str) -> Program:
        """:raise KeyError: the rule is not configured."""
        return self.programs[self.rules[rule_id].program]

    @classmethod
    def load(cls, path: str | Path) -> ProgramRules:
        """:raise RulesConfigError: unreadable, not JSON, or an entry with a bad value."""
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RulesConfigError(f"{path}: {exc}") from exc
        return cls.from_json(document, str(path))

    @classmethod
    def from_json(cls, document: Mapping[str, Any], where: str = "program rules") -> ProgramRules:
        """:raise RulesConfigError: an entry with a bad value."""
        programs = {name: _program(name, body, where) for name, body in document.get("programs", {}).items()}
        rules = {rule_id: _rule(rule_id, body, programs, where) for rule_id, body in document.get("rules", {}).items()}
        return cls(programs, rules)

    def with_enforcement(self, overrides: Mapping[str, str]) -> ProgramRules:
        """A copy with some rules' enforcement changed (``CMP-BILL-2=warn`` from the environment).

        :raise RulesConfigError: an unknown rule or mode.
        """
        rules = dict(self.rules)
        for rule_id, mode in overrides.items():
            if rule_id not in rules:
                raise RulesConfigError(f"no rule {rule_id!r} to set to {mode!r}; known: {sorted(rules)}")
            rules[rule_id] = RuleSetting(rule_id, rules[rule_id].program, _enforcement(mode, rule_id, "override"))
        return ProgramRules(self.programs, rules)


def _program(name: str, body: Mapping[str, Any], where: str) -> Program:
    try:
        zone = ZoneInfo(body["timeZone"])
    except (KeyError, ZoneInfoNotFoundError, ValueError) as exc:
        raise RulesConfigError(f"{where}: program {name!r} needs a valid IANA timeZone ({exc})") from exc
    start = str(body.get("weekStartsOn", "monday")).lower()
    if start not in WEEKDAYS:
        raise RulesConfigError(f"{where}: program {name!r} weekStartsOn {start!r} is not a weekday name")
    code = body.get("billingCode")
    return Program(
        name=name, title=body.get("title", name), time_zone=zone, week_starts_on=WEEKDAYS.index(start),
        billable_days_per_week=_optional_int(body, "billableDaysPerWeek", name, where),
        max_cmp_share_of_team=_optional_decimal(body, "maxCmpShareOfTeam", name, where),
        daily_rate=_optional_decimal(body, "dailyRate", name, where),
        billing_code=Coding(code["system"], code["code"]) if code else None,
        follow_up_days=_optional_int(body, "followUpDays", name, where))


def _rule(rule_id: str, body: Mapping[str, Any], programs: Mapping[str, Program], where: str) -> RuleSetting:
    program = body.get("program")
    if program not in programs:
        raise RulesConfigError(f"{where}: rule {rule_id} names program {program!r}, not one of {sorted(programs)}")
    return RuleSetting(rule_id, program, _enforcement(body.get("enforcement", "enforce"), rule_id, where))


def _enforcement(mode: str, rule_id: str, where: str) -> Enforcement:
    if mode not in ENFORCEMENTS:
        raise RulesConfigError(f"{where}: rule {rule_id} enforcement {mode!r} is not one of {ENFORCEMENTS}")
    return mode  # type: ignore[return-value]


def _optional_int(body: Mapping[str, Any], key: str, name: str, where: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RulesConfigError(f"{where}: program {name!r} {key} must be a non-negative integer, not {value!r}")
    return value


def _optional_decimal(body: Mapping[str, Any], key: str, name: str, where: str) -> Decimal | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise RulesConfigError(f"{where}: program {name!r} {key} must be a decimal, not {value!r}") from exc
