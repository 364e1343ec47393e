"""Authorization of every request (Flask side): one ``before_request`` hook driven by the :class:`Need` tables.

HAPI-style interceptor rather than checks in handlers: the hook finds the endpoint's declaration, checks the
bearer token (401 with ``WWW-Authenticate: Bearer`` when missing or bad), the scopes (403), and for a client
restricted to organizations the instance or content the request touches. Handlers only pass
:func:`search_visibility` / :func:`entry_guard` to the services that filter searches and Bundle entries.
An endpoint without a declaration is refused (fail-closed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask, current_app, g, request

from adapter.auth import organizations
from adapter.auth.access import Access
from adapter.auth.clients import ClientRegistry
from adapter.auth.content import content_refusal
from adapter.auth.entries import EntryGuard
from adapter.auth.keys import SigningKeys
from adapter.auth.needs import Need, Restricted
from adapter.auth.tokens import ExternalIssuer, TokenService
from adapter.errors import BadRequest, Forbidden
from adapter.rest import request_info
from adapter.search.visibility import Visibility
from adapter.services.container import Services
from adapter.settings import Settings

log = logging.getLogger(__name__)
EXTENSION = "cmp-auth"
_ON, _OFF = {"on", "true", "1", "yes"}, {"off", "false", "0", "no"}


@dataclass
class Authorization:
    """The per-app authorization state (``app.extensions["cmp-auth"]``)."""

    enabled: bool
    needs: dict[str, Need]
    clients: ClientRegistry
    tokens: TokenService
    compartments: dict[str, tuple[str, ...]]


def auth_enabled(settings: Settings) -> bool:
    """:raise ValueError: ``auth`` is neither on nor off."""
    value = settings.auth.strip().lower()
    if value not in _ON | _OFF:
        raise ValueError(f"CMP_ADAPTER_AUTH must be 'on' or 'off', not {settings.auth!r}")
    return value in _ON


def init_app(app: Flask, settings: Settings, services: Services, needs: Mapping[str, Need]) -> None:
    """Install the hook, with the endpoints' declarations. Logs a WARNING when authorization is off.

    :raise ValueError: ``settings.auth`` is neither on nor off.
    """
    enabled = auth_enabled(settings)
    if enabled and not settings.base_url:
        log.warning("CMP_ADAPTER_BASE_URL is not set: the token URL (the 'aud' client assertions must carry) "
                    "follows each request's Host header. Set it to the public https://host/fhir in production.")
    if not enabled:
        log.warning("AUTHORIZATION IS OFF (CMP_ADAPTER_AUTH=off): anyone who can reach this server can read and "
                    "change every record. Use it only on localhost for demos and tests.")
    engine = services.store.engine
    clients = ClientRegistry(engine)
    external = (ExternalIssuer(settings.auth_external_issuer, settings.auth_external_jwks_url,
                               settings.auth_external_audience)
                if settings.auth_external_issuer and settings.auth_external_jwks_url else None)
    tokens = TokenService(engine, clients, SigningKeys(engine, settings.auth_key_rotation_days),
                          settings.auth_token_lifetime, external)
    app.extensions[EXTENSION] = Authorization(enabled, dict(needs), clients, tokens,
                                              organizations.compartment_params(services.definitions))
    app.before_request(_authorize)


def state() -> Authorization:
    return current_app.extensions[EXTENSION]


def current_access() -> Access | None:
    """The caller of this request, or None when authorization is off (or the endpoint is public)."""
    return g.get("cmp_access")


def search_visibility() -> Visibility | None:
    """What the caller may see in a search (None: everything)."""
    return organizations.visibility(current_access(), state().compartments)


def entry_guard() -> EntryGuard | None:
    """The checks each batch/transaction entry goes through (None: authorization is off)."""
    access = current_access()
    if access is None:
        return None
    services: Services = current_app.extensions["cmp"]
    return EntryGuard(access, search_visibility(), organizations.members(access, state().compartments),
                      services.store.indexer)


def _authorize() -> None:
    auth = state()
    if not auth.enabled or request.endpoint is None:
        return
    need = auth.needs.get(request.endpoint)
    if need is None:
        raise Forbidden(f"the endpoint {request.endpoint!r} declares no access rule, so it is refused "
                        "while authorization is on")
    if need.public:
        return
    access = auth.tokens.access_for(request.headers.get("Authorization"))
    g.cmp_access = access
    g.client_id = access.client_id  # who the audit trail names (adapter.audit.context)
    refusal = need.refusal(access, request.view_args, extra=_extra_letters(need, access))
    if refusal is not None:
        raise Forbidden(refusal)
    if request.method in ("POST", "PUT") and need.resource_type(request.view_args) == "Subscription":
        refusal = content_refusal(access, _body())
        if refusal is not None:
            raise Forbidden(refusal)
    if access.restricted:
        _check_organizations(auth, need, access)


def _extra_letters(need: Need, access: Access) -> str:
    extra = "".join(letters for header, letters in need.if_header if request.headers.get(header))
    view_args = request.view_args or {}
    res_type = need.resource_type(view_args)
    if need.if_absent and not all(access.permissions.allows(res_type, x) for x in need.if_absent):
        services: Services = current_app.extensions["cmp"]
        with services.store.connect() as conn:
            if services.store.read(conn, res_type, view_args.get("res_id", "")) is None:
                extra += need.if_absent
    return extra


def _check_organizations(auth: Authorization, need: Need, access: Access) -> None:
    """The organization restriction for the endpoint's :class:`Restricted` mode."""
    mode = need.restricted
    if mode in (Restricted.FILTER, Restricted.NO_MEMBER_DATA, Restricted.ENTRIES):
        return
    if mode is Restricted.REFUSE:
        raise Forbidden(f"{request.method} {request.path} is not available to clients restricted to "
                        "organizations (it cannot be limited to their members yet)")
    members = organizations.members(access, auth.compartments)
    assert members is not None  # access.restricted
    services: Services = current_app.extensions["cmp"]
    view_args = request.view_args or {}
    res_type, res_id = need.resource_type(view_args), view_args.get("res_id")
    if mode is Restricted.READ_INSTANCE:
        with services.store.connect() as conn:
            organizations.check_read(conn, members, res_type, res_id or "")
        return
    if request.headers.get("If-None-Exist"):
        raise Forbidden("conditional creates are not available to clients restricted to organizations")
    body = _body() if request.method in ("POST", "PUT") else None
    with services.store.connect() as conn:
        organizations.check_write(conn, members, services.store.indexer, res_type, res_id, body)


def _body() -> dict:
    """The request body decoded as the handler will decode it (cached, so the handler reads it again)."""
    request.get_data()  # cache the bytes: the handler's get_data(cache=False) then returns them
    resource = request_info.body_resource()
    if not isinstance(resource, dict):
        raise BadRequest("the body is not a resource")
    return resource
