"""``ConceptMap/$translate`` (R4 conceptmap-operation-translate) over the code tables of ``mappings/``.

The ConceptMaps the mappings translate with are the ones the server answers for, so a partner can ask the
adapter what a local code becomes (and back) exactly as an import would map it.
"""

from __future__ import annotations

from collections.abc import Mapping

from adapter.errors import BadRequest, NotFound
from mappings import codes

_TRUE = ("true", "1")


def translate(params: Mapping[str, object], map_id: str | None = None) -> dict:
    """The Parameters answer for one code.

    ``params`` holds the operation's inputs, from the query string or a Parameters body: ``url`` (the
    ConceptMap; implied by ``map_id`` at instance level), ``code`` + ``system`` or ``coding``, ``reverse``.

    :raise NotFound: no ConceptMap with that id or url.
    :raise BadRequest: no code to translate, or no map named.
    """
    url = _map_url(map_id) if map_id is not None else params.get("url")
    if not isinstance(url, str) or not url:
        raise BadRequest("$translate needs the ConceptMap: 'url', or call ConceptMap/[id]/$translate",
                         expression="url")
    code, system = params.get("code"), params.get("system")
    coding = params.get("coding")
    if isinstance(coding, dict):
        code, system = coding.get("code"), coding.get("system")
    if not isinstance(code, str) or not code:
        raise BadRequest("$translate needs a 'code' (with 'system') or a 'coding'", expression="code")
    reverse = str(params.get("reverse", "false")).lower() in _TRUE
    try:
        return codes.translate(url, code, system if isinstance(system, str) else None, reverse=reverse)
    except KeyError as exc:
        raise NotFound(f"no ConceptMap {url} is served here") from exc


def parameters_to_inputs(body: dict) -> dict[str, object]:
    """The inputs of a Parameters body: ``valueX`` of each named parameter (``coding`` keeps its object).

    :raise BadRequest: the body is not a Parameters resource.
    """
    if body.get("resourceType") != "Parameters":
        raise BadRequest("POST $translate takes a Parameters resource")
    inputs: dict[str, object] = {}
    for parameter in body.get("parameter", []):
        if isinstance(parameter, dict) and isinstance(parameter.get("name"), str):
            value = next((v for k, v in parameter.items() if k.startswith("value")), None)
            inputs[parameter["name"]] = value
    return inputs


def _map_url(map_id: str) -> str:
    if map_id not in codes.concept_map_ids():
        raise NotFound(f"ConceptMap/{map_id} is not one of the code tables served here")
    return codes.concept_map(map_id)["url"]
