"""Shared care plan records <-> the MLTC / Health Home shared plan of care and its parts.

One record is what the MLTC plan and the Health Home agreed for one member (S3): the plan type (MLTCP or
MAP; SCP-1), both organizations and their care managers, the lead care manager and the basis of the joint
choice (SCP-2), the services with who coordinates each and whether it is in or out of plan (SCP-3, SCP-5),
and the answers of the client-level Care Planning and Coordination form (SCP-4).

Resources and ids: ``CarePlan/scp-{member_id}`` (``shared-care-plan``), ``CareTeam/sct-{member_id}``
(``shared-care-team``), ``ServiceRequest/sps-{member_id}-{slug}`` per service (``shared-plan-service``) and
``QuestionnaireResponse/ccf-{member_id}`` (``care-coordination-form``). Services are paid through the
member's coverages as the member record names them: ``Coverage/cov-{member_id}-{program}`` in plan and
``Coverage/cov-{member_id}-medicaid`` out of plan. The narrative is generated from the record.
"""

from __future__ import annotations

import html
from datetime import date
from typing import Annotated

from pydantic import Field

from . import codes
from .common import (
    CANONICAL,
    CODE_SYSTEM,
    coding,
    concept,
    lossless_from_fhir,
    parse_date,
    profile_url,
    reference,
    reference_id,
    resource,
    strip_prefix,
)
from .grouping import Anchor, Companion, RecordShape, Referenced
from .member import COVERAGE_ID_SUFFIX
from .records import DateTime, Key, LocalCode, Record, Slug, Text

KIND = "shared_care_plan"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
QUESTIONNAIRE = f"{CANONICAL}/Questionnaire/care-coordination-form"
ROLE = f"{CODE_SYSTEM}/cmp-care-team-role"
CASE_MANAGER = coding("http://nucc.org/provider-taxonomy", "171M00000X", "Case Manager/Care Coordinator")
CATEGORIES = [concept("http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "assess-plan",
                      "Assessment and Plan of Treatment"),
              concept(f"{CODE_SYSTEM}/cmp-careplan-category", "shared-care-plan", "Shared plan of care")]
CARE_TEAM_CATEGORY = concept("http://loinc.org", "LA28865-6", "Longitudinal care-coordination focused care team")
XHTML = '<div xmlns="http://www.w3.org/1999/xhtml">{}</div>'


class PlanService(Record):
    slug: Slug
    """Names the service within the plan (``ServiceRequest/sps-{member_id}-{slug}``)."""
    service_code: LocalCode | None = None
    """Local service code (``service-code`` ConceptMap -> HCPCS), when the service has one."""
    text: Text
    coordinator: LocalCode
    """``PLAN`` or ``HH`` (``service-responsibility`` ConceptMap; SCP-3, SCP-5)."""
    coverage: LocalCode
    """``IN`` or ``OUT`` of plan (``plan-coverage`` ConceptMap; SCP-3)."""


class SharedCarePlanRecord(Record):
    member_id: Key
    member_name: Text
    program: LocalCode
    """``MLTCP`` or ``MAP`` (``program`` ConceptMap; SCP-1)."""
    plan_id: Key
    plan_name: Text
    health_home_id: Key
    health_home_name: Text
    plan_manager_id: Key
    plan_manager_name: Text
    home_manager_id: Key
    home_manager_name: Text
    lead: LocalCode
    """Whose care manager leads: ``PLAN`` or ``HH`` (``service-responsibility`` ConceptMap; SCP-2)."""
    basis: LocalCode
    """The member's primary needs behind the choice (``lead-basis`` ConceptMap; SCP-2)."""
    basis_text: Text
    start: date
    lead_agreed_on: date
    form_authored: DateTime
    meeting_frequency: Text
    """How often the liaisons meet (a form answer)."""
    services: Annotated[tuple[PlanService, ...], Field(min_length=1)]


MODEL = SharedCarePlanRecord
"""The record model of this kind."""

#: Which resources make one record (see ``mappings/grouping.py``).
SHAPE = RecordShape(
    Anchor("CarePlan", ("shared-care-plan",), member="subject"),
    (Companion("CareTeam", "shared-care-team", Referenced("careTeam")),
     Companion("ServiceRequest", "shared-plan-service", Referenced("activity.reference")),
     Companion("QuestionnaireResponse", "care-coordination-form", Referenced("supportingInfo"))),
)


def _coverage_ids(record: SharedCarePlanRecord) -> dict[str, str]:
    program = codes.table("program").to_fhir(record.program).code
    medicaid = COVERAGE_ID_SUFFIX["medicaid-ffs"]
    return {"in-plan": f"cov-{record.member_id}-{COVERAGE_ID_SUFFIX.get(program, program)}",
            "out-of-plan": f"cov-{record.member_id}-{medicaid}"}


def to_fhir(record: SharedCarePlanRecord) -> list[dict]:
    """The CareTeam, the ServiceRequests, the form response and the CarePlan of one shared plan.

    Raises:
        ValueError: two services with the same slug.
        codes.UnmappedCode: a code outside its ConceptMap.
    """
    if len({s.slug for s in record.services}) != len(record.services):
        raise ValueError("two services of the plan have the same slug")
    m = record.member_id
    responsibility, plan_coverage = codes.table("service-responsibility"), codes.table("plan-coverage")
    program = codes.table("program").to_fhir(record.program)
    lead_is_plan = responsibility.to_fhir(record.lead).code == "mltc-plan"
    plan_manager = reference("PractitionerRole", f"pr-{record.plan_manager_id}", record.plan_manager_name)
    home_manager = reference("PractitionerRole", f"pr-{record.home_manager_id}", record.home_manager_name)
    parties = [(plan_manager, record.plan_id), (home_manager, record.health_home_id)]
    (lead, lead_org), (other, other_org) = parties if lead_is_plan else parties[::-1]
    lead_name = lead["display"]
    basis = codes.table("lead-basis").to_fhir(record.basis)
    team = resource(
        "CareTeam", f"sct-{m}", "shared-care-team", status="active", category=[CARE_TEAM_CATEGORY],
        name=f"Shared care team of {record.member_name}", subject=reference("Patient", m),
        period={"start": record.start.isoformat()},
        participant=[
            {"extension": [{"url": profile_url("lead-care-manager-basis"),
                            "valueCodeableConcept": {"coding": [basis.as_fhir()], "text": record.basis_text}}],
             "role": [{"coding": [coding(ROLE, "lead-care-manager", "Lead care manager"), CASE_MANAGER]}],
             "member": lead, "onBehalfOf": reference("Organization", lead_org)},
            {"role": [{"coding": [coding(ROLE, "care-manager", "Care manager"), CASE_MANAGER]}],
             "member": other, "onBehalfOf": reference("Organization", other_org)},
        ],
        managingOrganization=[reference("Organization", record.plan_id),
                              reference("Organization", record.health_home_id)],
    )
    coverage_ids = _coverage_ids(record)
    services = []
    for service in record.services:
        coordinator, coverage = responsibility.to_fhir(service.coordinator), plan_coverage.to_fhir(service.coverage)
        code = {"text": service.text}
        if service.service_code is not None:
            code = {"coding": [codes.table("service-code").to_fhir(service.service_code).as_fhir()], **code}
        services.append(resource(
            "ServiceRequest", f"sps-{m}-{service.slug}", "shared-plan-service",
            extension=[{"url": profile_url("service-coordinator"),
                        "valueCodeableConcept": {"coding": [coordinator.as_fhir()]}},
                       {"url": profile_url("service-plan-coverage"),
                        "valueCodeableConcept": {"coding": [coverage.as_fhir()]}}],
            status="active", intent="plan", code=code, subject=reference("Patient", m),
            occurrencePeriod={"start": record.start.isoformat()}, authoredOn=record.start.isoformat(),
            requester=lead,
            performer=[reference("Organization",
                                 record.plan_id if coordinator.code == "mltc-plan" else record.health_home_id)],
            insurance=[reference("Coverage", coverage_ids[coverage.code])],
        ))
    form = _form(record, lead, program, responsibility.to_fhir(record.lead), basis)
    lead_responsibility = responsibility.to_fhir(record.lead).display
    paragraphs = (
        f"Shared plan of care of {record.member_name}: {record.plan_name} ({program.display}) "
        f"and {record.health_home_name}.",
        f"Lead care manager: {lead_name} ({lead_responsibility}).",
        "Services: " + "; ".join(f"{s.text} ({responsibility.to_fhir(s.coordinator).display}, "
                                 f"{plan_coverage.to_fhir(s.coverage).code})" for s in record.services) + ".",
    )
    plan = resource(
        "CarePlan", f"scp-{m}", "shared-care-plan",
        extension=[{"url": profile_url("custodian"), "valueReference": lead}],
        text={"status": "generated", "div": XHTML.format("".join(f"<p>{html.escape(p)}</p>" for p in paragraphs))},
        status="active", intent="plan", category=[*CATEGORIES, {"coding": [program.as_fhir()]}],
        title="Shared plan of care", subject=reference("Patient", m, record.member_name),
        period={"start": record.start.isoformat()}, created=record.start.isoformat(),
        contributor=[reference("Organization", record.plan_id, record.plan_name),
                     reference("Organization", record.health_home_id, record.health_home_name),
                     plan_manager, home_manager],
        careTeam=[reference("CareTeam", f"sct-{m}")],
        supportingInfo=[reference("QuestionnaireResponse", f"ccf-{m}")],
        activity=[{"reference": reference("ServiceRequest", s["id"])} for s in services],
    )
    return [team, *services, form, plan]


def _answer(link_id: str, text: str, value: dict) -> dict:
    return {"linkId": link_id, "text": text, "answer": [value]}


def _form(record: SharedCarePlanRecord, lead: dict, program: codes.Coding, lead_party: codes.Coding,
          basis: codes.Coding) -> dict:
    responsibility, plan_coverage = codes.table("service-responsibility"), codes.table("plan-coverage")
    return resource(
        "QuestionnaireResponse", f"ccf-{record.member_id}", "care-coordination-form",
        questionnaire=QUESTIONNAIRE, status="completed", subject=reference("Patient", record.member_id),
        authored=record.form_authored, author=lead,
        item=[
            {"linkId": "parties", "text": "MLTC plan and Health Home", "item": [
                _answer("mltc-program", "MLTC program", {"valueCoding": program.as_fhir()}),
                _answer("mltc-plan", "MLTC plan (MLTCP or MAP)", {"valueString": record.plan_name}),
                _answer("health-home", "Health Home", {"valueString": record.health_home_name}),
            ]},
            {"linkId": "lead", "text": "Lead care manager", "item": [
                _answer("lead-care-manager", "Lead care manager (name)", {"valueString": lead["display"]}),
                _answer("lead-organization", "The lead care manager works for", {"valueCoding": lead_party.as_fhir()}),
                _answer("lead-basis", "The member's primary needs on which both parties based the choice",
                        {"valueCoding": basis.as_fhir()}),
                _answer("lead-basis-note", "How the choice was made", {"valueString": record.basis_text}),
                _answer("lead-agreed-on", "Date both parties agreed on the lead care manager",
                        {"valueDate": record.lead_agreed_on.isoformat()}),
            ]},
            *[{"linkId": "services", "text": "Services on the plan of care and who coordinates them", "item": [
                _answer("service", "Service", {"valueString": s.text}),
                _answer("service-coordinator", "Coordinated by",
                        {"valueCoding": responsibility.to_fhir(s.coordinator).as_fhir()}),
                _answer("service-plan-coverage", "In-plan or out-of-plan",
                        {"valueCoding": plan_coverage.to_fhir(s.coverage).as_fhir()}),
            ]} for s in record.services],
            {"linkId": "liaisons", "text": "Liaisons and coordination meetings", "item": [
                _answer("plan-liaison", "MLTC plan liaison", {"valueString": record.plan_manager_name}),
                _answer("health-home-liaison", "Health Home liaison", {"valueString": record.home_manager_name}),
                _answer("meeting-frequency", "How often the liaisons meet",
                        {"valueString": record.meeting_frequency}),
            ]},
        ],
    )



def _record(resources: list[dict]) -> SharedCarePlanRecord:
    """The shared care plan record of one CarePlan with its CareTeam, ServiceRequests and form response.

    Raises:
        ValueError: not exactly one CarePlan, or a missing part.
        StopIteration: a form answer is missing.
        codes.UnmappedCode: a code outside its ConceptMap.
    """
    plans = [r for r in resources if r["resourceType"] == "CarePlan"]
    if len(plans) != 1:
        raise ValueError(f"a shared care plan record needs exactly one CarePlan, got {len(plans)}")
    plan = plans[0]
    by_key = {f"{r['resourceType']}/{r['id']}": r for r in resources}
    try:
        team = by_key[plan["careTeam"][0]["reference"]]
        form = by_key[plan["supportingInfo"][0]["reference"]]
        services = [by_key[a["reference"]["reference"]] for a in plan["activity"]]
    except KeyError as missing:
        raise ValueError(f"CarePlan/{plan['id']}: {missing.args[0]} is not among the resources") from None
    m = reference_id(plan["subject"], "Patient")
    programs = codes.table("program")
    program = next(c for c in plan["category"] if c["coding"][0]["system"] == programs.target_system)
    plan_org, home_org, plan_manager, home_manager = plan["contributor"]
    lead = team["participant"][0]
    basis = lead["extension"][0]["valueCodeableConcept"]
    answers = {item["linkId"]: item["answer"][0] for group in form["item"] for item in group["item"]}
    responsibility, plan_coverage = codes.table("service-responsibility"), codes.table("plan-coverage")
    service_codes = codes.table("service-code")
    return SharedCarePlanRecord(
        member_id=m, member_name=plan["subject"]["display"], program=programs.from_concept(program),
        plan_id=reference_id(plan_org, "Organization"), plan_name=plan_org["display"],
        health_home_id=reference_id(home_org, "Organization"), health_home_name=home_org["display"],
        plan_manager_id=strip_prefix(reference_id(plan_manager, "PractitionerRole"), "pr-"),
        plan_manager_name=plan_manager["display"],
        home_manager_id=strip_prefix(reference_id(home_manager, "PractitionerRole"), "pr-"),
        home_manager_name=home_manager["display"],
        lead=responsibility.from_fhir(answers["lead-organization"]["valueCoding"]),
        basis=codes.table("lead-basis").from_concept(basis), basis_text=basis["text"],
        start=parse_date(plan["period"]["start"]),
        lead_agreed_on=parse_date(answers["lead-agreed-on"]["valueDate"]),
        form_authored=form["authored"],
        meeting_frequency=answers["meeting-frequency"]["valueString"],
        services=tuple(PlanService(
            slug=strip_prefix(s["id"], f"sps-{m}-"),
            service_code=service_codes.from_concept(s["code"]) if s["code"].get("coding") else None,
            text=s["code"]["text"],
            coordinator=responsibility.from_concept(s["extension"][0]["valueCodeableConcept"]),
            coverage=plan_coverage.from_concept(s["extension"][1]["valueCodeableConcept"]),
        ) for s in services),
    )


#: FHIR -> record: ``_record`` of the resources, refused unless ``to_fhir`` gives them back exactly.
from_fhir = lossless_from_fhir(_record, to_fhir)
