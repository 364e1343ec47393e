// The operations of this guide: CMP records in ($import-cmp) and out ($export-cmp), and the program rules
// ($cmp-eligibility, $generate-cmp-claims). A server lists them in its
// CapabilityStatement by these canonical URLs (cmp-fhir-adapter: OPERATIONS in adapter/rest/fhir_api.py).

RuleSet: OperationParameter(name, use, min, max, type, documentation)
* parameter[+].name = #{name}
* parameter[=].use = #{use}
* parameter[=].min = {min}
* parameter[=].max = "{max}"
* parameter[=].type = #{type}
* parameter[=].documentation = "{documentation}"


Instance: import-cmp
InstanceOf: OperationDefinition
Usage: #definition
* insert InstanceMetadata
* url = "https://cmp-adapter.org/fhir/OperationDefinition/import-cmp"
* version = "0.1.0"
* name = "ImportCmp"
* title = "Import CMP records"
* status = #draft
* kind = #operation
* date = "2026-11-22"
* description = "Map flat program records (CMP records of one kind: member, team, enrollment, treatment_plan, quality_contact, team_meeting, claim, shared_care_plan) to resources of this guide's profiles and store them in one transaction, with a Provenance of the translation (source format, time, sending system). The body is the records themselves, not a Parameters resource: CMP JSON records (application/json: one record, a list, or {\"records\": [...]}), a CSV file in the kind's documented column layout (text/csv), or an X12 005010X222A1 837P interchange of per-diem claims (application/edi-x12, kind=claim). Resource ids are derived from the records' keys and each resource is written with a conditional update by its business identifier, so importing the same records again updates rather than duplicates. The resources are validated against the profiles; if any record is rejected (unreadable, an unmapped code, or refused by a profile), nothing is stored and the OperationOutcome lists every rejected record with its row or record number, column and reason."
* affectsState = true
* code = #import-cmp
* comment = "POST [base]/$import-cmp?kind=quality_contact&source=state-mmis with Content-Type text/csv. The kind and source are query parameters because the body is not a Parameters resource. The response is the transaction-response Bundle (return=minimal), or a 422 OperationOutcome."
* system = true
* type = false
* instance = false
* insert OperationParameter(kind, in, 1, 1, string, [[The record kind: member, team, enrollment, treatment_plan, quality_contact, team_meeting, claim or shared_care_plan (claim for X12 837P).]])
* insert OperationParameter(source, in, 0, 1, string, [[The system that sent the records; named as the author agent of the Provenance (default: unknown).]])
* insert OperationParameter(records, in, 0, 1, Binary, [[The request body: CMP JSON records (application/json), CSV (text/csv) or an 837P interchange (application/edi-x12). Not sent inside a Parameters resource.]])
* insert OperationParameter(return, out, 1, 1, Bundle, [[The transaction-response Bundle of the stored resources and their Provenance.]])


Instance: export-cmp
InstanceOf: OperationDefinition
Usage: #definition
* insert InstanceMetadata
* url = "https://cmp-adapter.org/fhir/OperationDefinition/export-cmp"
* version = "0.1.0"
* name = "ExportCmp"
* title = "Export CMP records"
* status = #draft
* kind = #operation
* date = "2026-11-22"
* description = "The flat program records of a member (Patient) or of a claim (Claim), mapped back from resources of this guide's profiles: the inverse of $import-cmp, lossless for resources that conform to the profiles. On a Patient it gives every record about the member, by kind (member, enrollment, treatment_plan, quality_contact, team_meeting, claim, shared_care_plan), as a JSON object whose lists are what $import-cmp takes; kind restricts the kinds, and format=csv with exactly one kind gives that kind's CSV layout. On a Claim it gives the claim record, or with format=x12 an X12 005010X222A1 837P interchange holding the claim. Stored resources the mappings would not write back identically (an extra element, a missing companion resource) are a 422 OperationOutcome listing each difference, never a silent loss."
* affectsState = false
* code = #export-cmp
* comment = "GET [base]/Patient/m-001/$export-cmp?kind=quality_contact&format=csv; GET [base]/Claim/clm-m-001-w1/$export-cmp?format=x12. The answer is the records themselves in the format asked for (application/json, text/csv, application/edi-x12), not a Parameters resource."
* system = false
* type = false
* instance = true
* resource[0] = #Patient
* resource[+] = #Claim
* insert OperationParameter(kind, in, 0, *, string, [[The record kinds to give back, repeated or comma-separated (Patient only; default: every kind about the member). On a Claim the kind is claim.]])
* insert OperationParameter(format, in, 0, 1, code, [[json (default), csv (Patient, with exactly one kind), or x12 (Claim only: an 837P interchange); cmp-json and cmp-csv are accepted too.]])
* insert OperationParameter(return, out, 1, 1, Binary, [[The records in the format asked for, as the response body.]])


Instance: cmp-eligibility
InstanceOf: OperationDefinition
Usage: #definition
* insert InstanceMetadata
* url = "https://cmp-adapter.org/fhir/OperationDefinition/cmp-eligibility"
* version = "0.1.0"
* name = "CmpEligibility"
* title = "CMP medical necessity of a member"
* status = #draft
* kind = #operation
* date = "2026-11-22"
* description = "Each Montana CMP medical-necessity criterion (CMP-ELIG-1 SDMI, CMP-ELIG-2 no emergency situation, CMP-ELIG-3 moderate or worse impairment in LOI Area 3 or 4, CMP-ELIG-4 able and willing to engage) as met, not-met or unknown for the member, from the member's latest SDMI determination Observation, its LOI ratings and active Conditions, with references to that evidence; and the overall answer (met only when every criterion is met, not-met when any is not met, unknown otherwise)."
* affectsState = false
* code = #cmp-eligibility
* comment = "GET [base]/Patient/m-001/$cmp-eligibility"
* system = false
* type = false
* instance = true
* resource = #Patient
* insert OperationParameter(patient, out, 1, 1, Reference, [[The member.]])
* insert OperationParameter(eligible, out, 1, 1, code, [[met | not-met | unknown, over all four criteria.]])
* insert OperationParameter(determination, out, 0, 1, Reference, [[The SDMI determination Observation the answer is based on.]])
* insert OperationParameter(criterion, out, 4, 4, string, [[One per criterion, with parts rule (CMP-ELIG-1..4), status (met | not-met | unknown), description and evidence (references).]])


Instance: generate-cmp-claims
InstanceOf: OperationDefinition
Usage: #definition
* insert InstanceMetadata
* url = "https://cmp-adapter.org/fhir/OperationDefinition/generate-cmp-claims"
* version = "0.1.0"
* name = "GenerateCmpClaims"
* title = "Draft CMP per-diem claims of a team's week"
* status = #draft
* kind = #operation
* date = "2026-11-22"
* description = "Draft cmp-claim Claims for every member enrolled with a PACT/MCT team in one program week, built from the members' quality contacts: each day with a contact is a billable day (CMP-BILL-1), at most the configured number of days per member and week counting the member's other active claims (CMP-BILL-2), at the program's daily rate and billing code (program-rules.json). Returned as a Bundle; stored (as one validated transaction, under the write rules) only with store=true."
* affectsState = true
* code = #generate-cmp-claims
* comment = "POST [base]/Claim/$generate-cmp-claims?team=org-pact-billings&week=2026-10-04&store=false"
* system = false
* type = true
* instance = false
* resource = #Claim
* insert OperationParameter(team, in, 1, 1, string, [[The id of the team's Organization.]])
* insert OperationParameter(week, in, 1, 1, date, [[A day of the program week (the week that contains it, in the program's time zone and week start).]])
* insert OperationParameter(store, in, 0, 1, boolean, [[Store the drafts (default false: only return them).]])
* insert OperationParameter(return, out, 1, 1, Bundle, [[A collection Bundle of the draft claims (as stored, with their versions, when store=true) and an OperationOutcome entry for members left out and why.]])


Instance: cmp-compliance
InstanceOf: OperationDefinition
Usage: #definition
* insert InstanceMetadata
* url = "https://cmp-adapter.org/fhir/OperationDefinition/cmp-compliance"
* version = "0.1.0"
* name = "CmpCompliance"
* title = "A CMP member's program weeks and the rules they break"
* status = #draft
* kind = #operation
* date = "2026-11-22"
* description = "For every program week of the member's CMP enrollment that overlaps the range (local weeks in the program's time zone, program-rules.json): the enrollments and teams, the quality contacts (with mode face-to-face or telehealth), the team-meeting reviews, the days billed on active claims, and the rules broken that week (CMP-QC-1 no quality contact, CMP-TM-1 no team review, CMP-BILL-2 more billed days than the weekly limit, CMP-BILL-1 a billed day without a quality contact); and whether the member was compliant over the whole range."
* affectsState = false
* code = #cmp-compliance
* comment = "GET [base]/Patient/m-001/$cmp-compliance?start=2026-03-01&end=2026-03-31. The Parameters shape is documented in docs/measures.md of cmp-fhir-adapter."
* system = false
* type = false
* instance = true
* resource = #Patient
* insert OperationParameter(start, in, 1, 1, date, [[First local day of the range.]])
* insert OperationParameter(end, in, 1, 1, date, [[Last local day of the range.]])
* insert OperationParameter(subject, out, 1, 1, Reference, [[The member.]])
* insert OperationParameter(period, out, 1, 1, Period, [[The range asked for.]])
* insert OperationParameter(compliant, out, 1, 1, boolean, [[No rule broken in any week of the range.]])
* insert OperationParameter(week, out, 0, *, string, [[One per enrolled week overlapping the range, with parts start, end, enrollment, team, qualityContact (encounter, mode, date), teamReview, billedDay (date, claim), billableDaysClaimed, ruleBroken (rule, detail) and compliant.]])
