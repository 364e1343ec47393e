"""Subscriptions: the matcher's cursor over resource_versions and the durable delivery queue.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "subscription_cursor",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("position", PK, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_subscription_cursor"),
    )
    # Start at the end of the log: versions written before subscriptions existed notify nobody.
    op.execute("INSERT INTO subscription_cursor (name, position) "
               "SELECT 'log', COALESCE(MAX(pk), 0) FROM resource_versions")
    op.create_table(
        "subscription_deliveries",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.String(64), nullable=False),
        sa.Column("version_pk", PK, nullable=False),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("pk", name="pk_subscription_deliveries"),
        sa.UniqueConstraint("subscription_id", "version_pk",
                            name="uq_subscription_deliveries_subscription_id_version_pk"),
    )
    op.create_index("ix_subscription_deliveries_status_next_attempt_at", "subscription_deliveries",
                    ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("subscription_deliveries")
    op.drop_table("subscription_cursor")
