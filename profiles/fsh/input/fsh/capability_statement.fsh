// What a server of this guide offers: the resources, profiles, interactions and searches it needs.

RuleSet: ServerResource(type)
* rest[0].resource[+].type = #{type}
* rest[0].resource[=].interaction[0].code = #read
* rest[0].resource[=].interaction[+].code = #vread
* rest[0].resource[=].interaction[+].code = #update
* rest[0].resource[=].interaction[+].code = #create
* rest[0].resource[=].interaction[+].code = #delete
* rest[0].resource[=].interaction[+].code = #history-instance
* rest[0].resource[=].interaction[+].code = #search-type
* rest[0].resource[=].versioning = #versioned
* rest[0].resource[=].readHistory = true
* rest[0].resource[=].updateCreate = true
* rest[0].resource[=].conditionalCreate = true
* rest[0].resource[=].conditionalUpdate = true
* rest[0].resource[=].conditionalDelete = #not-supported

RuleSet: Supports(profile)
* rest[0].resource[=].supportedProfile[+] = "https://cmp-adapter.org/fhir/StructureDefinition/{profile}"

RuleSet: Operation(name)
* rest[0].resource[=].operation[+].name = "{name}"
* rest[0].resource[=].operation[=].definition = "https://cmp-adapter.org/fhir/OperationDefinition/{name}"

RuleSet: Search(name, type, definition)
* rest[0].resource[=].searchParam[+].name = "{name}"
* rest[0].resource[=].searchParam[=].type = #{type}
* rest[0].resource[=].searchParam[=].definition = "{definition}"


Instance: cmp-adapter-server
InstanceOf: CapabilityStatement
Usage: #definition
* insert InstanceMetadata
* url = "https://cmp-adapter.org/fhir/CapabilityStatement/cmp-adapter-server"
* name = "CmpAdapterServer"
* title = "CMP FHIR Adapter Server"
* status = #draft
* date = "2026-11-20"
* description = "The requirements on a FHIR server exchanging the records of this guide (cmp-fhir-adapter implements them): the resource types of the programs with their profiles, read/vread/create/update/delete/history/search, batch and transaction, JSON and XML, and the search parameters EHR vendors and state systems use, including this guide's own (quality contacts by purpose, care teams by lead care manager, shared-plan services by coordinator)."
* kind = #requirements
* fhirVersion = #4.0.1
* format[0] = #json
* format[+] = #xml
* implementationGuide = "https://cmp-adapter.org/fhir/ImplementationGuide/cmp.fhir.ig"
* rest[0].mode = #server
* rest[0].documentation = "Resources are validated on write against base R4; the program rules across resources are reported by the rules layer and as MeasureReports."
* rest[0].interaction[0].code = #transaction
* rest[0].interaction[+].code = #batch
* rest[0].interaction[+].code = #history-system
* rest[0].operation[0].name = "import-cmp"
* rest[0].operation[=].definition = "https://cmp-adapter.org/fhir/OperationDefinition/import-cmp"

* insert ServerResource(Patient)
* insert Supports(cmp-member)
* insert Supports(pccm-member)
* insert Search(identifier, token, http://hl7.org/fhir/SearchParameter/Patient-identifier)
* insert Search(name, string, http://hl7.org/fhir/SearchParameter/Patient-name)
* insert Search(birthdate, date, http://hl7.org/fhir/SearchParameter/individual-birthdate)
* insert Search(general-practitioner, reference, http://hl7.org/fhir/SearchParameter/Patient-general-practitioner)
* insert Operation(export-cmp)
* insert Operation(cmp-eligibility)
* insert Operation(cmp-compliance)

* insert ServerResource(Coverage)
* insert Supports(cmp-coverage)
* insert Search(beneficiary, reference, http://hl7.org/fhir/SearchParameter/Coverage-beneficiary)
* insert Search(payor, reference, http://hl7.org/fhir/SearchParameter/Coverage-payor)

* insert ServerResource(EpisodeOfCare)
* insert Supports(cmp-enrollment)
* insert Search(patient, reference, http://hl7.org/fhir/SearchParameter/clinical-patient)
* insert Search(organization, reference, http://hl7.org/fhir/SearchParameter/EpisodeOfCare-organization)
* insert Search(status, token, http://hl7.org/fhir/SearchParameter/EpisodeOfCare-status)
* insert Search(date, date, http://hl7.org/fhir/SearchParameter/clinical-date)
* insert Search(eligibility, reference, https://cmp-adapter.org/fhir/SearchParameter/episodeofcare-eligibility)

* insert ServerResource(Organization)
* insert Supports(cmp-organization)
* insert Supports(cmp-team-organization)
* insert Search(identifier, token, http://hl7.org/fhir/SearchParameter/Organization-identifier)
* insert Search(type, token, http://hl7.org/fhir/SearchParameter/Organization-type)
* insert Search(name, string, http://hl7.org/fhir/SearchParameter/Organization-name)

* insert ServerResource(Practitioner)
* insert Supports(cmp-practitioner)
* insert Search(identifier, token, http://hl7.org/fhir/SearchParameter/Practitioner-identifier)

* insert ServerResource(PractitionerRole)
* insert Supports(cmp-practitioner-role)
* insert Search(organization, reference, http://hl7.org/fhir/SearchParameter/PractitionerRole-organization)
* insert Search(practitioner, reference, http://hl7.org/fhir/SearchParameter/PractitionerRole-practitioner)

* insert ServerResource(CareTeam)
* insert Supports(cmp-team)
* insert Supports(shared-care-team)
* insert Search(patient, reference, http://hl7.org/fhir/SearchParameter/clinical-patient)
* insert Search(status, token, http://hl7.org/fhir/SearchParameter/CareTeam-status)
* insert Search(lead, reference, https://cmp-adapter.org/fhir/SearchParameter/careteam-lead)
* insert Search(lead-organization, reference, https://cmp-adapter.org/fhir/SearchParameter/careteam-lead-organization)

* insert ServerResource(Observation)
* insert Supports(cmp-sdmi-determination)
* insert Supports(cmp-loi-rating)
* insert Search(patient, reference, http://hl7.org/fhir/SearchParameter/clinical-patient)
* insert Search(code, token, http://hl7.org/fhir/SearchParameter/clinical-code)
* insert Search(date, date, http://hl7.org/fhir/SearchParameter/clinical-date)

* insert ServerResource(CarePlan)
* insert Supports(cmp-treatment-plan)
* insert Supports(shared-care-plan)
* insert Search(patient, reference, http://hl7.org/fhir/SearchParameter/clinical-patient)
* insert Search(category, token, http://hl7.org/fhir/SearchParameter/CarePlan-category)
* insert Search(status, token, http://hl7.org/fhir/SearchParameter/CarePlan-status)
* insert Search(date, date, http://hl7.org/fhir/SearchParameter/clinical-date)
* insert Search(custodian, reference, https://cmp-adapter.org/fhir/SearchParameter/careplan-custodian)

* insert ServerResource(Encounter)
* insert Supports(cmp-quality-contact)
* insert Supports(cmp-team-meeting)
* insert Search(patient, reference, http://hl7.org/fhir/SearchParameter/clinical-patient)
* insert Search(subject, reference, http://hl7.org/fhir/SearchParameter/Encounter-subject)
* insert Search(date, date, http://hl7.org/fhir/SearchParameter/clinical-date)
* insert Search(class, token, http://hl7.org/fhir/SearchParameter/Encounter-class)
* insert Search(type, token, http://hl7.org/fhir/SearchParameter/clinical-type)
* insert Search(episode-of-care, reference, http://hl7.org/fhir/SearchParameter/Encounter-episode-of-care)
* insert Search(status, token, http://hl7.org/fhir/SearchParameter/Encounter-status)
* insert Search(discharge-disposition, token, https://cmp-adapter.org/fhir/SearchParameter/encounter-discharge-disposition)
* insert Search(purpose, token, https://cmp-adapter.org/fhir/SearchParameter/encounter-quality-contact-purpose)
* insert Search(treatment-plan, reference, https://cmp-adapter.org/fhir/SearchParameter/encounter-treatment-plan)

* insert ServerResource(Claim)
* insert Supports(cmp-claim)
* insert Supports(care-management-fee-claim)
* insert Search(patient, reference, http://hl7.org/fhir/SearchParameter/Claim-patient)
* insert Search(provider, reference, http://hl7.org/fhir/SearchParameter/Claim-provider)
* insert Search(created, date, http://hl7.org/fhir/SearchParameter/Claim-created)
* insert Search(service-date, date, https://cmp-adapter.org/fhir/SearchParameter/claim-service-date)
* insert Operation(export-cmp)
* insert Operation(generate-cmp-claims)

* insert ServerResource(ClaimResponse)
* insert Supports(cmp-claim-response)
* insert Search(patient, reference, http://hl7.org/fhir/SearchParameter/ClaimResponse-patient)
* insert Search(request, reference, http://hl7.org/fhir/SearchParameter/ClaimResponse-request)

* insert ServerResource(ServiceRequest)
* insert Supports(shared-plan-service)
* insert Search(patient, reference, http://hl7.org/fhir/SearchParameter/clinical-patient)
* insert Search(coordinator, token, https://cmp-adapter.org/fhir/SearchParameter/servicerequest-coordinator)
* insert Search(plan-coverage, token, https://cmp-adapter.org/fhir/SearchParameter/servicerequest-plan-coverage)

* insert ServerResource(Questionnaire)
* insert Search(url, uri, http://hl7.org/fhir/SearchParameter/Questionnaire-url)

* insert ServerResource(QuestionnaireResponse)
* insert Supports(care-coordination-form)
* insert Search(patient, reference, http://hl7.org/fhir/SearchParameter/QuestionnaireResponse-patient)
* insert Search(questionnaire, reference, http://hl7.org/fhir/SearchParameter/QuestionnaireResponse-questionnaire)

* insert ServerResource(Measure)
* insert Search(url, uri, http://hl7.org/fhir/SearchParameter/Measure-url)
* rest[0].resource[=].operation[+].name = "evaluate-measure"
* rest[0].resource[=].operation[=].definition = "http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure"

* insert ServerResource(MeasureReport)
* insert Supports(cmp-measure-report)
* insert Search(measure, reference, http://hl7.org/fhir/SearchParameter/MeasureReport-measure)
* insert Search(reporter, reference, http://hl7.org/fhir/SearchParameter/MeasureReport-reporter)
* insert Search(period, date, http://hl7.org/fhir/SearchParameter/MeasureReport-period)
* insert Search(subject, reference, http://hl7.org/fhir/SearchParameter/MeasureReport-subject)

* insert ServerResource(Group)
* insert Supports(cmp-team-panel)
* insert Search(member, reference, http://hl7.org/fhir/SearchParameter/Group-member)
* insert Search(managing-entity, reference, http://hl7.org/fhir/SearchParameter/Group-managing-entity)
* rest[0].resource[=].operation[+].name = "export"
* rest[0].resource[=].operation[=].definition = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"
* rest[0].resource[=].operation[=].documentation = "Bulk Data export of a team panel (cmp-team-panel): the Patient compartments of its members."
