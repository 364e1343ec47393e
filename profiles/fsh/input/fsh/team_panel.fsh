// A team's panel: the CMP members enrolled with one PACT or MCT team, as a Group (Bulk Data Group/$export).

Profile: CmpTeamPanel
Parent: Group
Id: cmp-team-panel
Title: "CMP Team Panel"
Description: "The CMP members currently enrolled with one approved PACT or MCT team (CMP-TEAM-1): an actual Group of persons managed by the team organization (cmp-team-organization), whose members are the patients (cmp-member) of the team's active enrollments (cmp-enrollment), each with the date the enrollment started. A member who leaves is removed from the panel (member.inactive is not used), so the panel always lists current members; quantity, when present, is the number of members (cmp-panel-1). State systems export a team's population with Bulk Data Group/[id]/$export, which takes the Patient compartments of the members. The panel is the team's CMP count for the 20% cap (CMP-TEAM-2, checked by the rules layer against the team's PACT/MCT caseload). US Core 6.1.0 has no Group profile; every reference out of this profile targets a US Core-aligned profile."
* insert GuideMetadata
* ^purpose = "Name the members a team serves, for population exports (Bulk Data) and team-level checks."
* obeys cmp-panel-1
* type = #person
* type ^short = "Fixed: a panel is of persons (patients)"
* actual = true
* actual ^short = "Fixed: an enumerated list of actual members"
* code 1..1
* code = $cmp-program#cmp
* code ^short = "Fixed: the Community Maintenance Program"
* name 1..1
* managingEntity 1..1
* managingEntity only Reference(CmpTeamOrganization)
* managingEntity ^short = "CMP-TEAM-1: the approved PACT or MCT team whose panel this is"
* member.entity only Reference(CmpMember)
* member.entity ^short = "A member enrolled with the team (the patient of an active cmp-enrollment)"
* member.period 1..1
* member.period.start 1..1
* member.period ^short = "From the start of the member's enrollment with the team"
* member.inactive 0..0
* member.inactive ^short = "Not used: a member who leaves is removed from the panel"

Invariant: cmp-panel-1
Description: "The panel's quantity, when given, is the number of its members."
Expression: "quantity.exists() implies quantity = member.count()"
Severity: #error
