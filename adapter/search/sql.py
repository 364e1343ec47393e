"""SQL for a :class:`~adapter.search.params.SearchQuery`, in SQLAlchemy Core for SQLite and PostgreSQL.

Shape of a search::

    SELECT pk, res_type, res_id, version, last_updated, content FROM resources
    WHERE res_type = :type AND NOT deleted
      AND pk IN (SELECT resource_pk FROM search_string WHERE res_type = :type AND param = 'name'
                 AND (value_norm LIKE 'pet%' OR value_norm LIKE 'jim%'))      -- OR within a parameter
      AND pk IN (SELECT resource_pk FROM search_date WHERE ...)                 -- AND across parameters
    ORDER BY <_sort keys>, pk LIMIT :count + 1 OFFSET :offset

Each criterion is an uncorrelated ``pk IN (subquery)`` on one index table, which both databases run
from the ``(res_type, param, value)`` indexes; negations (``:not``, ``:missing=true``) are
``NOT IN``. ``resources.pk`` is always the last sort key, so pages are stable and new resources
append at the end when there is no ``_sort``.

Comparison semantics (R4 search §3.1.1.4): with the search range ``[sl, sh]`` and a stored range
``[tl, th]`` (both inclusive):

- dates: ``eq`` tl ≥ sl and th ≤ sh; ``ne`` its negation; ``gt`` th > sh; ``lt`` tl < sl;
  ``ge`` gt or eq; ``le`` lt or eq; ``sa`` tl > sh; ``eb`` th < sl; ``ap`` overlap with the search range
  widened by 10% of its distance from now.
- numbers and quantities: ``eq``/``ne`` as for dates (the search value's implicit precision applies);
  ``gt lt ge le`` compare the stored value (the middle of its range) with the search number taken as
  exact, as the spec says for these prefixes; ``sa`` tl > v, ``eb`` th < v; ``ap`` overlap with
  v ± 10%.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.sql.expression import FromClause

from adapter.search.index import OF_TYPE_SUFFIX
from adapter.search.params import (
    Criterion,
    DateValue,
    Include,
    MissingValue,
    NumberValue,
    OfTypeValue,
    ReferenceValue,
    SearchQuery,
    SortKey,
    StringValue,
    TokenValue,
    Value,
)
from adapter.search.values import TEXT_WIDTH, clip, normalize
from adapter.store.schema import INDEX_TABLES, resources, search_reference

#: The columns a search returns (``pk`` so that includes can refer to the page).
RESULT_COLUMNS = (resources.c.pk, resources.c.res_type, resources.c.res_id, resources.c.version,
                  resources.c.last_updated, resources.c.content)
#: Column an ascending / descending ``_sort`` takes the minimum / maximum of, per table. Dates sort by
#: their start both ways (as HAPI does): a Period still open has no highest value, and "newest first"
#: means "latest start first" to every user.
_SORT_COLUMNS = {
    "string": ("value_norm", "value_norm"), "token": ("code", "code"), "date": ("low", "low"),
    "number": ("low", "high"), "quantity": ("low", "high"), "reference": ("target_id", "target_id"),
    "uri": ("value", "value"),
}


# --- statements ------------------------------------------------------------------------------------------


def match_conditions(query: SearchQuery, table: FromClause = resources) -> list[ColumnElement[bool]]:
    """WHERE conditions selecting the current, non-deleted resources the query's criteria match."""
    conditions = [table.c.res_type == query.resource_type, table.c.deleted == false()]
    conditions += [criterion_clause(c, table, query.resource_type) for c in query.criteria]
    restriction = query.visibility.clause(query.resource_type, table) if query.visibility is not None else None
    if restriction is not None:
        conditions.append(restriction)
    return conditions


def page_statement(query: SearchQuery) -> Select:
    """One page of matches in a deterministic order, plus one extra row that tells whether more follow."""
    return (select(*RESULT_COLUMNS).where(*match_conditions(query))
            .order_by(*order_by(query.sort, resources)).limit(query.count + 1).offset(query.offset))


def count_statement(query: SearchQuery) -> Select:
    return select(func.count()).select_from(resources).where(*match_conditions(query))


def order_by(keys: tuple[SortKey, ...], table: FromClause) -> list[ColumnElement]:
    """``_sort`` keys (the lowest value ascending, the highest descending; no value last), then ``pk``."""
    clauses: list[ColumnElement] = []
    for key in keys:
        column = _sort_column(key, table)
        clauses.append(column.desc().nulls_last() if key.descending else column.asc().nulls_last())
    clauses.append(table.c.pk.asc())
    return clauses


def _sort_column(key: SortKey, table: FromClause) -> ColumnElement:
    code = key.param.code
    if code == "_id":
        return table.c.res_id
    if code == "_lastUpdated":
        return table.c.last_updated
    index = INDEX_TABLES[key.param.type]
    ascending, descending = _SORT_COLUMNS[key.param.type]
    aggregate = func.max(index.c[descending]) if key.descending else func.min(index.c[ascending])
    return (select(aggregate).where(index.c.resource_pk == table.c.pk, index.c.param == code)
            .scalar_subquery())


def include_pks(include: Include, sources: list[tuple[int, str, str]]) -> Select | None:
    """pks of the resources that ``sources`` (pk, type, id) refer to through ``include``'s parameter."""
    source_pks = [pk for pk, res_type, _ in sources if include.source_type in (None, res_type)]
    if not source_pks:
        return None
    ref = search_reference
    conditions = [ref.c.resource_pk.in_(source_pks), resources.c.deleted == false()]
    if include.param is not None:
        conditions.append(ref.c.param == include.param)
    if include.target_type is not None:
        conditions.append(ref.c.target_type == include.target_type)
    joined = ref.join(resources, and_(resources.c.res_type == ref.c.target_type,
                                      resources.c.res_id == ref.c.target_id))
    return select(resources.c.pk).select_from(joined).where(*conditions)


def revinclude_pks(include: Include, targets: list[tuple[int, str, str]]) -> Select | None:
    """pks of the resources of ``include.source_type`` that refer to one of ``targets`` (pk, type, id)."""
    by_type: dict[str, list[str]] = {}
    for _, res_type, res_id in targets:
        if include.target_type in (None, res_type):
            by_type.setdefault(res_type, []).append(res_id)
    if not by_type:
        return None
    ref = search_reference
    conditions = [or_(*(and_(ref.c.target_type == res_type, ref.c.target_id.in_(ids))
                        for res_type, ids in by_type.items()))]
    if include.source_type is not None:
        conditions.append(ref.c.res_type == include.source_type)
    if include.param is not None:
        conditions.append(ref.c.param == include.param)
    referring = select(ref.c.resource_pk).where(*conditions)
    return select(resources.c.pk).where(resources.c.pk.in_(referring), resources.c.deleted == false())


def rows_statement(pks: list[int]) -> Select:
    return select(*RESULT_COLUMNS).where(resources.c.pk.in_(pks)).order_by(resources.c.pk)


# --- criteria --------------------------------------------------------------------------------------------


def criterion_clause(criterion: Criterion, table: FromClause, res_type: str) -> ColumnElement[bool]:
    """The condition one criterion puts on the rows of ``table`` (``resources`` or an alias of it)."""
    if criterion.chain:
        return _chain_clause(criterion, table, res_type)
    code = criterion.param.code
    if code == "_id":
        return or_(*(_id_clause(table, v) for v in criterion.values))
    if code == "_lastUpdated":
        column = table.c.last_updated
        return or_(*(_date_clause(v, column, column) for v in criterion.values))
    index = INDEX_TABLES[criterion.param.type]
    first = criterion.values[0]
    if isinstance(first, MissingValue):
        having = select(index.c.resource_pk).where(index.c.res_type == res_type, index.c.param == code)
        return table.c.pk.not_in(having) if first.missing else table.c.pk.in_(having)
    param = code + OF_TYPE_SUFFIX if criterion.modifier == "of-type" else code
    kind = criterion.param.type
    matching = select(index.c.resource_pk).where(
        index.c.res_type == res_type, index.c.param == param,
        or_(*(_value_clause(index, kind, criterion.modifier, v) for v in criterion.values)))
    if criterion.modifier == "not":
        return table.c.pk.not_in(matching)
    return table.c.pk.in_(matching)


def _id_clause(table: FromClause, value: Value) -> ColumnElement[bool]:
    if isinstance(value, TokenValue) and value.code is not None:
        return table.c.res_id == value.code
    return false()


def _chain_clause(criterion: Criterion, table: FromClause, res_type: str) -> ColumnElement[bool]:
    """``ref.param=value``: the reference points at a resource of a target type the inner criterion matches."""
    ref = search_reference
    alternatives = []
    for target_type, inner in criterion.chain:
        target = resources.alias()
        matching_ids = select(target.c.res_id).where(
            target.c.res_type == target_type, target.c.deleted == false(),
            criterion_clause(inner, target, target_type))
        alternatives.append(and_(ref.c.target_type == target_type, ref.c.target_id.in_(matching_ids)))
    referring = select(ref.c.resource_pk).where(ref.c.res_type == res_type,
                                                ref.c.param == criterion.param.code, or_(*alternatives))
    return table.c.pk.in_(referring)


def _value_clause(index: FromClause, kind: str, modifier: str | None, value: Value) -> ColumnElement[bool]:
    builder = _VALUE_CLAUSES.get(type(value))
    if builder is None:
        raise TypeError(f"no SQL for {type(value).__name__}")
    return builder(index, kind, modifier, value)


def _string_clause(index: FromClause, kind: str, modifier: str | None, value: StringValue) -> ColumnElement[bool]:
    if kind == "token":  # :text
        return _starts_with(index.c.text_norm, normalize(value.text))
    if kind == "uri":
        return _uri_clause(index, modifier, value.text)
    if modifier == "exact":
        return index.c.value_exact == value.text
    if modifier == "contains":
        return index.c.value_norm.like(f"%{_like_escape(normalize(value.text))}%", escape="\\")
    return _starts_with(index.c.value_norm, normalize(value.text))


def _starts_with(column: ColumnElement, text: str) -> ColumnElement[bool]:
    """``column LIKE 'text%'`` with a literal pattern, so PostgreSQL can use the btree index for it."""
    return column.like(_like_escape(text) + "%", escape="\\")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _uri_clause(index: FromClause, modifier: str | None, text: str) -> ColumnElement[bool]:
    """``:below`` = starts with the value; ``:above`` = is the value or one of its parent paths."""
    if modifier == "below":
        return _starts_with(index.c.value, text[:TEXT_WIDTH])
    if modifier == "above":
        return index.c.value.in_(_parent_urls(text))
    return index.c.value == clip(text)


def _parent_urls(url: str) -> list[str]:
    """``http://a/b/c`` → itself, ``http://a/b``, ``http://a`` (never less than the host)."""
    head, sep, path = url.partition("://")
    if not sep:
        return [url]
    segments = path.split("/")
    return [clip(f"{head}://{'/'.join(segments[:n])}") or "" for n in range(len(segments), 0, -1)]


def _token_clause(index: FromClause, kind: str, modifier: str | None, value: TokenValue) -> ColumnElement[bool]:
    conditions = []
    if value.system == "":
        conditions.append(index.c.system.is_(None))
    elif value.system is not None:
        conditions.append(index.c.system == clip(value.system))
    if value.code is not None:
        conditions.append(index.c.code == clip(value.code))
    return and_(*conditions) if conditions else true()


def _of_type_clause(index: FromClause, kind: str, modifier: str | None, value: OfTypeValue) -> ColumnElement[bool]:
    return and_(index.c.system == clip(value.system), index.c.code == clip(f"{value.code}|{value.value}"))


def _reference_clause(index: FromClause, kind: str, modifier: str | None,
                      value: ReferenceValue) -> ColumnElement[bool]:
    conditions = [index.c[column] == getattr(value, column)
                  for column in ("target_type", "target_id", "target_url", "target_version")
                  if getattr(value, column) is not None]
    return and_(*conditions) if conditions else false()


def _date_value_clause(index: FromClause, kind: str, modifier: str | None, value: DateValue) -> ColumnElement[bool]:
    return _date_clause(value, index.c.low, index.c.high)


def _date_clause(value: Value, low: ColumnElement, high: ColumnElement) -> ColumnElement[bool]:
    """R4 date prefixes on ranges (see the module docstring)."""
    if not isinstance(value, DateValue):
        return false()
    sl, sh = value.low, value.high
    within = and_(low >= sl, high <= sh)
    match value.prefix:
        case "eq":
            return within
        case "ne":
            return not_(within)
        case "gt":
            return high > sh
        case "lt":
            return low < sl
        case "ge":
            return or_(high > sh, within)
        case "le":
            return or_(low < sl, within)
        case "sa":
            return low > sh
        case "eb":
            return high < sl
    margin = _approximate_margin(sl, sh)
    return and_(low <= _plus(sh, margin), high >= _plus(sl, -margin))


def _approximate_margin(low: datetime, high: datetime) -> timedelta:
    """10% of the distance between now and the searched date (R4's recommendation for ``ap``)."""
    middle = low + (high - low) / 2
    now = datetime.now(UTC).replace(tzinfo=None)
    return abs(now - middle) / 10


def _plus(moment: datetime, delta: timedelta) -> datetime:
    try:
        return moment + delta
    except OverflowError:
        return datetime.max if delta > timedelta(0) else datetime.min


def _number_clause(index: FromClause, kind: str, modifier: str | None, value: NumberValue) -> ColumnElement[bool]:
    conditions = [_number_comparison(value, index.c.low, index.c.high)]
    if kind == "quantity":
        if value.system is not None:
            conditions.append(index.c.system == clip(value.system))
        if value.code is not None:
            conditions.append(index.c.code == clip(value.code))
    return and_(*conditions)


def _number_comparison(value: NumberValue, low: ColumnElement, high: ColumnElement) -> ColumnElement[bool]:
    """R4 number prefixes (see the module docstring); ``epsilon`` absorbs float rounding of the middle."""
    number = float(value.value)
    epsilon = 1e-9 * max(1.0, abs(number))
    middle = (low + high) / 2
    within = and_(low >= value.low, high <= value.high)
    match value.prefix:
        case "eq":
            return within
        case "ne":
            return not_(within)
        case "gt":
            return middle > number + epsilon
        case "lt":
            return middle < number - epsilon
        case "ge":
            return middle >= number - epsilon
        case "le":
            return middle <= number + epsilon
        case "sa":
            return low > number
        case "eb":
            return high < number
    margin = max(abs(number) / 10, (value.high - value.low) / 2)
    return and_(low <= number + margin, high >= number - margin)


_VALUE_CLAUSES = {
    StringValue: _string_clause,
    TokenValue: _token_clause,
    OfTypeValue: _of_type_clause,
    ReferenceValue: _reference_clause,
    DateValue: _date_value_clause,
    NumberValue: _number_clause,
}
