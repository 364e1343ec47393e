"""The program-rule operations under ``/fhir``: thin handlers over :mod:`adapter.rules`.

- ``GET /fhir/Patient/{id}/$cmp-eligibility``: CMP-ELIG-1..4 met / not met / unknown, with the evidence;
- ``POST /fhir/Claim/$generate-cmp-claims?team=&week=[&store=true]``: a team's draft CMP claims for a week.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from adapter.errors import BadRequest
from adapter.rest import request_info as req
from adapter.rest.responses import fhir_response
from adapter.rules import claim_generation, eligibility

rules_api = Blueprint("rules", __name__, url_prefix="/fhir")

#: Entries for ``fhir_api.OPERATIONS`` (endpoint -> name, OperationDefinition, resource types).
RULE_OPERATIONS = {
    "rules.cmp_eligibility": ("cmp-eligibility", "https://cmp-adapter.org/fhir/OperationDefinition/cmp-eligibility",
                              ("Patient",)),
    "rules.generate_cmp_claims": ("generate-cmp-claims",
                                  "https://cmp-adapter.org/fhir/OperationDefinition/generate-cmp-claims", ("Claim",)),
}


@rules_api.get("/Patient/<res_id>/$cmp-eligibility")
def cmp_eligibility(res_id: str) -> Response:
    return fhir_response(eligibility.evaluate(req.services(), res_id))


@rules_api.post("/Claim/$generate-cmp-claims")
def generate_cmp_claims() -> Response:
    store = request.args.get("store", "false").lower()
    if store not in ("true", "false"):
        raise BadRequest("store is true or false", expression="store")
    return fhir_response(claim_generation.generate(req.services(), request.args.get("team"),
                                                   request.args.get("week"), store=store == "true",
                                                   base_url=req.base_url()))
