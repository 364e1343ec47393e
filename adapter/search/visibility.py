"""Which stored resources a caller may see, as SQL: by resource type and by the members' Patient compartments.

Authorization (:mod:`adapter.auth`) decides *what* a caller may see; this module turns that into conditions
on ``resources`` so that searches are filtered in the database (the page, the total and ``_include`` alike)
and never in Python after the fact.

A caller restricted to organizations sees the **members** of those organizations and the resources in
their Patient compartments (R4 compartmentdefinition-patient: a resource is in a patient's compartment
when one of the listed search parameters refers to that Patient). Members are found by the
:class:`MembershipRule` s the caller gives (e.g. ``Patient.managingOrganization``, an EpisodeOfCare's
``managingOrganization``), always from the current, non-deleted resources, in a subquery.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Row, Select, and_, exists, false, literal, or_, select, true, union
from sqlalchemy.sql.expression import FromClause

from adapter.store.schema import resources, search_reference

#: Named aliases, built once: making an alias of a Table costs about a millisecond (column proxies), too much
#: per request. Each is used once per (sub)query scope, so sharing them is safe.
_MEMBER_ORG = search_reference.alias("member_org")
_MEMBER_PATIENT_REF = search_reference.alias("member_patient_ref")
_MEMBER_PATIENT = resources.alias("member_patient")
_COMPARTMENT_REF = search_reference.alias("compartment_ref")


@dataclass(frozen=True)
class MembershipRule:
    """A patient is a member when a ``res_type`` resource refers to one of the organizations through
    ``org_param`` and to the patient through ``patient_param`` (None: the resource is the Patient)."""

    res_type: str
    org_param: str
    patient_param: str | None


@dataclass(frozen=True)
class Members:
    """An organization restriction: the organizations (ids), how members are found, which parameters put a
    resource in a patient's compartment (by type), and the types that hold no member data (visible to all)."""

    organization_ids: tuple[str, ...]
    rules: tuple[MembershipRule, ...]
    compartment_params: Mapping[str, tuple[str, ...]]
    shared_types: frozenset[str]

    def member_ids(self) -> Select:
        """``SELECT`` of the ids of the member Patients."""
        parts = [_members_by(rule, self.organization_ids) for rule in self.rules]
        return parts[0] if len(parts) == 1 else union(*parts)

    def is_member(self, patient_id: ColumnElement) -> ColumnElement[bool]:
        """True when ``patient_id`` (a column, correlated, or a value) is a member: one EXISTS per rule, each
        an index probe, so checking one row does not build the whole member list."""
        return or_(*(_member_exists(rule, self.organization_ids, patient_id) for rule in self.rules))

    def type_clause(self, res_type: str, table: FromClause = resources, *, few_rows: bool = False
                    ) -> ColumnElement[bool]:
        """The condition a ``res_type`` row of ``table`` meets when it is visible under this restriction.

        For a search (many candidate rows) the member list is built once (``IN (SELECT ...)``); for a few
        known rows (``few_rows``: one instance, a page's includes) each row is probed with EXISTS instead,
        which does not build the list (measured: docs/performance.md, "Authorization").
        """
        if res_type in self.shared_types:
            return true()
        if res_type == "Patient":
            return self.is_member(table.c.res_id) if few_rows else table.c.res_id.in_(self.member_ids())
        params = self.compartment_params.get(res_type)
        if not params:
            return false()
        ref = _COMPARTMENT_REF
        if few_rows:
            return exists().where(ref.c.resource_pk == table.c.pk, ref.c.param.in_(params),
                                  ref.c.target_type == "Patient", self.is_member(ref.c.target_id))
        in_compartment = select(ref.c.resource_pk).where(
            ref.c.res_type == res_type, ref.c.param.in_(params), ref.c.target_type == "Patient",
            ref.c.target_id.in_(self.member_ids()))
        return table.c.pk.in_(in_compartment)

    def in_compartment_type(self, res_type: str) -> bool:
        return res_type == "Patient" or bool(self.compartment_params.get(res_type))


@dataclass(frozen=True)
class Visibility:
    """What a caller may see: ``readable_types`` (None: every type) and an optional organization restriction."""

    readable_types: frozenset[str] | None = None
    members: Members | None = None
    hidden_types: frozenset[str] = frozenset()
    """Types never shown even when ``readable_types`` is None (the admin types a ``*`` scope leaves out)."""

    def clause(self, res_type: str, table: FromClause = resources) -> ColumnElement[bool] | None:
        """The extra WHERE condition for a search of ``res_type`` (None: nothing to add)."""
        if self.members is None:
            return None
        return self.members.type_clause(res_type, table)

    def filter_rows(self, conn: Connection, rows: list[Row]) -> list[Row]:
        """The rows (``pk``, ``res_type`` ...; e.g. ``_include`` results) the caller may see, in order."""
        kept = [row for row in rows if row.res_type not in self.hidden_types
                and (self.readable_types is None or row.res_type in self.readable_types)]
        if self.members is None or not kept:
            return kept
        visible: set[int] = set()
        for res_type in {row.res_type for row in kept}:
            pks = [row.pk for row in kept if row.res_type == res_type]
            visible.update(pk for (pk,) in conn.execute(
                select(resources.c.pk).where(resources.c.pk.in_(pks),
                                             self.members.type_clause(res_type, few_rows=True))))
        return [row for row in kept if row.pk in visible]


def instance_visible(conn: Connection, members: Members, res_type: str, res_id: str) -> bool | None:
    """Whether the stored ``res_type/res_id`` (deleted or not) is visible under ``members``; None when it
    was never stored."""
    row = conn.execute(select(resources.c.pk).where(resources.c.res_type == res_type,
                                                    resources.c.res_id == res_id)).first()
    if row is None:
        return None
    return conn.execute(select(resources.c.pk).where(resources.c.pk == row.pk,
                                                     members.type_clause(res_type, few_rows=True))).first() is not None


def content_in_compartment(conn: Connection, members: Members, resource: dict,
                           reference_rows: Iterable[Mapping[str, str | None]]) -> bool:
    """Whether a resource about to be written belongs to a member's compartment, judged by what it says
    (its index rows of type ``reference``) against the members as they are *before* the write.

    A Patient qualifies when it already is a member or names one of the organizations as its
    ``managingOrganization``-style membership parameter (a team registering a new member).
    """
    res_type = resource.get("resourceType", "")
    rows = list(reference_rows)
    if res_type == "Patient":
        org_params = {rule.org_param for rule in members.rules if rule.patient_param is None}
        if any(row["param"] in org_params and row.get("target_type") == "Organization"
               and row.get("target_id") in members.organization_ids for row in rows):
            return True
        res_id = resource.get("id")
        return bool(res_id) and _any_member(conn, members, [str(res_id)])
    params = members.compartment_params.get(res_type) or ()
    patients = sorted({str(row["target_id"]) for row in rows if row["param"] in params
                       and row.get("target_type") == "Patient" and row.get("target_id")})
    return _any_member(conn, members, patients)


def _any_member(conn: Connection, members: Members, patient_ids: list[str]) -> bool:
    if not patient_ids:
        return False
    check = or_(*(members.is_member(literal(patient_id)) for patient_id in patient_ids))
    return conn.execute(select(true()).where(check)).first() is not None


def _member_exists(rule: MembershipRule, organization_ids: tuple[str, ...],
                   patient_id: ColumnElement) -> ColumnElement[bool]:
    """EXISTS: ``patient_id`` is a member by ``rule``. The organization row is reached by ``resource_pk``
    only (no ``res_type`` condition on it), so the planner probes it by that index rather than listing every
    member of the organization."""
    org_ref = _MEMBER_ORG
    names_org = and_(org_ref.c.param == rule.org_param, org_ref.c.target_type == "Organization",
                     org_ref.c.target_id.in_(organization_ids or ("",)))
    if rule.patient_param is None:
        patient = _MEMBER_PATIENT
        return exists().where(patient.c.res_type == rule.res_type, patient.c.res_id == patient_id,
                              org_ref.c.resource_pk == patient.c.pk, names_org)
    patient_ref = _MEMBER_PATIENT_REF
    return exists().where(patient_ref.c.res_type == rule.res_type, patient_ref.c.param == rule.patient_param,
                          patient_ref.c.target_type == "Patient", patient_ref.c.target_id == patient_id,
                          org_ref.c.resource_pk == patient_ref.c.resource_pk, names_org)


def _members_by(rule: MembershipRule, organization_ids: tuple[str, ...]) -> Select:
    """Patient ids one rule yields. Index rows exist only for current, non-deleted resources (a delete
    clears them), so the index tables alone answer, joined on ``resource_pk``."""
    org_ref = _MEMBER_ORG
    names_org = and_(org_ref.c.res_type == rule.res_type, org_ref.c.param == rule.org_param,
                     org_ref.c.target_type == "Organization", org_ref.c.target_id.in_(organization_ids or ("",)))
    if rule.patient_param is None:
        patient = _MEMBER_PATIENT
        joined = org_ref.join(patient, patient.c.pk == org_ref.c.resource_pk)
        return select(patient.c.res_id.label("patient_id")).select_from(joined).where(names_org)
    patient_ref = _MEMBER_PATIENT_REF
    joined = org_ref.join(patient_ref, patient_ref.c.resource_pk == org_ref.c.resource_pk)
    return select(patient_ref.c.target_id.label("patient_id")).select_from(joined).where(
        names_org, patient_ref.c.param == rule.patient_param, patient_ref.c.target_type == "Patient")


__all__ = ["Members", "MembershipRule", "Visibility", "content_in_compartment", "instance_visible"]
