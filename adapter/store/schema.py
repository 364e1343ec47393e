"""The database schema: current resources, every version, and the search index tables.

Layout (see docs/decisions/002-storage-layout.md):

- ``resources`` holds the current version of each logical resource (one row per type+id, a deleted one
  keeps its row with ``deleted = true``), so a read is one primary-key lookup that returns stored bytes.
- ``resource_versions`` holds every version ever written, in write order (its ``pk`` is the system
  history sequence), including delete markers.
- ``search_*`` tables hold the values of the search parameters of the *current* version of each resource,
  one table per search-parameter value type, so searches are SQL over typed, indexed columns and never
  scan JSON. A write replaces the resource's rows in the same transaction.

Times are naive UTC ``DateTime`` columns (native timestamps on PostgreSQL, ISO text that sorts correctly on
SQLite). The schema is created and upgraded by Alembic (``adapter/store/migrations``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

#: BIGINT on PostgreSQL, but INTEGER on SQLite so that it is the rowid alias and autoincrements.
PrimaryKey = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

resources = Table(
    "resources", metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_updated", DateTime, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("content", LargeBinary, nullable=True),
    UniqueConstraint("res_type", "res_id"),
    Index(None, "res_type", "last_updated"),
)

resource_versions = Table(
    "resource_versions", metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("resource_pk", PrimaryKey, ForeignKey("resources.pk"), nullable=False),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_updated", DateTime, nullable=False),
    Column("method", String(6), nullable=False),
    Column("content", LargeBinary, nullable=True),
    UniqueConstraint("resource_pk", "version"),
    Index(None, "res_type", "last_updated"),
    Index(None, "last_updated"),
)


def _index_table(name: str, *columns: Column, indexes: tuple[tuple[str, ...], ...],
                 prefix_columns: tuple[str, ...] = ()) -> Table:
    """A search index table: the owning resource, its type, the parameter code, then typed values.

    ``prefix_columns`` are searched with ``LIKE 'abc%'``; on PostgreSQL their indexes use
    ``text_pattern_ops`` so that prefix matching can use them under any collation.
    """
    def index(cols: tuple[str, ...]) -> Index:
        ops = {col: "text_pattern_ops" for col in cols if col in prefix_columns}
        return Index(None, *cols, postgresql_ops=ops) if ops else Index(None, *cols)

    return Table(
        name, metadata,
        Column("resource_pk", PrimaryKey, ForeignKey("resources.pk"), nullable=False, index=True),
        Column("res_type", String(64), nullable=False),
        Column("param", String(100), nullable=False),
        *columns,
        *(index(cols) for cols in indexes),
    )


search_string = _index_table(
    "search_string",
    Column("value_norm", String(255), nullable=False),
    Column("value_exact", Text, nullable=False),
    indexes=(("res_type", "param", "value_norm"),),
    prefix_columns=("value_norm",),
)

search_token = _index_table(
    "search_token",
    Column("system", String(255), nullable=True),
    Column("code", String(255), nullable=True),
    Column("text_norm", String(255), nullable=True),
    indexes=(("res_type", "param", "code", "system"), ("res_type", "param", "text_norm")),
    prefix_columns=("text_norm",),
)

search_date = _index_table(
    "search_date",
    Column("low", DateTime, nullable=False),
    Column("high", DateTime, nullable=False),
    indexes=(("res_type", "param", "low", "high"),),
)

search_number = _index_table(
    "search_number",
    Column("low", Float, nullable=False),
    Column("high", Float, nullable=False),
    indexes=(("res_type", "param", "low"),),
)

search_quantity = _index_table(
    "search_quantity",
    Column("system", String(255), nullable=True),
    Column("code", String(255), nullable=True),
    Column("low", Float, nullable=False),
    Column("high", Float, nullable=False),
    indexes=(("res_type", "param", "code", "low"),),
)

search_reference = _index_table(
    "search_reference",
    Column("target_type", String(64), nullable=True),
    Column("target_id", String(64), nullable=True),
    Column("target_url", String(255), nullable=True),
    Column("target_version", String(64), nullable=True),
    indexes=(("res_type", "param", "target_id", "target_type"), ("target_type", "target_id"),
             ("res_type", "param", "target_url")),
)

search_uri = _index_table(
    "search_uri",
    Column("value", String(255), nullable=False),
    indexes=(("res_type", "param", "value"),),
    prefix_columns=("value",),
)

#: Search index tables by search-parameter type; ``token`` also serves ``_tag``/``_security``.
INDEX_TABLES: dict[str, Table] = {
    "string": search_string,
    "token": search_token,
    "date": search_date,
    "number": search_number,
    "quantity": search_quantity,
    "reference": search_reference,
    "uri": search_uri,
}

# --- subscriptions (docs/decisions/011-subscriptions-from-the-version-log.md) ----------------------------------

subscription_cursor = Table(
    "subscription_cursor", metadata,
    Column("name", String(32), primary_key=True),
    Column("position", PrimaryKey, nullable=False),
)
"""How far the subscription matcher has read ``resource_versions`` (its ``pk``); one row, ``name = 'log'``."""

subscription_deliveries = Table(
    "subscription_deliveries", metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("subscription_id", String(64), nullable=False),
    Column("version_pk", PrimaryKey, nullable=False),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("subscription_id", "version_pk"),
    Index(None, "status", "next_attempt_at"),
)
"""One notification to send: a matched version for one subscription, with its retry state.

``status`` is ``pending`` (sent when ``next_attempt_at`` is due; a claimed one is leased by moving that
time forward), ``delivered``, or ``abandoned`` (the subscription failed, was switched off or deleted).
"""
#: Bulk Data export reads each type in primary-key pages (``res_type = ? AND pk > ? ORDER BY pk``): this index
#: serves them without a sort. Without it SQLite picks (res_type, last_updated) and sorts every matching row
#: for each page, which makes an export quadratic in the size of the type.
Index(None, resources.c.res_type, resources.c.pk)

#: Bulk Data ``$export`` jobs (docs/decisions/009-bulk-export-jobs.md): the kick-off request, the consistent
#: cut (``transaction_time``), progress, the files written, errors, and the lease of the worker running it.
#: ``state``: accepted → in-progress → completed | failed; cancelled until its files are gone.
export_jobs = Table(
    "export_jobs", metadata,
    Column("id", String(64), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("request_url", Text, nullable=False),
    Column("parameters", Text, nullable=False),
    Column("transaction_time", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime, nullable=True),
    Column("finished_at", DateTime, nullable=True),
    Column("expires_at", DateTime, nullable=True),
    Column("progress", Text, nullable=True),
    Column("exported", BigInteger, nullable=False, default=0),
    Column("total", BigInteger, nullable=True),
    Column("output", Text, nullable=False, default="[]"),
    Column("errors", Text, nullable=False, default="[]"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", DateTime, nullable=True),
    Column("client_id", String(128), nullable=True),
    Index(None, "state", "lease_expires_at"),
    Index(None, "expires_at"),
)
# --- authorization (adapter/auth, decision 012) ----------------------------------------------------------------

#: SMART Backend Services clients: their public keys (a JWKS or a JWKS URL), the scopes they may be granted
#: and the organizations whose members they are restricted to (space-separated ``Organization/id``; empty
#: means not restricted).
auth_clients = Table(
    "auth_clients", metadata,
    Column("client_id", String(255), primary_key=True),
    Column("jwks", Text, nullable=True),
    Column("jwks_url", String(1024), nullable=True),
    Column("scope", Text, nullable=False),
    Column("organizations", Text, nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
)

#: ``jti`` of every client assertion accepted, kept until the assertion expires: a replay is refused.
auth_assertion_jtis = Table(
    "auth_assertion_jtis", metadata,
    Column("client_id", String(255), primary_key=True),
    Column("jti", String(255), primary_key=True),
    Column("expires_at", DateTime, nullable=False),
    Index(None, "expires_at"),
)

#: The server's token-signing keys (ES384, private JWK). The newest one signs; every one not yet retired
#: verifies, so tokens signed before a rotation stay valid until they expire.
auth_signing_keys = Table(
    "auth_signing_keys", metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_jwk", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("retired_at", DateTime, nullable=True),
)
