// The weekly CMP team meeting, recorded per member reviewed.

Profile: CmpTeamMeeting
Parent: Encounter
Id: cmp-team-meeting
Title: "CMP Team Meeting Review"
Description: "The weekly CMP team meeting as it concerns one member: the team's discussion of that member's progress (S1 'Service Requirements (4)', CMP-TM-1). One encounter per member reviewed, so that 'every member is discussed every week' can be counted. The subject is the member, the encounter belongs to the member's CMP enrollment, the type is team-meeting, at least two team members take part (a meeting, not a note), the team is the service provider and the meeting happens in person (AMB) or by video (VR). 'Every week' spans encounters and is checked by the rules layer and the measure cmp-team-meeting. Aligns with US Core 6.1.0 Encounter (us-core-encounter): status, class, type, subject (and identifier system/value when present) are mandatory there and here."
* insert GuideMetadata
* ^purpose = "Record that the team discussed a member's progress in a given week (CMP-TM-1)."
* insert CmpEncounterBasics
* class ^short = "In person (AMB) or by video (VR)"
* type contains meetingType 1..1
* type[meetingType] = $cmp-encounter-type#team-meeting
* type[meetingType] ^short = "CMP-TM-1: the weekly team review of this member"
* subject ^short = "CMP-TM-1: the member whose progress the team discussed"
* participant 2..*
* participant ^short = "CMP-TM-1: the team members at the meeting (at least two)"

Mapping: CmpTeamMeetingToUSCore
Source: CmpTeamMeeting
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter"
Id: us-core
Title: "US Core 6.1.0 Encounter"
Description: "Valid instances carry every element US Core 6.1.0 Encounter requires."
* -> "us-core-encounter"
