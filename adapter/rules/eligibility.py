"""CMP-ELIG-1..4: a member's CMP medical necessity from their latest SDMI determination (``$cmp-eligibility``).

The evidence is the member's latest ``cmp-sdmi-determination`` (status final, amended or corrected; latest by
effective time, found in the index): its value says whether the member meets SDMI (ELIG-1), its components
whether they are a danger to self or others (ELIG-2), their LOI Area 3 and Area 4 levels (ELIG-3: moderate or
worse in either) and whether they are able and willing to engage (ELIG-4). The LOI ratings it points at
(``hasMember``) and the member's active Conditions are listed as further evidence (ELIG-3, ELIG-1). Without a
determination every criterion is ``unknown``; a finding the determination lacks is ``unknown`` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Connection, false, select

from adapter import fhirjson
from adapter.errors import Gone, NotFound
from adapter.rules.index_sql import has_token, reference_id
from adapter.store.schema import resources, search_date, search_reference

if TYPE_CHECKING:
    from adapter.services.container import Services

CANONICAL = "https://cmp-adapter.org/fhir"
OBSERVATION_SYSTEM = f"{CANONICAL}/CodeSystem/cmp-observation"
SDMI_STATUS_SYSTEM = f"{CANONICAL}/CodeSystem/sdmi-status"
LOI_AREA_SYSTEM = f"{CANONICAL}/CodeSystem/loi-area"
MODERATE_OR_WORSE = ("moderate", "severe")
RESULT_STATUSES = ("final", "amended", "corrected")

Status = Literal["met", "not-met", "unknown"]
CRITERIA = {
    "CMP-ELIG-1": "meets the SDMI criteria",
    "CMP-ELIG-2": "is not a danger to self or others (no emergency situation under 53-21-102 MCA (7)(a)(b))",
    "CMP-ELIG-3": "has a moderate or worse impairment in LOI Area 3 or Area 4",
    "CMP-ELIG-4": "is able and willing to engage in CMP services",
}


def latest_determination(conn: Connection, patient: str) -> str | None:
    ref, when, row = search_reference.alias("p"), search_date.alias("d"), resources.alias("r")
    query = (select(row.c.res_id)
             .select_from(ref.join(row, row.c.pk == ref.c.resource_pk)
                          .outerjoin(when, (when.c.resource_pk == ref.c.resource_pk) & (when.c.param == "date")))
             .where(ref.c.res_type == "Observation", ref.c.param == "patient", ref.c.target_type == "Patient",
                    ref.c.target_id == patient, row.c.deleted == false(),
                    has_token(ref.c.resource_pk, "Observation", "code", system=OBSERVATION_SYSTEM,
                              codes=["sdmi-determination"]),
                    has_token(ref.c.resource_pk, "Observation", "status", codes=RESULT_STATUSES))
             .order_by(when.c.low.desc().nulls_last(), row.c.res_id.desc()).limit(1))
    return conn.execute(query).scalar()


def active_conditions(conn: Connection, patient: str) -> list[str]:
    ref, row = search_reference.alias("p"), resources.alias("r")
    query = (select(row.c.res_id).select_from(ref.join(row, row.c.pk == ref.c.resource_pk))
             .where(ref.c.res_type == "Condition", ref.c.param == "patient", ref.c.target_type == "Patient",
                    ref.c.target_id == patient, row.c.deleted == false(),
                    has_token(ref.c.resource_pk, "Condition", "clinical-status", codes=["active"]))
             .distinct())
    return sorted(conn.execute(query).scalars())


def _component(determination: Mapping, system: str, code: str) -> Mapping | None:
    for component in determination.get("component") or ():
        for coding in (component.get("code") or {}).get("coding") or ():
            if coding.get("system") == system and coding.get("code") == code:
                return component
    return None


def _codes(concept: object) -> set[str]:
    return {c.get("code") for c in (concept or {}).get("coding") or ()} if isinstance(concept, dict) else set()


def _met(value: bool | None) -> Status:
    return "unknown" if value is None else "met" if value else "not-met"


def criteria(determination: Mapping) -> dict[str, Status]:
    """Each criterion's status as the determination records it."""
    value = _codes(determination.get("valueCodeableConcept"))
    sdmi = True if "meets-sdmi" in value else False if "does-not-meet-sdmi" in value else None
    danger = (_component(determination, OBSERVATION_SYSTEM, "danger-to-self-or-others") or {}).get("valueBoolean")
    willing = (_component(determination, OBSERVATION_SYSTEM, "able-and-willing-to-engage") or {}).get("valueBoolean")
    levels = [_codes((_component(determination, LOI_AREA_SYSTEM, area) or {}).get("valueCodeableConcept"))
              for area in ("area-3", "area-4")]
    impaired = (True if any(level & set(MODERATE_OR_WORSE) for level in levels)
                else False if all(levels) else None)
    return {"CMP-ELIG-1": _met(sdmi), "CMP-ELIG-2": _met(None if danger is None else not danger),
            "CMP-ELIG-3": _met(impaired), "CMP-ELIG-4": _met(willing)}


def overall(statuses: Mapping[str, Status]) -> Status:
    values = set(statuses.values())
    return "not-met" if "not-met" in values else "met" if values == {"met"} else "unknown"


def evaluate(services: Services, patient: str) -> dict:
    """The ``$cmp-eligibility`` Parameters of ``Patient/{patient}``.

    :raise NotFound: no such patient. :raise Gone: the patient was deleted.
    """
    with services.store.connect() as conn:
        stored = services.store.read(conn, "Patient", patient)
        if stored is None:
            raise NotFound(f"Patient/{patient} is not known")
        if stored.deleted:
            raise Gone(f"Patient/{patient} was deleted")
        determination_id = latest_determination(conn, patient)
        determination = None
        if determination_id is not None:
            found = services.store.read(conn, "Observation", determination_id)
            determination = fhirjson.loads(found.content) if found is not None and found.content else None
        conditions = [f"Condition/{c}" for c in active_conditions(conn, patient)]
    statuses: dict[str, Status] = (criteria(determination) if determination is not None
                                   else dict.fromkeys(CRITERIA, "unknown"))
    evidence = _evidence(determination_id, determination, conditions)
    parameters: list[dict] = [{"name": "patient", "valueReference": {"reference": f"Patient/{patient}"}},
                              {"name": "eligible", "valueCode": overall(statuses)}]
    if determination_id is not None:
        parameters.append({"name": "determination", "valueReference": {"reference": f"Observation/{determination_id}"}})
    for rule_id, description in CRITERIA.items():
        parameters.append({"name": "criterion", "part": [
            {"name": "rule", "valueCode": rule_id},
            {"name": "status", "valueCode": statuses[rule_id]},
            {"name": "description", "valueString": f"The member {description}."},
            *({"name": "evidence", "valueReference": {"reference": ref}} for ref in evidence[rule_id])]})
    return {"resourceType": "Parameters", "parameter": parameters}


def _evidence(determination_id: str | None, determination: Mapping | None,
              conditions: list[str]) -> dict[str, tuple[str, ...]]:
    if determination_id is None or determination is None:
        return {"CMP-ELIG-1": tuple(conditions), "CMP-ELIG-2": (), "CMP-ELIG-3": (), "CMP-ELIG-4": ()}
    own = f"Observation/{determination_id}"
    ratings = [f"Observation/{rid}" for member in determination.get("hasMember") or ()
               if (rid := reference_id(member, "Observation"))]
    return {"CMP-ELIG-1": tuple(sorted([own, *conditions])), "CMP-ELIG-2": (own,),
            "CMP-ELIG-3": tuple(sorted([own, *ratings])), "CMP-ELIG-4": (own,)}
