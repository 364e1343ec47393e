"""The FHIR REST API under ``/fhir``: one thin handler per interaction (R4 http.html).

A handler reads what the request asks (:mod:`adapter.rest.request_info`), calls one service function and
builds the response (:mod:`adapter.rest.responses`). FHIR semantics live in :mod:`adapter.services`.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from adapter import fhirjson
from adapter.audit import context as audit_context
from adapter.auth import enforcement, smart_api
from adapter.auth.needs import PER_ENTRY, PUBLIC, Need, Restricted, on, on_every_type, on_type
from adapter.errors import BadRequest, UnsupportedMediaType
from adapter.rest import request_info as req
from adapter.rest.bundle_pages import history_bundle, search_bundle
from adapter.rest.outcome import information, operation_outcome
from adapter.rest.responses import fhir_response, stored_response, version_headers, write_response
from adapter.rest.rules_api import RULE_OPERATIONS
from adapter.services import (
    bundles,
    capability,
    cmp_export,
    cmp_import,
    resources,
    search,
    translate_operation,
    validate_operation,
)
from adapter.services.history import HistoryRequest
from adapter.wire.elements import resource_filter

fhir_api = Blueprint("fhir", __name__, url_prefix="/fhir")

#: The FHIR interaction each handler implements, by endpoint: the CapabilityStatement is built from this and
#: the routes actually registered, so it cannot claim what the server does not do.
INTERACTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "fhir.batch_or_transaction": (("system", "transaction"), ("system", "batch")),
    "fhir.system_history": (("system", "history-system"),),
    "fhir.search_type": (("type", "search-type"),),
    "fhir.create": (("type", "create"),),
    "fhir.conditional_update": (("type", "update"),),
    "fhir.conditional_delete": (("type", "delete"),),
    "fhir.type_history": (("type", "history-type"),),
    "fhir.read": (("instance", "read"),),
    "fhir.update": (("instance", "update"),),
    "fhir.delete": (("instance", "delete"),),
    "fhir.instance_history": (("instance", "history-instance"),),
    "fhir.vread": (("instance", "vread"),),
}

#: Operations by endpoint: (name, OperationDefinition, resource types or None for all), listed in the
#: CapabilityStatement.
OPERATIONS: dict[str, tuple[str, str, tuple[str, ...] | None]] = {
    "fhir.validate_type": ("validate", "http://hl7.org/fhir/OperationDefinition/Resource-validate", None),
    "fhir.import_cmp": ("import-cmp", "https://cmp-adapter.org/fhir/OperationDefinition/import-cmp", ()),
    "fhir.translate": ("translate", "http://hl7.org/fhir/OperationDefinition/ConceptMap-translate",
                       ("ConceptMap",)),
    "fhir.export_cmp_member": ("export-cmp", "https://cmp-adapter.org/fhir/OperationDefinition/export-cmp",
                               ("Patient",)),
    "fhir.export_cmp_claim": ("export-cmp", "https://cmp-adapter.org/fhir/OperationDefinition/export-cmp",
                              ("Claim",)),
    "fhir_bulk.export_system": ("export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export", ()),
    "fhir_bulk.export_patient": ("export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
                                 ("Patient",)),
    "fhir_bulk.export_group": ("export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export",
                               ("Group",)),
    "measures.evaluate_measure": ("evaluate-measure", "http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure",
                                  ("Measure",)),
    "measures.cmp_compliance": ("cmp-compliance", "https://cmp-adapter.org/fhir/OperationDefinition/cmp-compliance",
                                ("Patient",)),
    **RULE_OPERATIONS,
}

#: What each endpoint needs from the caller when authorization is on (adapter/auth/needs.py): the SMART
#: permission letters on the type and how it serves a client restricted to organizations. An endpoint
#: missing here is refused (fail-closed); test_every_fhir_endpoint_declares_what_it_needs
#: (tests/integration/test_auth.py) checks every route.
ACCESS: dict[str, Need] = {
    "fhir.metadata": PUBLIC,
    "fhir.batch_or_transaction": PER_ENTRY,
    "fhir.system_history": on_every_type("r"),
    "fhir.search_type": on_type("s", restricted=Restricted.FILTER),
    "fhir.create": on_type("c", restricted=Restricted.CREATE, if_header=(("If-None-Exist", "s"),)),
    "fhir.conditional_update": on_type("cus"),
    "fhir.conditional_delete": on_type("ds"),
    "fhir.import_cmp": on_every_type("cu"),
    "fhir.translate": on("ConceptMap", "r", restricted=Restricted.NO_MEMBER_DATA),
    "fhir.validate_type": on_type(one_of="cu", restricted=Restricted.NO_MEMBER_DATA),
    "fhir.validate_instance": on_type("r", restricted=Restricted.READ_INSTANCE),
    "fhir.type_history": on_type("r"),
    "fhir.read": on_type("r", restricted=Restricted.READ_INSTANCE),
    "fhir.update": on_type("u", restricted=Restricted.WRITE_INSTANCE, if_absent="c"),
    "fhir.delete": on_type("d", restricted=Restricted.WRITE_INSTANCE),
    "fhir.instance_history": on_type("r", restricted=Restricted.READ_INSTANCE),
    "fhir.vread": on_type("r", restricted=Restricted.READ_INSTANCE),
    # a member's records are resources of every kind in the member's compartment, plus the team directory
    "fhir.export_cmp_member": on("Patient", "r", also=(("*", "rs"),), restricted=Restricted.READ_INSTANCE),
    "fhir.export_cmp_claim": on("Claim", "r", also=(("*", "rs"),), restricted=Restricted.READ_INSTANCE),
}


@fhir_api.before_request
def refuse_unanswerable() -> None:
    """Refuse a request whose answer could not be written (``Accept``/``_format``, ``_summary``) before any
    work: a write must never commit and then fail as a 406 or 400. :raise NotAcceptable, BadRequest:."""
    req.out_format()
    resource_filter(req.services().definitions.types, request.args.get("_summary"), None)


@fhir_api.get("/metadata")
def metadata() -> Response:
    endpoints = {rule.endpoint for rule in current_app.url_map.iter_rules()}
    served = [pair for endpoint, pairs in INTERACTIONS.items() if endpoint in endpoints for pair in pairs]
    operations = [operation for endpoint, operation in OPERATIONS.items() if endpoint in endpoints]
    statement = capability.capability_statement(req.services(), req.base_url(), served, operations)
    return fhir_response(smart_api.with_security(statement))


@fhir_api.post("/", strict_slashes=False)
def batch_or_transaction() -> Response:
    bundle = req.body_resource()
    audit_context.note_bundle_type(bundle.get("type"))
    result = bundles.process(req.services(), bundle, req.base_url(), return_pref=req.prefer().return_,
                             guard=enforcement.entry_guard())
    return fhir_response(result)


@fhir_api.get("/_history")
def system_history() -> Response:
    return _history(None, None)


@fhir_api.route("/<res_type>", methods=["GET"])
@fhir_api.route("/<res_type>/_search", methods=["POST"])
def search_type(res_type: str) -> Response:
    page = search.search(req.services(), res_type, req.search_pairs(), handling=req.handling(),
                         visibility=enforcement.search_visibility())
    return search_bundle(res_type, page)


@fhir_api.post("/<res_type>")
def create(res_type: str) -> Response:
    result = resources.create(req.services(), res_type, req.body_resource(),
                              if_none_exist=request.headers.get("If-None-Exist"))
    return write_response(result.stored, 201 if result.created else 200, result.issues, location=result.created)


@fhir_api.put("/<res_type>")
def conditional_update(res_type: str) -> Response:
    result = resources.conditional_update(req.services(), res_type, request.query_string.decode("utf-8"),
                                          req.body_resource(), if_match=resources.parse_if_match(
                                              request.headers.get("If-Match")))
    return write_response(result.stored, 201 if result.created else 200, result.issues, location=result.created)


@fhir_api.delete("/<res_type>")
def conditional_delete(res_type: str) -> Response:
    deleted = resources.conditional_delete(req.services(), res_type, request.query_string.decode("utf-8"))
    return _delete_response(deleted, f"{res_type}?{request.query_string.decode('utf-8')}")


@fhir_api.post("/$import-cmp")
def import_cmp() -> Response:
    """CMP records of ``?kind=`` (``application/json`` or ``text/csv``) mapped to our profiles and stored in
    one transaction."""
    svc, kind, source = req.services(), request.args.get("kind"), request.args.get("source", "unknown")
    if request.mimetype in ("application/json", "application/fhir+json"):
        result = cmp_import.import_json_records(svc, kind, req.json_body(), req.base_url(), source_system=source)
    elif request.mimetype == "text/csv":
        result = cmp_import.import_csv(svc, kind, req.text_body(), req.base_url(), source_system=source)
    elif request.mimetype == "application/edi-x12":
        result = cmp_import.import_x12(svc, req.text_body(), req.base_url(), source_system=source, kind=kind)
    else:
        raise UnsupportedMediaType(f"$import-cmp takes CMP records as application/json, text/csv or"
                                   f" application/edi-x12, not {request.mimetype!r}")
    return fhir_response(result)


@fhir_api.get("/Patient/<res_id>/$export-cmp", endpoint="export_cmp_member")
def export_cmp_member(res_id: str) -> Response:
    """The member's CMP records by kind (JSON), or one kind's CSV (``?kind=K&format=csv``)."""
    kinds = [k for value in request.args.getlist("kind") for k in value.split(",") if k]
    if _export_format(("json", "csv")) == "csv":
        return Response(cmp_export.member_records_csv(req.services(), res_id, kinds), content_type="text/csv")
    body = cmp_export.member_records(req.services(), res_id, kinds or None)
    return Response(fhirjson.dumps(body, pretty=True), content_type="application/json")


@fhir_api.get("/Claim/<res_id>/$export-cmp", endpoint="export_cmp_claim")
def export_cmp_claim(res_id: str) -> Response:
    """The claim record (``?format=json``, the default) or an 837P interchange of it (``?format=x12``)."""
    if _export_format(("json", "x12")) == "x12":
        return Response(cmp_export.claim_x12(req.services(), res_id), content_type="application/edi-x12")
    return Response(fhirjson.dumps(cmp_export.claim_record(req.services(), res_id), pretty=True),
                    content_type="application/json")


def _export_format(offered: tuple[str, ...]) -> str:
    """``?format=`` of ``$export-cmp`` (``cmp-`` prefix optional, as the OperationDefinition spells them).

    :raise BadRequest: a format this form of the operation does not give.
    """
    asked = request.args.get("format", "json").removeprefix("cmp-")
    if asked not in offered:
        raise BadRequest(f"$export-cmp here gives format {' or '.join(offered)}, not {asked!r}", expression="format")
    return asked


@fhir_api.route("/ConceptMap/$translate", methods=["GET", "POST"], endpoint="translate")
@fhir_api.route("/ConceptMap/<map_id>/$translate", methods=["GET", "POST"], endpoint="translate")
def translate(map_id: str | None = None) -> Response:
    """``$translate`` over the mappings' ConceptMaps: query parameters or a Parameters body."""
    inputs: dict = dict(request.args.items())
    if request.method == "POST" and request.content_length:
        inputs.update(translate_operation.parameters_to_inputs(req.body_resource()))
    return fhir_response(translate_operation.translate(inputs, map_id))


@fhir_api.post("/<res_type>/$validate")
def validate_type(res_type: str) -> Response:
    return _validate(res_type, None)


@fhir_api.route("/<res_type>/<res_id>/$validate", methods=["GET", "POST"])
def validate_instance(res_type: str, res_id: str) -> Response:
    return _validate(res_type, res_id)


@fhir_api.get("/<res_type>/_history")
def type_history(res_type: str) -> Response:
    return _history(res_type, None)


@fhir_api.get("/<res_type>/<res_id>")
def read(res_type: str, res_id: str) -> Response:
    stored = resources.read(req.services(), res_type, res_id)
    if _not_modified(stored):
        return Response(status=304, headers=version_headers(stored))
    return stored_response(stored)


@fhir_api.put("/<res_type>/<res_id>")
def update(res_type: str, res_id: str) -> Response:
    result = resources.update(req.services(), res_type, res_id, req.body_resource(),
                              if_match=resources.parse_if_match(request.headers.get("If-Match")))
    return write_response(result.stored, 201 if result.created else 200, result.issues, location=result.created)


@fhir_api.delete("/<res_type>/<res_id>")
def delete(res_type: str, res_id: str) -> Response:
    resources.require_id(res_id)
    deleted = resources.delete(req.services(), res_type, res_id,
                               if_match=resources.parse_if_match(request.headers.get("If-Match")))
    return _delete_response(deleted, f"{res_type}/{res_id}")


@fhir_api.get("/<res_type>/<res_id>/_history")
def instance_history(res_type: str, res_id: str) -> Response:
    return _history(res_type, res_id)


@fhir_api.get("/<res_type>/<res_id>/_history/<version>")
def vread(res_type: str, res_id: str, version: str) -> Response:
    return stored_response(resources.vread(req.services(), res_type, res_id, version))


def _validate(res_type: str, res_id: str | None) -> Response:
    """``$validate``: 200 with the OperationOutcome, whatever it says (R4 operation-resource-validate)."""
    body = req.body_resource() if request.method == "POST" and request.content_length else None
    found = validate_operation.validate(req.services(), res_type, res_id, body, request.args.getlist("profile"),
                                        request.args.get("mode"))
    return fhir_response(operation_outcome(found))


def _history(res_type: str | None, res_id: str | None) -> Response:
    svc = req.services()
    history_request = HistoryRequest.from_params(request.args, svc.settings)
    versions, total = resources.history(svc, res_type, res_id, since=history_request.since, at=history_request.at,
                                        count=history_request.count, offset=history_request.offset)
    return history_bundle(res_type, res_id, history_request, versions, total)


def _delete_response(deleted, what: str) -> Response:
    """200 with an OperationOutcome saying what happened (as HAPI does), ETag of the delete marker."""
    if deleted is None:
        return fhir_response(information(f"nothing to delete: {what} does not exist or is already deleted"))
    return fhir_response(information(f"deleted {deleted.res_type}/{deleted.res_id} (version {deleted.version})"),
                         headers={"ETag": deleted.etag})


def _not_modified(stored) -> bool:
    """``If-None-Match`` with the current ETag: the client's copy is current (R4 §3.1.0.1.6)."""
    tag = request.headers.get("If-None-Match")
    return tag is not None and tag.strip() in (stored.etag, f'"{stored.version}"', "*")
