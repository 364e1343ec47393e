// CMP eligibility: the SDMI determination with its medical-necessity findings, and LOI ratings.

RuleSet: SurveyCategory
* category 1..*
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category contains survey 1..1
* category[survey] = $obs-category#survey


Profile: CmpSdmiDetermination
Parent: Observation
Id: cmp-sdmi-determination
Title: "CMP SDMI Determination"
Description: "The determination of a member's CMP medical necessity (S1 'Medical Necessity Criteria'): the value is the SDMI status (CMP-ELIG-1); components record whether the member is a danger to self or others (CMP-ELIG-2), the level of impairment in LOI Area 3 and Area 4 (CMP-ELIG-3), whether the member is able and willing to engage (CMP-ELIG-4), and the conclusion that CMP medical necessity is met. The invariants cmp-elig-1..4 hold the conclusion to the findings: medical necessity can only be met when the member meets SDMI, is no danger, has moderate or worse impairment in Area 3 or Area 4 and is able and willing. The full LOI ratings may be attached with hasMember (cmp-loi-rating). cmp-enrollment points at this determination. Aligns with US Core 6.1.0 Observation Screening Assessment (us-core-observation-screening-assessment): category survey, code, status and subject are mandatory there and here."
* insert GuideMetadata
* ^purpose = "Record, on one resource, whether a member meets CMP medical necessity and why (CMP-ELIG-1..4)."
* obeys cmp-elig-1 and cmp-elig-2 and cmp-elig-3 and cmp-elig-4
* insert SurveyCategory
* code = $cmp-observation#sdmi-determination
* subject 1..1
* subject only Reference(CmpMember)
* effective[x] 1..1
* effective[x] only dateTime
* performer 1..*
* performer only Reference(CmpPractitionerRole)
* value[x] 1..1
* value[x] only CodeableConcept
* value[x] from SdmiStatusVS (required)
* value[x] ^short = "CMP-ELIG-1: the member's SDMI status"
* hasMember only Reference(CmpLoiRating)
* hasMember ^short = "The LOI ratings behind the Area 3 and Area 4 findings"
* component 5..*
* component ^slicing.discriminator.type = #pattern
* component ^slicing.discriminator.path = "code"
* component ^slicing.rules = #open
* component contains
    medicalNecessity 1..1 and
    dangerToSelfOrOthers 1..1 and
    loiArea3 1..1 and
    loiArea4 1..1 and
    ableAndWilling 1..1
* component[medicalNecessity] ^short = "Conclusion: CMP medical necessity is met (CMP-ELIG-1..4)"
* component[medicalNecessity].code = $cmp-observation#cmp-medical-necessity
* component[medicalNecessity].value[x] 1..1
* component[medicalNecessity].value[x] only boolean
* component[dangerToSelfOrOthers] ^short = "CMP-ELIG-2: the member is a danger to self or others"
* component[dangerToSelfOrOthers].code = $cmp-observation#danger-to-self-or-others
* component[dangerToSelfOrOthers].value[x] 1..1
* component[dangerToSelfOrOthers].value[x] only boolean
* component[loiArea3] ^short = "CMP-ELIG-3: level of impairment in LOI Area 3"
* component[loiArea3].code = LoiAreaCS#area-3
* component[loiArea3].value[x] 1..1
* component[loiArea3].value[x] only CodeableConcept
* component[loiArea3].value[x] from LoiLevelVS (required)
* component[loiArea4] ^short = "CMP-ELIG-3: level of impairment in LOI Area 4"
* component[loiArea4].code = LoiAreaCS#area-4
* component[loiArea4].value[x] 1..1
* component[loiArea4].value[x] only CodeableConcept
* component[loiArea4].value[x] from LoiLevelVS (required)
* component[ableAndWilling] ^short = "CMP-ELIG-4: the member is able and willing to engage in CMP"
* component[ableAndWilling].code = $cmp-observation#able-and-willing-to-engage
* component[ableAndWilling].value[x] 1..1
* component[ableAndWilling].value[x] only boolean

Invariant: cmp-elig-1
Description: "CMP-ELIG-1: CMP medical necessity is met only if the member meets the SDMI criteria."
Expression: "component.where(code.coding.exists(system = 'https://cmp-adapter.org/fhir/CodeSystem/cmp-observation' and code = 'cmp-medical-necessity')).value = true implies value.coding.exists(system = 'https://cmp-adapter.org/fhir/CodeSystem/sdmi-status' and code = 'meets-sdmi')"
Severity: #error

Invariant: cmp-elig-2
Description: "CMP-ELIG-2: CMP medical necessity is met only if the member is not a danger to self or others (no emergency situation under 53-21-102 MCA (7)(a)(b))."
Expression: "component.where(code.coding.exists(system = 'https://cmp-adapter.org/fhir/CodeSystem/cmp-observation' and code = 'cmp-medical-necessity')).value = true implies component.where(code.coding.exists(system = 'https://cmp-adapter.org/fhir/CodeSystem/cmp-observation' and code = 'danger-to-self-or-others')).value = false"
Severity: #error

Invariant: cmp-elig-3
Description: "CMP-ELIG-3: CMP medical necessity is met only if the member has a moderate or worse level of impairment in LOI Area 3 (Family/Interpersonal Relationships) or Area 4 (Mood/Thought Functioning)."
Expression: "component.where(code.coding.exists(system = 'https://cmp-adapter.org/fhir/CodeSystem/cmp-observation' and code = 'cmp-medical-necessity')).value = true implies component.where(code.coding.exists(system = 'https://cmp-adapter.org/fhir/CodeSystem/loi-area' and (code = 'area-3' or code = 'area-4'))).value.coding.exists(system = 'https://cmp-adapter.org/fhir/CodeSystem/loi-level' and (code = 'moderate' or code = 'severe'))"
Severity: #error

Invariant: cmp-elig-4
Description: "CMP-ELIG-4: CMP medical necessity is met only if the member is able and willing to engage in CMP services."
Expression: "component.where(code.coding.exists(system = 'https://cmp-adapter.org/fhir/CodeSystem/cmp-observation' and code = 'cmp-medical-necessity')).value = true implies component.where(code.coding.exists(system = 'https://cmp-adapter.org/fhir/CodeSystem/cmp-observation' and code = 'able-and-willing-to-engage')).value = true"
Severity: #error

Mapping: CmpSdmiDeterminationToUSCore
Source: CmpSdmiDetermination
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-screening-assessment"
Id: us-core
Title: "US Core 6.1.0 Observation Screening Assessment"
Description: "Valid instances carry every element US Core 6.1.0 Observation Screening Assessment requires."
* -> "us-core-observation-screening-assessment"


Profile: CmpLoiRating
Parent: Observation
Id: cmp-loi-rating
Title: "CMP Level of Impairment Rating"
Description: "One rating of the Montana Level of Impairment (LOI) form: the area rated is the code (LOI Area 3 Family/Interpersonal Relationships or Area 4 Mood/Thought Functioning; required binding to loi-area) and the level is the value (required binding to loi-level). CMP-ELIG-3 asks for moderate or worse in one of the two areas; the SDMI determination (cmp-sdmi-determination) carries the levels it relied on and may list these ratings with hasMember. Aligns with US Core 6.1.0 Observation Screening Assessment (us-core-observation-screening-assessment): category survey, code, status and subject are mandatory there and here."
* insert GuideMetadata
* ^purpose = "Keep the LOI ratings that CMP eligibility (CMP-ELIG-3) draws on."
* insert SurveyCategory
* code from LoiAreaVS (required)
* code ^short = "CMP-ELIG-3: the LOI area rated (Area 3 or Area 4)"
* subject 1..1
* subject only Reference(CmpMember)
* effective[x] 1..1
* effective[x] only dateTime
* performer 1..*
* performer only Reference(CmpPractitionerRole)
* value[x] 1..1
* value[x] only CodeableConcept
* value[x] from LoiLevelVS (required)
* value[x] ^short = "CMP-ELIG-3: the level of impairment in the area"

Mapping: CmpLoiRatingToUSCore
Source: CmpLoiRating
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-screening-assessment"
Id: us-core
Title: "US Core 6.1.0 Observation Screening Assessment"
Description: "Valid instances carry every element US Core 6.1.0 Observation Screening Assessment requires."
* -> "us-core-observation-screening-assessment"
