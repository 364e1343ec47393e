"""Organization-level access: who the members of an organization are, and what a restricted client sees.

A client registered with ``--organization Organization/x`` is restricted to the **members** of those
organizations (a PACT/MCT team, an MLTC plan, a Health Home). This module is the policy; the SQL is
:mod:`adapter.search.visibility`.

Members (decision 012), from the current resources:

- a Patient whose ``managingOrganization`` is one of them (search parameter ``Patient.organization``);
- the patient of an EpisodeOfCare whose ``managingOrganization`` is one of them (a CMP enrollment with a
  team, ``cmp-enrollment``);
- the subject of a CareTeam that has one of them as a participant (the shared care team of an MLTC plan
  and a Health Home, ``shared-care-team``).

A restricted client sees those Patients and the resources in their Patient compartments, with the
compartment parameters read from the R4 CompartmentDefinition ``patient`` (not a hand-kept list), plus
the :data:`SHARED_TYPES`, which hold no member data (reads and searches only; it writes none of them).
"""

from __future__ import annotations

from sqlalchemy import Connection

from adapter.auth.access import Access
from adapter.auth.scopes import Permissions
from adapter.conformance.definitions import Definitions
from adapter.errors import Forbidden, NotFound
from adapter.search.index import Indexer
from adapter.search.visibility import (
    Members,
    MembershipRule,
    Visibility,
    content_in_compartment,
    instance_visible,
)

#: How a patient becomes a member of an organization (see the module docstring).
MEMBERSHIP_RULES: tuple[MembershipRule, ...] = (
    MembershipRule("Patient", "organization", None),
    MembershipRule("EpisodeOfCare", "organization", "patient"),
    MembershipRule("CareTeam", "participant", "subject"),
)

#: Types outside every Patient compartment that hold no member data: directories and definitions. A
#: restricted client may read and search them, and write none of them.
SHARED_TYPES: frozenset[str] = frozenset({
    "Organization", "Practitioner", "PractitionerRole", "Location", "Measure", "Questionnaire",
    "StructureDefinition", "ValueSet", "CodeSystem", "ConceptMap", "SearchParameter", "OperationDefinition",
    "CapabilityStatement", "ImplementationGuide", "NamingSystem",
})

PATIENT_COMPARTMENT = "http://hl7.org/fhir/CompartmentDefinition/patient"


def compartment_params(definitions: Definitions) -> dict[str, tuple[str, ...]]:
    """Search parameters that put a resource of each type in a Patient's compartment (R4 definition)."""
    definition = definitions.resource(PATIENT_COMPARTMENT) or {}
    return {entry["code"]: tuple(entry.get("param") or ())
            for entry in definition.get("resource", []) if entry.get("param")}


def visibility(access: Access | None, compartments: dict[str, tuple[str, ...]]) -> Visibility | None:
    """What ``access`` may see in searches (``_include`` needs ``r`` on the included type); None when auth
    is off."""
    if access is None:
        return None
    return Visibility(readable_types=_readable(access.permissions), members=members(access, compartments),
                      hidden_types=access.permissions.hidden_types("r"))


def members(access: Access, compartments: dict[str, tuple[str, ...]]) -> Members | None:
    if not access.restricted:
        return None
    return Members(access.organization_ids, MEMBERSHIP_RULES, compartments, SHARED_TYPES)


def _readable(permissions: Permissions) -> frozenset[str] | None:
    return permissions.types_allowing("r")


def check_read(conn: Connection, members: Members, res_type: str, res_id: str) -> None:
    """:raise NotFound: the resource exists but is outside the members' compartments (as if it were absent)."""
    if res_type in SHARED_TYPES:
        return
    if instance_visible(conn, members, res_type, res_id) is False:
        raise NotFound(f"{res_type}/{res_id} is not known")


def check_write(conn: Connection, members: Members, indexer: Indexer, res_type: str, res_id: str | None,
                resource: dict | None) -> None:
    """A restricted client may change ``res_type/res_id`` (or create it) with this content.

    :raise Forbidden: the type is not in a Patient compartment, the existing resource is outside the
        members' compartments, or the new content does not put it in a member's compartment.
    """
    if not members.in_compartment_type(res_type):
        raise Forbidden(f"a client restricted to {_orgs(members)} writes only resources in its members' "
                        f"Patient compartments; {res_type} is in none")
    if res_id is not None and instance_visible(conn, members, res_type, res_id) is False:
        raise Forbidden(f"{res_type}/{res_id} does not belong to a member of {_orgs(members)}")
    if resource is not None:
        rows = indexer.rows(resource).get("reference", [])
        if not content_in_compartment(conn, members, resource, rows):
            raise Forbidden(f"this {res_type} does not refer to a member of {_orgs(members)} (its Patient "
                            "compartment parameters name no member)")


def _orgs(members: Members) -> str:
    return ", ".join(f"Organization/{org}" for org in members.organization_ids)
