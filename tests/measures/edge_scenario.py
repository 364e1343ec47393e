"""A hand-made scenario of the measures' edge cases, with its answers worked out by hand (see comments).

CMP program weeks start on Sunday in America/Denver; March 2026 has the weeks starting Mar 1, 8, 15, 22
and 29, and daylight saving time starts on Sunday Mar 8 at 02:00 (MST -07:00 before, MDT -06:00 after).
"""

from __future__ import annotations

from tests.measures import builders as b

MARCH = ("2026-03-01", "2026-03-31")
TEAM_A, TEAM_B = "pact-a", "mct-b"


def cmp_resources() -> list[dict]:
    return [
        b.organization(TEAM_A), b.organization(TEAM_B),
        *(b.member(m) for m in ("m1", "m2", "m3", "m4", "m5")),
        # m1: team A all along; 5 enrolled weeks.
        b.enrollment("e1", "m1", TEAM_A, "2026-01-01"),
        b.encounter("c1-sun-late", "m1", "2026-03-01T23:30:00-07:00"),   # Sunday 23:30 local = Mon 06:30 UTC
        b.encounter("c1-dst", "m1", "2026-03-08T00:30:00-07:00"),        # before the change: week Mar 8
        b.encounter("c1-mdt", "m1", "2026-03-22T00:30:00-06:00"),        # 06:30 UTC: week Mar 22 starts 06:00
        b.encounter("c1-cancelled", "m1", "2026-03-17T10:00:00-06:00", status="cancelled"),
        b.encounter("c1-error", "m1", "2026-03-30T10:00:00-06:00", status="entered-in-error"),
        b.encounter("c1-deleted", "m1", "2026-03-31T10:00:00-06:00"),    # deleted by the test setup
        b.encounter("c1-home", "m1", "2026-03-16T10:00:00-06:00", mode="HH"),  # not face-to-face/telehealth
        b.meeting("t1-a", "m1", "2026-03-04T13:00:00-07:00"),
        b.meeting("t1-b", "m1", "2026-03-11T13:00:00-06:00"),
        # m1's claims: week Mar 1 claims 4 days on two active claims (CMP-BILL-2); only Mar 1 has a contact
        # (local date Mar 1, though Mar 2 in UTC), so Mar 2, 3, 4 are CMP-BILL-1; the cancelled claim and
        # the entered-in-error one do not count. Week Mar 8 bills Mar 8, which has a contact.
        b.claim("k1", "m1", ["2026-03-01", "2026-03-02"]),
        b.claim("k2", "m1", ["2026-03-03", "2026-03-04"]),
        b.claim("k3", "m1", ["2026-03-05"], status="cancelled"),
        b.claim("k4", "m1", ["2026-03-06"], status="entered-in-error"),
        b.claim("k5", "m1", ["2026-03-08"]),
        # m2: enrolled from Wednesday Mar 18, so weeks Mar 15, 22, 29 count (3 weeks).
        b.enrollment("e2", "m2", TEAM_A, "2026-03-18"),
        b.encounter("c2", "m2", "2026-03-19T10:00:00-06:00", mode="VR"),
        b.meeting("t2-cancelled", "m2", "2026-03-18T13:00:00-06:00", status="cancelled"),
        # m3: transferred from team A (until Wed Mar 11, finished) to team B (from Thu Mar 12): week Mar 8 is
        # a week of both teams; 5 weeks in all.
        b.enrollment("e3-a", "m3", TEAM_A, "2026-01-01", "2026-03-11", status="finished"),
        b.enrollment("e3-b", "m3", TEAM_B, "2026-03-12"),
        b.encounter("c3-a", "m3", "2026-03-02T10:00:00-07:00"),
        b.encounter("c3-b", "m3", "2026-03-10T10:00:00-06:00"),
        b.meeting("t3", "m3", "2026-03-04T13:00:00-07:00"),
        # m4: a cancelled enrollment is no enrollment; m5: enrolled until Saturday Feb 28.
        b.enrollment("e4", "m4", TEAM_A, "2026-01-01", status="cancelled"),
        b.encounter("c4", "m4", "2026-03-03T10:00:00-07:00"),
        b.enrollment("e5", "m5", TEAM_A, "2026-01-01", "2026-02-28", status="finished"),
        b.encounter("c5", "m5", "2026-03-03T10:00:00-07:00"),
        # a Group of members (a caseload): m1 and m2
        {"resourceType": "Group", "id": "caseload", "type": "person", "actual": True,
         "member": [{"entity": {"reference": "Patient/m1"}}, {"entity": {"reference": "Patient/m2"}}]},
    ]


DELETED = [("Encounter", "c1-deleted")]

#: (scope, measure id) -> (denominator = initial population, numerator), member-weeks of March 2026.
CMP_EXPECTED = {
    # all: m1 5 weeks (contacts in weeks Mar 1, 8, 22), m2 3 (Mar 15), m3 5 (Mar 1, 8) -> 13 / 6
    (None, "cmp-weekly-contact"): (13, 6),
    # team A: m1 5 (3), m2 3 (1), m3 weeks Mar 1 and 8 (2) -> 10 / 6; team B: m3 weeks Mar 8..29 -> 4 / 1
    ("Organization/pact-a", "cmp-weekly-contact"): (10, 6),
    ("Organization/mct-b", "cmp-weekly-contact"): (4, 1),
    ("Patient/m1", "cmp-weekly-contact"): (5, 3),
    ("Patient/m4", "cmp-weekly-contact"): (0, 0),
    ("Group/caseload", "cmp-weekly-contact"): (8, 4),
    # reviews: m1 weeks Mar 1 and 8, m3 week Mar 1
    (None, "cmp-team-meeting"): (13, 3),
    ("Organization/pact-a", "cmp-team-meeting"): (10, 3),
    ("Organization/mct-b", "cmp-team-meeting"): (4, 0),
}

#: m1's weeks in March: (first day, contacts, reviews, days claimed, rule ids broken in order).
M1_COMPLIANCE = [
    ("2026-03-01", ["c1-sun-late"], ["t1-a"], 4, ["CMP-BILL-2", "CMP-BILL-1", "CMP-BILL-1", "CMP-BILL-1"]),
    ("2026-03-08", ["c1-dst"], ["t1-b"], 1, []),
    ("2026-03-15", [], [], 0, ["CMP-QC-1", "CMP-TM-1"]),
    ("2026-03-22", ["c1-mdt"], [], 0, ["CMP-TM-1"]),
    ("2026-03-29", [], [], 0, ["CMP-QC-1", "CMP-TM-1"]),
]

PRACTICE, OTHER_PRACTICE = "pcmh-x", "pcmh-y"
APRIL = ("2026-04-01", "2026-04-30")


def pcmh_resources() -> list[dict]:
    """PCMH-3 in April 2026 (America/New_York, EDT -04:00)."""
    return [
        b.organization(PRACTICE), b.organization(OTHER_PRACTICE),
        b.practitioner_role("pr-x", PRACTICE), b.practitioner_role("pr-y", OTHER_PRACTICE),
        b.member("p1", practitioner_role="pr-x"), b.member("p2", practitioner_role="pr-x"),
        b.member("p3", practitioner_role="pr-y"),
        # p1: admitted in March, discharged Apr 5 home, seen Apr 10: followed up.
        b.encounter("s1", "p1", "2026-03-30T08:00:00-04:00", kind=None, mode="IMP",
                    end="2026-04-05T10:00:00-04:00", discharge="home"),
        b.encounter("f1", "p1", "2026-04-10T09:00:00-04:00", kind=None, mode="AMB", team=PRACTICE),
        # p2: discharged Apr 10 10:00, seen Apr 18 00:30 (the 8th day): not followed up; a visit on Apr 12 at
        # another organization does not count; admitted again Apr 18, died Apr 20: not in the denominator; a
        # stay ending in March is not counted.
        b.encounter("s2", "p2", "2026-03-28T08:00:00-04:00", kind=None, mode="IMP",
                    end="2026-04-10T10:00:00-04:00", discharge="home"),
        b.encounter("f2", "p2", "2026-04-18T00:30:00-04:00", kind=None, mode="AMB", team=PRACTICE),
        b.encounter("f2-elsewhere", "p2", "2026-04-12T09:00:00-04:00", kind=None, mode="AMB", team=OTHER_PRACTICE),
        b.encounter("s2-exp", "p2", "2026-04-18T08:00:00-04:00", kind=None, mode="IMP",
                    end="2026-04-20T10:00:00-04:00", discharge="exp"),
        b.encounter("s2-march", "p2", "2026-03-01T08:00:00-05:00", kind=None, mode="IMP",
                    end="2026-03-05T10:00:00-05:00", discharge="home"),
        # p3 (another practice): discharged Apr 12 22:30 (Apr 13 in UTC); its practitioner writes on Apr 19 at
        # 23:30, the last hour of the window.
        b.encounter("s3", "p3", "2026-04-08T08:00:00-04:00", kind=None, mode="IMP",
                    end="2026-04-12T22:30:00-04:00", discharge="home"),
        {"resourceType": "Communication", "id": "cm3", "status": "completed",
         "subject": {"reference": "Patient/p3"}, "sender": {"reference": "PractitionerRole/pr-y"},
         "sent": "2026-04-19T23:30:00-04:00"},
    ]


#: scope -> (initial population, denominator, numerator) of followup-after-discharge in April 2026.
FOLLOWUP_EXPECTED = {
    None: (4, 3, 2),
    "Organization/pcmh-x": (3, 2, 1),
    "Patient/p3": (1, 1, 1),
}
#: pcmh-incentive for the practice in April: followup (3, 2, 1); contact 2 of 2 members; admitted: p2 only.
INCENTIVE_EXPECTED = {
    "followup-after-discharge": (3, 2, 1),
    "care-management-contact": (2, 2, 2),
    "inpatient-utilization": (2, 2, 1),
}
