// The weekly CMP quality contact.

Extension: QualityContactPurpose
Id: quality-contact-purpose
Title: "Quality Contact Purpose"
Description: "A purpose (a)-(f) of S1 'Service Requirements (3)' that a CMP quality contact addresses (CMP-QC-2). Repeat the extension for each purpose addressed."
* insert GuideMetadata
* ^context.type = #element
* ^context.expression = "Encounter"
* value[x] 1..1
* value[x] only CodeableConcept
* valueCodeableConcept from QualityContactPurposeVS (required)


Extension: BasedOnCarePlan
Id: based-on-care-plan
Title: "Based On Care Plan"
Description: "The care plan an encounter carries out. R4 Encounter.basedOn only admits ServiceRequest; this extension plays the role of R5's Encounter.basedOn for a CarePlan. In CMP it links a quality contact to the member's Individualized Treatment Plan (CMP-QC-2, CMP-ITP-1)."
* insert GuideMetadata
* ^context.type = #element
* ^context.expression = "Encounter"
* value[x] 1..1
* value[x] only Reference
* valueReference only Reference(CarePlan)


// What quality contacts and team meetings share: US Core Encounter's mandatory elements, a member, the
// CMP enrollment, a start, the team as service provider, and team members as participants.
RuleSet: CmpEncounterBasics
* identifier.system 1..1
* identifier.value 1..1
* class from CmpContactModeVS (required)
* type 1..*
* type ^slicing.discriminator.type = #pattern
* type ^slicing.discriminator.path = "$this"
* type ^slicing.rules = #open
* subject 1..1
* subject only Reference(CmpMember)
* episodeOfCare 1..1
* episodeOfCare only Reference(CmpEnrollment)
* episodeOfCare ^short = "The member's CMP enrollment"
* participant.individual 1..1
* participant.individual only Reference(CmpPractitionerRole)
* participant.individual ^short = "A member of the CMP team, in their team role"
* period 1..1
* period.start 1..1
* serviceProvider 1..1
* serviceProvider only Reference(CmpTeamOrganization)
* serviceProvider ^short = "The PACT or MCT team (CMP-TEAM-1)"


Profile: CmpQualityContact
Parent: Encounter
Id: cmp-quality-contact
Title: "CMP Quality Contact"
Description: "A CMP quality contact: a purposeful interaction between the team and the member that feeds assessment and care planning (S1 'Service Requirements (3)'). It is face-to-face (class v3 ActCode AMB) or telehealth (VR) (CMP-QC-1, required binding to cmp-contact-mode); it addresses one or more of the purposes (a)-(f) (extension quality-contact-purpose 1..*, required binding: CMP-QC-2); it is part of the member's ITP services (extension based-on-care-plan 1..1 to cmp-treatment-plan, as R4 Encounter.basedOn cannot point at a CarePlan: CMP-QC-2, CMP-ITP-1); it belongs to the member's CMP enrollment (episodeOfCare 1..1), has a start, at least one team member as participant and the team as service provider. Each day with a quality contact is a billable day (CMP-BILL-1): cmp-claim items point here. 'At least one quality contact every week' (CMP-QC-1) spans encounters and is checked by the rules layer and the measure cmp-weekly-contact. Aligns with US Core 6.1.0 Encounter (us-core-encounter): status, class, type, subject (and identifier system/value when present) are mandatory there and here."
* insert GuideMetadata
* ^purpose = "Record each weekly contact so that the weekly-contact rule, the ITP link and per-diem billing can be checked."
* extension contains
    QualityContactPurpose named purpose 1..* and
    BasedOnCarePlan named treatmentPlan 1..1
* extension[purpose] ^short = "CMP-QC-2: a purpose (a)-(f) the contact addresses"
* extension[treatmentPlan] ^short = "CMP-QC-2, CMP-ITP-1: the member's ITP this contact carries out"
* extension[treatmentPlan].valueReference only Reference(CmpTreatmentPlan)
* insert CmpEncounterBasics
* class ^short = "CMP-QC-1: face-to-face (AMB) or telehealth (VR)"
* class ^definition = "How the contact took place. CMP-QC-1: a quality contact is face-to-face or by telehealth, nothing else."
* type contains contactType 1..1
* type[contactType] = $cmp-encounter-type#quality-contact
* participant 1..*
* participant ^short = "CMP-QC-1: at least one team member took part"

Mapping: CmpQualityContactToUSCore
Source: CmpQualityContact
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter"
Id: us-core
Title: "US Core 6.1.0 Encounter"
Description: "Valid instances carry every element US Core 6.1.0 Encounter requires."
* -> "us-core-encounter"
