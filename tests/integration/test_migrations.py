"""The Alembic migrations build exactly the schema that adapter/store/schema.py declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from adapter.store.migrate import current_revision, upgrade_database
from adapter.store.schema import metadata
from adapter.store.sql import ResourceStore


def test_migrated_database_matches_the_declared_schema(database_url):
    engine = ResourceStore.create_engine(database_url)
    upgrade_database(engine)
    upgrade_database(engine)  # idempotent: a second worker starting finds nothing to do
    assert current_revision(engine) == "0005"  # integrator: the head after re-chaining
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert differences == []
