"""Authorization: SMART Backend Services tokens, SMART system scopes, organization-level access.

Modules, pure first: ``scopes`` (SMART v1/v2 system scopes), ``access`` (an authenticated caller),
``needs`` (what each endpoint declares it needs), ``clients`` (the client registry), ``keys`` (our
signing keys), ``tokens`` (token endpoint and token checks), ``organizations`` (members and compartments),
``entries`` (Bundle entries); Flask side: ``enforcement`` (the before-request hook) and ``smart_api``
(discovery and the token endpoint); ``cli`` (``cmp-adapter clients``). See docs/security.md and
docs/decisions/012-authorization.md.
"""
