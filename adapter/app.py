"""The Flask application factory: the only way to get an app."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, redirect

from adapter import audit
from adapter.auth import enforcement, smart_api
from adapter.auth.needs import PUBLIC
from adapter.rest import bulk_api, errors
from adapter.rest.bulk_api import ACCESS as BULK_ACCESS
from adapter.rest.fhir_api import ACCESS, fhir_api
from adapter.rest.measures_api import ACCESS as MEASURES_ACCESS
from adapter.rest.measures_api import measures_api
from adapter.rest.rules_api import ACCESS as RULES_ACCESS
from adapter.rest.rules_api import rules_api
from adapter.services.container import Services
from adapter.settings import Settings
from adapter.subscriptions import worker as subscriptions


def create_app(config: Mapping[str, Any] | Settings | None = None, *, services: Services | None = None) -> Flask:
    """Build the service: settings (defaults, ``CMP_ADAPTER_*`` env, then ``config``), definitions, store.

    ``services`` lets a caller that already built them (the CLI, tests) share them with the app.

    Raises:
        adapter.conformance.packages.PackageError: the R4 definitions are not installed.
    """
    settings = config if isinstance(config, Settings) else Settings.load(config)
    app = Flask(__name__)
    app.config.from_mapping(MAX_CONTENT_LENGTH=settings.max_body_bytes, JSON_SORT_KEYS=False)
    app.extensions["cmp"] = services or Services.build(settings)
    errors.init_app(app)
    audit.init_app(app)  # first: refusals by the auth hooks are audited with their request id
    access = {**ACCESS, **BULK_ACCESS, **RULES_ACCESS, **MEASURES_ACCESS, **smart_api.ACCESS, "root": PUBLIC}
    enforcement.init_app(app, settings, app.extensions["cmp"], access)
    app.register_blueprint(smart_api.smart_api)
    app.register_blueprint(fhir_api)
    bulk_api.init_app(app)
    app.register_blueprint(measures_api)
    app.register_blueprint(rules_api)
    app.add_url_rule("/", "root", lambda: redirect("/fhir/metadata"))
    subscriptions.init_app(app)
    logging.getLogger("adapter").setLevel(logging.INFO)
    return app
