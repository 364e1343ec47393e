// The member's enrollment in CMP with one team.

Extension: EligibilityDetermination
Id: eligibility-determination
Title: "Eligibility Determination"
Description: "The determination on which an enrollment rests: for CMP, the SDMI determination with the medical-necessity findings of CMP-ELIG-1..4."
* insert GuideMetadata
* ^context.type = #element
* ^context.expression = "EpisodeOfCare"
* value[x] only Reference
* valueReference only Reference(Observation)


Profile: CmpEnrollment
Parent: EpisodeOfCare
Id: cmp-enrollment
Title: "CMP Enrollment"
Description: "A member's enrollment in the Community Maintenance Program with one approved PACT or MCT team. The type is fixed to CMP; the patient is a cmp-member; the managing organization is the team (cmp-team-organization, which carries the team type: CMP-TEAM-1); the period has a start; the team's care team for the member is cmp-team; the extension eligibility-determination points at the SDMI determination that found the member eligible (CMP-ELIG-1..4). Quality contacts and team meetings belong to it through Encounter.episodeOfCare. US Core 6.1.0 has no EpisodeOfCare profile; every reference out of this profile targets a US Core-aligned profile."
* insert GuideMetadata
* ^purpose = "Tie the member, the team and the eligibility determination together for the time the member is in CMP."
* extension contains EligibilityDetermination named eligibility 1..1
* extension[eligibility] ^short = "CMP-ELIG-1..4: the SDMI determination that found the member eligible"
* extension[eligibility].valueReference only Reference(CmpSdmiDetermination)
* type 1..*
* type ^slicing.discriminator.type = #pattern
* type ^slicing.discriminator.path = "$this"
* type ^slicing.rules = #open
* type contains program 1..1
* type[program] = $cmp-program#cmp
* type[program] ^short = "Fixed: the Community Maintenance Program"
* patient only Reference(CmpMember)
* managingOrganization 1..1
* managingOrganization only Reference(CmpTeamOrganization)
* managingOrganization ^short = "CMP-TEAM-1: the approved PACT or MCT team that delivers CMP"
* period 1..1
* period.start 1..1
* team 1..1
* team only Reference(CmpTeam)
* team ^short = "The member's CMP care team"
