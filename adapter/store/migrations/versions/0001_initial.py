"""Initial schema: resources, resource_versions and the search index tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: Value columns, indexes and prefix-searched columns (``text_pattern_ops`` on PostgreSQL) of each search
#: index table: the frozen copy of adapter/store/schema.py at this revision.
INDEX_TABLES = {
    "search_string": ([sa.Column("value_norm", sa.String(255), nullable=False),
                       sa.Column("value_exact", sa.Text, nullable=False)],
                      [("res_type", "param", "value_norm")], ("value_norm",)),
    "search_token": ([sa.Column("system", sa.String(255)), sa.Column("code", sa.String(255)),
                      sa.Column("text_norm", sa.String(255))],
                     [("res_type", "param", "code", "system"), ("res_type", "param", "text_norm")], ("text_norm",)),
    "search_date": ([sa.Column("low", sa.DateTime, nullable=False), sa.Column("high", sa.DateTime, nullable=False)],
                    [("res_type", "param", "low", "high")], ()),
    "search_number": ([sa.Column("low", sa.Float, nullable=False), sa.Column("high", sa.Float, nullable=False)],
                      [("res_type", "param", "low")], ()),
    "search_quantity": ([sa.Column("system", sa.String(255)), sa.Column("code", sa.String(255)),
                         sa.Column("low", sa.Float, nullable=False), sa.Column("high", sa.Float, nullable=False)],
                        [("res_type", "param", "code", "low")], ()),
    "search_reference": ([sa.Column("target_type", sa.String(64)), sa.Column("target_id", sa.String(64)),
                          sa.Column("target_url", sa.String(255)), sa.Column("target_version", sa.String(64))],
                         [("res_type", "param", "target_id", "target_type"), ("target_type", "target_id"),
                          ("res_type", "param", "target_url")], ()),
    "search_uri": ([sa.Column("value", sa.String(255), nullable=False)], [("res_type", "param", "value")],
                   ("value",)),
}


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.DateTime, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=True),
        sa.PrimaryKeyConstraint("pk", name="pk_resources"),
        sa.UniqueConstraint("res_type", "res_id", name="uq_resources_res_type_res_id"),
    )
    op.create_index("ix_resources_res_type_last_updated", "resources", ["res_type", "last_updated"])
    op.create_table(
        "resource_versions",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("resource_pk", PK, sa.ForeignKey("resources.pk", name="fk_resource_versions_resource_pk_resources"),
                  nullable=False),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.DateTime, nullable=False),
        sa.Column("method", sa.String(6), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=True),
        sa.PrimaryKeyConstraint("pk", name="pk_resource_versions"),
        sa.UniqueConstraint("resource_pk", "version", name="uq_resource_versions_resource_pk_version"),
    )
    op.create_index("ix_resource_versions_res_type_last_updated", "resource_versions", ["res_type", "last_updated"])
    op.create_index("ix_resource_versions_last_updated", "resource_versions", ["last_updated"])
    for name, (columns, indexes, prefix_columns) in INDEX_TABLES.items():
        op.create_table(
            name,
            sa.Column("resource_pk", PK, sa.ForeignKey("resources.pk", name=f"fk_{name}_resource_pk_resources"),
                      nullable=False),
            sa.Column("res_type", sa.String(64), nullable=False),
            sa.Column("param", sa.String(100), nullable=False),
            *columns,
        )
        op.create_index(f"ix_{name}_resource_pk", name, ["resource_pk"])
        for cols in indexes:
            ops = {col: "text_pattern_ops" for col in cols if col in prefix_columns}
            op.create_index(f"ix_{name}_{'_'.join(cols)}", name, list(cols), postgresql_ops=ops)


def downgrade() -> None:
    for name in INDEX_TABLES:
        op.drop_table(name)
    op.drop_table("resource_versions")
    op.drop_table("resources")
