"""A seeded generator of CMP and PCMH program scenarios, with the known answer to every rule and measure.

API
===
``generate(ScenarioSettings(seed=1, ...)) -> Scenario`` is a pure function of its settings (no IO, no
clock): the same settings give the same resources and answers. ``settings.rules`` is the
:class:`adapter.rules.config.ProgramRules` whose time zones, week start, limits and rates the answers follow
(the default is ``profiles/other/program-rules.json``).

``Scenario.writes``: the writes to replay, in order, each a :class:`Write` (``method`` ``PUT`` or
``DELETE``, ``res_type``, ``res_id``, ``resource``). A write with ``refused_by`` non-empty is one the
write-time rules must refuse (``enforce``: 422 naming those rule ids, nothing stored) or store with a warning
(``warn``). Every other write must succeed. ``Scenario.accepted_writes()`` / ``refused_writes()`` split them;
:mod:`tests.scenarios.loader` replays them through the service.

Known answers (every date is a *local* date of the program's time zone, every week a program week,
identified by its first day):

- ``member_weeks[(member_id, week_first_day)] -> MemberWeek`` for every week a CMP member is enrolled in
  (any day of the week inside an enrollment period): the valid quality contacts (``contacts``: status
  finished, not deleted, starting in the week), their ``modes`` (v3 ActCode AMB | VR), ``contact_days``,
  whether the team ``reviewed`` the member (a finished cmp-team-meeting Encounter in the week) and by which
  ``meetings``, the ``billed_days`` of the week's days claimed by accepted active claims (one entry per
  billed day per claim), and ``rules_broken`` (``CMP-QC-1`` no contact, ``CMP-TM-1`` not reviewed). The
  ``*_if_warned`` twins hold the same once the refused claims are stored too (rules in ``warn`` mode):
  their days are billed and ``CMP-BILL-1`` / ``CMP-BILL-2`` join the rules broken.
- ``eligibility[member_id] -> Eligibility``: ``CMP-ELIG-1..4`` each ``met`` | ``not-met`` | ``unknown``
  from the member's latest final SDMI determination (none: all unknown), and the evidence references per
  rule (the determination; its LOI ratings for ELIG-3; the member's active Conditions for ELIG-1).
- ``weekly_contact[(team_id, week_first_day)]`` and ``team_meeting[...]`` -> :class:`Proportion`
  (``denominator``: members with a cmp-enrollment of that team, status active or finished, whose period
  overlaps the week; ``numerator``: those of them with a valid contact / a review in the week, by any team).
- ``followup[(organization_id, "YYYY-MM")] -> FollowUp`` (PCMH-3): ``initial`` = finished inpatient
  Encounters (class IMP) of the practice's pccm-members ending (local date) in the month; ``denominator`` =
  those not ending in death or transfer (``hospitalization.dischargeDisposition`` in
  :data:`EXCLUDED_DISPOSITIONS`); ``numerator`` = those followed by a finished non-inpatient Encounter of the
  member with the practice as ``serviceProvider`` that starts after the discharge and on or before the
  discharge's local date + ``followUpDays``.
- ``teams[team_id] -> TeamCapacity``: PACT/MCT members (active EpisodeOfCare managed by the team typed with
  a ``cmp-team-type`` code), active CMP members at the end, and how many CMP members the cap allows.
  The first team is generated full (one more CMP enrollment breaks ``CMP-TEAM-2``).

Edges every scenario contains (for the first team, more at random): contacts at 23:30 local on the first
and the last day of a week and in the week of a daylight-saving change, a member enrolled mid-week, a member
transferred mid-week to the second team, cancelled, entered-in-error and deleted contacts, a claim spanning
two weeks, a voided claim replaced by a new one, over-limit claims (one spanning two weeks that breaks only
the second week), a claim billing a day whose only contact was deleted, discharges at 22:30 local on the
last day of a month and follow-up contacts at 23:30 local on the last day of the window.
"""

from __future__ import annotations

import copy
import json
import random
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Literal

from adapter.rules.config import Program, ProgramRules
from adapter.rules.weeks import local_day, week_of_day, week_start
from mappings import claim as claim_kind
from mappings import enrollment as enrollment_kind
from mappings import member as member_kind
from mappings import quality_contact as contact_kind
from mappings import team as team_kind
from mappings import team_meeting as meeting_kind
from mappings import treatment_plan as plan_kind

REPO_ROOT = Path(__file__).resolve().parents[2]
RULES_FILE = REPO_ROOT / "profiles" / "other" / "program-rules.json"
EXAMPLES = REPO_ROOT / "examples" / "fhir" / "valid"
CANONICAL = "https://cmp-adapter.org/fhir"
TEAM_TYPE_SYSTEM = f"{CANONICAL}/CodeSystem/cmp-team-type"
DISPOSITION_SYSTEM = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
#: Discharges that leave the PCMH-3 denominator: death, transfer to another inpatient facility.
EXCLUDED_DISPOSITIONS = frozenset({"exp", "other-hcf"})
#: Example resources every scenario reuses: payers and the PCMH practice with its two primary care providers.
FIXTURES = ("Organization-mt-medicaid", "Organization-ct-medicaid", "Organization-pcmh-elm-city",
            "Practitioner-p-santos", "PractitionerRole-pr-santos", "Practitioner-p-murphy",
            "PractitionerRole-pr-murphy")
PCPS = ("santos", "murphy")
PRACTICE = "pcmh-elm-city"
DIAGNOSES = (("F20.0", "Paranoid schizophrenia"), ("F31.9", "Bipolar disorder, unspecified"),
             ("F33.2", "Major depressive disorder, recurrent severe without psychotic features"))
HOSPITAL = "hosp-st-raphael"

Status = Literal["met", "not-met", "unknown"]


# --- settings and answers -------------------------------------------------------------------------------------

@cache
def default_rules() -> ProgramRules:
    return ProgramRules.load(RULES_FILE)


@dataclass(frozen=True)
class ScenarioSettings:
    seed: int = 1
    teams: int = 2
    """At least 2 (a member is transferred from the first team to the second)."""
    cmp_members_per_team: int = 6
    """At least 6: the first six members of the first team carry the fixed edges."""
    weeks: int = 16
    """At least 8 (the fixed edges fall in weeks 1 to 8)."""
    start: date = date(2026, 1, 4)
    """Any day: the scenario starts on the first day of its program week (default covers 2026-03-08 DST)."""
    pccm_members: int = 6
    discharges_per_member: int = 2
    applicants: bool = True
    """Add the eligibility applicants (not enrolled): not SDMI, a danger, mild LOI, unwilling, no
    determination, and one with an older contrary determination."""
    rules: ProgramRules | None = None

    @property
    def program_rules(self) -> ProgramRules:
        return self.rules or default_rules()


@dataclass(frozen=True)
class Write:
    method: Literal["PUT", "DELETE"]
    res_type: str
    res_id: str
    resource: dict | None = None
    refused_by: frozenset[str] = frozenset()
    """Rule ids that refuse this write (empty: it must succeed)."""
    note: str = ""

    @property
    def url(self) -> str:
        return f"{self.res_type}/{self.res_id}"


@dataclass
class MemberWeek:
    member_id: str
    week: date
    teams: tuple[str, ...]
    contacts: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()
    contact_days: tuple[date, ...] = ()
    reviewed: bool = False
    meetings: tuple[str, ...] = ()
    billed_days: tuple[date, ...] = ()
    billed_days_if_warned: tuple[date, ...] = ()
    rules_broken: frozenset[str] = frozenset()
    rules_broken_if_warned: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Eligibility:
    member_id: str
    status: dict[str, Status]
    """``CMP-ELIG-1`` .. ``CMP-ELIG-4`` -> met | not-met | unknown."""
    evidence: dict[str, tuple[str, ...]]
    """Rule id -> references (``Observation/sdmi-m-001``, ``Condition/dx-m-001``), sorted."""


@dataclass
class Proportion:
    denominator: set[str] = field(default_factory=set)
    numerator: set[str] = field(default_factory=set)


@dataclass
class FollowUp:
    initial: set[str] = field(default_factory=set)
    denominator: set[str] = field(default_factory=set)
    numerator: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class TeamCapacity:
    team_id: str
    pact_members: int
    active_cmp_members: int
    cmp_limit: int


@dataclass
class Scenario:
    settings: ScenarioSettings
    writes: list[Write]
    member_weeks: dict[tuple[str, date], MemberWeek]
    eligibility: dict[str, Eligibility]
    weekly_contact: dict[tuple[str, date], Proportion]
    team_meeting: dict[tuple[str, date], Proportion]
    followup: dict[tuple[str, str], FollowUp]
    teams: dict[str, TeamCapacity]
    team_members: dict[str, tuple[str, ...]]
    """CMP member ids per team (ever enrolled with it)."""
    weeks: tuple[date, ...]

    def accepted_writes(self) -> list[Write]:
        return [w for w in self.writes if not w.refused_by]

    def refused_writes(self) -> list[Write]:
        return [w for w in self.writes if w.refused_by]

    def resource(self, res_type: str, res_id: str) -> dict | None:
        """The last body written for a resource (None if never written or deleted last)."""
        body = None
        for write in self.writes:
            if write.res_type == res_type and write.res_id == res_id and not write.refused_by:
                body = write.resource
        return body


def generate(settings: ScenarioSettings = ScenarioSettings()) -> Scenario:
    """The scenario of ``settings`` with its known answers."""
    if settings.teams < 2 or settings.cmp_members_per_team < 6 or settings.weeks < 8:
        raise ValueError("a scenario needs at least 2 teams of at least 6 CMP members, over at least 8 weeks")
    return _Builder(settings).build()


# --- the builder ----------------------------------------------------------------------------------------------

@dataclass
class _Enrollment:
    res_id: str
    team: str
    start: date
    end: date | None
    status: str


@dataclass
class _Contact:
    res_id: str
    member: str
    day: date
    start: datetime
    mode: str
    status: str = "finished"
    deleted: bool = False

    @property
    def valid(self) -> bool:
        return self.status == "finished" and not self.deleted


class _Builder:
    def __init__(self, settings: ScenarioSettings) -> None:
        self.s = settings
        self.rng = random.Random(settings.seed)
        rules = settings.program_rules
        self.cmp: Program = rules.program("cmp")
        self.pcmh: Program = rules.program("pcmh")
        self.first_day = week_start(self.cmp, settings.start)
        self.weeks = tuple(self.first_day + timedelta(days=7 * n) for n in range(settings.weeks))
        self.last_day = self.weeks[-1] + timedelta(days=6)
        self.limit = self.cmp.billable_days_per_week or 3
        self.rate = self.cmp.daily_rate or Decimal("115.50")
        self.writes: list[Write] = []
        self.refused: list[Write] = []
        self.deletes: list[Write] = []
        self.teams: list[team_kind.TeamRecord] = []
        self.enrollments: dict[str, list[_Enrollment]] = {}
        self.member_names: dict[str, str] = {}
        self.contacts: dict[str, list[_Contact]] = defaultdict(list)
        self.meetings: dict[str, list[tuple[str, date]]] = defaultdict(list)
        self.billed: dict[tuple[str, date], list[date]] = defaultdict(list)
        self.billed_refused: dict[tuple[str, date], list[date]] = defaultdict(list)
        self.eligibility: dict[str, Eligibility] = {}
        self.followup: dict[tuple[str, str], FollowUp] = defaultdict(FollowUp)
        self.team_members: dict[str, list[str]] = defaultdict(list)
        self.pending_span: tuple[str, str, date, list[tuple[date, str]]] | None = None

    # -- helpers --
    def put(self, resource: dict, *, refused_by: frozenset[str] = frozenset(), note: str = "") -> None:
        write = Write("PUT", resource["resourceType"], resource["id"], resource, refused_by, note)
        (self.refused if refused_by else self.writes).append(write)

    def put_all(self, resources: list[dict]) -> None:
        for body in resources:
            self.put(body)

    def week_of(self, day: date) -> date:
        return week_start(self.cmp, day)

    def local(self, program: Program, day: date, hour: int, minute: int) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=program.time_zone)

    @staticmethod
    def iso(value: datetime) -> str:
        return value.isoformat(timespec="seconds")

    def build(self) -> Scenario:
        for name in FIXTURES:
            self.put(json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8")))
        self.put({"resourceType": "Organization", "id": HOSPITAL, "active": True, "name": "St. Raphael Hospital",
                  "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                        "code": "prov", "display": "Healthcare Provider"}]}]})
        self.build_teams()
        self.build_cmp_members()
        capacities = self.build_pact_members()
        if self.s.applicants:
            self.build_applicants()
        self.build_pccm()
        writes = self.writes + self.deletes + self.refused
        member_weeks = self.member_weeks()
        weekly, meeting = self.proportions(member_weeks)
        return Scenario(self.s, writes, member_weeks, self.eligibility, weekly, meeting, dict(self.followup),
                        capacities, {t: tuple(m) for t, m in self.team_members.items()}, self.weeks)

    # -- teams --
    def build_teams(self) -> None:
        roles = ("PSYCHIATRIST", "PSYCH-RN", "LCSW", "PEER", "LCPC", "CASE-MGR")
        types = ("PACT-M", "MCT", "PACT-S", "PACT-L")
        for t in range(self.s.teams):
            team_id = f"team-{t + 1:02d}"
            staff = tuple(team_kind.Staff(
                staff_id=f"t{t + 1:02d}s{n + 1}", given=f"Staff{n + 1}", family=f"Team{t + 1:02d}", role=role,
                npi=f"19{t:03d}{n:05d}", phone=f"406-555-{t:02d}{n:02d}") for n, role in enumerate(roles[:4]))
            record = team_kind.TeamRecord(
                team_id=team_id, name=f"Team {t + 1:02d}", team_type=types[t % len(types)],
                approved_since=date(2024, 7, 1), npi=f"18{t:08d}", address_line=f"{t + 1} Main Street",
                city="Billings", state="MT", postal_code="59101", staff=staff)
            self.teams.append(record)
            self.put_all(team_kind.to_fhir(record))

    def staff_refs(self, team: team_kind.TeamRecord, count: int) -> tuple:
        chosen = self.rng.sample(team.staff, count)
        return tuple(contact_kind.StaffRef(staff_id=s.staff_id, name=f"{s.given} {s.family}") for s in chosen)

    # -- CMP members, their enrollments, contacts, meetings and claims --
    def build_cmp_members(self) -> None:
        for t in range(len(self.teams)):
            for n in range(self.s.cmp_members_per_team):
                member_id = f"m-{t + 1:02d}{n + 1:03d}"
                self.build_member(member_id, t, n)

    def sdmi_for(self, member_id: str, assessed: date, team: team_kind.TeamRecord, *, sdmi: str = "Y",
                 danger: bool = False, area_3: str = "2", area_4: str = "3", willing: bool = True
                 ) -> member_kind.Sdmi:
        necessity = sdmi == "Y" and not danger and max(int(area_3), int(area_4)) >= 2 and willing
        return member_kind.Sdmi(
            assessed_at=self.iso(self.local(self.cmp, assessed, 10, 0)), assessor_id=team.staff[0].staff_id,
            sdmi=sdmi, medical_necessity=necessity, danger_to_self_or_others=danger, loi_area_3=area_3,
            loi_area_4=area_4, able_and_willing=willing)

    def member_record(self, member_id: str, sdmi: member_kind.Sdmi | None, *, program: str = "CMP",
                      payor: str = "mt-medicaid", pcp: str | None = None) -> member_kind.MemberRecord:
        given, family = f"Given{member_id[2:]}", f"Family{member_id[2:]}"
        self.member_names[member_id] = f"{given} {family}"
        return member_kind.MemberRecord(
            member_id=member_id,
            medicaid_id=f"{'MT' if program == 'CMP' else 'CT'}{zlib.crc32(member_id.encode()):010d}",
            given=given, family=family,
            gender=self.rng.choice("FM"), birth_date=date(1960 + self.rng.randrange(40), 1 + self.rng.randrange(12),
                                                          1 + self.rng.randrange(28)),
            pcp_id=pcp, pcp_name=None, coverages=(member_kind.Coverage(program=program, payor_id=payor,
                                                                        start=date(2025, 1, 1)),),
            sdmi=sdmi)

    def condition(self, member_id: str) -> dict:
        code, display = self.rng.choice(DIAGNOSES)
        return {"resourceType": "Condition", "id": f"dx-{member_id}",
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                               "code": "active"}]},
                "verificationStatus": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                          "code": "problem-list-item"}]}],
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code, "display": display}]},
                "subject": {"reference": f"Patient/{member_id}"}}

    def build_member(self, member_id: str, t: int, n: int) -> None:
        team = self.teams[t]
        first = t == 0
        start = self.first_day - timedelta(days=30 + self.rng.randrange(200))
        if n == 5 or (n >= 6 and self.rng.random() < 0.15):  # enrolled mid-week (a Wednesday) in week 2 or later
            week = self.weeks[2 if n == 5 else self.rng.randrange(1, len(self.weeks) - 1)]
            start = week + timedelta(days=3)  # the 4th day of the week: mid-week whatever the week start
        sdmi = self.sdmi_for(member_id, start - timedelta(days=14), team,
                             area_3=self.rng.choice("0123"), area_4=self.rng.choice("23"))
        record = self.member_record(member_id, sdmi)
        self.put_all(member_kind.to_fhir(record))
        condition = self.condition(member_id)
        self.put(condition)
        self.eligibility[member_id] = self.eligibility_of(member_id, sdmi, [condition["id"]])
        plan = plan_kind.TreatmentPlanRecord(
            member_id=member_id, member_name=self.member_names[member_id], team_name=team.name, start=start,
            created=start, author_id=team.staff[0].staff_id, components=("a", "b", "f"))
        self.put_all(plan_kind.to_fhir(plan))
        # enrollments: the fifth member of the first team moves mid-week to the second team in week 8
        periods = [_Enrollment(f"enr-{member_id}", team.team_id, start, None, "active")]
        if first and n == 4:
            move_week = self.weeks[min(8, len(self.weeks) - 2)]
            moved = move_week + timedelta(days=3)
            periods = [_Enrollment(f"enr-{member_id}", team.team_id, start, moved - timedelta(days=1), "finished"),
                       _Enrollment(f"enr-{member_id}-2", self.teams[1].team_id, moved, None, "active")]
        self.enrollments[member_id] = periods
        for enrollment in periods:
            owner = next(tm for tm in self.teams if tm.team_id == enrollment.team)
            if member_id not in self.team_members[owner.team_id]:
                self.team_members[owner.team_id].append(member_id)
            resources = enrollment_kind.to_fhir(enrollment_kind.EnrollmentRecord(
                member_id=member_id, member_name=self.member_names[member_id], team_id=owner.team_id,
                team_name=owner.name, status=enrollment.status, start=enrollment.start, end=enrollment.end,
                care_team_name=f"{owner.name} care team of {self.member_names[member_id]}",
                care_team=tuple(enrollment_kind.CareTeamMember(staff_id=s.staff_id, role=s.role)
                                for s in owner.staff)))
            episode, care_team = resources
            if enrollment.res_id != f"enr-{member_id}":
                episode["id"] = enrollment.res_id
                care_team["id"] = f"team-{member_id}-2"
                episode["team"] = [{"reference": f"CareTeam/{care_team['id']}"}]
            self.put(care_team)
            self.put(episode)
        for index, week in enumerate(self.weeks):
            self.build_week(member_id, t, n, index, week)

    def enrollment_on(self, member_id: str, day: date) -> _Enrollment | None:
        for enrollment in self.enrollments[member_id]:
            if enrollment.start <= day and (enrollment.end is None or day <= enrollment.end):
                return enrollment
        return None

    def team(self, team_id: str) -> team_kind.TeamRecord:
        return next(t for t in self.teams if t.team_id == team_id)

    def build_week(self, member_id: str, t: int, n: int, index: int, week: date) -> None:
        days = [week + timedelta(days=d) for d in range(7)]
        enrolled = [d for d in days if self.enrollment_on(member_id, d) is not None]
        if not enrolled:
            return
        edges = self.fixed_edges(t, n, index, week)
        count = self.rng.choices((0, 1, 2, 3, 4, 5), weights=(8, 25, 30, 22, 10, 5))[0]
        count = max(count, edges.get("days", 0))
        chosen = set(edges.get("late", ()))
        rest = [d for d in enrolled if d not in chosen]
        chosen |= set(self.rng.sample(rest, max(0, min(len(rest), count - len(chosen)))))
        chosen = {d for d in chosen if d in enrolled}
        for day in sorted(chosen):
            late = day in edges.get("late", ()) or self.rng.random() < 0.05
            at = (23, 30) if late else (9 + self.rng.randrange(8), 15 * self.rng.randrange(4))
            self.add_contact(member_id, day, at)
            if self.rng.random() < 0.08:
                self.add_contact(member_id, day, (17, 0), suffix="b")
        free = [d for d in enrolled if d not in chosen]
        self.rng.shuffle(free)
        if free and (self.rng.random() < 0.12 or edges.get("cancelled")):
            self.add_contact(member_id, free.pop(), (11, 0), status="cancelled")
        if free and self.rng.random() < 0.05:
            self.add_contact(member_id, free.pop(), (11, 30), status="entered-in-error")
        deleted_day = None
        if free and (self.rng.random() < 0.1 or edges.get("deleted")):
            deleted_day = free.pop()
            self.add_contact(member_id, deleted_day, (12, 0), deleted=True)
        self.add_meeting(member_id, week, enrolled)
        self.add_claims(member_id, week, edges.get("claim") or self.random_claim_variant(), deleted_day)

    def fixed_edges(self, t: int, n: int, index: int, week: date) -> dict:
        """The edges the first team always has (so every scenario tests them whatever the seed)."""
        if t != 0:
            return {}
        days = [week + timedelta(days=d) for d in range(7)]
        sunday = next(d for d in days if d.weekday() == 6)
        saturday = next(d for d in days if d.weekday() == 5)
        if n == 0 and index == 1:
            return {"late": (sunday,), "days": 2, "claim": "normal"}
        if n == 0 and index == 2:
            return {"late": (saturday,), "days": 2, "claim": "normal"}
        if n == 0 and index == self.dst_week_index():
            return {"late": (days[0], days[-1]), "days": 3, "claim": "normal"}
        if n == 1 and index == 4:
            return {"late": (days[-1],), "days": 2, "claim": "span"}
        if n == 1 and index == 5:
            return {"late": (days[0],), "days": 2, "claim": "spanned"}
        if n == 2 and index == 6:
            return {"late": (days[-1],), "days": 2, "claim": "span-over"}
        if n == 2 and index == 7:
            return {"late": (days[0],), "days": 3, "claim": "spanned-full"}
        if n == 3 and index == 3:
            return {"days": 2, "claim": "voided", "cancelled": True}
        if n == 4 and index == 5:
            return {"days": 4, "claim": "over"}
        if n == 5 and index == 6:
            return {"days": 1, "claim": "no-contact", "deleted": True}
        return {}

    def dst_week_index(self) -> int | None:
        """The first week whose local midnights are not 7 x 24 hours apart (a daylight-saving change)."""
        for index, week in enumerate(self.weeks):
            bounds = week_of_day(self.cmp, week)
            if bounds.end_utc - bounds.start_utc != timedelta(days=7):
                return index
        return None

    def random_claim_variant(self) -> str:
        return self.rng.choices(("none", "normal", "split", "voided", "over", "no-contact"),
                                weights=(10, 55, 10, 8, 10, 7))[0]

    def add_contact(self, member_id: str, day: date, at: tuple[int, int], *, status: str = "finished",
                    deleted: bool = False, suffix: str = "") -> _Contact:
        enrollment = self.enrollment_on(member_id, day)
        team = self.team(enrollment.team)
        start = self.local(self.cmp, day, *at)
        mode = "F" if self.rng.random() < 0.75 else "T"
        res_id = f"qc-{member_id}-{day:%Y%m%d}{suffix}" + ("-x" if status != "finished" or deleted else "")
        record = contact_kind.QualityContactRecord(
            contact_id=res_id, contact_id_system=f"https://{team.team_id}.example.org/encounter-id",
            member_id=member_id, member_name=self.member_names[member_id], team_id=team.team_id,
            team_name=team.name, status="cancelled" if status == "cancelled" else "finished", mode=mode,
            start=self.iso(start), end=self.iso(start + timedelta(minutes=25)), staff=self.staff_refs(team, 1),
            purposes=tuple(sorted(self.rng.sample("abcdef", 1 + self.rng.randrange(2)))))
        (encounter,) = contact_kind.to_fhir(record)
        encounter["status"] = status
        encounter["episodeOfCare"] = [{"reference": f"EpisodeOfCare/{enrollment.res_id}"}]
        self.put(encounter)
        contact = _Contact(res_id, member_id, day, start, "AMB" if mode == "F" else "VR", status, deleted)
        if deleted:
            self.deletes.append(Write("DELETE", "Encounter", res_id, note="deleted contact"))
        self.contacts[member_id].append(contact)
        return contact

    def add_meeting(self, member_id: str, week: date, enrolled: list[date]) -> None:
        """Each team meets on its own weekday; a member enrolled that day is reviewed 85% of the time."""
        for day in enrolled:
            enrollment = self.enrollment_on(member_id, day)
            index = next(i for i, tm in enumerate(self.teams) if tm.team_id == enrollment.team)
            if day.weekday() != (1 + 2 * index) % 5 or self.rng.random() >= 0.85:
                continue
            team = self.team(enrollment.team)
            start = self.local(self.cmp, day, 13, 0)
            status = "cancelled" if self.rng.random() < 0.04 else "finished"
            res_id = f"tm-{member_id}-{day:%Y%m%d}"
            (encounter,) = meeting_kind.to_fhir(meeting_kind.TeamMeetingRecord(
                meeting_id=res_id, meeting_id_system=f"https://{team.team_id}.example.org/encounter-id",
                member_id=member_id, member_name=self.member_names[member_id], team_id=team.team_id,
                team_name=team.name, status=status, mode="F", start=self.iso(start),
                end=self.iso(start + timedelta(minutes=10)), attendees=self.staff_refs(team, 3)))
            encounter["episodeOfCare"] = [{"reference": f"EpisodeOfCare/{enrollment.res_id}"}]
            self.put(encounter)
            if status == "finished":
                self.meetings[member_id].append((res_id, week))

    # -- claims --
    def valid_days(self, member_id: str, week: date) -> list[tuple[date, str]]:
        """The week's local days with a valid contact, each with one contact id backing it."""
        days: dict[date, str] = {}
        for contact in self.contacts[member_id]:
            if contact.valid and self.week_of(contact.day) == week:
                days.setdefault(contact.day, contact.res_id)
        return sorted(days.items())

    def claim(self, claim_id: str, member_id: str, days: list[tuple[date, str]], *, status: str = "active",
              refused_by: frozenset[str] = frozenset(), note: str = "") -> None:
        team = self.team(self.enrollment_on(member_id, days[0][0]).team)
        record = claim_kind.ClaimRecord(
            claim_id=claim_id, kind="per-diem", member_id=member_id, coverage_id=f"cov-{member_id}",
            payer_id="mt-medicaid", provider_id=team.team_id, provider_name=team.name,
            period_start=days[0][0], period_end=days[-1][0], created=days[-1][0] + timedelta(days=2),
            service_code="CMP-PD", rate=self.rate, diagnosis="F20.0", diagnosis_display="Paranoid schizophrenia",
            days=tuple(claim_kind.BilledDay(day=d, contact_id=c) for d, c in days))
        (body,) = claim_kind.to_fhir(record)
        body["status"] = status
        self.put(body, refused_by=refused_by, note=note)
        target = self.billed_refused if refused_by else self.billed
        if status == "active":
            for day, _ in days:
                target[(member_id, self.week_of(day))].append(day)

    def add_claims(self, member_id: str, week: date, variant: str, deleted_day: date | None) -> None:
        days = self.valid_days(member_id, week)
        if variant in ("spanned", "spanned-full"):
            self.finish_span(member_id, week)  # billed together with the week before
            return
        if variant in ("span", "span-over"):  # the next week's contacts do not exist yet: bill both then
            self.pending_span = (member_id, variant, week, days)
            return
        if not days or variant == "none":
            return
        cid = f"clm-{member_id}-{week:%Y%m%d}"
        billable = days[:self.limit]
        if variant == "split" and len(billable) >= 2:
            self.claim(f"{cid}-a", member_id, billable[:1])
            self.claim(f"{cid}-b", member_id, billable[1:])
        elif variant == "voided":
            self.claim(f"{cid}-void", member_id, billable, status=self.rng.choice(("cancelled", "entered-in-error")))
            self.claim(cid, member_id, billable)
        elif variant == "over" and len(days) > self.limit:
            self.claim(cid, member_id, billable)
            self.claim(f"{cid}-over", member_id, days[self.limit:self.limit + 1],
                       refused_by=frozenset({"CMP-BILL-2"}), note="a 4th billable day in the week")
        elif variant == "no-contact":
            self.claim(cid, member_id, billable[:self.limit - 1])
            taken = {d for d, _ in days}
            candidates = ([deleted_day] if deleted_day and deleted_day not in taken else []) or [
                week + timedelta(days=d) for d in range(7)
                if week + timedelta(days=d) not in taken and self.enrollment_on(member_id, week + timedelta(days=d))]
            if candidates:
                day = candidates[0]
                backing = next((c.res_id for c in self.contacts[member_id] if c.day == day), f"qc-{member_id}-none")
                self.claim(f"{cid}-nc", member_id, [(day, backing)], refused_by=frozenset({"CMP-BILL-1"}),
                           note="a billable day without a valid contact")
        else:
            self.claim(cid, member_id, billable)

    def finish_span(self, member_id: str, week: date) -> None:
        """Bill a span claim once the second week's contacts exist."""
        if self.pending_span is None or self.pending_span[0] != member_id:
            return
        _, variant, first_week, first_days = self.pending_span
        self.pending_span = None
        second = self.valid_days(member_id, week)
        cid = f"clm-{member_id}-{first_week:%Y%m%d}"
        # a cmp-claim covers at most 7 days and 3 items: the last contact day of the first week and the
        # second week's days up to 6 days later
        if not first_days or not second:
            return
        tail = first_days[-1:]
        head = [(d, c) for d, c in second if d <= tail[0][0] + timedelta(days=6)]
        if variant == "span":
            if head:
                self.claim(f"{cid}-span", member_id, tail + head[:self.limit - 1])
            return
        # span-over: the second week is fully billed, and the spanning claim adds one more day to it
        self.claim(f"clm-{member_id}-{week:%Y%m%d}", member_id, second[:self.limit])
        if len(second) >= self.limit and head:
            self.claim(f"{cid}-span", member_id, tail + head[:1], refused_by=frozenset({"CMP-BILL-2"}),
                       note="spans two weeks; the second week exceeds the limit")

    # -- PACT/MCT members (CMP-TEAM-2) --
    def build_pact_members(self) -> dict[str, TeamCapacity]:
        """PACT/MCT members: an active EpisodeOfCare managed by the team, typed with the team's type code.

        The first team has exactly the members its CMP members need (full); the others have room for more.
        """
        share = self.cmp.max_cmp_share_of_team or Decimal("0.20")
        capacities = {}
        pact_writes: list[Write] = []
        for t, team in enumerate(self.teams):
            active = sum(1 for m, periods in self.enrollments.items()
                         if any(p.team == team.team_id and p.status == "active" for p in periods))
            needed = int((Decimal(active) / share).to_integral_value(rounding="ROUND_CEILING"))
            count = needed if t == 0 else needed + 10
            team_type = self.team_type_code(team)
            for k in range(count):
                patient_id = f"p-{team.team_id}-{k + 1:03d}"
                pact_writes.append(Write("PUT", "Patient", patient_id, {
                    "resourceType": "Patient", "id": patient_id, "active": True,
                    "name": [{"family": f"Pact{k + 1:03d}", "given": [team.team_id]}], "gender": "unknown"}))
                pact_writes.append(Write("PUT", "EpisodeOfCare", f"pact-{patient_id}", {
                    "resourceType": "EpisodeOfCare", "id": f"pact-{patient_id}", "status": "active",
                    "type": [{"coding": [{"system": TEAM_TYPE_SYSTEM, "code": team_type}]}],
                    "patient": {"reference": f"Patient/{patient_id}"},
                    "managingOrganization": {"reference": f"Organization/{team.team_id}"},
                    "period": {"start": "2024-07-01"}}))
            limit = int((Decimal(count) * share).to_integral_value(rounding="ROUND_FLOOR"))
            capacities[team.team_id] = TeamCapacity(team.team_id, count, active, limit)
        # PACT members come first: CMP enrollments are only allowed once the team has them
        first_cmp = next(i for i, w in enumerate(self.writes) if w.res_type == "EpisodeOfCare")
        self.writes[first_cmp:first_cmp] = pact_writes
        return capacities

    @staticmethod
    def team_type_code(team: team_kind.TeamRecord) -> str:
        return {"PACT-S": "pact-small", "PACT-M": "pact-medium", "PACT-L": "pact-large", "MCT": "mct"}[team.team_type]

    # -- eligibility --
    def eligibility_of(self, member_id: str, sdmi: member_kind.Sdmi | None, conditions: list[str]) -> Eligibility:
        conditions_refs = tuple(f"Condition/{c}" for c in conditions)
        if sdmi is None:
            status: dict[str, Status] = {f"CMP-ELIG-{n}": "unknown" for n in range(1, 5)}
            evidence = {"CMP-ELIG-1": conditions_refs, "CMP-ELIG-2": (), "CMP-ELIG-3": (), "CMP-ELIG-4": ()}
            return Eligibility(member_id, status, evidence)
        det = f"Observation/sdmi-{member_id}"

        def met(ok: bool) -> Status:
            return "met" if ok else "not-met"

        status = {"CMP-ELIG-1": met(sdmi.sdmi == "Y"), "CMP-ELIG-2": met(not sdmi.danger_to_self_or_others),
                  "CMP-ELIG-3": met(max(int(sdmi.loi_area_3), int(sdmi.loi_area_4)) >= 2),
                  "CMP-ELIG-4": met(sdmi.able_and_willing)}
        evidence = {"CMP-ELIG-1": tuple(sorted((det, *conditions_refs))), "CMP-ELIG-2": (det,),
                    "CMP-ELIG-3": tuple(sorted((det, f"Observation/loi-{member_id}-area-3",
                                                f"Observation/loi-{member_id}-area-4"))),
                    "CMP-ELIG-4": (det,)}
        return Eligibility(member_id, status, evidence)

    def build_applicants(self) -> None:
        """Members who applied but are not enrolled: one failing each criterion, one not assessed, and one
        whose older determination said no and whose latest says yes (the latest counts)."""
        team = self.teams[0]
        when = self.first_day
        cases = {"a-nosdmi": {"sdmi": "N"}, "a-danger": {"danger": True},
                 "a-mild": {"area_3": "1", "area_4": "0"}, "a-unwilling": {"willing": False},
                 "a-unassessed": None, "a-reassessed": {}}
        for suffix, findings in cases.items():
            member_id = f"m-{suffix}"
            sdmi = None if findings is None else self.sdmi_for(member_id, when, team, **findings)
            self.put_all(member_kind.to_fhir(self.member_record(member_id, sdmi)))
            condition = self.condition(member_id)
            self.put(condition)
            if suffix == "a-reassessed":
                old = self.sdmi_for(member_id, when - timedelta(days=90), team, sdmi="N")
                older = [copy.deepcopy(r) for r in member_kind.to_fhir(self.member_record(member_id, old))
                         if r["resourceType"] == "Observation" and r["id"].startswith("sdmi-")]
                older[0]["id"] = f"sdmi-{member_id}-2025"
                older[0].pop("hasMember")
                self.put(older[0])
            self.eligibility[member_id] = self.eligibility_of(member_id, sdmi, [condition["id"]])

    # -- PCMH: discharges and follow-up --
    def build_pccm(self) -> None:
        for n in range(self.s.pccm_members):
            member_id = f"m-pc{n + 1:03d}"
            pcp = PCPS[n % len(PCPS)]
            self.put_all(member_kind.to_fhir(self.member_record(member_id, None, program="PCCM", payor="ct-medicaid",
                                                                 pcp=pcp)))
            for k in range(self.s.discharges_per_member):
                self.add_discharge(member_id, pcp, n, k)

    def add_discharge(self, member_id: str, pcp: str, n: int, k: int) -> None:
        span = (self.last_day - self.first_day).days - 10
        if n == 0 and k == 0:  # 22:30 local on the last day of a month: UTC is already the next month
            month_end = date(self.first_day.year, self.first_day.month, 28)
            while (month_end + timedelta(days=1)).month == month_end.month:
                month_end += timedelta(days=1)
            end = self.local(self.pcmh, month_end, 22, 30)
            case = "edge-late"
        else:
            end = self.local(self.pcmh, self.first_day + timedelta(days=self.rng.randrange(span)), 10, 0)
            case = self.rng.choice(("in", "in", "late-in", "day-8", "none", "cancelled", "other-org", "exp",
                                    "other-hcf"))
        res_id = f"ip-{member_id}-{k + 1}"
        disposition = case if case in EXCLUDED_DISPOSITIONS else "home"
        self.put({"resourceType": "Encounter", "id": res_id, "status": "finished",
                  "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP",
                            "display": "inpatient encounter"},
                  "subject": {"reference": f"Patient/{member_id}"},
                  "period": {"start": self.iso(end - timedelta(days=3)), "end": self.iso(end)},
                  "hospitalization": {"dischargeDisposition": {"coding": [
                      {"system": DISPOSITION_SYSTEM, "code": disposition}]}},
                  "serviceProvider": {"reference": f"Organization/{HOSPITAL}"}})
        discharge_day = local_day(self.pcmh, end)
        window = self.pcmh.follow_up_days or 7
        answer = self.followup[(PRACTICE, f"{discharge_day:%Y-%m}")]
        answer.initial.add(res_id)
        if disposition not in EXCLUDED_DISPOSITIONS:
            answer.denominator.add(res_id)
        contact_at = {"in": (discharge_day + timedelta(days=2), 10, 0),
                      "late-in": (discharge_day + timedelta(days=window), 23, 30),
                      "edge-late": (discharge_day + timedelta(days=window), 23, 30),
                      "day-8": (discharge_day + timedelta(days=window + 1), 0, 30),
                      "cancelled": (discharge_day + timedelta(days=3), 10, 0),
                      "other-org": (discharge_day + timedelta(days=2), 10, 0),
                      "exp": None, "none": None,
                      "other-hcf": (discharge_day + timedelta(days=2), 10, 0)}[case]
        if contact_at is None:
            return
        day, hour, minute = contact_at
        start = self.local(self.pcmh, day, hour, minute)
        status = "cancelled" if case == "cancelled" else "finished"
        provider = HOSPITAL if case == "other-org" else PRACTICE
        self.put({"resourceType": "Encounter", "id": f"fu-{member_id}-{k + 1}", "status": status,
                  "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR",
                            "display": "virtual"},
                  "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "390906007",
                                        "display": "Follow-up encounter"}]}],
                  "subject": {"reference": f"Patient/{member_id}"},
                  "participant": [{"individual": {"reference": f"PractitionerRole/pr-{pcp}"}}],
                  "period": {"start": self.iso(start), "end": self.iso(start + timedelta(minutes=15))},
                  "serviceProvider": {"reference": f"Organization/{provider}"}})
        if status == "finished" and provider == PRACTICE and start > end and \
                day <= discharge_day + timedelta(days=window) and disposition not in EXCLUDED_DISPOSITIONS:
            answer.numerator.add(res_id)

    # -- answers --
    def member_weeks(self) -> dict[tuple[str, date], MemberWeek]:
        out = {}
        for member_id, periods in self.enrollments.items():
            for week in self.weeks:
                days = [week + timedelta(days=d) for d in range(7)]
                teams = tuple(sorted({p.team for p in periods for d in days
                                      if p.start <= d and (p.end is None or d <= p.end)}))
                if not teams:
                    continue
                contacts = sorted((c for c in self.contacts[member_id] if c.valid and self.week_of(c.day) == week),
                                  key=lambda c: c.start)
                meetings = tuple(mid for mid, w in self.meetings[member_id] if w == week)
                billed = tuple(sorted(self.billed[(member_id, week)]))
                warned = tuple(sorted(billed + tuple(self.billed_refused[(member_id, week)])))
                days_with_contact = {c.day for c in contacts}
                broken = {rule for rule, broke in (("CMP-QC-1", not contacts), ("CMP-TM-1", not meetings)) if broke}
                out[(member_id, week)] = MemberWeek(
                    member_id, week, teams, tuple(c.res_id for c in contacts), tuple(c.mode for c in contacts),
                    tuple(sorted({c.day for c in contacts})), bool(meetings), meetings, billed, warned,
                    frozenset(broken | self.billing_broken(billed, days_with_contact)),
                    frozenset(broken | self.billing_broken(warned, days_with_contact)))
        return out

    def billing_broken(self, billed: tuple[date, ...], days_with_contact: set[date]) -> set[str]:
        """CMP-BILL-1: a billed day without a valid contact; CMP-BILL-2: more billed days than the limit."""
        return {rule for rule, broke in (("CMP-BILL-1", any(d not in days_with_contact for d in billed)),
                                         ("CMP-BILL-2", len(billed) > self.limit)) if broke}

    def proportions(self, member_weeks: dict[tuple[str, date], MemberWeek]
                    ) -> tuple[dict[tuple[str, date], Proportion], dict[tuple[str, date], Proportion]]:
        weekly: dict[tuple[str, date], Proportion] = {}
        meeting: dict[tuple[str, date], Proportion] = {}
        for team in self.teams:
            for week in self.weeks:
                weekly[(team.team_id, week)] = Proportion()
                meeting[(team.team_id, week)] = Proportion()
        for (member_id, week), answer in member_weeks.items():
            for team_id in answer.teams:
                weekly[(team_id, week)].denominator.add(member_id)
                meeting[(team_id, week)].denominator.add(member_id)
                if answer.contacts:
                    weekly[(team_id, week)].numerator.add(member_id)
                if answer.reviewed:
                    meeting[(team_id, week)].numerator.add(member_id)
        return weekly, meeting
