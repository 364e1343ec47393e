"""A ``Subscription`` resource as this server understands it, and the checks made when one is written.

R4 subscription.html: the client submits a subscription as ``requested`` (or ``off``); the server checks
it and sets ``active``, or refuses it; only the server sets ``error``. This server implements the
``rest-hook`` channel only, so other channel types are refused instead of being accepted and never run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from adapter.conformance.definitions import Definitions
from adapter.errors import BadRequest, Issue, Unprocessable
from adapter.search.params import parse_search

#: The channel types this server runs (R4 subscription-channel-type).
SUPPORTED_CHANNELS = ("rest-hook",)
#: ``channel.payload`` MIME types a notification can carry, by the wire format that encodes them.
PAYLOAD_FORMATS = {
    "application/fhir+json": "json", "application/json": "json", "application/json+fhir": "json",
    "application/fhir+xml": "xml", "application/xml": "xml", "application/xml+fhir": "xml",
}
#: Search result parameters that make no sense in criteria (they shape pages, not matches).
_RESULT_PARAMETERS = frozenset({"_count", "_offset", "_sort", "_total", "_summary", "_elements", "_include",
                                "_revinclude", "_contained", "_containedType", "_format", "_pretty"})
#: Statuses a client may submit; ``requested`` becomes ``active``, ``error`` is the server's to set.
_CLIENT_STATUSES = {"requested": "active", "active": "active", "off": "off"}


@dataclass(frozen=True)
class Criteria:
    """``Type?name=value&...`` split into the type and its (name, value) pairs."""

    res_type: str
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RestHook:
    """Where and how to notify: the endpoint, extra headers, and the payload MIME type (None: no body)."""

    endpoint: str
    headers: tuple[tuple[str, str], ...]
    payload: str | None


@dataclass(frozen=True)
class SubscriptionSpec:
    """The parts of a Subscription the matcher and the deliverer need."""

    id: str
    status: str
    criteria: Criteria
    channel: RestHook
    end: str | None


def split_criteria(criteria: str) -> Criteria:
    """``CarePlan?category=x`` → Criteria("CarePlan", (("category", "x"),)); a bare type matches all.

    :raise ValueError: no resource type before the ``?``.
    """
    res_type, _, query = criteria.strip().partition("?")
    if not res_type or "/" in res_type:
        raise ValueError(f"criteria {criteria!r} must be a search like 'CarePlan?category=...'")
    return Criteria(res_type, tuple(parse_qsl(query, keep_blank_values=True)))


def check_subscription(definitions: Definitions, served_types: Sequence[str], resource: dict) -> None:
    """Check a Subscription about to be stored and set its server-managed status (``requested`` → ``active``).

    The criteria must be a search this server can run on a type it serves (parsed strictly, so that a
    misspelt parameter is an error rather than a subscription to everything); the channel must be a
    ``rest-hook`` to an http(s) URL; headers must be ``Name: value``; the payload a JSON or XML FHIR type.

    :raise Unprocessable: what is wrong, each with its element path.
    """
    problems = [*_criteria_problems(definitions, served_types, resource.get("criteria")),
                *_channel_problems(resource.get("channel"))]
    status = resource.get("status")
    if not isinstance(status, str) or status not in _CLIENT_STATUSES:
        problems.append(Issue("error", "business-rule",
                              f"a client submits a subscription as 'requested' or 'off', not {status!r}; "
                              "the server sets 'active' and 'error'", "Subscription.status"))
    if problems:
        raise Unprocessable(issues=problems)
    resource["status"] = _CLIENT_STATUSES[status]
    if resource["status"] == "active":
        resource.pop("error", None)


def read_subscription(resource: dict) -> SubscriptionSpec:
    """The stored Subscription as a :class:`SubscriptionSpec` (it passed :func:`check_subscription`).

    :raise ValueError: it does not parse (written before a rule changed): the caller skips it.
    """
    channel = resource.get("channel") or {}
    headers = tuple(_split_header(h) for h in channel.get("header") or ())
    if channel.get("type") != "rest-hook" or not channel.get("endpoint"):
        raise ValueError(f"Subscription/{resource.get('id')} has no rest-hook endpoint")
    return SubscriptionSpec(resource["id"], resource.get("status", ""), split_criteria(resource.get("criteria", "")),
                            RestHook(channel["endpoint"], headers, channel.get("payload")), resource.get("end"))


def _criteria_problems(definitions: Definitions, served_types: Sequence[str], criteria: object) -> list[Issue]:
    where = "Subscription.criteria"
    if not isinstance(criteria, str) or not criteria.strip():
        return [Issue("error", "required", "criteria is required: a search such as 'CarePlan?category=...'", where)]
    try:
        parsed = split_criteria(criteria)
    except ValueError as exc:
        return [Issue("error", "value", str(exc), where)]
    if parsed.res_type not in served_types or not definitions.types.is_resource_type(parsed.res_type):
        return [Issue("error", "not-supported",
                      f"criteria {criteria!r}: {parsed.res_type!r} is not a resource type this server offers", where)]
    shaping = sorted({name.split(":", 1)[0] for name, _ in parsed.pairs} & _RESULT_PARAMETERS)
    if shaping:
        return [Issue("error", "not-supported",
                      f"criteria {criteria!r}: {', '.join(shaping)} shape(s) search results and cannot select "
                      "what to notify", where)]
    try:
        parse_search(definitions, parsed.res_type, parsed.pairs, handling="strict")
    except BadRequest as exc:
        return [Issue("error", "value", f"criteria {criteria!r}: {issue.diagnostics}", where)
                for issue in exc.issues]
    return []


def _channel_problems(channel: object) -> list[Issue]:
    if not isinstance(channel, dict):
        return [Issue("error", "required", "channel is required", "Subscription.channel")]
    problems = []
    kind = channel.get("type")
    if kind not in SUPPORTED_CHANNELS:
        problems.append(Issue("error", "not-supported",
                              f"channel type {kind!r} is not supported; this server delivers "
                              f"{', '.join(SUPPORTED_CHANNELS)} only", "Subscription.channel.type"))
    endpoint = channel.get("endpoint")
    parts = urlsplit(endpoint) if isinstance(endpoint, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(Issue("error", "value", f"channel endpoint {endpoint!r} must be an http(s) URL",
                              "Subscription.channel.endpoint"))
    payload = channel.get("payload")
    if payload is not None and (not isinstance(payload, str)
                                or payload.split(";", 1)[0].strip() not in PAYLOAD_FORMATS):
        problems.append(Issue("error", "not-supported",
                              f"channel payload {payload!r} is not supported; use one of "
                              f"{', '.join(PAYLOAD_FORMATS)} or leave it out for an empty notification",
                              "Subscription.channel.payload"))
    headers = channel.get("header") or []
    for index, header in enumerate(headers if isinstance(headers, list) else [headers]):
        try:
            _split_header(header)
        except ValueError as exc:
            problems.append(Issue("error", "value", str(exc), f"Subscription.channel.header[{index}]"))
    return problems


def _split_header(header: object) -> tuple[str, str]:
    """``"Authorization: Bearer x"`` → ("Authorization", "Bearer x").

    :raise ValueError: not ``Name: value`` with a token name and no line breaks.
    """
    if not isinstance(header, str) or "\n" in header or "\r" in header:
        raise ValueError(f"channel header {header!r} must be one line 'Name: value'")
    name, colon, value = header.partition(":")
    if not colon or not name.strip() or any(c in name for c in " \t()<>@,;\\\"/[]?={}"):
        raise ValueError(f"channel header {header!r} must be 'Name: value'")
    return name.strip(), value.strip()
