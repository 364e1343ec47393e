// New York MLTC plan (MLTCP or MAP) + Health Home: the shared plan of care, its team and its services.

Extension: Custodian
Id: custodian
Title: "Care Plan Custodian"
Description: "The party responsible for a care plan, following MCC eCare Plan's custodian extension (itself a backport of R5 CarePlan.custodian). In a shared plan of care it is the lead care manager (SCP-2)."
* insert GuideMetadata
* ^context.type = #element
* ^context.expression = "CarePlan"
* value[x] 1..1
* value[x] only Reference
* valueReference only Reference(PractitionerRole or Practitioner or Organization or CareTeam or Patient or RelatedPerson)


Extension: LeadCareManagerBasis
Id: lead-care-manager-basis
Title: "Lead Care Manager Basis"
Description: "Why this care manager leads: the member's primary need on which the MLTC plan and the Health Home jointly based the choice, with any explanation in the text (SCP-2). Only the lead care manager's participant carries it, which is how the search parameters careteam-lead and careteam-lead-organization find the lead."
* insert GuideMetadata
* ^context.type = #element
* ^context.expression = "CareTeam.participant"
* value[x] 1..1
* value[x] only CodeableConcept
* valueCodeableConcept from LeadCareManagerBasisVS (required)


Extension: ServiceCoordinator
Id: service-coordinator
Title: "Service Coordinator"
Description: "Who coordinates a service on a shared plan of care: the MLTC plan or the Health Home (SCP-3). The extension appears once, so a service is never coordinated by both (SCP-5)."
* insert GuideMetadata
* ^context.type = #element
* ^context.expression = "ServiceRequest"
* value[x] 1..1
* value[x] only CodeableConcept
* valueCodeableConcept from ServiceResponsibilityVS (required)


Extension: ServicePlanCoverage
Id: service-plan-coverage
Title: "Service Plan Coverage"
Description: "Whether a service on a shared plan of care is in the MLTC plan's benefit package (in-plan) or not (out-of-plan), as the ASA's Appendix A (MLTCP) or Appendix B (MAP) lists it (SCP-3)."
* insert GuideMetadata
* ^context.type = #element
* ^context.expression = "ServiceRequest"
* value[x] 1..1
* value[x] only CodeableConcept
* valueCodeableConcept from ServicePlanCoverageVS (required)


Profile: SharedCarePlan
Parent: CarePlan
Id: shared-care-plan
Title: "MLTC / Health Home Shared Plan of Care"
Description: "The one plan of care an MLTC plan (MLTCP, or MAP where it is the single comprehensive plan since behavioral health was carved in on 2023-01-01) and a Health Home keep for a member enrolled in both (S3). SCP-1: one care team (careTeam 1..1 -> shared-care-team), the MLTC program as a category (mltcp | map), and both organizations as contributors (invariant scp-1). SCP-2: the lead care manager is the plan's custodian, as MCC eCare Plan marks the responsible party (extension custodian 1..1 -> cmp-practitioner-role). SCP-3: every activity references a shared-plan-service, which says who coordinates it and whether it is in-plan. SCP-4: the client-level Care Planning and Coordination form (care-coordination-form) is attached as supportingInfo. 'One shared plan per member' (SCP-1) and 'no service coordinated twice' (SCP-5) span resources and are checked by the rules layer. Aligns with US Core 6.1.0 CarePlan (us-core-careplan): text (status and div), status, intent, category assess-plan and subject are mandatory there and here; and with MCC eCare Plan's CarePlan in its use of custodian, contributors and care team."
* insert GuideMetadata
* ^purpose = "Hold the shared plan of care of an MLTC plan and a Health Home, with the lead care manager, the services and who coordinates each (SCP-1..5)."
* obeys scp-1
* extension contains Custodian named custodian 1..1
* extension[custodian] ^short = "SCP-2: the lead care manager, responsible for the plan"
* extension[custodian].valueReference only Reference(CmpPractitionerRole)
* insert USCoreCarePlanBasics
* category contains sharedPlan 1..1 and mltcProgram 1..1
* category[sharedPlan] = $cmp-careplan-category#shared-care-plan
* category[sharedPlan] ^short = "SCP-1: the member's one shared plan of care"
* category[mltcProgram] from MltcProgramVS (required)
* category[mltcProgram] ^short = "SCP-1: the MLTC program, MLTCP or MAP"
* category[mltcProgram] ^patternCodeableConcept.coding.system = "https://cmp-adapter.org/fhir/CodeSystem/cmp-program"
* subject only Reference(CmpMember)
* period 1..1
* period.start 1..1
* contributor 2..*
* contributor only Reference(CmpOrganization or CmpPractitionerRole)
* contributor ^short = "SCP-1: the MLTC plan and the Health Home (both organizations), and their care managers"
* careTeam 1..1
* careTeam only Reference(SharedCareTeam)
* careTeam ^short = "SCP-1, SCP-2: the one shared care team, with the lead care manager"
* supportingInfo 1..*
* supportingInfo only Reference(CareCoordinationFormResponse)
* supportingInfo ^short = "SCP-4: the client-level Care Planning and Coordination form"
* activity 1..*
* activity.reference 1..1
* activity.reference only Reference(SharedPlanService)
* activity.reference ^short = "SCP-3: the planned service, with who coordinates it and whether it is in-plan"
* activity.detail 0..0
* activity.detail ^short = "Not used: services are ServiceRequests (as eLTSS recommends)"

Invariant: scp-1
Description: "SCP-1: the shared plan is one plan of both parties: at least two organizations (the MLTC plan and the Health Home) contribute to it."
Expression: "contributor.where(reference.startsWith('Organization/') or type = 'Organization').count() >= 2"
Severity: #error

Mapping: SharedCarePlanToUSCore
Source: SharedCarePlan
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-careplan"
Id: us-core
Title: "US Core 6.1.0 CarePlan"
Description: "Valid instances carry every element US Core 6.1.0 CarePlan requires."
* -> "us-core-careplan"


Profile: SharedCareTeam
Parent: CareTeam
Id: shared-care-team
Title: "MLTC / Health Home Shared Care Team"
Description: "The care team of a shared plan of care: care managers of the MLTC plan and of the Health Home, managed by both organizations (managingOrganization 2..*, the two parties of the one shared plan: SCP-1). Exactly one participant is the lead care manager (SCP-2: slice leadCareManager 1..1, role lead-care-manager), acting for the MLTC plan or the Health Home (onBehalfOf 1..1, one of the team's managing organizations: invariant scp-2), with the documented basis of the joint choice (extension lead-care-manager-basis 1..1: the member's primary need), which no other participant carries (invariant scp-2-basis). Aligns with US Core 6.1.0 CareTeam (us-core-careteam): subject, participant, participant.role and participant.member are mandatory there and here."
* insert GuideMetadata
* ^purpose = "Name the one lead care manager of a shared plan, whom they act for, and why they were chosen (SCP-2)."
* obeys scp-2 and scp-2-basis
* status 1..1
* category 1..*
* category = $LOINC#LA28865-6
* name 1..1
* subject 1..1
* subject only Reference(CmpMember)
* managingOrganization 2..*
* managingOrganization only Reference(CmpOrganization)
* managingOrganization ^short = "SCP-1: the MLTC plan and the Health Home"
* participant 2..*
* participant.role 1..1
* participant.member 1..1
* participant.member only Reference(CmpPractitionerRole)
* participant ^slicing.discriminator.type = #pattern
* participant ^slicing.discriminator.path = "role"
* participant ^slicing.rules = #open
* participant ^slicing.description = "The lead care manager is recognised by the role code lead-care-manager."
* participant contains leadCareManager 1..1
* participant[leadCareManager] ^short = "SCP-2: the one lead care manager"
* participant[leadCareManager] ^definition = "SCP-2: exactly one lead care manager, from the MLTC plan or the Health Home, chosen jointly on the member's primary needs; the choice is documented."
* participant[leadCareManager].extension contains LeadCareManagerBasis named basis 1..1
* participant[leadCareManager].extension[basis] ^short = "SCP-2: the primary need the joint choice was based on"
* participant[leadCareManager].role = $cmp-care-team-role#lead-care-manager
* participant[leadCareManager].onBehalfOf 1..1
* participant[leadCareManager].onBehalfOf ^short = "SCP-2: the MLTC plan or the Health Home the lead acts for"

Invariant: scp-2
Description: "SCP-2: the lead care manager acts for one of the two parties: their onBehalfOf is one of the team's managing organizations."
Expression: "participant.where(role.coding.exists(system = 'https://cmp-adapter.org/fhir/CodeSystem/cmp-care-team-role' and code = 'lead-care-manager')).where(onBehalfOf.exists()).all(%resource.managingOrganization.reference contains onBehalfOf.reference)"
Severity: #error

Invariant: scp-2-basis
Description: "SCP-2: the basis of the choice is documented on the lead care manager only: no other participant carries the extension lead-care-manager-basis."
Expression: "participant.where(extension('https://cmp-adapter.org/fhir/StructureDefinition/lead-care-manager-basis').exists()).all(role.coding.exists(system = 'https://cmp-adapter.org/fhir/CodeSystem/cmp-care-team-role' and code = 'lead-care-manager'))"
Severity: #error

Mapping: SharedCareTeamToUSCore
Source: SharedCareTeam
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-careteam"
Id: us-core
Title: "US Core 6.1.0 CareTeam"
Description: "Valid instances carry every element US Core 6.1.0 CareTeam requires."
* -> "us-core-careteam"


Profile: SharedPlanService
Parent: ServiceRequest
Id: shared-plan-service
Title: "Shared Plan Service"
Description: "A service planned on a shared plan of care, in the style of eLTSS's ServiceRequest: what (code), for whom (subject), how often (occurrence), by whom (performer) and paid by whom (insurance -> cmp-coverage, eLTSS's service funding source). SCP-3: it says who coordinates it (extension service-coordinator: mltc-plan | health-home) and whether it is in-plan or out-of-plan (extension service-plan-coverage). SCP-5: the coordinator extension appears exactly once, so the same service is never coordinated by both parties; the same service planned twice with different coordinators spans resources and is checked by the rules layer. intent is fixed to plan. Aligns with US Core 6.1.0 ServiceRequest (us-core-servicerequest): status, intent, code and subject are mandatory there and here."
* insert GuideMetadata
* ^purpose = "Say for each planned service who coordinates it and whether the MLTC plan covers it (SCP-3, SCP-5)."
* extension contains
    ServiceCoordinator named coordinator 1..1 and
    ServicePlanCoverage named planCoverage 1..1
* extension[coordinator] ^short = "SCP-3, SCP-5: who coordinates the service (exactly one of MLTC plan, Health Home)"
* extension[planCoverage] ^short = "SCP-3: in-plan or out-of-plan"
* intent = #plan
* code 1..1
* code ^short = "The service (HCPCS, SNOMED CT or text)"
* subject only Reference(CmpMember)
* insurance 1..*
* insurance only Reference(CmpCoverage)
* insurance ^short = "Service funding source (as in eLTSS): the coverage that pays"
* performer only Reference(CmpOrganization or CmpPractitionerRole)

Mapping: SharedPlanServiceToUSCore
Source: SharedPlanService
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-servicerequest"
Id: us-core
Title: "US Core 6.1.0 ServiceRequest"
Description: "Valid instances carry every element US Core 6.1.0 ServiceRequest requires."
* -> "us-core-servicerequest"
