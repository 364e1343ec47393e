"""The measure operations under ``/fhir``: ``Measure/$evaluate-measure`` and ``Patient/$cmp-compliance``.

Thin handlers, as in :mod:`adapter.rest.fhir_api`: read the parameters, call
:mod:`adapter.services.measure_operations`, render the resource. Registered by ``create_app``; their
entries in ``fhir_api.OPERATIONS`` put them in the CapabilityStatement.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from adapter.auth import enforcement
from adapter.auth.needs import Need, Restricted, on
from adapter.errors import Forbidden
from adapter.rest import request_info as req
from adapter.rest.responses import fhir_response, write_response
from adapter.services import measure_operations

measures_api = Blueprint("measures", __name__, url_prefix="/fhir")

#: What each endpoint needs when authorization is on (adapter/auth/needs.py): a measure reads contacts,
#: meetings, enrollments and claims of a population; storing its report (``store=true``) also needs
#: ``c`` on MeasureReport, checked in the handler. Compliance reads one member's compartment.
ACCESS: dict[str, Need] = {
    "measures.evaluate_measure": on("Measure", "r", also=(("*", "rs"),)),
    "measures.cmp_compliance": on("Patient", "r", also=(("*", "rs"),), restricted=Restricted.READ_INSTANCE),
}


@measures_api.route("/Measure/$evaluate-measure", methods=["GET", "POST"], endpoint="evaluate_measure")
@measures_api.route("/Measure/<measure_id>/$evaluate-measure", methods=["GET", "POST"], endpoint="evaluate_measure")
def evaluate_measure(measure_id: str | None = None) -> Response:
    """R4 ``$evaluate-measure``: the MeasureReport; with ``store=true`` (POST) also stored (201)."""
    body = req.body_resource() if request.method == "POST" and request.content_length else None
    inputs = measure_operations.operation_inputs(request.args.to_dict(), body)
    _require_create_if_storing(request.method == "POST" and str(inputs.get("store", "")).lower() == "true")
    result = measure_operations.evaluate_measure(req.services(), measure_id, inputs,
                                                 may_store=request.method == "POST")
    if result.stored is not None:
        return write_response(result.stored.stored, 201, result.stored.issues, location=True)
    return fhir_response(result.report)


@measures_api.get("/Patient/<res_id>/$cmp-compliance")
def cmp_compliance(res_id: str) -> Response:
    """The member's CMP weeks with contacts, reviews, billed days and broken rules (docs/measures.md)."""
    return fhir_response(measure_operations.cmp_compliance(req.services(), res_id, request.args.to_dict()))


def _require_create_if_storing(storing: bool) -> None:
    """:raise Forbidden: the report is to be stored and the caller's scopes do not grant creating one."""
    access = enforcement.current_access()
    if storing and access is not None and not access.permissions.allows("MeasureReport", "c"):
        raise Forbidden("storing the report (store=true) needs c on MeasureReport (e.g. system/MeasureReport.c)")
