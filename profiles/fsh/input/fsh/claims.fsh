// The CMP per-diem claim and its adjudication.

Profile: CmpClaim
Parent: Claim
Id: cmp-claim
Title: "CMP Per-Diem Claim"
Description: "A professional claim for CMP per-diem days of one member in one week (S1 'Service Requirements (5)-(6)', 'Utilization Management'). Each item is one billable day: the date of a day with a quality contact (item.encounter points at that day's cmp-quality-contact), quantity 1 day, the daily rate as unit price and as net (CMP-BILL-1, invariant cmp-bill-1). At most three items, on different dates inside a billable period of at most one week (CMP-BILL-2: item 1..3, invariants cmp-bill-2, cmp-bill-2-days, cmp-bill-2-in-period). The service is billed as one bundled per-diem code from the value set cmp-billing-code, HCPCS H0040 by default, with no itemized detail (CMP-BILL-3: required binding, item.detail 0..0, invariant cmp-bill-3). No prior authorization is referenced (CMP-BILL-4, invariant cmp-bill-4). 'At most 3 days per member per week' across several claims and 'each day backed by a contact' as a fact in the store are checked by the rules layer. US Core 6.1.0 has no Claim profile; the adjudication follows the CARIN Blue Button professional pattern (cmp-claim-response)."
* insert GuideMetadata
* ^purpose = "Bill CMP per-diem days so that CMP-BILL-1..4 can be checked on the claim itself."
* obeys cmp-bill-1 and cmp-bill-2 and cmp-bill-2-days and cmp-bill-2-in-period and cmp-bill-3 and cmp-bill-4
* type = $claim-type#professional
* type ^short = "CMP-BILL-3: a professional claim"
* use = #claim
* patient only Reference(CmpMember)
* billablePeriod 1..1
* billablePeriod ^short = "CMP-BILL-2: the week billed (at most seven days)"
* billablePeriod.start 1..1
* billablePeriod.end 1..1
* insurer 1..1
* insurer only Reference(CmpOrganization)
* provider only Reference(CmpTeamOrganization)
* provider ^short = "CMP-TEAM-1: the approved PACT or MCT team billing"
* insurance.coverage only Reference(CmpCoverage)
* insurance.preAuthRef ^short = "CMP-BILL-4: never present (no prior authorization; invariant cmp-bill-4)"
* diagnosis 1..*
* diagnosis.diagnosis[x] only CodeableConcept
* diagnosis.diagnosis[x] ^short = "ICD-10-CM diagnosis code (http://hl7.org/fhir/sid/icd-10-cm)"
* item 1..3
* item ^short = "CMP-BILL-2: one item per billable day, at most 3 a week"
* item.productOrService from CmpBillingCodeVS (required)
* item.productOrService ^short = "CMP-BILL-3: the bundled per-diem code (HCPCS H0040 by default)"
* item.serviced[x] 1..1
* item.serviced[x] only date
* item.serviced[x] ^short = "CMP-BILL-1: the billable day"
* item.quantity 1..1
* item.quantity.value = 1
* item.quantity.system = $UCUM
* item.quantity.code = #d
* item.quantity ^short = "CMP-BILL-1: one day"
* item.unitPrice 1..1
* item.unitPrice ^short = "CMP-BILL-1: the daily rate"
* item.net 1..1
* item.encounter 1..1
* item.encounter only Reference(CmpQualityContact)
* item.encounter ^short = "CMP-BILL-1: the quality contact that makes the day billable"
* item.detail 0..0
* item.detail ^short = "CMP-BILL-3: a bundled service is not itemized"

Invariant: cmp-bill-1
Description: "CMP-BILL-1: every billable day is billed at the daily rate: each item's net equals its unit price (one day), and all items carry the same rate."
Expression: "item.all(net.value = unitPrice.value) and item.unitPrice.value.distinct().count() <= 1"
Severity: #error

Invariant: cmp-bill-2
Description: "CMP-BILL-2: a CMP claim covers at most one week: the billable period ends at most six days after it starts."
Expression: "billablePeriod.end <= billablePeriod.start + 6 days"
Severity: #error

Invariant: cmp-bill-2-days
Description: "CMP-BILL-2: each item is a different billable day."
Expression: "item.serviced.isDistinct()"
Severity: #error

Invariant: cmp-bill-2-in-period
Description: "CMP-BILL-2: every billable day lies inside the billable period (the week)."
Expression: "item.all(serviced >= %resource.billablePeriod.start and serviced <= %resource.billablePeriod.end)"
Severity: #error

Invariant: cmp-bill-3
Description: "CMP-BILL-3: CMP is billed as one bundled per-diem service: every item carries the same procedure code."
Expression: "item.productOrService.coding.code.distinct().count() <= 1"
Severity: #error

Invariant: cmp-bill-4
Description: "CMP-BILL-4: CMP needs no prior authorization, so a CMP claim references none."
Expression: "insurance.preAuthRef.empty()"
Severity: #error


Profile: CmpClaimResponse
Parent: ClaimResponse
Id: cmp-claim-response
Title: "CMP Claim Response"
Description: "The payer's adjudication of a cmp-claim or a care-management-fee-claim: outcome, and per item the adjudication amounts (submitted, eligible, benefit; codes of http://terminology.hl7.org/CodeSystem/adjudication, as CARIN Blue Button's professional EOB uses them). Each adjudicated item refers to one billed day (CMP-BILL-1) or one member-month fee (PCMH-1) by its sequence; the invariant cmp-cr-1 keeps those sequences distinct. US Core 6.1.0 has no ClaimResponse profile; CARIN Blue Button 2.0.0's C4BB ExplanationOfBenefit Professional NonClinician is the closest published pattern."
* insert GuideMetadata
* ^purpose = "Return the adjudication of program claims to the provider and to state systems."
* obeys cmp-cr-1
* type = $claim-type#professional
* use = #claim
* patient only Reference(CmpMember)
* insurer only Reference(CmpOrganization)
* requestor 1..1
* requestor only Reference(CmpTeamOrganization or CmpOrganization or CmpPractitionerRole)
* request 1..1
* request only Reference(CmpClaim or CareManagementFeeClaim)
* outcome 1..1
* item 1..*
* item.adjudication.category ^short = "submitted | eligible | benefit (http://terminology.hl7.org/CodeSystem/adjudication)"
* item.adjudication.amount 1..1

Invariant: cmp-cr-1
Description: "Each billed item is adjudicated once: the item sequences are distinct."
Expression: "item.itemSequence.isDistinct()"
Severity: #error
