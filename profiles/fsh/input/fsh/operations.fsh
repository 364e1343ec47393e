// The operations of this guide: CMP records in ($import-cmp) and out ($export-cmp). A server lists them in its
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
* description = "The flat program records of a member (Patient) or of a claim (Claim), mapped back from resources of this guide's profiles: the inverse of $import-cmp, lossless for resources that conform to the profiles. On a Patient it gives the member record and, with kind, the member's records of other kinds (enrollment, treatment_plan, quality_contact, team_meeting, claim, shared_care_plan); on a Claim it gives the claim record, or with format=x12 an X12 005010X222A1 837P interchange holding the claim."
* affectsState = false
* code = #export-cmp
* comment = "GET [base]/Patient/m-001/$export-cmp?kind=quality_contact&format=cmp-csv; GET [base]/Claim/clm-m-001-w1/$export-cmp?format=x12. The answer is the records themselves in the format asked for (application/json, text/csv, application/edi-x12), not a Parameters resource."
* system = false
* type = false
* instance = true
* resource[0] = #Patient
* resource[+] = #Claim
* insert OperationParameter(kind, in, 0, *, string, [[The record kinds to give back (Patient only; default: member). On a Claim the kind is claim.]])
* insert OperationParameter(format, in, 0, 1, code, [[cmp-json (default), cmp-csv, or x12 (Claim only: an 837P interchange).]])
* insert OperationParameter(return, out, 1, 1, Binary, [[The records in the format asked for, as the response body.]])
