"""A digest of everything the store holds except the audit trail: "the store is unchanged" in one value.

AuditEvents are left out on purpose: every request, refused ones included, adds one (that is the point of
the trail), while no refused request may change anything else.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from adapter.services.container import Services
from adapter.store.schema import metadata

AUDIT_TYPE = "AuditEvent"


def store_digest(services: Services) -> str:
    digest = hashlib.sha256()
    with services.store.connect() as conn:
        for table in metadata.sorted_tables:
            if "res_type" not in table.c:
                continue
            order = list(table.primary_key.columns) or list(table.c)
            rows = conn.execute(select(table).where(table.c.res_type != AUDIT_TYPE).order_by(*order)).all()
            digest.update(f"{table.name}:{len(rows)}:".encode())
            for row in rows:
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()
