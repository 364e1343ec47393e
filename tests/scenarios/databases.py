"""Databases for scenario tests that load once per module: an SQLite file or a PostgreSQL schema of its own.

``fresh_database("sqlite" | "postgres", folder)`` is a context manager yielding the SQLAlchemy URL; the
PostgreSQL schema is dropped afterwards. PostgreSQL needs ``CMP_ADAPTER_TEST_POSTGRES_URL`` (the caller
skips without it), as in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

POSTGRES_URL = os.environ.get("CMP_ADAPTER_TEST_POSTGRES_URL")


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'scenario-{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    if not POSTGRES_URL:
        raise RuntimeError("CMP_ADAPTER_TEST_POSTGRES_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
