"""Databases for scenario tests that load once per module: see :mod:`tests.databases`."""

from tests.databases import POSTGRES_URL, fresh_database

__all__ = ["POSTGRES_URL", "fresh_database"]
