// The client-level Care Planning and Coordination form (S3) and the profile of its responses (SCP-4).

Instance: care-coordination-form
InstanceOf: Questionnaire
Usage: #definition
* insert InstanceMetadata
* url = "https://cmp-adapter.org/fhir/Questionnaire/care-coordination-form"
* name = "CareCoordinationForm"
* title = "Client-level Care Planning and Coordination Form"
* status = #draft
* date = "2026-11-20"
* description = "The form an MLTC plan (MLTCP or MAP) and a Health Home fill in together for a member enrolled in both (S3): who the lead care manager is and on which of the member's needs the choice rests (SCP-2), which services are in-plan or out-of-plan and who coordinates each (SCP-3, SCP-5), and the liaisons and meetings through which the two parties coordinate. The completed form is part of the member's record (SCP-4): shared-care-plan attaches the response (profile care-coordination-form)."
* purpose = "Document the collaborative approach to care coordination in the member's care plan record (SCP-4)."
* subjectType = #Patient
* item[0].linkId = "parties"
* item[0].text = "MLTC plan and Health Home"
* item[0].type = #group
* item[0].required = true
* item[0].item[0].linkId = "mltc-program"
* item[0].item[0].text = "MLTC program"
* item[0].item[0].type = #choice
* item[0].item[0].required = true
* item[0].item[0].answerValueSet = "https://cmp-adapter.org/fhir/ValueSet/mltc-program"
* item[0].item[1].linkId = "mltc-plan"
* item[0].item[1].text = "MLTC plan (MLTCP or MAP)"
* item[0].item[1].type = #string
* item[0].item[1].required = true
* item[0].item[2].linkId = "health-home"
* item[0].item[2].text = "Health Home"
* item[0].item[2].type = #string
* item[0].item[2].required = true
* item[1].linkId = "lead"
* item[1].text = "Lead care manager"
* item[1].type = #group
* item[1].required = true
* item[1].item[0].linkId = "lead-care-manager"
* item[1].item[0].text = "Lead care manager (name)"
* item[1].item[0].type = #string
* item[1].item[0].required = true
* item[1].item[1].linkId = "lead-organization"
* item[1].item[1].text = "The lead care manager works for"
* item[1].item[1].type = #choice
* item[1].item[1].required = true
* item[1].item[1].answerValueSet = "https://cmp-adapter.org/fhir/ValueSet/service-responsibility"
* item[1].item[2].linkId = "lead-basis"
* item[1].item[2].text = "The member's primary needs on which both parties based the choice"
* item[1].item[2].type = #choice
* item[1].item[2].required = true
* item[1].item[2].answerValueSet = "https://cmp-adapter.org/fhir/ValueSet/lead-care-manager-basis"
* item[1].item[3].linkId = "lead-basis-note"
* item[1].item[3].text = "How the choice was made"
* item[1].item[3].type = #text
* item[1].item[4].linkId = "lead-agreed-on"
* item[1].item[4].text = "Date both parties agreed on the lead care manager"
* item[1].item[4].type = #date
* item[1].item[4].required = true
* item[2].linkId = "services"
* item[2].text = "Services on the plan of care and who coordinates them"
* item[2].type = #group
* item[2].required = true
* item[2].repeats = true
* item[2].item[0].linkId = "service"
* item[2].item[0].text = "Service"
* item[2].item[0].type = #string
* item[2].item[0].required = true
* item[2].item[1].linkId = "service-coordinator"
* item[2].item[1].text = "Coordinated by"
* item[2].item[1].type = #choice
* item[2].item[1].required = true
* item[2].item[1].answerValueSet = "https://cmp-adapter.org/fhir/ValueSet/service-responsibility"
* item[2].item[2].linkId = "service-plan-coverage"
* item[2].item[2].text = "In-plan or out-of-plan (ASA Appendix A for MLTCP, Appendix B for MAP)"
* item[2].item[2].type = #choice
* item[2].item[2].required = true
* item[2].item[2].answerValueSet = "https://cmp-adapter.org/fhir/ValueSet/service-plan-coverage"
* item[3].linkId = "liaisons"
* item[3].text = "Liaisons and coordination meetings"
* item[3].type = #group
* item[3].item[0].linkId = "meeting-goals"
* item[3].item[0].text = "The meetings of care coordination and care management staff aim at a team approach to care coordination, no duplicated care, better outcomes for the member, and quality improvement."
* item[3].item[0].type = #display
* item[3].item[1].linkId = "plan-liaison"
* item[3].item[1].text = "MLTC plan liaison"
* item[3].item[1].type = #string
* item[3].item[2].linkId = "health-home-liaison"
* item[3].item[2].text = "Health Home liaison"
* item[3].item[2].type = #string
* item[3].item[3].linkId = "meeting-frequency"
* item[3].item[3].text = "How often the liaisons meet"
* item[3].item[3].type = #string
* item[3].item[4].linkId = "next-meeting"
* item[3].item[4].text = "Next coordination meeting"
* item[3].item[4].type = #date


Profile: CareCoordinationFormResponse
Parent: QuestionnaireResponse
Id: care-coordination-form
Title: "Care Planning and Coordination Form Response"
Description: "A completed client-level Care Planning and Coordination form (Questionnaire care-coordination-form) for one member: the record SCP-4 asks for. It answers the questionnaire of this guide (questionnaire fixed), is about a cmp-member, is authored by a care manager at a known date, and documents the lead care manager with the basis of the joint choice (SCP-2: invariant scp-2-form). shared-care-plan attaches it as supportingInfo. Aligns with US Core 6.1.0 QuestionnaireResponse (us-core-questionnaireresponse): questionnaire, status, subject and authored are mandatory there and here."
* insert GuideMetadata
* ^purpose = "Keep the completed Care Planning and Coordination form in the member's record (SCP-4)."
* obeys scp-2-form
* questionnaire 1..1
* questionnaire = "https://cmp-adapter.org/fhir/Questionnaire/care-coordination-form"
* questionnaire ^short = "SCP-4: the client-level Care Planning and Coordination form"
* subject 1..1
* subject only Reference(CmpMember)
* authored 1..1
* author 1..1
* author only Reference(CmpPractitionerRole)
* item 1..*

Invariant: scp-2-form
Description: "SCP-2: the form documents the lead care manager and the basis of the joint choice."
Expression: "repeat(item).where(linkId = 'lead-care-manager').answer.exists() and repeat(item).where(linkId = 'lead-basis').answer.exists()"
Severity: #error

Mapping: CareCoordinationFormResponseToUSCore
Source: CareCoordinationFormResponse
Target: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-questionnaireresponse"
Id: us-core
Title: "US Core 6.1.0 QuestionnaireResponse"
Description: "Valid instances carry every element US Core 6.1.0 QuestionnaireResponse requires."
* -> "us-core-questionnaireresponse"
