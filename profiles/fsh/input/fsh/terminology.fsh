// Code systems and value sets of the guide.
//
// Our own codes are defined in our own words; the source of each group (S1 = Montana CMP policy, S3 = New
// York MLTC/Health Home guidance, S2/S4 = PCCM/PCMH) is named in its description. Standard codes (v3 ActCode,
// HCPCS, ICD-10-CM, SNOMED CT, NUCC, LOINC) are referenced by their canonical URLs and never copied.

// --- CMP quality contacts (CMP-QC-2) --------------------------------------------------------------------

CodeSystem: QualityContactPurposeCS
Id: quality-contact-purpose
Title: "CMP Quality Contact Purpose"
Description: "What a CMP quality contact between the team and the member works on: the six purposes (a)-(f) of S1 'Service Requirements (3)'. A quality contact addresses at least one of them (CMP-QC-2)."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #self-advocacy "Decision making and self-advocacy" "(a) Helping the member take an active part in decisions about their services and recovery, and building the skills to speak up for themselves."
* #recovery-resilience "Recovery and resilience" "(b) Supporting recovery and resilience: finding, improving and keeping the social determinants of health that help the member, and naming the barriers to recovery and ways around them."
* #family-support "Family and significant-other support" "(c) Helping the member build and make the most of support from family or a significant other."
* #community-supports "Community and social supports" "(d) Helping the member find and use community and social supports for treatment and recovery."
* #health-monitoring "Health care monitoring" "(e) Keeping track of the member's health care."
* #intensive-treatment "Intensive treatment and rehabilitation" "(f) Providing intensive treatment and rehabilitative services that help the member recover and lessen disability."

ValueSet: QualityContactPurposeVS
Id: quality-contact-purpose
Title: "CMP Quality Contact Purpose"
Description: "All purposes a CMP quality contact can address (CMP-QC-2)."
* insert GuideMetadata
* include codes from system QualityContactPurposeCS

// Face-to-face or telehealth (CMP-QC-1): the standard v3 ActCode encounter classes.
ValueSet: CmpContactModeVS
Id: cmp-contact-mode
Title: "CMP Contact Mode"
Description: "How a CMP contact or team meeting takes place: face-to-face (v3 ActCode AMB, ambulatory) or telehealth (v3 ActCode VR, virtual). S1 allows exactly these two for quality contacts (CMP-QC-1)."
* insert GuideMetadata
* $v3-ActCode#AMB "ambulatory"
* $v3-ActCode#VR "virtual"

// --- CMP service components (CMP-ITP-1) -----------------------------------------------------------------

CodeSystem: CmpServiceComponentCS
Id: cmp-service-component
Title: "CMP Core Service Component"
Description: "The ten core service components (a)-(j) every CMP team must offer (S1 'Service Requirements (1)'). Activities of an Individualized Treatment Plan are coded with them (CMP-ITP-1)."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #medication-management "Medication management" "(a) Managing, giving, delivering and watching over the member's medication."
* #case-management "Case/care management" "(b) Coordinating the member's care and the services around it."
* #crisis-services "24-hour crisis services" "(c) Crisis response available at any hour of any day."
* #illness-management-recovery "Illness management and recovery skills" "(d) Teaching the member skills to manage their illness and move towards recovery."
* #community-living-skills "Community living skills" "(e) Skills for living in the community, including side-by-side help with activities of daily living."
* #support-network-intervention "Intervention with support networks" "(f) Working with the people and networks that support the member."
* #employment-support "Employment-support services" "(g) Helping the member find and keep work."
* #co-occurring-treatment "Integrated treatment for co-occurring disorders" "(h) Treatment that handles mental illness and co-occurring disorders together, substance use disorder treatment included."
* #therapy "Individual, family and group therapy" "(i) Therapy with the member alone, with family, or in a group."
* #peer-support "Peer support" "(j) Support from a peer with lived experience of mental illness and recovery."

ValueSet: CmpServiceComponentVS
Id: cmp-service-component
Title: "CMP Core Service Component"
Description: "All ten CMP core service components (CMP-ITP-1)."
* insert GuideMetadata
* include codes from system CmpServiceComponentCS

// --- CMP eligibility (CMP-ELIG-1..4) ----------------------------------------------------------------------

CodeSystem: LoiAreaCS
Id: loi-area
Title: "Level of Impairment Area"
Description: "Areas of the Montana Level of Impairment (LOI) rating that CMP eligibility looks at (S1 'Medical Necessity Criteria (3)'). Only the two areas CMP names are defined here; the other areas of the DPHHS LOI form can be added as codes when a program needs them."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #area-3 "Area 3 - Family/Interpersonal Relationships" "How well the member keeps up relationships with family, friends and other people."
* #area-4 "Area 4 - Mood/Thought Functioning" "How the member's mood and thinking affect day-to-day functioning."

ValueSet: LoiAreaVS
Id: loi-area
Title: "Level of Impairment Area"
Description: "The LOI areas CMP eligibility looks at: Area 3 and Area 4 (CMP-ELIG-3)."
* insert GuideMetadata
* include codes from system LoiAreaCS

CodeSystem: LoiLevelCS
Id: loi-level
Title: "Level of Impairment"
Description: "How impaired the member is in one LOI area, from none to severe. CMP asks for moderate or worse in Area 3 or Area 4 (CMP-ELIG-3). The property 'order' ranks the levels."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^property[0].code = #order
* ^property[0].description = "Rank of the level: higher means more impaired."
* ^property[0].type = #integer
* #none "None" "No impairment in the area."
* #none ^property[0].code = #order
* #none ^property[0].valueInteger = 0
* #mild "Mild" "Some difficulty, but the member manages most of the time without help."
* #mild ^property[0].code = #order
* #mild ^property[0].valueInteger = 1
* #moderate "Moderate" "Difficulty that regularly gets in the way and calls for support; the lowest level that meets CMP-ELIG-3."
* #moderate ^property[0].code = #order
* #moderate ^property[0].valueInteger = 2
* #severe "Severe" "Difficulty that keeps the member from functioning in the area without intensive support."
* #severe ^property[0].code = #order
* #severe ^property[0].valueInteger = 3

ValueSet: LoiLevelVS
Id: loi-level
Title: "Level of Impairment"
Description: "All LOI levels (CMP-ELIG-3)."
* insert GuideMetadata
* include codes from system LoiLevelCS

CodeSystem: SdmiStatusCS
Id: sdmi-status
Title: "SDMI Status"
Description: "Whether a member meets Montana's criteria for a severe disabling mental illness (SDMI), as determined for CMP-ELIG-1."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #meets-sdmi "Meets SDMI criteria" "The member meets the SDMI criteria of the Montana Medicaid manual."
* #does-not-meet-sdmi "Does not meet SDMI criteria" "The member was assessed and does not meet the SDMI criteria."

ValueSet: SdmiStatusVS
Id: sdmi-status
Title: "SDMI Status"
Description: "All SDMI determination outcomes (CMP-ELIG-1)."
* insert GuideMetadata
* include codes from system SdmiStatusCS

CodeSystem: CmpObservationCS
Id: cmp-observation
Title: "CMP Observation Code"
Description: "Codes for the findings of a CMP eligibility determination (CMP-ELIG-1..4)."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #sdmi-determination "SDMI determination" "The determination whether a member meets the SDMI criteria, with the findings CMP medical necessity rests on."
* #cmp-medical-necessity "CMP medical necessity met" "The conclusion: the member meets all four CMP medical-necessity criteria (CMP-ELIG-1..4)."
* #danger-to-self-or-others "Danger to self or others" "The member is in an emergency situation as 53-21-102 MCA (7)(a)(b) describes it: a danger to themself or to others (CMP-ELIG-2)."
* #able-and-willing-to-engage "Able and willing to engage" "The member is able and willing to take an active part in CMP services (CMP-ELIG-4)."

// --- teams and programs (CMP-TEAM-1) -------------------------------------------------------------------

CodeSystem: CmpTeamTypeCS
Id: cmp-team-type
Title: "CMP Team Type"
Description: "The kinds of Montana Medicaid team that may deliver CMP (S1 'Provider Requirements (2)'): a small, medium or large PACT team, or an MCT team (CMP-TEAM-1)."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #pact-small "PACT team, small" "A small Program of Assertive Community Treatment team, staffed as Montana Medicaid policy 460 sets out."
* #pact-medium "PACT team, medium" "A medium Program of Assertive Community Treatment team, staffed as Montana Medicaid policy 460 sets out."
* #pact-large "PACT team, large" "A large Program of Assertive Community Treatment team, staffed as Montana Medicaid policy 460 sets out."
* #mct "MCT team" "A team staffed as Montana Medicaid policy 455 sets out for MCT."

ValueSet: CmpTeamTypeVS
Id: cmp-team-type
Title: "CMP Team Type"
Description: "All team types that may deliver CMP (CMP-TEAM-1)."
* insert GuideMetadata
* include codes from system CmpTeamTypeCS

CodeSystem: CmpProgramCS
Id: cmp-program
Title: "Care-Management Program"
Description: "The programs this guide covers, used to type enrollments, coverage classes and plan categories."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #cmp "Community Maintenance Program" "Montana Medicaid's Community Maintenance Program (S1): long-term medication and community support from a PACT or MCT team."
* #mltcp "MLTC partial capitation plan" "A New York Managed Long Term Care partial capitation plan (S3)."
* #map "Medicaid Advantage Plus plan" "A New York Medicaid Advantage Plus plan; behavioral health is part of its benefit since 2023-01-01 (S3)."
* #health-home "Health Home" "A New York Medicaid Health Home providing care management as a State Plan service (S3)."
* #pccm "Primary Care Case Management" "Medicaid primary care case management: a primary care provider coordinates the member's care for a care-management fee on top of fee-for-service (S2)."
* #pcmh "Patient-Centered Medical Home" "A patient-centered medical home practice paid per member per month care-management fees and a performance-based incentive (S4)."
* #medicaid-ffs "Medicaid fee-for-service" "State Medicaid paying providers per service."

ValueSet: MltcProgramVS
Id: mltc-program
Title: "MLTC Program"
Description: "The MLTC plan kinds whose members can have a shared care plan with a Health Home: MLTCP or MAP (SCP-1)."
* insert GuideMetadata
* $cmp-program#mltcp "MLTC partial capitation plan"
* $cmp-program#map "Medicaid Advantage Plus plan"

ValueSet: CmpProgramVS
Id: cmp-program
Title: "Care-Management Program"
Description: "All programs of this guide."
* insert GuideMetadata
* include codes from system CmpProgramCS

CodeSystem: CmpEncounterTypeCS
Id: cmp-encounter-type
Title: "CMP Encounter Type"
Description: "Kinds of CMP encounter: the weekly quality contact with the member (CMP-QC-1/2) and the weekly team meeting reviewing the member (CMP-TM-1)."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #quality-contact "CMP quality contact" "A purposeful interaction between the CMP team and the member that feeds assessment and care planning (S1 'Service Requirements (3)')."
* #team-meeting "CMP team meeting review" "The team's weekly discussion of one member's progress (S1 'Service Requirements (4)')."

ValueSet: CmpEncounterTypeVS
Id: cmp-encounter-type
Title: "CMP Encounter Type"
Description: "All CMP encounter types."
* insert GuideMetadata
* include codes from system CmpEncounterTypeCS

CodeSystem: CmpCarePlanCategoryCS
Id: cmp-careplan-category
Title: "CMP Care Plan Category"
Description: "Kinds of care plan in this guide: the CMP Individualized Treatment Plan and the MLTC/Health Home shared plan of care."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #itp "Individualized Treatment Plan" "The CMP member's Individualized Treatment Plan, where every billed service must be documented (CMP-ITP-1)."
* #shared-care-plan "Shared plan of care" "The one plan of care an MLTC plan (MLTCP or MAP) and a Health Home keep together for a member enrolled in both (SCP-1)."

ValueSet: CmpCarePlanCategoryVS
Id: cmp-careplan-category
Title: "CMP Care Plan Category"
Description: "All care plan categories of this guide."
* insert GuideMetadata
* include codes from system CmpCarePlanCategoryCS

CodeSystem: CmpCareTeamRoleCS
Id: cmp-care-team-role
Title: "Care-Management Team Role"
Description: "Roles in a shared care team that standard role codes do not name (SCP-2)."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #lead-care-manager "Lead care manager" "The one care manager, from the MLTC plan or the Health Home, who leads care management for the member; chosen jointly by both on the member's primary needs (SCP-2)."
* #care-manager "Care manager" "A care manager of the MLTC plan or the Health Home who is not the lead."
* #liaison "Liaison" "The person an MLTC plan or Health Home names to take part in the periodic coordination meetings between the two."

ValueSet: CmpCareTeamRoleVS
Id: cmp-care-team-role
Title: "Care-Management Team Role"
Description: "All care-management team roles of this guide."
* insert GuideMetadata
* include codes from system CmpCareTeamRoleCS

// --- shared care plans (SCP-2, SCP-3, SCP-5) -------------------------------------------------------------

CodeSystem: ServiceResponsibilityCS
Id: service-responsibility
Title: "Service Coordination Responsibility"
Description: "Who coordinates a service on a shared plan of care: the MLTC plan (MLTCP or MAP) or the Health Home (SCP-3). Exactly one of them coordinates each service (SCP-5)."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #mltc-plan "MLTC plan" "The member's MLTC plan (MLTCP or MAP) coordinates the service; under the template ASA this is the primary role for long term care services."
* #health-home "Health Home" "The member's Health Home coordinates the service; under the template ASA this is the primary role for behavioral health and other services outside the MLTC benefit package."

ValueSet: ServiceResponsibilityVS
Id: service-responsibility
Title: "Service Coordination Responsibility"
Description: "Both parties that can coordinate a service (SCP-3, SCP-5)."
* insert GuideMetadata
* include codes from system ServiceResponsibilityCS

CodeSystem: ServicePlanCoverageCS
Id: service-plan-coverage
Title: "Service Plan Coverage"
Description: "Whether a service on a shared plan of care is in the MLTC plan's benefit package or outside it, as the ASA's Appendix A (MLTCP) or Appendix B (MAP) lists (SCP-3)."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #in-plan "In-plan" "The service is part of the MLTC plan's benefit package."
* #out-of-plan "Out-of-plan" "The service is outside the MLTC plan's benefit package and is paid another way (for example Medicaid fee-for-service)."

ValueSet: ServicePlanCoverageVS
Id: service-plan-coverage
Title: "Service Plan Coverage"
Description: "In-plan or out-of-plan (SCP-3)."
* insert GuideMetadata
* include codes from system ServicePlanCoverageCS

CodeSystem: LeadCareManagerBasisCS
Id: lead-care-manager-basis
Title: "Lead Care Manager Basis"
Description: "The member's primary need on which the MLTC plan and the Health Home base their joint choice of lead care manager (SCP-2)."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #long-term-care "Long term care needs" "The member's main needs are long term services and supports, which the MLTC plan coordinates."
* #behavioral-health "Behavioral health needs" "The member's main needs are behavioral health care."
* #medical "Medical needs" "The member's main needs are physical health care outside long term care."
* #social "Social needs" "The member's main needs are housing, income or other social supports."

ValueSet: LeadCareManagerBasisVS
Id: lead-care-manager-basis
Title: "Lead Care Manager Basis"
Description: "All bases for choosing the lead care manager (SCP-2)."
* insert GuideMetadata
* include codes from system LeadCareManagerBasisCS

// --- billing (CMP-BILL-3, PCCM-2, PCMH-1) -----------------------------------------------------------------

ValueSet: CmpBillingCodeVS
Id: cmp-billing-code
Title: "CMP Billing Code"
Description: "Procedure codes a CMP per-diem claim may bill (CMP-BILL-1, CMP-BILL-3). The default is HCPCS H0040, the bundled per-diem code for assertive community treatment. A state that bills CMP under another code changes this value set (profiles/fsh/input/fsh/terminology.fsh) and rebuilds the package."
* insert GuideMetadata
* $HCPCS#H0040 "Assertive community treatment program, per diem"

ValueSet: CareManagementFeeCodeVS
Id: care-management-fee-code
Title: "Care-Management Fee Code"
Description: "Procedure codes for a monthly care-management fee under PCCM or PCMH (PCCM-2, PCMH-1). The default is HCPCS G9002, the maintenance-rate coordinated care fee; a program that bills the fee under another code changes this value set and rebuilds the package."
* insert GuideMetadata
* $HCPCS#G9002 "Coordinated care fee, maintenance rate"

// --- identifiers ------------------------------------------------------------------------------------------

Instance: medicaid-member-id
InstanceOf: NamingSystem
Usage: #definition
* name = "MedicaidMemberId"
* status = #draft
* kind = #identifier
* date = "2026-11-20"
* publisher = "cmp-fhir-adapter project"
* description = "The default identifier system of state Medicaid member ids in this guide (cmp-member, cmp-coverage). A state that issues its own URI for member ids puts it into $MedicaidMemberIdSystem (aliases.fsh) and uniqueId.value below, and rebuilds the package."
* jurisdiction = $ISO3166#US "United States of America"
* type = $v2-0203#MA "Patient Medicaid number"
* usage = "Use as Identifier.system of the member's Medicaid id, with Identifier.type v2-0203 MA."
* uniqueId.type = #uri
* uniqueId.value = "https://cmp-adapter.org/fhir/NamingSystem/medicaid-member-id"
* uniqueId.preferred = true
