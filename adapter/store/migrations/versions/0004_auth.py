"""Authorization: registered clients, replayed-assertion guard, the server's token-signing keys.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_clients",
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("jwks", sa.Text, nullable=True),
        sa.Column("jwks_url", sa.String(1024), nullable=True),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("organizations", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("client_id", name="pk_auth_clients"),
    )
    op.create_table(
        "auth_assertion_jtis",
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("jti", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti", name="pk_auth_assertion_jtis"),
    )
    op.create_index("ix_auth_assertion_jtis_expires_at", "auth_assertion_jtis", ["expires_at"])
    op.create_table(
        "auth_signing_keys",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("private_jwk", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("retired_at", sa.DateTime, nullable=True),
        sa.PrimaryKeyConstraint("kid", name="pk_auth_signing_keys"),
    )


def downgrade() -> None:
    op.drop_table("auth_signing_keys")
    op.drop_index("ix_auth_assertion_jtis_expires_at", table_name="auth_assertion_jtis")
    op.drop_table("auth_assertion_jtis")
    op.drop_table("auth_clients")
