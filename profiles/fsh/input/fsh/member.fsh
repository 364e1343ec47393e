// The program member and their Medicaid coverage.

Profile: CmpMember
Parent: Patient
Id: cmp-member
Title: "Program Member"
Description: "A Medicaid member served by a program of this guide: Montana CMP, a New York MLTC plan with a Health Home, or PCCM/PCMH. Every program record points at the member through this profile. It requires the state Medicaid member id (an identifier slice typed v2-0203 MA whose system is the state's member-id system, by default https://cmp-adapter.org/fhir/NamingSystem/medicaid-member-id), a name, gender and birth date. Rule ids: none of its own; it is the subject of CMP-ELIG-1..4, CMP-QC-1, CMP-BILL-1..4, SCP-1..5 and (as pccm-member) PCCM-1. Aligns with US Core 6.1.0 Patient (us-core-patient): identifier with system and value, name (family or given) and gender are mandatory there and here."
* insert GuideMetadata
* ^purpose = "Identify the member the same way in every program record and every state system: by the state Medicaid member id."
* obeys cmp-name-1
* identifier 1..*
* identifier.system 1..1
* identifier.value 1..1
* identifier ^slicing.discriminator.type = #pattern
* identifier ^slicing.discriminator.path = "type"
* identifier ^slicing.rules = #open
* identifier ^slicing.description = "The Medicaid member id is recognised by its type (v2-0203 MA); other identifiers (medical record numbers...) may follow."
* identifier contains medicaidId 1..1
* identifier[medicaidId] ^short = "State Medicaid member id"
* identifier[medicaidId] ^definition = "The member's id in the state Medicaid system. Its system is the state's member-id system ($MedicaidMemberIdSystem in aliases.fsh; this guide's NamingSystem medicaid-member-id by default)."
* identifier[medicaidId].type 1..1
* identifier[medicaidId].type = $v2-0203#MA
* identifier[medicaidId].system = $MedicaidMemberIdSystem
* name 1..*
* telecom.system 1..1
* telecom.value 1..1
* gender 1..1
* birthDate 1..1

Invariant: cmp-name-1
Description: "Every name has a family name or a given name (as US Core's us-core-6 asks)."
Expression: "name.all(family.exists() or given.exists())"
Severity: #error

Mapping: CmpMemberToUSCore
Source: CmpMember
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"
Id: us-core
Title: "US Core 6.1.0 Patient"
Description: "Valid instances of cmp-member carry every element US Core 6.1.0 Patient requires."
* -> "us-core-patient"


Profile: CmpCoverage
Parent: Coverage
Id: cmp-coverage
Title: "Medicaid Program Coverage"
Description: "The member's Medicaid coverage for one program: CMP under state Medicaid, an MLTC plan (MLTCP or MAP), Medicaid fee-for-service for out-of-plan services, or PCCM. Claims of this guide (cmp-claim, care-management-fee-claim) and shared-plan services (shared-plan-service, as eLTSS's funding source) point at it. It requires the member id (identifier typed v2-0203 MB, as US Core's us-core-15 asks), the beneficiary (cmp-member), relationship self, one payor, the start of coverage and the program as a class of type plan. Rule ids: none of its own; funds the services of CMP-BILL-1..4, SCP-3 and PCCM-2. Aligns with US Core 6.1.0 Coverage (us-core-coverage): relationship and payor are mandatory there and here."
* insert GuideMetadata
* ^purpose = "Say which program and which payer pays for a member's services."
* identifier 1..*
* identifier ^slicing.discriminator.type = #pattern
* identifier ^slicing.discriminator.path = "type"
* identifier ^slicing.rules = #open
* identifier contains memberId 1..1
* identifier[memberId] ^short = "Member id at the payer (the state Medicaid member id, or the plan's member id)"
* identifier[memberId].type 1..1
* identifier[memberId].type = $v2-0203#MB
* identifier[memberId].system 1..1
* identifier[memberId].value 1..1
* type 1..1
* type ^short = "Source of Payment Typology code; 2 (Medicaid) for every coverage of this guide"
* beneficiary only Reference(CmpMember)
* relationship 1..1
* relationship = $subscriber-relationship#self
* period 1..1
* period.start 1..1
* payor 1..1
* payor only Reference(CmpOrganization)
* class 1..*
* class ^slicing.discriminator.type = #pattern
* class ^slicing.discriminator.path = "type"
* class ^slicing.rules = #open
* class contains program 1..1
* class[program] ^short = "The program: cmp | mltcp | map | health-home | pccm | pcmh | medicaid-ffs (code of CodeSystem cmp-program)"
* class[program].type = $coverage-class#plan
* class[program].value ^short = "A code of CodeSystem cmp-program"

Mapping: CmpCoverageToUSCore
Source: CmpCoverage
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-coverage"
Id: us-core
Title: "US Core 6.1.0 Coverage"
Description: "Valid instances of cmp-coverage carry every element US Core 6.1.0 Coverage requires."
* -> "us-core-coverage"
