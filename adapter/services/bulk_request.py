"""What a Bulk Data ``$export`` kick-off asks for, checked, and the SQL that selects it per type.

HL7 Bulk Data Access IG 2.0, export.html "Query Parameters": ``_outputFormat`` (NDJSON only here),
``_since`` (an instant: resources whose ``lastUpdated`` is later), ``_type`` (comma-separated, repeatable),
``_typeFilter`` (``Type?search``; several for one type are ORed). A parameter the server does not
support is an error unless the client sent ``Prefer: handling=lenient``, in which case it is ignored and
reported in the manifest's error file; the same goes for types the server does not offer or that are
outside the Patient compartment of a patient- or group-level export.

Levels: ``system`` exports every offered type; ``patient`` the Patient compartment of every patient;
``group`` the compartments of the Group's members (``Group.member.entity``, as the search index has it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import ColumnElement, Select, and_, false, or_, select

from adapter.errors import BadRequest, Forbidden, Issue
from adapter.search.params import parse_search
from adapter.search.sql import criterion_clause
from adapter.services.compartments import compartment_params
from adapter.services.container import Services
from adapter.services.resources import WHOLE_SERVER_EXCLUDES
from adapter.store.schema import resources, search_reference

#: ``_outputFormat`` values meaning NDJSON (the IG asks servers to accept all three).
NDJSON_FORMATS = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson"})
LEVELS = ("system", "patient", "group")
#: Kick-off parameters that are not ours to interpret (formatting of the kick-off response itself).
_IGNORED = frozenset({"_format", "_pretty"})
_SUPPORTED = frozenset({"_outputFormat", "_since", "_type", "_typeFilter"}) | _IGNORED
#: Search-result parameters make no sense in a ``_typeFilter`` (it selects, it does not page or shape).
_NOT_FILTERS = frozenset({"_count", "_offset", "_sort", "_include", "_revinclude", "_summary", "_elements",
                          "_total", "_contained", "_containedType"})


@dataclass(frozen=True)
class ExportRequest:
    """A checked kick-off: level, the types to export in order, ``_since``, filters per type, and the
    warnings about what lenient handling left out (they go to the manifest's error file)."""

    level: str
    types: tuple[str, ...]
    group_id: str | None = None
    since: datetime | None = None
    type_filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    warnings: tuple[Issue, ...] = ()

    def to_parameters(self) -> dict[str, Any]:
        """JSON for the job row (warnings are stored with the job's errors)."""
        return {"level": self.level, "types": list(self.types), "group_id": self.group_id,
                "since": self.since.isoformat() if self.since else None,
                "type_filters": {k: list(v) for k, v in self.type_filters.items()}}

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> ExportRequest:
        since = parameters.get("since")
        return cls(parameters["level"], tuple(parameters["types"]), parameters.get("group_id"),
                   datetime.fromisoformat(since) if since else None,
                   {k: tuple(v) for k, v in parameters.get("type_filters", {}).items()})


def parse_kickoff(services: Services, level: str, group_id: str | None, args: Sequence[tuple[str, str]], *,
                  lenient: bool, hidden_types: frozenset[str] = frozenset()) -> ExportRequest:
    """Check the kick-off's query parameters.

    Raises:
        BadRequest: a bad ``_outputFormat``, ``_since``, ``_type`` or ``_typeFilter``, or (without lenient
            handling) a parameter, type or filter this server does not support.
        Forbidden: ``_type`` names a type in ``hidden_types`` (the caller may not read it).
    """
    warnings: list[Issue] = []

    def unsupported(message: str, expression: str) -> None:
        if not lenient:
            raise BadRequest(message + " (send 'Prefer: handling=lenient' to have it ignored)", expression=expression)
        warnings.append(Issue("warning", "not-supported", message + "; ignored", expression))

    for name, _ in args:
        if name not in _SUPPORTED:
            unsupported(f"the $export parameter {name!r} is not supported", name)
    values = {name: [v for n, v in args if n == name] for name in _SUPPORTED}
    for output_format in values["_outputFormat"]:
        if output_format not in NDJSON_FORMATS:
            raise BadRequest(f"_outputFormat {output_format!r} is not supported; use application/fhir+ndjson",
                             expression="_outputFormat")
    since = _since(values["_since"])
    eligible = [t for t in _eligible_types(services, level) if t not in hidden_types]
    requested = [t.strip() for value in values["_type"] for t in value.split(",") if t.strip()]
    if forbidden := sorted(set(requested) & hidden_types):
        raise Forbidden(f"_type: the access token's scopes do not grant reading {', '.join(forbidden)}")
    types: list[str] = []
    for res_type in requested:
        if not services.supports_type(res_type):
            unsupported(f"_type: {res_type!r} is not a resource type this server offers", "_type")
        elif res_type not in eligible:
            unsupported(f"_type: {res_type!r} is not in the Patient compartment, so a {level}-level export "
                        "has none", "_type")
        elif res_type not in types:
            types.append(res_type)
    if requested and not types:
        raise BadRequest("_type names no resource type this export can return", expression="_type")
    types = types or [t for t in eligible if t not in WHOLE_SERVER_EXCLUDES]
    filters = _type_filters(services, values["_typeFilter"], types, unsupported)
    return ExportRequest(level, tuple(types), group_id, since, filters, tuple(warnings))


def parameters_to_args(resource: dict) -> list[tuple[str, str]]:
    """A POST kick-off's Parameters body as (name, value) pairs, like the query string of a GET (export.html
    "POST kick-off": each parameter's ``value[x]``, a reference's ``reference``).

    Raises:
        BadRequest: the body is not a Parameters resource, or a parameter has no simple value.
    """
    if resource.get("resourceType") != "Parameters":
        raise BadRequest(f"a POST $export takes a Parameters resource, not {resource.get('resourceType')!r}")
    args = []
    for parameter in resource.get("parameter", []):
        values = [v for k, v in parameter.items() if k.startswith("value")]
        value = values[0].get("reference") if values and isinstance(values[0], dict) else (values or [None])[0]
        if not isinstance(value, str):
            raise BadRequest(f"the $export parameter {parameter.get('name')!r} has no simple value",
                             expression=f"Parameters.parameter.where(name = '{parameter.get('name')}')")
        args.append((parameter.get("name", ""), value))
    return args


def _since(values: list[str]) -> datetime | None:
    """``_since`` as naive UTC. :raise BadRequest: not an instant with a time zone, or given twice."""
    if not values:
        return None
    if len(values) > 1:
        raise BadRequest("_since is given more than once", expression="_since")
    text = values[0].strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"_since {text!r} is not a FHIR instant (e.g. 2026-01-05T00:00:00Z)",
                         expression="_since") from exc
    if "T" not in text or moment.tzinfo is None:
        raise BadRequest(f"_since {text!r} needs a time and a time zone (a FHIR instant)", expression="_since")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _eligible_types(services: Services, level: str) -> list[str]:
    """Types a level can export, in the configured order: all offered ones, or those in the compartment."""
    offered = [t for t in services.settings.resource_types if services.supports_type(t)]
    if level == "system":
        return offered
    compartment = compartment_params(services.definitions)
    return [t for t in offered if t in compartment]


def _type_filters(services: Services, raw_filters: list[str], types: list[str],
                  unsupported: Callable[[str, str], None]) -> dict[str, tuple[str, ...]]:
    filters: dict[str, list[str]] = {}
    for raw in raw_filters:
        res_type, _, query = raw.partition("?")
        if not query:
            raise BadRequest(f"_typeFilter {raw!r} is not of the form Type?search", expression="_typeFilter")
        if res_type not in types:
            unsupported(f"_typeFilter {raw!r} is for a type this export does not include", "_typeFilter")
            continue
        pairs = parse_qsl(query, keep_blank_values=True)
        bad = [name for name, _ in pairs if name.split(":", 1)[0] in _NOT_FILTERS]
        if bad:
            raise BadRequest(f"_typeFilter {raw!r}: {bad[0]} selects nothing and is not allowed in a filter",
                             expression="_typeFilter")
        try:
            parse_search(services.definitions, res_type, pairs, handling="strict")
        except BadRequest as exc:
            raise BadRequest(f"_typeFilter {raw!r}: {exc}", expression="_typeFilter") from exc
        filters.setdefault(res_type, []).append(query)
    return {k: tuple(v) for k, v in filters.items()}


# --- SQL per type ------------------------------------------------------------------------------------------

def type_conditions(services: Services, request: ExportRequest, res_type: str) -> list[ColumnElement[bool]]:
    """SQL conditions on ``resources`` selecting what ``request`` exports of ``res_type`` (besides the time
    cut): compartment membership for patient and group level, then the ``_typeFilter`` criteria."""
    conditions: list[ColumnElement[bool]] = []
    if request.level != "system":
        conditions.append(_in_compartment(services, request, res_type))
    queries = request.type_filters.get(res_type, ())
    if queries:
        alternatives = []
        for query in queries:
            parsed = parse_search(services.definitions, res_type, parse_qsl(query, keep_blank_values=True),
                                  handling="strict")
            alternatives.append(and_(*(criterion_clause(c, resources, res_type) for c in parsed.criteria)))
        conditions.append(or_(*alternatives))
    return conditions


def _in_compartment(services: Services, request: ExportRequest, res_type: str) -> ColumnElement[bool]:
    """The resource is in the Patient compartment of some patient (patient level) or of a member of the
    Group (group level); the links are the compartment's search parameters, read from the index."""
    members = _group_members(request.group_id) if request.level == "group" else None
    if res_type == "Patient" and members is not None:
        return resources.c.res_id.in_(members)
    if res_type == "Patient":
        return resources.c.pk.is_not(None)
    params = compartment_params(services.definitions).get(res_type, ())
    if not params:
        return false()
    refs = select(search_reference.c.resource_pk).where(
        search_reference.c.res_type == res_type, search_reference.c.param.in_(params),
        search_reference.c.target_type == "Patient")
    if members is not None:
        refs = refs.where(search_reference.c.target_id.in_(members))
    return resources.c.pk.in_(refs)


def _group_members(group_id: str | None) -> Select:
    """Ids of the Patients a Group lists as members (its current version's ``member`` index rows)."""
    group = resources.alias("member_group")
    member = search_reference.alias("member_ref")
    return (select(member.c.target_id)
            .select_from(member.join(group, group.c.pk == member.c.resource_pk))
            .where(group.c.res_type == "Group", group.c.res_id == group_id, group.c.deleted == false(),
                   member.c.param == "member", member.c.target_type == "Patient"))
