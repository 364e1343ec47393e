"""A FHIR R4 client on :mod:`requests`, for any FHIR R4 server (this adapter, HAPI, Firely, ...).

It knows nothing about this adapter: it speaks only the R4 RESTful API. The modules are private; these
names are the public surface::

    from adapter.client import FhirClient

    with FhirClient("http://127.0.0.1:8080/fhir", auth=token) as client:
        patient = client.create({"resourceType": "Patient", "name": [{"family": "Ng"}]})
        for encounter in client.resources("Encounter").search(subject=f"Patient/{patient['id']}").sort("-date"):
            ...

``push``/``pull``/``sandbox_check`` are what the ``cmp-adapter`` exchange commands run.
"""

from adapter.client._auth import BearerAuth, TokenSource
from adapter.client._bulk import ExportDownload, ExportJob, ExportStatus
from adapter.client._client import FhirClient, ResourceLike, ResourceModel, as_resource
from adapter.client._config import DEFAULT_TIMEOUT, Retries
from adapter.client._exceptions import (
    BadRequest,
    BulkExportError,
    Conflict,
    ConnectError,
    FhirClientError,
    Forbidden,
    HTTPStatusError,
    MethodNotAllowed,
    PreconditionFailed,
    RequestTimeout,
    ResourceGone,
    ResourceNotFound,
    ServerError,
    TokenError,
    TooManyRequests,
    TransportError,
    Unauthorized,
    UnprocessableEntity,
    UnsafeURLError,
)
from adapter.client._exchange import (
    CheckReport,
    FileFormatError,
    Item,
    PushReport,
    compare,
    dependency_order,
    pull,
    pull_export,
    push,
    read_items,
    read_many,
    sandbox_check,
)
from adapter.client._search import SearchSet
from adapter.client._smart import BackendServicesCredentials, load_private_key, public_jwk

__all__ = [
    "DEFAULT_TIMEOUT",
    "BackendServicesCredentials",
    "BadRequest",
    "BearerAuth",
    "BulkExportError",
    "CheckReport",
    "Conflict",
    "ConnectError",
    "ExportDownload",
    "ExportJob",
    "ExportStatus",
    "FhirClient",
    "FhirClientError",
    "FileFormatError",
    "Forbidden",
    "HTTPStatusError",
    "Item",
    "MethodNotAllowed",
    "PreconditionFailed",
    "PushReport",
    "RequestTimeout",
    "ResourceGone",
    "ResourceLike",
    "ResourceModel",
    "ResourceNotFound",
    "Retries",
    "SearchSet",
    "ServerError",
    "TokenError",
    "TokenSource",
    "TooManyRequests",
    "TransportError",
    "Unauthorized",
    "UnprocessableEntity",
    "UnsafeURLError",
    "as_resource",
    "compare",
    "dependency_order",
    "load_private_key",
    "public_jwk",
    "pull",
    "pull_export",
    "push",
    "read_items",
    "read_many",
    "sandbox_check",
]
