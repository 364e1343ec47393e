"""Date arithmetic on the index's naive-UTC ``DateTime`` columns, per dialect.

PostgreSQL stores timestamps and adds intervals; SQLite stores SQLAlchemy's ISO text
(``YYYY-MM-DD HH:MM:SS.ffffff``), so the sum is rebuilt in that same text form to compare correctly.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement


class plus_days(FunctionElement):
    """``column + n days`` (``n`` a Python int, rendered as a literal)."""

    type = DateTime()
    inherit_cache = False

    def __init__(self, column: ColumnElement, days: int) -> None:
        self.days = int(days)
        super().__init__(column)


@compiles(plus_days)
def _plus_days_default(element: plus_days, compiler: Any, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    return f"({column} + INTERVAL '{element.days} days')"


@compiles(plus_days, "sqlite")
def _plus_days_sqlite(element: plus_days, compiler: Any, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    return f"(strftime('%Y-%m-%d %H:%M:%f', {column}, '+{element.days} days') || '000')"
