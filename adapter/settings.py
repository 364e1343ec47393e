"""Service configuration, read once into a frozen object.

Configuration comes from three layers, later ones winning: the defaults below, environment variables with
the ``CMP_ADAPTER_`` prefix, then an explicit mapping (tests, the CLI). Nothing else in the code base reads
``os.environ``: every component receives the :class:`Settings` it needs.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "CMP_ADAPTER_"

#: Resource types the server offers by default: BRIEF §3 plus the supporting and conformance types of issue 2.
DEFAULT_RESOURCE_TYPES: tuple[str, ...] = (
    "Patient", "Coverage", "EpisodeOfCare", "Organization", "CareTeam", "Observation", "CarePlan",
    "Encounter", "Claim", "ClaimResponse", "ExplanationOfBenefit", "ServiceRequest", "Questionnaire",
    "QuestionnaireResponse", "Measure", "MeasureReport", "Practitioner", "PractitionerRole", "Condition",
    "Goal", "Provenance", "AuditEvent", "Group", "Location", "Binary", "Basic", "Bundle",
    "StructureDefinition", "ValueSet", "CodeSystem", "ConceptMap", "SearchParameter", "OperationDefinition",
    "CapabilityStatement", "ImplementationGuide", "NamingSystem",
    "Subscription",
)

#: FHIR packages whose definitions the server needs; the first one found in the cache is used.
DEFAULT_CORE_PACKAGES: tuple[str, ...] = ("hl7.fhir.r4.core#4.0.1", "hl7.fhir.r4.examples#4.0.1")


def _default_package_cache() -> str:
    return str(Path.home() / ".fhir" / "packages")


def _default_ig_dir() -> str:
    """Our IG package (``profiles/``) when running from a source checkout; empty otherwise."""
    checkout = Path(__file__).resolve().parent.parent / "profiles"
    return str(checkout) if (checkout / "package.json").is_file() else ""


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one running service.

    Each field maps to an environment variable: ``database_url`` is ``CMP_ADAPTER_DATABASE_URL``.
    Tuples are given as comma-separated lists, booleans as ``1/true/yes/on`` or ``0/false/no/off``.
    """

    #: Folder for the default SQLite database and exported files; created when missing.
    data_dir: str = "data"
    #: Any SQLAlchemy URL; empty means an SQLite file in ``data_dir``.
    database_url: str = ""
    #: The FHIR package cache (the layout HAPI, SUSHI and the HL7 validator share).
    fhir_packages: str = field(default_factory=_default_package_cache)
    #: Packages with the R4 core definitions, in order of preference.
    core_packages: tuple[str, ...] = DEFAULT_CORE_PACKAGES
    #: Where the compiled definitions cache goes; empty means ``<data_dir>/cache``.
    compiled_cache_dir: str = ""
    #: Our implementation guide (the ``cmp.fhir.ig`` package folder), loaded right after the core.
    ig_dir: str = field(default_factory=_default_ig_dir)
    #: The validate-on-write policy (JSON); empty means ``<ig_dir>/other/validation-policy.json`` if present.
    validation_policy: str = ""
    #: The program rules' parameters and enforcement (JSON); empty means ``<ig_dir>/other/program-rules.json``.
    program_rules: str = ""
    #: Per-deployment enforcement overrides, e.g. ``CMP-BILL-2=warn,SCP-5=off`` (a state phasing rules in).
    rule_enforcement: tuple[str, ...] = ()
    #: More package folders (unpacked, holding ``package.json``) loaded after ours: US Core, a state's IG...
    extra_packages: tuple[str, ...] = ()
    #: Resource types served; anything else is 404.
    resource_types: tuple[str, ...] = DEFAULT_RESOURCE_TYPES
    #: Public base URL (``https://host/fhir``) for links; empty means derived from each request.
    base_url: str = ""
    #: Largest request body accepted, in bytes (413 above).
    max_body_bytes: int = 16 * 1024 * 1024
    #: Deepest JSON/XML nesting accepted in a request body.
    max_nesting_depth: int = 64
    #: Page size when ``_count`` is absent, and the largest page served.
    default_page_size: int = 20
    max_page_size: int = 1000
    #: ``lenient`` ignores unknown search parameters, ``strict`` rejects them (``Prefer: handling``).
    default_handling: str = "lenient"
    #: Log SQL statements (debugging only).
    echo_sql: bool = False
    #: Run the subscription worker (matching and rest-hook delivery) in a thread of each server process.
    subscription_worker: bool = True
    #: How often the worker looks for new versions and due deliveries, in milliseconds.
    subscription_poll_ms: int = 1000
    #: Retry schedule of a failed notification: the first wait, doubled after each failure up to the max.
    subscription_retry_initial_ms: int = 2000
    subscription_retry_max_ms: int = 300_000
    #: Failed attempts of one notification after which its subscription is set to ``error``.
    subscription_max_attempts: int = 6
    #: Timeout of one notification request (connect and read), in milliseconds.
    subscription_timeout_ms: int = 10_000
    #: Notifications sent at the same time by one process (a slow endpoint holds only one of them).
    subscription_delivery_threads: int = 4
    #: Versions read from the log per matching round.
    subscription_batch_size: int = 500
    #: Delivered and abandoned notifications are kept this long (hours) for inspection, then removed.
    subscription_keep_hours: int = 24
    #: Bulk Data $export (docs/decisions/009-bulk-export-jobs.md): seconds a finished export's files are
    #: kept (then deleted with the job); worker threads per process (0: this process runs no export jobs);
    #: seconds a worker's lease on a job lasts without renewal (a dead worker's job is re-claimed after it);
    #: attempts before a job that keeps being interrupted fails; resources per read page and per file;
    #: the Retry-After sent while a job runs; whether the manifest says the files need the access token.
    export_retention_seconds: int = 3600
    export_workers: int = 2
    export_lease_seconds: int = 30
    export_max_attempts: int = 3
    export_page_size: int = 1000
    export_file_max_resources: int = 100_000
    export_retry_after_seconds: int = 2
    export_requires_access_token: bool = False
    #: SMART Backend Services authorization (docs/security.md): ``on`` (the default) or ``off``. ``off`` lets
    #: anyone read and write everything; the server logs a WARNING at start-up and says so in its metadata.
    auth: str = "on"
    #: Lifetime of the access tokens our token endpoint issues, in seconds (SMART suggests at most 5 minutes).
    auth_token_lifetime: int = 300
    #: Our token-signing key is replaced by a new one after this many days (the old one verifies until unused).
    auth_key_rotation_days: int = 30
    #: Accept access tokens from an external authorization server instead of (besides) ours: its ``iss``
    #: and the URL of its JWKS; ``auth_external_audience`` is the ``aud`` its tokens must carry (optional).
    auth_external_issuer: str = ""
    auth_external_jwks_url: str = ""
    auth_external_audience: str = ""
    #: Record an AuditEvent for every REST interaction (docs/decisions/014-audit-trail.md).
    audit: bool = True
    #: AuditEvents of reads, searches and refusals are spooled and stored in batches at most this many ms
    #: apart; 0 stores each one before the response leaves (writes are always audited in their transaction).
    audit_flush_ms: int = 200

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{Path(self.data_dir).resolve() / 'cmp-adapter.sqlite'}"

    @property
    def exports_dir(self) -> Path:
        """Where Bulk Data export files are written: ``<data_dir>/exports/<job id>/``."""
        return Path(self.data_dir).resolve() / "exports"

    @property
    def effective_compiled_cache_dir(self) -> str:
        return self.compiled_cache_dir or str(Path(self.data_dir) / "cache")

    @property
    def effective_validation_policy(self) -> str:
        if self.validation_policy:
            return self.validation_policy
        default = Path(self.ig_dir) / "other" / "validation-policy.json" if self.ig_dir else None
        return str(default) if default is not None and default.is_file() else ""

    @property
    def effective_program_rules(self) -> str:
        if self.program_rules:
            return self.program_rules
        default = Path(self.ig_dir) / "other" / "program-rules.json" if self.ig_dir else None
        return str(default) if default is not None and default.is_file() else ""

    @property
    def rule_enforcement_overrides(self) -> dict[str, str]:
        """``rule_enforcement`` as ``{rule id: mode}``.

        :raise ValueError: an entry is not ``RULE=mode``.
        """
        overrides = {}
        for entry in self.rule_enforcement:
            rule_id, sep, mode = entry.partition("=")
            if not sep or not rule_id.strip() or not mode.strip():
                raise ValueError(f"{ENV_PREFIX}RULE_ENFORCEMENT: expected RULE=enforce|warn|off, got {entry!r}")
            overrides[rule_id.strip()] = mode.strip()
        return overrides

    @property
    def package_folders(self) -> tuple[str, ...]:
        """Every package folder to load after the core, ours first."""
        return ((self.ig_dir,) if self.ig_dir else ()) + self.extra_packages

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
             ) -> Settings:
        """Build settings from defaults, then ``CMP_ADAPTER_*`` variables, then ``overrides``.

        Raises:
            ValueError: an unknown override key or a value that does not convert to the field's type.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        by_name = {f.name: f for f in fields(cls)}
        for name, f in by_name.items():
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw is not None:
                values[name] = _convert(f, raw)
        for key, value in (overrides or {}).items():
            if key not in by_name:
                raise ValueError(f"unknown setting {key!r}")
            values[key] = _convert(by_name[key], value) if isinstance(value, str) else value
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _convert(f: dataclasses.Field, raw: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"{ENV_PREFIX}{f.name.upper()}: expected a boolean, got {raw!r}")
    if kind == "int":
        try:
            return int(raw)
        except ValueError as exc:
            raise ValueError(f"{ENV_PREFIX}{f.name.upper()}: expected an integer, got {raw!r}") from exc
    if kind.startswith("tuple"):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw
