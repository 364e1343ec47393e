"""Shared fixtures: settings, the R4 definitions (loaded once per session), the official R4 examples.

The R4 definitions come from the FHIR package cache (``CMP_ADAPTER_FHIR_PACKAGES``, default
``~/.fhir/packages``); ``scripts/setup.sh`` (the README's test command) installs them there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapter.conformance.definitions import Definitions
from adapter.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_PACKAGE = "hl7.fhir.r4.examples#4.0.1"


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings from the environment, with a session-wide compiled-definitions folder."""
    compiled = tmp_path_factory.mktemp("compiled")
    return Settings.load({"compiled_cache_dir": str(compiled)})


@pytest.fixture(scope="session")
def definitions(base_settings: Settings) -> Definitions:
    return Definitions.load(base_settings.fhir_packages, base_settings.core_packages,
                            base_settings.extra_packages, base_settings.effective_compiled_cache_dir)


@pytest.fixture(scope="session")
def r4_examples_dir(base_settings: Settings) -> Path:
    """The unpacked official R4 examples (``hl7.fhir.r4.examples#4.0.1/package``)."""
    folder = Path(base_settings.fhir_packages).expanduser() / EXAMPLES_PACKAGE / "package"
    if not folder.is_dir():
        pytest.fail(f"{EXAMPLES_PACKAGE} is not in the package cache; run scripts/setup.sh")
    return folder
