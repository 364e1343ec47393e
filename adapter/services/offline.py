"""Validation without a server or database: what ``cmp-adapter validate`` runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from adapter.conformance.definitions import Definitions
from adapter.errors import FhirError, Issue
from adapter.services.fhir_files import fhir_files, read_resources
from adapter.services.validation_policy import ValidationPolicy
from adapter.settings import Settings
from adapter.validation import Validator


@dataclass(frozen=True)
class FileResult:
    source: str
    issues: list[Issue]

    @property
    def has_errors(self) -> bool:
        return any(issue.is_error for issue in self.issues)


def offline_validation(settings: Settings, paths: list[Path], profiles: Sequence[str] = ()) -> list[FileResult]:
    """Validate every resource in ``paths`` as the server would on write (base, declared, policy, ``profiles``).

    A file that is not readable FHIR is one result with the parse error.

    Raises:
        adapter.conformance.packages.PackageError: the R4 definitions are not installed.
    """
    definitions = Definitions.load(settings.fhir_packages, settings.core_packages, settings.package_folders,
                                   settings.effective_compiled_cache_dir)
    validator = Validator(definitions)
    policy_path = settings.effective_validation_policy
    policy = ValidationPolicy.load(policy_path) if policy_path else ValidationPolicy.empty()
    results = []
    for path in fhir_files(paths):
        try:
            for source, resource in read_resources(path, definitions.types, settings.max_nesting_depth):
                results.append(FileResult(source, policy.check(validator, resource, profiles)))
        except FhirError as error:
            results.append(FileResult(str(path), error.issues))
        except OSError as error:
            results.append(FileResult(str(path), [Issue("error", "exception", f"cannot read: {error}")]))
    return results
