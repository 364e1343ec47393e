"""Test databases: an SQLite file, or a PostgreSQL schema of its own on the shared server.

Every fixture that needs a fresh database (per test in ``tests/conftest.py``, per module for the scenario
tests, per server for the fault tests) goes through :func:`postgres_schema`, so the schema is always
created and dropped the same way. PostgreSQL needs ``CMP_ADAPTER_TEST_POSTGRES_URL``; callers skip
without it.
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
def postgres_schema(**connect_options: str) -> Iterator[str]:
    """A fresh schema on the shared server; yields a URL whose connections use it (plus ``connect_options``
    as query parameters, e.g. ``application_name``). The schema is dropped afterwards.

    :raise RuntimeError: ``CMP_ADAPTER_TEST_POSTGRES_URL`` is not set.
    """
    if not POSTGRES_URL:
        raise RuntimeError("CMP_ADAPTER_TEST_POSTGRES_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        extra = "".join(f"&{name}={value}" for name, value in connect_options.items())
        yield f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}{extra}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """``"sqlite"``: a new file in ``folder``; ``"postgres"``: :func:`postgres_schema`. Yields the URL."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'db-{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    with postgres_schema() as url:
        yield url
