// Teams, organizations and the people in them.

Profile: CmpOrganization
Parent: Organization
Id: cmp-organization
Title: "Program Organization"
Description: "An organization taking part in a program of this guide: a state Medicaid agency or other payer, an MLTC plan (MLTCP or MAP), a Health Home, a PCCM/PCMH practice. CMP teams use the stricter cmp-team-organization. Rule ids: none of its own; the parties of SCP-1..5 and PCCM-1 are organizations of this profile. Aligns with US Core 6.1.0 Organization (us-core-organization): active and name are mandatory there and here."
* insert GuideMetadata
* ^purpose = "Name the payers, plans, Health Homes and practices that the program rules speak of."
* active 1..1
* name 1..1
* type 1..*
* type ^short = "organization-type (prov, pay, ins...) and, for plans and Health Homes, the cmp-program code"

Mapping: CmpOrganizationToUSCore
Source: CmpOrganization
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-organization"
Id: us-core
Title: "US Core 6.1.0 Organization"
Description: "Valid instances carry every element US Core 6.1.0 Organization requires."
* -> "us-core-organization"


Extension: CmpApproval
Id: cmp-approval
Title: "CMP Approval"
Description: "The period during which the Montana Department of Public Health and Human Services has approved a PACT or MCT team to provide CMP (CMP-TEAM-1). An open end means the approval is in force."
* insert GuideMetadata
* ^context.type = #element
* ^context.expression = "Organization"
* value[x] only Period
* valuePeriod.start 1..1


Profile: CmpTeamOrganization
Parent: Organization
Id: cmp-team-organization
Title: "CMP Team Organization"
Description: "A PACT or MCT team of a Montana Medicaid provider, approved by the department to deliver CMP (CMP-TEAM-1). It carries the team type (PACT small, medium or large, or MCT; required binding to cmp-team-type), the department's approval (extension cmp-approval) and the team's NPI. Enrollments (cmp-enrollment) are managed by it; quality contacts, team meetings and claims name it as service provider or billing provider. The 20% cap on CMP members per team (CMP-TEAM-2) spans many enrollments and is checked by the adapter's rules layer. Aligns with US Core 6.1.0 Organization (us-core-organization): active and name are mandatory there and here."
* insert GuideMetadata
* ^purpose = "Identify the team that delivers CMP and show it may (CMP-TEAM-1)."
* extension contains CmpApproval named cmpApproval 1..1
* extension[cmpApproval] ^short = "CMP-TEAM-1: the department's approval of the team to provide CMP"
* identifier 1..*
* identifier ^slicing.discriminator.type = #pattern
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier contains npi 1..1
* identifier[npi].system = $NPI
* identifier[npi].value 1..1
* identifier[npi] ^short = "The team's (or its provider's) NPI"
* active 1..1
* name 1..1
* type 1..*
* type ^slicing.discriminator.type = #pattern
* type ^slicing.discriminator.path = "coding.system"
* type ^slicing.rules = #open
* type contains teamType 1..1
* type[teamType] ^short = "CMP-TEAM-1: PACT small | PACT medium | PACT large | MCT"
* type[teamType] ^definition = "The kind of team. CMP-TEAM-1: only PACT (small, medium, large) and MCT teams may deliver CMP."
* type[teamType] from CmpTeamTypeVS (required)
* type[teamType].coding 1..1
* type[teamType].coding.system 1..1
* type[teamType].coding.system = "https://cmp-adapter.org/fhir/CodeSystem/cmp-team-type"
* type[teamType].coding.code 1..1

Mapping: CmpTeamOrganizationToUSCore
Source: CmpTeamOrganization
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-organization"
Id: us-core
Title: "US Core 6.1.0 Organization"
Description: "Valid instances carry every element US Core 6.1.0 Organization requires."
* -> "us-core-organization"


Profile: CmpPractitioner
Parent: Practitioner
Id: cmp-practitioner
Title: "Program Practitioner"
Description: "A person who delivers or manages care in a program of this guide: PACT/MCT team staff, MLTC plan and Health Home care managers, a PCCM primary care provider. Identified by NPI. Rule ids: none of its own; the team members of CMP-QC-1, CMP-TM-1, the lead care manager of SCP-2 and the PCP of PCCM-1 act through a cmp-practitioner-role of such a person. Aligns with US Core 6.1.0 Practitioner (us-core-practitioner): identifier (system, value) and name.family are mandatory there and here."
* insert GuideMetadata
* identifier 1..*
* identifier.system 1..1
* identifier.value 1..1
* identifier ^slicing.discriminator.type = #pattern
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier contains npi 1..1
* identifier[npi].system = $NPI
* name 1..*
* name.family 1..1

Mapping: CmpPractitionerToUSCore
Source: CmpPractitioner
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-practitioner"
Id: us-core
Title: "US Core 6.1.0 Practitioner"
Description: "Valid instances carry every element US Core 6.1.0 Practitioner requires."
* -> "us-core-practitioner"


Profile: CmpPractitionerRole
Parent: PractitionerRole
Id: cmp-practitioner-role
Title: "Program Practitioner Role"
Description: "A practitioner working for one organization of this guide (a CMP team, an MLTC plan, a Health Home, a practice) in one role, with a way to reach them. Team members of quality contacts and team meetings, lead care managers and primary care providers are referenced through it, so that the organization they act for is always known (CMP-QC-1, CMP-TM-1, SCP-2, PCCM-1). Aligns with US Core 6.1.0 PractitionerRole (us-core-practitionerrole), including its pd-1 rule (telecom or endpoint)."
* insert GuideMetadata
* practitioner 1..1
* practitioner only Reference(CmpPractitioner)
* organization 1..1
* organization only Reference(CmpOrganization or CmpTeamOrganization)
* code 1..*
* code ^short = "Role: NUCC provider taxonomy, SNOMED CT occupation or cmp-care-team-role"
* telecom 1..*
* telecom.system 1..1
* telecom.value 1..1

Mapping: CmpPractitionerRoleToUSCore
Source: CmpPractitionerRole
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-practitionerrole"
Id: us-core
Title: "US Core 6.1.0 PractitionerRole"
Description: "Valid instances carry every element US Core 6.1.0 PractitionerRole requires."
* -> "us-core-practitionerrole"


Profile: CmpTeam
Parent: CareTeam
Id: cmp-team
Title: "CMP Care Team"
Description: "The staff of a PACT or MCT team who serve one CMP member: the member's CareTeam, managed by the team organization (cmp-team-organization, CMP-TEAM-1), listing the team members with their roles. Like US Core, a CareTeam here has a patient as subject; the team as a whole is the organization and its practitioner roles. Enrollments (cmp-enrollment) and treatment plans point at it; every participant of a quality contact or team meeting should be one of its members (checked by the rules layer with CMP-QC-1 and CMP-TM-1). Aligns with US Core 6.1.0 CareTeam (us-core-careteam): subject, participant, participant.role and participant.member are mandatory there and here."
* insert GuideMetadata
* ^purpose = "Say which team members serve a CMP member, under which approved team."
* status 1..1
* category 1..*
* category = $LOINC#LA28865-6
* name 1..1
* subject 1..1
* subject only Reference(CmpMember)
* participant 1..*
* participant.role 1..1
* participant.role ^short = "NUCC provider taxonomy or SNOMED CT occupation"
* participant.member 1..1
* participant.member only Reference(CmpPractitionerRole or CmpPractitioner)
* managingOrganization 1..1
* managingOrganization only Reference(CmpTeamOrganization)
* managingOrganization ^short = "CMP-TEAM-1: the approved PACT or MCT team"

Mapping: CmpTeamToUSCore
Source: CmpTeam
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-careteam"
Id: us-core
Title: "US Core 6.1.0 CareTeam"
Description: "Valid instances carry every element US Core 6.1.0 CareTeam requires."
* -> "us-core-careteam"
