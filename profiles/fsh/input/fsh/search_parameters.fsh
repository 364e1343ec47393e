// Search parameters for the searches of this guide that base R4 does not offer.

RuleSet: SearchParameterMetadata
* insert InstanceMetadata
* status = #draft
* date = "2026-11-20"


Instance: encounter-quality-contact-purpose
InstanceOf: SearchParameter
Usage: #definition
* insert SearchParameterMetadata
* url = "https://cmp-adapter.org/fhir/SearchParameter/encounter-quality-contact-purpose"
* name = "EncounterQualityContactPurpose"
* description = "Quality contacts by the purpose (a)-(f) they address (CMP-QC-2), e.g. purpose=https://cmp-adapter.org/fhir/CodeSystem/quality-contact-purpose|family-support."
* code = #purpose
* base = #Encounter
* type = #token
* expression = "Encounter.extension('https://cmp-adapter.org/fhir/StructureDefinition/quality-contact-purpose').value"
* xpathUsage = #normal


Instance: encounter-treatment-plan
InstanceOf: SearchParameter
Usage: #definition
* insert SearchParameterMetadata
* url = "https://cmp-adapter.org/fhir/SearchParameter/encounter-treatment-plan"
* name = "EncounterTreatmentPlan"
* description = "Encounters carried out under a care plan (extension based-on-care-plan): the quality contacts of an ITP (CMP-QC-2, CMP-ITP-1)."
* code = #treatment-plan
* base = #Encounter
* type = #reference
* target = #CarePlan
* expression = "Encounter.extension('https://cmp-adapter.org/fhir/StructureDefinition/based-on-care-plan').value"
* xpathUsage = #normal


Instance: careteam-lead
InstanceOf: SearchParameter
Usage: #definition
* insert SearchParameterMetadata
* url = "https://cmp-adapter.org/fhir/SearchParameter/careteam-lead"
* name = "CareTeamLead"
* description = "Care teams by their lead care manager (SCP-2): the member of the participant that carries the basis of the lead choice (extension lead-care-manager-basis), which in a shared-care-team only the lead-care-manager participant does (invariant scp-2-basis). The expression has the where(hasExtension()) shape of R4's own search parameters, so a server can index it without a general FHIRPath engine."
* code = #lead
* base = #CareTeam
* type = #reference
* target[0] = #PractitionerRole
* target[1] = #Practitioner
* expression = "CareTeam.participant.where(hasExtension('https://cmp-adapter.org/fhir/StructureDefinition/lead-care-manager-basis')).member"
* xpathUsage = #normal


Instance: careteam-lead-organization
InstanceOf: SearchParameter
Usage: #definition
* insert SearchParameterMetadata
* url = "https://cmp-adapter.org/fhir/SearchParameter/careteam-lead-organization"
* name = "CareTeamLeadOrganization"
* description = "Care teams whose lead care manager acts for a given organization, the MLTC plan or the Health Home (SCP-2); the lead is found as for careteam-lead."
* code = #lead-organization
* base = #CareTeam
* type = #reference
* target = #Organization
* expression = "CareTeam.participant.where(hasExtension('https://cmp-adapter.org/fhir/StructureDefinition/lead-care-manager-basis')).onBehalfOf"
* xpathUsage = #normal


Instance: careplan-custodian
InstanceOf: SearchParameter
Usage: #definition
* insert SearchParameterMetadata
* url = "https://cmp-adapter.org/fhir/SearchParameter/careplan-custodian"
* name = "CarePlanCustodian"
* description = "Care plans by their custodian, in a shared plan of care the lead care manager (SCP-2)."
* code = #custodian
* base = #CarePlan
* type = #reference
* target[0] = #PractitionerRole
* target[1] = #Practitioner
* target[2] = #Organization
* target[3] = #CareTeam
* target[4] = #Patient
* target[5] = #RelatedPerson
* expression = "CarePlan.extension('https://cmp-adapter.org/fhir/StructureDefinition/custodian').value"
* xpathUsage = #normal


Instance: servicerequest-coordinator
InstanceOf: SearchParameter
Usage: #definition
* insert SearchParameterMetadata
* url = "https://cmp-adapter.org/fhir/SearchParameter/servicerequest-coordinator"
* name = "ServiceRequestCoordinator"
* description = "Shared-plan services by who coordinates them, mltc-plan or health-home (SCP-3, SCP-5)."
* code = #coordinator
* base = #ServiceRequest
* type = #token
* expression = "ServiceRequest.extension('https://cmp-adapter.org/fhir/StructureDefinition/service-coordinator').value"
* xpathUsage = #normal


Instance: servicerequest-plan-coverage
InstanceOf: SearchParameter
Usage: #definition
* insert SearchParameterMetadata
* url = "https://cmp-adapter.org/fhir/SearchParameter/servicerequest-plan-coverage"
* name = "ServiceRequestPlanCoverage"
* description = "Shared-plan services that are in-plan or out-of-plan (SCP-3)."
* code = #plan-coverage
* base = #ServiceRequest
* type = #token
* expression = "ServiceRequest.extension('https://cmp-adapter.org/fhir/StructureDefinition/service-plan-coverage').value"
* xpathUsage = #normal


Instance: claim-service-date
InstanceOf: SearchParameter
Usage: #definition
* insert SearchParameterMetadata
* url = "https://cmp-adapter.org/fhir/SearchParameter/claim-service-date"
* name = "ClaimServiceDate"
* description = "Claims by the date of any item, e.g. the per-diem days of a week (CMP-BILL-1, CMP-BILL-2)."
* code = #service-date
* base = #Claim
* type = #date
* expression = "Claim.item.serviced"
* xpathUsage = #normal


Instance: episodeofcare-eligibility
InstanceOf: SearchParameter
Usage: #definition
* insert SearchParameterMetadata
* url = "https://cmp-adapter.org/fhir/SearchParameter/episodeofcare-eligibility"
* name = "EpisodeOfCareEligibility"
* description = "Enrollments resting on a given eligibility determination (CMP-ELIG-1..4)."
* code = #eligibility
* base = #EpisodeOfCare
* type = #reference
* target = #Observation
* expression = "EpisodeOfCare.extension('https://cmp-adapter.org/fhir/StructureDefinition/eligibility-determination').value"
* xpathUsage = #normal


Instance: encounter-discharge-disposition
InstanceOf: SearchParameter
Usage: #definition
* insert SearchParameterMetadata
* url = "https://cmp-adapter.org/fhir/SearchParameter/encounter-discharge-disposition"
* name = "EncounterDischargeDisposition"
* description = "Inpatient stays by where the patient went at discharge (Encounter.hospitalization.dischargeDisposition): PCMH-3 leaves out discharges that end in death or in a transfer to another inpatient stay."
* code = #discharge-disposition
* base = #Encounter
* type = #token
* expression = "Encounter.hospitalization.dischargeDisposition"
* xpathUsage = #normal
