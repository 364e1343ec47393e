// The CMP Individualized Treatment Plan.

RuleSet: USCoreCarePlanBasics
* text 1..1
* text ^short = "Narrative summary of the plan (US Core requires text.status and text.div)"
* intent = #plan
* category 1..*
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category contains assessPlan 1..1
* category[assessPlan] = $uscore-careplan-category#assess-plan
* category[assessPlan] ^short = "US Core: assessment and plan of treatment"


Profile: CmpTreatmentPlan
Parent: CarePlan
Id: cmp-treatment-plan
Title: "CMP Individualized Treatment Plan"
Description: "The CMP member's Individualized Treatment Plan (ITP). Billed CMP services must be documented in it (CMP-ITP-1), so every activity is coded with one of the ten core service components (a)-(j) of S1 (required binding to cmp-service-component), and quality contacts point at it (cmp-quality-contact, CMP-QC-2). intent is fixed to plan; categories are US Core's assess-plan and this guide's itp; the subject is a cmp-member and the plan has a start. Aligns with US Core 6.1.0 CarePlan (us-core-careplan): text (status and div), status, intent, category assess-plan and subject are mandatory there and here."
* insert GuideMetadata
* ^purpose = "Document the services a CMP member receives, so that billed services can be traced to the plan (CMP-ITP-1)."
* insert USCoreCarePlanBasics
* category contains itp 1..1
* category[itp] = $cmp-careplan-category#itp
* subject only Reference(CmpMember)
* period 1..1
* period.start 1..1
* author only Reference(CmpPractitionerRole)
* careTeam only Reference(CmpTeam)
* activity 1..*
* activity ^short = "CMP-ITP-1: the services of the plan, one core service component each"
* activity.detail 1..1
* activity.detail.code 1..1
* activity.detail.code from CmpServiceComponentVS (required)
* activity.detail.code ^short = "CMP-ITP-1: the core service component (a)-(j)"
* activity.detail.code ^definition = "The CMP core service component the activity delivers. CMP-ITP-1: billed services must be documented in the ITP, and the ITP draws on the ten core components (a)-(j) of S1 'Service Requirements (1)'."

Mapping: CmpTreatmentPlanToUSCore
Source: CmpTreatmentPlan
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-careplan"
Id: us-core
Title: "US Core 6.1.0 CarePlan"
Description: "Valid instances carry every element US Core 6.1.0 CarePlan requires."
* -> "us-core-careplan"
