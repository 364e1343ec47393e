// PCCM / PCMH: the member's primary care provider and the monthly care-management fee.

Profile: PccmMember
Parent: CmpMember
Id: pccm-member
Title: "PCCM Member"
Description: "A Medicaid member in primary care case management (PCCM) or a patient-centered medical home (PCMH): a cmp-member linked to exactly one primary care provider who coordinates the member's care (PCCM-1: generalPractitioner 1..1, the PCP's cmp-practitioner-role). Care-management fees (care-management-fee-claim) are billed for such members. Aligns with US Core 6.1.0 Patient (us-core-patient), like cmp-member."
* insert GuideMetadata
* ^purpose = "Know the one primary care provider who coordinates a PCCM member's care (PCCM-1)."
* generalPractitioner 1..1
* generalPractitioner only Reference(CmpPractitionerRole)
* generalPractitioner ^short = "PCCM-1: the one primary care provider who coordinates the member's care"
* generalPractitioner ^definition = "PCCM-1: under PCCM each member is linked to one primary care provider (PCP) who coordinates their health care."

Mapping: PccmMemberToUSCore
Source: PccmMember
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"
Id: us-core
Title: "US Core 6.1.0 Patient"
Description: "Valid instances carry every element US Core 6.1.0 Patient requires."
* -> "us-core-patient"


Profile: CareManagementFeeClaim
Parent: Claim
Id: care-management-fee-claim
Title: "Care-Management Fee Claim"
Description: "The monthly care-management fee a PCCM or PCMH primary care provider bills for one member, on top of fee-for-service claims for visits (PCCM-2): one item (item 1..1), the fee code from care-management-fee-code (required binding; HCPCS G9002 by default), quantity one month, the per member per month rate as unit price, and a billable period that is exactly one calendar month (PCMH-1: invariant pcmh-1). The fee pays for care management, not for a visit: the item names no encounter and no itemized detail (PCCM-2: invariant pccm-2). The provider is the member's primary care provider (PCCM-1). The provider bears no financial risk: nothing in the claim adjusts for cost. The performance-based incentive payment (PCMH-2) is computed from measure reports, not billed here. US Core 6.1.0 has no Claim profile."
* insert GuideMetadata
* ^purpose = "Bill the PMPM care-management fee separately from fee-for-service care (PCCM-2, PCMH-1)."
* obeys pcmh-1 and pccm-2
* type = $claim-type#professional
* use = #claim
* patient only Reference(PccmMember)
* billablePeriod 1..1
* billablePeriod ^short = "PCMH-1: the calendar month the fee is for"
* billablePeriod.start 1..1
* billablePeriod.end 1..1
* insurer 1..1
* insurer only Reference(CmpOrganization)
* provider only Reference(CmpPractitionerRole)
* provider ^short = "PCCM-1: the member's primary care provider"
* insurance.coverage only Reference(CmpCoverage)
* item 1..1
* item ^short = "PCCM-2, PCMH-1: one care-management fee for one member-month"
* item.productOrService from CareManagementFeeCodeVS (required)
* item.productOrService ^short = "PCCM-2: the care-management fee code (HCPCS G9002 by default)"
* item.quantity 1..1
* item.quantity.value = 1
* item.quantity.system = $UCUM
* item.quantity.code = #mo
* item.quantity ^short = "PCMH-1: one member-month"
* item.unitPrice 1..1
* item.unitPrice ^short = "PCMH-1: the per member per month (PMPM) rate"
* item.net 1..1

Invariant: pcmh-1
Description: "PCMH-1: the fee is per member per month: the billable period runs from the first to the last day of one calendar month."
Expression: "billablePeriod.start.toString().substring(8, 2) = '01' and billablePeriod.end.toString().substring(0, 7) = billablePeriod.start.toString().substring(0, 7) and (billablePeriod.end + 1 day).toString().substring(8, 2) = '01'"
Severity: #error

Invariant: pccm-2
Description: "PCCM-2: the care-management fee is paid on top of fee-for-service, so the fee claim bills no visit: its item names no encounter and has no itemized detail."
Expression: "item.encounter.empty() and item.detail.empty()"
Severity: #error
