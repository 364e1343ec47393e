"""The one object that holds everything a running service needs, built once per app (or CLI run)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from adapter.conformance.definitions import Definitions
from adapter.errors import NotFound
from adapter.rules.config import ProgramRules
from adapter.rules.write_rules import write_checks as program_rule_checks
from adapter.search.index import Indexer
from adapter.services.validation_policy import ValidationPolicy
from adapter.services.write_checks import WriteCheck
from adapter.settings import Settings
from adapter.store.sql import ResourceStore
from adapter.validation import Validator

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Settings, definitions, store, indexer and validator of one process.

    Request handlers and CLI commands receive this and call service functions with it; nothing keeps
    module-level engines or caches.
    """

    settings: Settings
    definitions: Definitions
    store: ResourceStore
    validator: Validator
    policy: ValidationPolicy
    program_rules: ProgramRules = field(default_factory=lambda: ProgramRules({}))
    #: Run on every write transaction's changes before it commits (:mod:`adapter.services.write_checks`).
    write_checks: list[WriteCheck] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, *, create_schema: bool = False,
              definitions: Definitions | None = None) -> Services:
        """Load the definitions and open the database described by ``settings``.

        ``create_schema`` creates the tables without Alembic; otherwise the schema is brought up to date
        with the migrations. ``definitions`` reuses definitions already loaded (tests, one per session).

        Raises:
            adapter.conformance.packages.PackageError: the R4 definitions are not in the package cache.
            adapter.services.validation_policy.PolicyError: the validation policy file is malformed.
            adapter.rules.config.RulesConfigError: the program rules file or an override is malformed.
        """
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
        definitions = definitions or Definitions.load(
            settings.fhir_packages, settings.core_packages, settings.package_folders,
            settings.effective_compiled_cache_dir)
        engine = ResourceStore.create_engine(settings.effective_database_url, echo=settings.echo_sql)
        store = ResourceStore(engine, Indexer(definitions))
        if create_schema:
            store.create_schema()
        else:
            from adapter.store.migrate import upgrade_database

            upgrade_database(engine)
        policy_path = settings.effective_validation_policy
        policy = ValidationPolicy.load(policy_path) if policy_path else ValidationPolicy.empty()
        rules_path = settings.effective_program_rules
        program_rules = ProgramRules.load(rules_path) if rules_path else ProgramRules({})
        program_rules = program_rules.with_enforcement(settings.rule_enforcement_overrides)
        return cls(settings, definitions, store, Validator(definitions), policy, program_rules,
                   write_checks=program_rule_checks())

    def supports_type(self, res_type: str) -> bool:
        return res_type in self.settings.resource_types and self.definitions.types.is_resource_type(res_type)

    def require_type(self, res_type: str) -> None:
        """:raise NotFound: the type is not a resource type this server offers."""
        if not self.supports_type(res_type):
            raise NotFound(f"resource type {res_type!r} is not supported by this server", expression=res_type)

    def close(self) -> None:
        self.store.engine.dispose()
