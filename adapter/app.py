"""The Flask application factory: the only way to get an app."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, redirect

from adapter import audit
from adapter.rest import errors
from adapter.rest.fhir_api import fhir_api
from adapter.services.container import Services
from adapter.settings import Settings


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
    audit.init_app(app)
    app.register_blueprint(fhir_api)
    app.add_url_rule("/", "root", lambda: redirect("/fhir/metadata"))
    logging.getLogger("adapter").setLevel(logging.INFO)
    return app
