// The ImplementationGuide resource of the package. scripts/build_ig.py adds definition.resource: one entry
// per conformance resource SUSHI compiled, so the list can never miss one.

Instance: cmp.fhir.ig
InstanceOf: ImplementationGuide
Usage: #definition
* insert InstanceMetadata
* url = "https://cmp-adapter.org/fhir/ImplementationGuide/cmp.fhir.ig"
* name = "CmpFhirIg"
* title = "CMP FHIR Adapter Implementation Guide"
* status = #draft
* date = "2026-11-20"
* description = "Profiles, terminology, measures and search parameters for exchanging Medicaid care-management records with FHIR R4: Montana's Community Maintenance Program (CMP: members, eligibility, PACT/MCT teams, treatment plans, weekly quality contacts and team meetings, per-diem claims), New York MLTC plan / Health Home shared plans of care (lead care manager, services with their coordinator, the Care Planning and Coordination form), and PCCM / PCMH care-management fees. Every program rule that can be seen on one resource is a constraint of a profile, named after its rule id; the rules across resources are measures."
* packageId = "cmp.fhir.ig"
* license = #CC0-1.0
* fhirVersion = #4.0.1
