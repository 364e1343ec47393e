"""Program-rules configuration and program weeks (local calendar weeks as UTC bounds)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from adapter.rules import weeks
from adapter.rules.config import ProgramRules, RulesConfigError
from adapter.settings import Settings

DEFAULT = ProgramRules.load(Settings.load({}).effective_program_rules)
CMP = DEFAULT.program("cmp")


def test_the_default_file_configures_every_write_rule() -> None:
    assert {rule: DEFAULT.enforcement(rule) for rule in DEFAULT.rules} == {
        "CMP-BILL-1": "enforce", "CMP-BILL-2": "enforce", "CMP-TEAM-2": "enforce",
        "SCP-1": "enforce", "SCP-2": "enforce", "SCP-5": "enforce"}
    assert CMP.time_zone.key == "America/Denver"
    assert DEFAULT.program("shared-care-plan").time_zone.key == "America/New_York"
    assert DEFAULT.enforcement("NOT-A-RULE") == "off"


def test_a_deployment_overrides_enforcement() -> None:
    changed = DEFAULT.with_enforcement({"CMP-BILL-2": "warn"})
    assert changed.enforcement("CMP-BILL-2") == "warn"
    assert DEFAULT.enforcement("CMP-BILL-2") == "enforce"
    with pytest.raises(RulesConfigError, match="NOPE"):
        DEFAULT.with_enforcement({"NOPE": "warn"})
    with pytest.raises(RulesConfigError, match="loudly"):
        DEFAULT.with_enforcement({"SCP-1": "loudly"})
    assert Settings.load({"rule_enforcement": "CMP-BILL-2=warn, SCP-5=off"}).rule_enforcement_overrides == {
        "CMP-BILL-2": "warn", "SCP-5": "off"}


@pytest.mark.parametrize("document, message", [
    ({"programs": {"x": {"timeZone": "Mars/Olympus"}}}, "timeZone"),
    ({"programs": {"x": {"timeZone": "UTC", "weekStartsOn": "someday"}}}, "weekStartsOn"),
    ({"programs": {"x": {"timeZone": "UTC", "billableDaysPerWeek": -1}}}, "billableDaysPerWeek"),
    ({"programs": {"x": {"timeZone": "UTC", "dailyRate": "ten"}}}, "dailyRate"),
    ({"programs": {}, "rules": {"R": {"program": "x"}}}, "names program"),
])
def test_a_malformed_file_is_refused_by_name(document: dict, message: str) -> None:
    with pytest.raises(RulesConfigError, match=message):
        ProgramRules.from_json(document)


def test_a_sunday_late_contact_belongs_to_the_local_week() -> None:
    # CMP weeks run Monday to Sunday. 23:30 on Sunday 2026-11-22 in Denver is 06:30 on Monday in UTC: it still
    # belongs to the week of Monday the 16th, and 00:30 local on Monday the 23rd to the next one.
    assert CMP.week_starts_on == 0
    assert weeks.week_of_instant(CMP, datetime(2026, 11, 23, 6, 30, tzinfo=UTC)).first_day == date(2026, 11, 16)
    assert weeks.week_of_instant(CMP, datetime(2026, 11, 23, 7, 30)).first_day == date(2026, 11, 23)


def test_weeks_across_daylight_saving_changes_have_their_real_length() -> None:
    spring = weeks.week_of_day(CMP, date(2026, 3, 5))  # DST starts Sunday 2026-03-08, the week's last day
    autumn = weeks.week_of_day(CMP, date(2026, 10, 28))  # DST ends Sunday 2026-11-01
    assert spring.end_utc - spring.start_utc == timedelta(hours=167)
    assert autumn.end_utc - autumn.start_utc == timedelta(hours=169)
    start, end = weeks.day_bounds_utc(CMP, date(2026, 3, 8))
    assert end - start == timedelta(hours=23)


def test_a_sunday_week_start_is_configurable() -> None:
    sunday = ProgramRules.from_json({"programs": {"x": {"timeZone": "America/Denver", "weekStartsOn": "sunday"}}})
    program = sunday.program("x")
    assert weeks.week_of_instant(program, datetime(2026, 11, 23, 6, 30, tzinfo=UTC)).first_day == date(2026, 11, 22)
    assert weeks.week_of_day(program, date(2026, 3, 10)).end_utc - weeks.week_of_day(
        program, date(2026, 3, 10)).start_utc == timedelta(hours=167)


def test_weeks_between_cover_a_range_without_gaps() -> None:
    found = list(weeks.weeks_between(CMP, date(2026, 1, 7), date(2026, 2, 1)))
    assert [w.first_day for w in found] == [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19),
                                           date(2026, 1, 26)]
    assert all(a.end_utc == b.start_utc for a, b in itertools.pairwise(found))
