"""The ``$validate`` operation (R4 resource-operation-validate): is this resource valid, here, for this mode?

The answer is always an OperationOutcome with status 200, whatever it says; only a request that cannot be
understood (no resource, a resource of another type, an unknown mode) is a 4xx.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapter import fhirjson
from adapter.errors import BadRequest, Issue
from adapter.services import resources
from adapter.services.container import Services

MODES = ("create", "update", "delete")


def validate(services: Services, res_type: str, res_id: str | None, body: dict | None,
             profiles: Sequence[str] = (), mode: str | None = None) -> list[Issue]:
    """Validate ``body`` (a resource, or a Parameters with ``resource``/``profile``/``mode``), or the stored
    resource ``res_id`` when there is no body: base R4, declared profiles, ``profiles``, and for
    create/update the profiles the validate-on-write policy requires.

    :raise BadRequest: nothing to validate, a resource of another type, an unknown mode, an id mismatch.
    :raise NotFound, Gone: ``res_id`` names no current resource (when there is no body to validate).
    """
    services.require_type(res_type)
    resource, profiles, mode = _unpack(body, tuple(profiles), mode)
    if mode is not None and mode not in MODES:
        raise BadRequest(f"mode {mode!r} is not one of {', '.join(MODES)}", expression="mode")
    if mode == "delete":
        return _delete_issues(services, res_type, res_id)
    if resource is None:
        if res_id is None:
            raise BadRequest("$validate needs a resource in the body (or a Parameters with 'resource')")
        resource = fhirjson.loads(resources.read(services, res_type, res_id).content or b"{}")
    if resource.get("resourceType") != res_type:
        raise BadRequest(f"the resource is a {resource.get('resourceType')!r}, but the URL is for {res_type!r}")
    if mode == "update" and res_id is not None and resource.get("id") != res_id:
        raise BadRequest(f"mode=update: the resource's id {resource.get('id')!r} is not {res_id!r}")
    if mode in ("create", "update"):
        return services.policy.check(services.validator, resource, profiles)
    return services.validator.validate(resource, profiles)


def _unpack(body: dict | None, profiles: tuple[str, ...], mode: str | None
            ) -> tuple[dict | None, tuple[str, ...], str | None]:
    """Take the resource, profiles and mode out of a Parameters body (R4 $validate in-parameters)."""
    if body is None or body.get("resourceType") != "Parameters":
        return body, profiles, mode
    resource = None
    for parameter in body.get("parameter", []):
        if not isinstance(parameter, dict):
            continue
        if parameter.get("name") == "resource" and isinstance(parameter.get("resource"), dict):
            resource = parameter["resource"]
        elif parameter.get("name") == "profile":
            profiles += tuple(v for v in (parameter.get("valueUri"), parameter.get("valueCanonical")) if v)
        elif parameter.get("name") == "mode":
            mode = parameter.get("valueCode") or mode
    return resource, profiles, mode


def _delete_issues(services: Services, res_type: str, res_id: str | None) -> list[Issue]:
    if res_id is None:
        raise BadRequest("mode=delete needs the id of the resource: POST [type]/[id]/$validate")
    resources.read(services, res_type, res_id)
    return [Issue("information", "informational", f"{res_type}/{res_id} can be deleted")]
