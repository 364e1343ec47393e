"""Shared fixtures: settings, the R4 definitions (loaded once per session), the official R4 examples.

The R4 definitions come from the FHIR package cache (``CMP_ADAPTER_FHIR_PACKAGES``, default
``~/.fhir/packages``); ``scripts/setup.sh`` (the README's test command) installs them there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from flask.testing import FlaskClient

from adapter.conformance.definitions import Definitions
from adapter.settings import Settings
from tests.databases import POSTGRES_URL, postgres_schema

if TYPE_CHECKING:
    from adapter.services.container import Services

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_PACKAGE = "hl7.fhir.r4.examples#4.0.1"


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings from the environment, with a session-wide compiled-definitions folder.

    Authorization is off here so that tests of other concerns need no tokens; auth tests turn it on with
    ``settings.replace(auth="on")`` (see the ``auth_app`` fixture in tests/integration/test_auth.py). The
    subscription worker thread is off too (each app would poll its database every second); the subscription
    tests run its rounds themselves or turn it on.
    """
    compiled = tmp_path_factory.mktemp("compiled")
    return Settings.load({"compiled_cache_dir": str(compiled), "auth": "off", "subscription_worker": False})


@pytest.fixture(scope="session")
def definitions(base_settings: Settings) -> Definitions:
    return Definitions.load(base_settings.fhir_packages, base_settings.core_packages,
                            base_settings.package_folders, base_settings.effective_compiled_cache_dir)


@pytest.fixture(scope="session")
def r4_examples_dir(base_settings: Settings) -> Path:
    """The unpacked official R4 examples (``hl7.fhir.r4.examples#4.0.1/package``)."""
    folder = Path(base_settings.fhir_packages).expanduser() / EXAMPLES_PACKAGE / "package"
    if not folder.is_dir():
        pytest.fail(f"{EXAMPLES_PACKAGE} is not in the package cache; run scripts/setup.sh")
    return folder


# --- databases and the app -----------------------------------------------------------------------------------



@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database per test: an SQLite file, or a PostgreSQL schema of its own.

    PostgreSQL runs when ``CMP_ADAPTER_TEST_POSTGRES_URL`` is set (``scripts/test.sh`` sets it when a
    server answers on 127.0.0.1:5432), and is skipped otherwise.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite'}"
        return
    if not POSTGRES_URL:
        pytest.skip("CMP_ADAPTER_TEST_POSTGRES_URL is not set")
    with postgres_schema() as url:
        yield url


@pytest.fixture
def settings(base_settings: Settings, database_url: str, tmp_path: Path) -> Settings:
    return base_settings.replace(database_url=database_url, data_dir=str(tmp_path / "data"))


@pytest.fixture
def services(settings: Settings, definitions: Definitions) -> Iterator[Services]:
    """Services on the test database, schema created by the real Alembic migrations."""
    from adapter.services.container import Services

    built = Services.build(settings, definitions=definitions)
    yield built
    built.close()


@pytest.fixture
def app(settings: Settings, services: Services) -> Flask:
    from adapter.app import create_app

    return create_app(settings, services=services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
