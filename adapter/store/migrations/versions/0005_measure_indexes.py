"""Measure statistics: the planner's view of the index tables' correlated columns (issue 6).

Every index-table query filters on ``res_type`` and ``param`` and then a value (``code``, ``system``,
``target_type``). Those columns are strongly correlated (``param = 'class'`` implies the ActCode system),
and PostgreSQL multiplies their selectivities as if independent: on 120,000 quality contacts it expected
5,000 rows where there were 120,000 and chose nested loops of index probes. Extended statistics (functional
dependencies and most-common-value lists over the column groups) give it the real counts, and it hashes.
PostgreSQL only; SQLite has no such statistics. No new index was needed (docs/performance.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: (statistics name, table, columns)
STATISTICS = (
    ("st_search_token_param_code", "search_token", ("res_type", "param", "code", "system")),
    ("st_search_reference_param_target", "search_reference", ("res_type", "param", "target_type")),
    ("st_search_date_param", "search_date", ("res_type", "param")),
)


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for name, table, columns in STATISTICS:
        op.execute(f"CREATE STATISTICS IF NOT EXISTS {name} (dependencies, mcv) ON {', '.join(columns)} FROM {table}")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for name, _, _ in STATISTICS:
        op.execute(f"DROP STATISTICS IF EXISTS {name}")
