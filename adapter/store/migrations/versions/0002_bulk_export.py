"""Bulk Data $export jobs, and an index for reading a type in primary-key order.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_resources_res_type_pk", "resources", ["res_type", "pk"])
    op.create_table(
        "export_jobs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("request_url", sa.Text, nullable=False),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("transaction_time", sa.DateTime, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=True),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("expires_at", sa.DateTime, nullable=True),
        sa.Column("progress", sa.Text, nullable=True),
        sa.Column("exported", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=True),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("errors", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime, nullable=True),
        sa.Column("client_id", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_export_jobs"),
    )
    op.create_index("ix_export_jobs_state_lease_expires_at", "export_jobs", ["state", "lease_expires_at"])
    op.create_index("ix_export_jobs_expires_at", "export_jobs", ["expires_at"])


def downgrade() -> None:
    op.drop_table("export_jobs")
    op.drop_index("ix_resources_res_type_pk", table_name="resources")
