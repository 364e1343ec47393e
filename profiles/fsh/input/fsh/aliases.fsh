// Aliases and shared rule sets of the CMP implementation guide.
//
// Standard code systems are referenced by their canonical URLs (none of them is redistributed here).
Alias: $v2-0203 = http://terminology.hl7.org/CodeSystem/v2-0203
Alias: $v3-ActCode = http://terminology.hl7.org/CodeSystem/v3-ActCode
Alias: $HCPCS = http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets
Alias: $ICD10CM = http://hl7.org/fhir/sid/icd-10-cm
Alias: $SCT = http://snomed.info/sct
Alias: $NUCC = http://nucc.org/provider-taxonomy
Alias: $NPI = http://hl7.org/fhir/sid/us-npi
Alias: $LOINC = http://loinc.org
Alias: $UCUM = http://unitsofmeasure.org
Alias: $SOP = urn:oid:2.16.840.1.113883.3.221.5
Alias: $ISO3166 = urn:iso:std:iso:3166
Alias: $obs-category = http://terminology.hl7.org/CodeSystem/observation-category
Alias: $uscore-careplan-category = http://hl7.org/fhir/us/core/CodeSystem/careplan-category
Alias: $claim-type = http://terminology.hl7.org/CodeSystem/claim-type
Alias: $coverage-class = http://terminology.hl7.org/CodeSystem/coverage-class
Alias: $subscriber-relationship = http://terminology.hl7.org/CodeSystem/subscriber-relationship
Alias: $organization-type = http://terminology.hl7.org/CodeSystem/organization-type
Alias: $measure-scoring = http://terminology.hl7.org/CodeSystem/measure-scoring
Alias: $measure-population = http://terminology.hl7.org/CodeSystem/measure-population
Alias: $measure-type = http://terminology.hl7.org/CodeSystem/measure-type
Alias: $measure-improvement = http://terminology.hl7.org/CodeSystem/measure-improvement-notation

// The identifier system of the state Medicaid member id (cmp-member, cmp-coverage).
// The default below is this guide's own system. A state that issues its own member-id URI puts it here and
// into the NamingSystem medicaid-member-id (terminology.fsh, uniqueId.value: FSH cannot assign an alias to a
// string), then runs `python scripts/build_ig.py`; tests/unit/test_ig_package.py checks that the two agree.
Alias: $MedicaidMemberIdSystem = https://cmp-adapter.org/fhir/NamingSystem/medicaid-member-id

// This guide's own code systems, for pattern rules. FHIRPath invariants spell the same URLs out (FSH does
// not expand aliases inside expression strings).
Alias: $cmp-observation = https://cmp-adapter.org/fhir/CodeSystem/cmp-observation
Alias: $cmp-encounter-type = https://cmp-adapter.org/fhir/CodeSystem/cmp-encounter-type
Alias: $cmp-careplan-category = https://cmp-adapter.org/fhir/CodeSystem/cmp-careplan-category
Alias: $cmp-program = https://cmp-adapter.org/fhir/CodeSystem/cmp-program
Alias: $cmp-care-team-role = https://cmp-adapter.org/fhir/CodeSystem/cmp-care-team-role

// Metadata every conformance resource of the guide carries.
RuleSet: GuideMetadata
* ^experimental = false
* ^publisher = "cmp-fhir-adapter project"
* ^contact.name = "cmp-fhir-adapter project"
* ^contact.telecom.system = #url
* ^contact.telecom.value = "https://cmp-adapter.org/fhir"
* ^jurisdiction = $ISO3166#US "United States of America"

// The same metadata for resources written as instances (Measure, SearchParameter, Questionnaire, ...).
RuleSet: InstanceMetadata
* experimental = false
* publisher = "cmp-fhir-adapter project"
* contact.name = "cmp-fhir-adapter project"
* contact.telecom.system = #url
* contact.telecom.value = "https://cmp-adapter.org/fhir"
* jurisdiction = $ISO3166#US "United States of America"
