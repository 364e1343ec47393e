"""CMP records <-> CSV: one column layout per record kind, derived from its pydantic model.

The layout (``docs/records/csv.md``, written by ``scripts/make_cmp_csv.py``) follows the model, so it cannot
drift from it:

* a scalar field is one column named as the field (``member_id``);
* a nested object is one column per field, ``object.field`` (``address.city``, ``sdmi.assessed_at``); all its
  cells empty means the object is absent;
* a list of scalars is one cell, the values separated by ``|`` (``purposes`` = ``e|f``);
* a list of objects is one ``|``-separated cell per field of the item, the cells read side by side
  (``staff.staff_id`` = ``ward|reyes``, ``staff.name`` = ``Jamie Ward|Maria Reyes``); an optional field absent
  in one item is an empty value between separators (``Jamie Ward|``), absent in every item an empty cell.

In multi-valued cells ``\\`` escapes ``|`` and itself (``a\\|b`` is the one value ``a|b``). Dates are ISO 8601,
dateTimes as written, decimals exactly as written (``105.00`` stays ``105.00``), booleans ``true``/``false``;
an empty cell is an absent value. Row numbers count the header as row 1, as a spreadsheet does.

Reading and writing stream: one row in memory at a time. A bad row gives a :class:`RowResult` with its errors
and never stops the rows after it; :func:`write_rejects` writes the bad rows as they were with an ``error``
column, a file that can be corrected and read again (``read_csv`` ignores the ``error`` column).
"""

from __future__ import annotations

import csv
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TextIO

from pydantic import BaseModel, ValidationError

from . import kind as kind_module
from .records import DATETIME_PATTERN

SEPARATOR = "|"
ESCAPE = "\\"
ERROR_COLUMN = "error"
LINETERMINATOR = "\n"

Shape = Literal["scalar", "object", "list", "objects"]


class CsvHeaderError(ValueError):
    """The header does not fit the kind's layout: unknown, repeated or missing required columns."""


@dataclass(frozen=True, slots=True)
class Column:
    """One CSV column of a layout."""

    name: str
    """The header name: ``field`` or ``field.subfield``."""
    field: str
    """The record field the column belongs to."""
    sub: str | None
    """The field of the nested object or list item, or ``None``."""
    shape: Shape
    boolean: bool
    """Cells are ``true``/``false``."""
    required: bool
    """The header must have this column."""
    description: str
    type_name: str
    required_in_item: bool = False
    """A field of a nested object or list item that each given object or item must have."""


class RowError(NamedTuple):
    """One problem of one row: ``(row, column, reason)``."""

    row: int
    column: str
    """The column at fault, or ``""`` for the row as a whole."""
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column or 'row'}: {self.reason}"


@dataclass(frozen=True, slots=True)
class RowResult:
    """One data row read: a record, or the errors that kept it from being one."""

    row: int
    record: BaseModel | None
    errors: tuple[RowError, ...]
    cells: tuple[str, ...]
    """The row as it was in the file."""
    header: tuple[str, ...]
    """The header of the file it came from."""

    @property
    def ok(self) -> bool:
        return self.record is not None


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    """``tp`` without ``None`` in a union, and whether ``None`` was there."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _strip_optional(args[0])[0], len(args) != len(typing.get_args(tp))
    if origin is typing.Annotated:
        return _strip_optional(typing.get_args(tp)[0])
    return tp, False


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


_TYPE_NAMES = {"str": "text", "date": "date (ISO 8601)", "Decimal": "decimal", "bool": "boolean (true/false)"}


def _annotations(tp: Any) -> list:
    """The ``Annotated`` metadata inside ``tp`` (``DateTime | None`` keeps it in the union's member)."""
    if typing.get_origin(tp) is typing.Annotated:
        return list(typing.get_args(tp)[1:]) + _annotations(typing.get_args(tp)[0])
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(tp) for m in _annotations(a)]
    return []


def _type_name(tp: Any, metadata: list | None = None) -> str:
    metadata = [*(metadata or ()), *_annotations(tp)]
    tp, _ = _strip_optional(tp)
    if typing.get_origin(tp) is Literal:
        return " / ".join(str(a) for a in typing.get_args(tp))
    if any(getattr(m, "pattern", None) == DATETIME_PATTERN for m in metadata):
        return "dateTime (ISO 8601, with offset)"
    name = getattr(tp, "__name__", str(tp))
    return _TYPE_NAMES.get(name, name)


def _scalar_type(tp: Any, where: str) -> Any:
    tp, _ = _strip_optional(tp)
    if _is_model(tp) or typing.get_origin(tp) in (tuple, list):
        raise TypeError(f"{where}: nesting deeper than one level has no CSV layout")
    return tp


def layout(model: type[BaseModel]) -> tuple[Column, ...]:
    """The columns of ``model``, in field order.

    Raises:
        TypeError: the model nests deeper than the layout can carry.
    """
    columns = []
    for name, info in model.model_fields.items():
        tp, _ = _strip_optional(info.annotation)
        required = info.is_required()
        doc = " ".join((info.description or "").split())
        if _is_model(tp):
            shape: Shape = "object"
        elif typing.get_origin(tp) in (tuple, list):
            item, _ = _strip_optional(typing.get_args(tp)[0])
            if _is_model(item):
                shape, tp = "objects", item
            else:
                columns.append(Column(name, name, None, "list", _scalar_type(item, name) is bool, required, doc,
                                      f"list of {_type_name(item)}"))
                continue
        else:
            tp = _scalar_type(tp, name)
            columns.append(Column(name, name, None, "scalar", tp is bool, required, doc,
                                  _type_name(info.annotation, info.metadata)))
            continue
        for sub, sub_info in tp.model_fields.items():
            sub_tp = _scalar_type(sub_info.annotation, f"{name}.{sub}")
            sub_doc = " ".join((sub_info.description or "").split())
            columns.append(Column(f"{name}.{sub}", name, sub, shape, sub_tp is bool,
                                  required and sub_info.is_required(), sub_doc,
                                  ("list of " if shape == "objects" else "")
                                  + _type_name(sub_info.annotation, sub_info.metadata),
                                  sub_info.is_required()))
        if shape == "objects" and not any(c.required or tp.model_fields[c.sub].is_required()
                                          for c in columns if c.field == name):
            raise TypeError(f"{name}: a list item needs a required field to be counted")
    return tuple(columns)


def columns_of(kind: str) -> tuple[Column, ...]:
    """The layout of record kind ``kind`` (a module name of :mod:`mappings`)."""
    return _layout(kind)


_LAYOUTS: dict[str, tuple[Column, ...]] = {}


def _layout(kind: str) -> tuple[Column, ...]:
    if kind not in _LAYOUTS:
        _LAYOUTS[kind] = layout(kind_module(kind).MODEL)
    return _LAYOUTS[kind]


def header(kind: str) -> list[str]:
    return [c.name for c in _layout(kind)]


# -- multi-valued cells ---------------------------------------------------------------------------------------

def join(values: Iterable[str]) -> str:
    """One cell of ``values``, ``|``-separated, ``\\`` and ``|`` escaped."""
    return SEPARATOR.join(v.replace(ESCAPE, ESCAPE + ESCAPE).replace(SEPARATOR, ESCAPE + SEPARATOR) for v in values)


def split(cell: str) -> list[str]:
    """The values of a multi-valued cell.

    Raises:
        ValueError: a ``\\`` escapes nothing.
    """
    if ESCAPE not in cell:
        return cell.split(SEPARATOR)
    values, current, chars = [], [], iter(cell)
    for ch in chars:
        if ch == ESCAPE:
            nxt = next(chars, None)
            if nxt not in (ESCAPE, SEPARATOR):
                raise ValueError(f"'\\' must escape '|' or '\\', got {nxt!r}")
            current.append(nxt)
        elif ch == SEPARATOR:
            values.append("".join(current))
            current = []
        else:
            current.append(ch)
    values.append("".join(current))
    return values


# -- values ---------------------------------------------------------------------------------------------------

def _to_cell(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _from_cell(value: str, boolean: bool) -> Any:
    if not boolean or not value:
        return value
    if value == "true":
        return True
    if value == "false":
        return False
    raise ValueError(f"{value!r} is not a boolean (true or false)")


def _cells(columns: tuple[Column, ...], record: BaseModel) -> list[str]:
    data = record.model_dump(mode="json")
    row = []
    for c in columns:
        value = data.get(c.field)
        if c.shape == "scalar":
            row.append(_to_cell(value))
        elif c.shape == "object":
            row.append("" if value is None else _to_cell(value.get(c.sub)))
        elif c.shape == "list":
            row.append(join(_to_cell(v) for v in value or ()))
        else:
            items = [item.get(c.sub) for item in value or ()]
            row.append("" if all(v is None for v in items) else join(_to_cell(v) for v in items))
    return row


# -- writing --------------------------------------------------------------------------------------------------

def write_csv(kind: str, records: Iterable[BaseModel], text_stream: TextIO, *,
              lineterminator: str = LINETERMINATOR) -> int:
    """Write the header and one row per record of ``kind``; the number of records written.

    ``text_stream`` should be opened with ``newline=""``.
    """
    columns = _layout(kind)
    writer = csv.writer(text_stream, lineterminator=lineterminator)
    writer.writerow([c.name for c in columns])
    count = 0
    for record in records:
        writer.writerow(_cells(columns, record))
        count += 1
    return count


class RejectsWriter:
    """Writes rejected rows one at a time, as :func:`write_rejects` does, for a loop that handles the good ones::

        rejects = RejectsWriter(kind, rejects_file)
        for result in read_csv(kind, source):
            if result.ok:
                handle(result.record)
            else:
                rejects.add(result)
        rejects.close()  # the header alone when nothing was rejected
    """

    def __init__(self, kind: str, text_stream: TextIO, *, lineterminator: str = LINETERMINATOR) -> None:
        self.kind = kind
        self.count = 0
        self._writer = csv.writer(text_stream, lineterminator=lineterminator)
        self._drop: int | None = None
        self._width = 0

    def add(self, result: RowResult) -> None:
        """Write ``result`` when it was rejected (a good row is ignored)."""
        if result.ok:
            return
        if self.count == 0:
            self._drop = result.header.index(ERROR_COLUMN) if ERROR_COLUMN in result.header else None
            self._width = len(result.header) - (self._drop is not None)
            self._writer.writerow([*(h for i, h in enumerate(result.header) if i != self._drop), ERROR_COLUMN])
        cells = [v for i, v in enumerate(result.cells) if i != self._drop]
        cells += [""] * (self._width - len(cells))
        self._writer.writerow([*cells, "; ".join(f"{e.column or 'row'}: {e.reason}" for e in result.errors)])
        self.count += 1

    def close(self) -> int:
        """Finish the file (the kind's header when nothing was rejected); the number of rows written."""
        if self.count == 0:
            self._writer.writerow([*header(self.kind), ERROR_COLUMN])
            self.count = -1
        return max(self.count, 0)


def write_rejects(kind: str, results: Iterable[RowResult], text_stream: TextIO, *,
                  lineterminator: str = LINETERMINATOR) -> int:
    """Write the rejected rows of ``results`` as they were read, plus an ``error`` column; the number written.

    The file has the header of the file the rows came from (or the kind's layout when nothing was rejected),
    so it can be corrected and read again with :func:`read_csv`. An ``error`` column already there (a rejects
    file re-run) is replaced. A rejected row shorter than the header is padded with empty cells.
    """
    writer = RejectsWriter(kind, text_stream, lineterminator=lineterminator)
    for result in results:
        writer.add(result)
    return writer.close()


# -- reading --------------------------------------------------------------------------------------------------

def read_csv(kind: str, text_stream: TextIO) -> Iterator[RowResult]:
    """The rows of a CSV of record kind ``kind``, one :class:`RowResult` at a time.

    The header is checked before anything is returned: unknown, repeated or missing required columns raise
    :class:`CsvHeaderError` naming all of them. Columns may come in any order; optional ones may be left out.
    Blank rows are skipped. ``text_stream`` is a text file opened with ``newline=""`` or any iterable of lines;
    it is read one row at a time.

    Raises:
        CsvHeaderError: the header does not fit the layout (raised by this call, not while iterating).
    """
    model = kind_module(kind).MODEL
    columns = _layout(kind)
    reader = csv.reader(text_stream)
    names = next(reader, None)
    if names is None:
        raise CsvHeaderError(f"{kind} CSV: the file is empty; it needs a header row")
    if names and names[0].startswith("\ufeff"):
        names = [names[0][1:], *names[1:]]
    by_name = {c.name: c for c in columns}
    unknown = [n for n in names if n not in by_name and n != ERROR_COLUMN]
    repeated = sorted({n for n in names if names.count(n) > 1})
    missing = [c.name for c in columns if c.required and c.name not in names]
    problems = ([f"unknown column(s): {', '.join(unknown)}"] if unknown else []) \
        + ([f"repeated column(s): {', '.join(repeated)}"] if repeated else []) \
        + ([f"missing required column(s): {', '.join(missing)}"] if missing else [])
    if problems:
        raise CsvHeaderError(f"{kind} CSV header: " + "; ".join(problems) + f" (columns: {', '.join(by_name)})")
    used = tuple((i, by_name[n]) for i, n in enumerate(names) if n != ERROR_COLUMN)
    group_first = {}
    for c in columns:
        group_first.setdefault(c.field, c.name)
    return _rows(model, reader, tuple(names), used, group_first)


def _rows(model: type[BaseModel], reader: Any, names: tuple[str, ...], used: tuple[tuple[int, Column], ...],
          group_first: dict[str, str]) -> Iterator[RowResult]:
    width = len(names)
    row_number = 1
    for cells in reader:
        row_number += 1
        if not any(cells):
            continue
        cells = tuple(cells)
        if len(cells) != width:
            yield RowResult(row_number, None, (RowError(row_number, "", f"has {len(cells)} cells, the header has "
                                                                        f"{width}"),), cells, names)
            continue
        errors: list[RowError] = []
        data: dict[str, Any] = {}
        groups: dict[str, list[tuple[Column, list[str]]]] = {}
        for index, column in used:
            cell = cells[index]
            if not cell:
                continue
            shape = column.shape
            if shape == "scalar" and not column.boolean:
                data[column.field] = cell
                continue
            try:
                if shape == "scalar":
                    data[column.field] = _from_cell(cell, True)
                elif shape == "object":
                    data.setdefault(column.field, {})[column.sub] = _from_cell(cell, column.boolean)
                elif shape == "list":
                    data[column.field] = [_from_cell(v, column.boolean) for v in split(cell)]
                else:
                    groups.setdefault(column.field, []).append(
                        (column, [None if v == "" else _from_cell(v, column.boolean) for v in split(cell)]))
            except ValueError as exc:
                errors.append(RowError(row_number, column.name, str(exc)))
        for field, group in groups.items():
            count = max(len(values) for _, values in group)
            for column, values in group:
                if len(values) != count:
                    longest = next(c.name for c, v in group if len(v) == count)
                    errors.append(RowError(row_number, column.name,
                                           f"has {len(values)} value(s), {longest} has {count}"))
            data[field] = [{c.sub: v[i] for c, v in group if i < len(v) and v[i] is not None} for i in range(count)]
        if errors:
            yield RowResult(row_number, None, tuple(errors), cells, names)
            continue
        try:
            record = model.model_validate(data)
        except ValidationError as exc:
            yield RowResult(row_number, None, tuple(_row_error(row_number, e, group_first) for e in exc.errors()),
                            cells, names)
            continue
        yield RowResult(row_number, record, (), cells, names)


def _row_error(row: int, error: Any, group_first: dict[str, str]) -> RowError:
    loc = error["loc"]
    reason = error["msg"]
    if not loc:
        return RowError(row, "", reason)
    field = str(loc[0])
    parts = [p for p in loc[1:] if isinstance(p, str)]
    items = [p for p in loc[1:] if isinstance(p, int)]
    if items:
        reason = f"value {items[0] + 1}: {reason}"
    if parts:
        return RowError(row, f"{field}.{parts[0]}", reason)
    return RowError(row, field if field not in group_first or group_first[field] == field
                    else group_first[field], reason)
