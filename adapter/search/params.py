"""Search query parsing: URL parameters into an immutable :class:`SearchQuery` (R4 search.html).

The parser knows which parameters the engine implements (:func:`supported_params`), checks every value
once, and keeps what it applied so that a Bundle's ``self`` link can say exactly that (§3.1.1.5.x, "the
server SHALL return the parameters it actually used"). Unknown parameters and unsupported modifiers are
an error under ``Prefer: handling=strict`` and a recorded warning under ``lenient``; a malformed value is
always an error, because silently ignoring ``birthdate=1974-13`` would widen the result.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from adapter.conformance.definitions import Definitions, SearchParamDef
from adapter.errors import BadRequest, Issue
from adapter.search.dates import date_range
from adapter.search.index import COLUMN_PARAMS, indexable
from adapter.search.paths import applicable_branches
from adapter.search.values import decimal_range, parse_decimal, parse_reference
from adapter.search.visibility import Visibility

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
TOTAL_MODES = ("none", "estimate", "accurate")
SUMMARY_MODES = ("true", "text", "data", "count", "false")
#: Modifiers implemented per parameter type (reference also takes ``:[Type]``).
MODIFIERS: dict[str, frozenset[str]] = {
    "string": frozenset({"exact", "contains", "missing"}),
    "token": frozenset({"not", "text", "missing", "of-type"}),
    "reference": frozenset({"missing"}),
    "date": frozenset({"missing"}),
    "number": frozenset({"missing"}),
    "quantity": frozenset({"missing"}),
    "uri": frozenset({"below", "above", "missing"}),
}
#: Result parameters the wire layer handles; accepted here and left out of the canonical query.
PASSED_THROUGH = frozenset({"_format", "_pretty"})
_PREFIXED_TYPES = frozenset({"date", "number", "quantity"})
_ESCAPED = re.compile(r"\\([\\,|$])")


# --- values ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StringValue:
    """A string search value (also token ``:text`` and uri values), unescaped."""

    text: str


@dataclass(frozen=True, slots=True)
class TokenValue:
    """``[system]|[code]``: ``system`` None = any system, ``""`` = no system; ``code`` None = any code."""

    system: str | None
    code: str | None


@dataclass(frozen=True, slots=True)
class OfTypeValue:
    """``identifier:of-type=[type system]|[type code]|[value]``."""

    system: str
    code: str
    value: str


@dataclass(frozen=True, slots=True)
class DateValue:
    """A date search value: the instants its precision covers, and the comparison prefix."""

    prefix: str
    low: datetime
    high: datetime


@dataclass(frozen=True, slots=True)
class NumberValue:
    """A number (or the number of a quantity): the value, the interval its precision implies, the prefix."""

    prefix: str
    value: Decimal
    low: float
    high: float
    system: str | None = None
    code: str | None = None
    """Quantity only: None means "any"."""


@dataclass(frozen=True, slots=True)
class ReferenceValue:
    """A reference search value in the columns of ``search_reference`` (None = not constrained)."""

    target_type: str | None
    target_id: str | None
    target_url: str | None = None
    target_version: str | None = None


@dataclass(frozen=True, slots=True)
class MissingValue:
    """``:missing=true|false``."""

    missing: bool


Value = StringValue | TokenValue | OfTypeValue | DateValue | NumberValue | ReferenceValue | MissingValue


@dataclass(frozen=True, slots=True)
class Criterion:
    """One search parameter as given: its values are ORed, criteria are ANDed.

    ``chain`` holds, for a chained parameter, the criterion to apply to each possible target type
    (one entry with ``subject:Patient.name``, one per target type that has the parameter with
    ``subject.name``); the reference matches when any of them does.
    """

    name: str
    """As written (``subject:Patient.name``), for the canonical query string."""
    raw: str
    """The value as written, escapes included."""
    param: SearchParamDef
    modifier: str | None
    values: tuple[Value, ...]
    chain: tuple[tuple[str, Criterion], ...] = ()


@dataclass(frozen=True, slots=True)
class SortKey:
    param: SearchParamDef
    descending: bool

    @property
    def text(self) -> str:
        return ("-" if self.descending else "") + self.param.code


@dataclass(frozen=True, slots=True)
class Include:
    """``_include``/``_revinclude`` = ``Source:param[:Target]`` or ``*``; ``param`` None means every one."""

    source_type: str | None
    param: str | None
    target_type: str | None
    iterate: bool
    text: str


@dataclass(frozen=True)
class SearchQuery:
    """A parsed search: what to match, how to sort and page, what to add; immutable.

    ``ignored`` holds a warning for every parameter left out under lenient handling.
    """

    resource_type: str
    criteria: tuple[Criterion, ...] = ()
    count: int = 20
    offset: int = 0
    sort: tuple[SortKey, ...] = ()
    total: str | None = None
    """``none``/``estimate``/``accurate`` as asked; None when not asked (the engine counts accurately)."""
    summary: str | None = None
    elements: tuple[str, ...] = ()
    includes: tuple[Include, ...] = ()
    revincludes: tuple[Include, ...] = ()
    ignored: tuple[Issue, ...] = ()
    visibility: Visibility | None = None
    """What the caller may see (authorization): filters the matches in SQL and the includes; not a parameter."""

    def with_offset(self, offset: int) -> SearchQuery:
        """The same search at another page (for ``next``/``previous`` links)."""
        return dataclasses.replace(self, offset=max(0, offset))

    def pairs(self, offset: int | None = None) -> list[tuple[str, str]]:
        """The applied parameters as (name, value) pairs, in a stable order."""
        pairs = [(c.name, c.raw) for c in self.criteria]
        if self.sort:
            pairs.append(("_sort", ",".join(key.text for key in self.sort)))
        pairs += [("_include" + (":iterate" if i.iterate else ""), i.text) for i in self.includes]
        pairs += [("_revinclude" + (":iterate" if i.iterate else ""), i.text) for i in self.revincludes]
        if self.summary is not None:
            pairs.append(("_summary", self.summary))
        if self.elements:
            pairs.append(("_elements", ",".join(self.elements)))
        if self.total is not None:
            pairs.append(("_total", self.total))
        pairs.append(("_count", str(self.count)))
        page_offset = self.offset if offset is None else offset
        if page_offset:
            pairs.append(("_offset", str(page_offset)))
        return pairs

    def query_string(self, offset: int | None = None) -> str:
        """The canonical query string of what was applied, optionally at another ``_offset``."""
        return "&".join(f"{quote(name, safe=':.-_')}={quote(value, safe=':/|,.-_*')}"
                        for name, value in self.pairs(offset))


# --- the parameters the engine implements ------------------------------------------------------------------


def supported_params(definitions: Definitions, resource_type: str) -> list[SearchParamDef]:
    """Parameters of a type the engine really implements: ``_id``, ``_lastUpdated`` and every indexed one.

    Composite and special parameters, those without an expression (``_text``, ``_content``, ``_query``)
    and those whose expression never selects anything in this type (a branch for another type only)
    are left out, so the CapabilityStatement does not promise them.
    """
    resource_types = frozenset(definitions.types.resource_types())
    supported = []
    for param in definitions.search_params(resource_type).values():
        if param.code in COLUMN_PARAMS or (
                indexable(param) and applicable_branches(param.expression or "", resource_type, resource_types)):
            supported.append(param)
    return supported


# --- parsing -----------------------------------------------------------------------------------------------


def parse_search(definitions: Definitions, resource_type: str, pairs: Iterable[tuple[str, str]], *,
                 handling: str = "lenient", default_count: int = 20, max_count: int = 1000) -> SearchQuery:
    """Parse URL-decoded (name, value) pairs for a search on ``resource_type``.

    :param handling: ``strict`` rejects unknown parameters and modifiers, ``lenient`` records and skips
        them (R4 §3.1.1.5.x ``Prefer: handling``).
    :param max_count: ``_count`` above this is lowered to it.

    Raises:
        BadRequest: a malformed value (always), or an unknown parameter / modifier under strict handling.
    """
    parser = _QueryParser(definitions, resource_type, handling == "strict")
    fields: dict = {"count": min(default_count, max_count)}
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise BadRequest("a search parameter holds a NUL character (%00)")
        if name in PASSED_THROUGH or value == "":
            continue
        if name.startswith("_") and name.split(":", 1)[0] in _RESULT_PARAMS:
            _RESULT_PARAMS[name.split(":", 1)[0]](parser, fields, name, value, max_count)
            continue
        criterion = parser.criterion(name, value)
        if criterion is not None:
            parser.criteria.append(criterion)
    return SearchQuery(resource_type, criteria=tuple(parser.criteria), ignored=tuple(parser.ignored),
                       includes=tuple(parser.includes), revincludes=tuple(parser.revincludes), **fields)


class _QueryParser:
    """Parsing state: the type's parameters, what was collected, and how to treat unknown names."""

    def __init__(self, definitions: Definitions, resource_type: str, strict: bool) -> None:
        self.definitions = definitions
        self.resource_type = resource_type
        self.strict = strict
        self.resource_types = frozenset(definitions.types.resource_types())
        self._params: dict[str, dict[str, SearchParamDef]] = {}
        self.criteria: list[Criterion] = []
        self.includes: list[Include] = []
        self.revincludes: list[Include] = []
        self.ignored: list[Issue] = []

    def params(self, resource_type: str) -> dict[str, SearchParamDef]:
        found = self._params.get(resource_type)
        if found is None:
            found = {p.code: p for p in supported_params(self.definitions, resource_type)}
            self._params[resource_type] = found
        return found

    def unsupported(self, name: str, why: str) -> None:
        """Refuse (strict) or record (lenient) a parameter the engine does not apply.

        Raises:
            BadRequest: under strict handling.
        """
        message = f"search parameter {name!r} is not supported on {self.resource_type}: {why}"
        if self.strict:
            raise BadRequest(message)
        self.ignored.append(Issue("warning", "not-supported", message + "; it was ignored"))

    # --- criteria ----------------------------------------------------------------------------------------

    def criterion(self, name: str, raw: str) -> Criterion | None:
        head, dot, tail = name.partition(".")
        code, _, modifier = head.partition(":")
        param = self.params(self.resource_type).get(code)
        if param is None:
            why = "a search-result parameter this server does not implement" if code.startswith("_") \
                else "unknown parameter"
            self.unsupported(name, why)
            return None
        if dot:
            return self._chained(name, raw, param, modifier or None, tail)
        if not self._modifier_ok(param, modifier or None):
            self.unsupported(name, f"modifier :{modifier} is not supported for {param.type} parameters")
            return None
        values = self._values(name, param, modifier or None, raw)
        return Criterion(name, raw, param, modifier or None, values)

    def _modifier_ok(self, param: SearchParamDef, modifier: str | None) -> bool:
        if modifier is None:
            return True
        if param.code in COLUMN_PARAMS:
            return False
        if param.type == "reference" and modifier in self.resource_types:
            return not param.targets or modifier in param.targets
        return modifier in MODIFIERS.get(param.type, frozenset())

    def _chained(self, name: str, raw: str, param: SearchParamDef, modifier: str | None,
                 tail: str) -> Criterion | None:
        """``ref[:Type].param[:modifier]=value``: one level, the target type given or inferred."""
        if param.type != "reference":
            self.unsupported(name, f"{param.code} is not a reference parameter, it cannot be chained")
            return None
        if "." in tail:
            self.unsupported(name, "chains of more than one level are not supported")
            return None
        if modifier is not None and (modifier not in self.resource_types or not self._modifier_ok(param, modifier)):
            self.unsupported(name, f":{modifier} is not a target type of {param.code}")
            return None
        candidates = [modifier] if modifier else [t for t in param.targets if t in self.resource_types]
        target_code, _, target_modifier = tail.partition(":")
        chain = []
        for target in candidates:
            target_param = self.params(target).get(target_code)
            if target_param is None:
                continue
            if not self._modifier_ok(target_param, target_modifier or None):
                self.unsupported(name, f"modifier :{target_modifier} is not supported for {target_param.type}")
                return None
            values = self._values(name, target_param, target_modifier or None, raw)
            chain.append((target, Criterion(tail, raw, target_param, target_modifier or None, values)))
        if not chain:
            self.unsupported(name, f"no target type of {param.code} has a parameter {target_code!r}")
            return None
        return Criterion(name, raw, param, modifier, (), tuple(chain))

    def _values(self, name: str, param: SearchParamDef, modifier: str | None, raw: str) -> tuple[Value, ...]:
        """Parse the comma-separated alternatives of one parameter.

        Raises:
            BadRequest: a value that does not fit the parameter type, prefix or modifier.
        """
        if modifier == "missing":
            if raw not in ("true", "false"):
                raise BadRequest(f"search parameter {name!r}: :missing takes true or false, not {raw!r}")
            return (MissingValue(raw == "true"),)
        values = []
        for part in split_unescaped(raw, ","):
            if part == "":
                continue
            values.append(self._value(name, param, modifier, part))
        if not values:
            raise BadRequest(f"search parameter {name!r} has no value")
        return tuple(values)

    def _value(self, name: str, param: SearchParamDef, modifier: str | None, part: str) -> Value:
        kind = "token" if param.code == "_id" else param.type
        if kind == "token":
            return _token_value(name, modifier, part)
        if kind in ("string", "uri"):
            return StringValue(unescape(part))
        if kind == "reference":
            return self._reference_value(name, param, modifier, unescape(part))
        prefix, rest = _prefix(part) if kind in _PREFIXED_TYPES else ("eq", part)
        if kind == "date":
            return _date_value(name, prefix, rest)
        return _number_value(name, prefix, rest, quantity=kind == "quantity")

    def _reference_value(self, name: str, param: SearchParamDef, modifier: str | None,
                         text: str) -> ReferenceValue:
        """``Type/id``, ``id`` (with ``:Type`` or any type), an absolute URL, or ``canonical|version``."""
        if "/" not in text and "|" not in text and ":" not in text:
            return ReferenceValue(modifier, text)
        target = parse_reference(text, self.resource_types)
        if target is None:
            raise BadRequest(f"search parameter {name!r}: {text!r} is not a reference")
        if modifier is not None and target.target_type not in (None, modifier):
            raise BadRequest(f"search parameter {name!r}: {text!r} is not a {modifier} reference")
        if target.target_url is not None:
            return ReferenceValue(None, None, target.target_url, target.target_version)
        return ReferenceValue(target.target_type, target.target_id)

    # --- result parameters -------------------------------------------------------------------------------

    def include(self, name: str, value: str, reverse: bool) -> Include | None:
        """``Source:param[:Target]`` (``Source:*`` and ``*`` for every reference parameter)."""
        base, _, qualifier = name.partition(":")
        if qualifier not in ("", "iterate", "recurse"):
            self.unsupported(name, f"modifier :{qualifier}")
            return None
        iterate = qualifier != ""
        if value == "*":
            return Include(None, None, None, iterate, value)
        source, _, rest = value.partition(":")
        code, _, target = rest.partition(":")
        if source not in self.resource_types or not code:
            self.unsupported(f"{base}={value}", "expected Type:parameter[:TargetType]")
            return None
        if code != "*":
            param = self.params(source).get(code)
            if param is None or param.type != "reference":
                self.unsupported(f"{base}={value}", f"{source} has no reference parameter {code!r}")
                return None
            if target and (target not in self.resource_types or (param.targets and target not in param.targets)):
                self.unsupported(f"{base}={value}", f"{target} is not a target of {source}.{code}")
                return None
        elif target and target not in self.resource_types:
            self.unsupported(f"{base}={value}", f"{target} is not a resource type")
            return None
        if not reverse and not iterate and source != self.resource_type:
            self.unsupported(f"{base}={value}", f"the source type must be {self.resource_type} without :iterate")
            return None
        return Include(source, None if code == "*" else code, target or None, iterate, value)


def _count(parser: _QueryParser, fields: dict, name: str, value: str, max_count: int) -> None:
    fields["count"] = min(_non_negative(name, value), max_count)


def _offset(parser: _QueryParser, fields: dict, name: str, value: str, max_count: int) -> None:
    fields["offset"] = _non_negative(name, value)


def _sort(parser: _QueryParser, fields: dict, name: str, value: str, max_count: int) -> None:
    keys = list(fields.get("sort", ()))
    params = parser.params(parser.resource_type)
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        descending = item.startswith("-")
        param = params.get(item.lstrip("-"))
        if param is None:
            parser.unsupported(f"_sort={item}", "not a sortable parameter of this type")
            continue
        keys.append(SortKey(param, descending))
    fields["sort"] = tuple(keys)


def _choice(allowed: Sequence[str]) -> ResultParser:
    def parse(parser: _QueryParser, fields: dict, name: str, value: str, max_count: int) -> None:
        if value not in allowed:
            raise BadRequest(f"search parameter {name!r}: {value!r} is not one of {', '.join(allowed)}")
        fields[name.lstrip("_")] = value

    return parse


def _elements(parser: _QueryParser, fields: dict, name: str, value: str, max_count: int) -> None:
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    fields["elements"] = tuple(dict.fromkeys((*fields.get("elements", ()), *names)))


def _include(parser: _QueryParser, fields: dict, name: str, value: str, max_count: int) -> None:
    found = parser.include(name, value, reverse=False)
    if found is not None:
        parser.includes.append(found)


def _revinclude(parser: _QueryParser, fields: dict, name: str, value: str, max_count: int) -> None:
    found = parser.include(name, value, reverse=True)
    if found is not None:
        parser.revincludes.append(found)


ResultParser = Callable[[_QueryParser, dict, str, str, int], None]
"""Parses one search-result parameter (``_count``, ``_sort`` ...) into the SearchQuery fields."""
_RESULT_PARAMS: dict[str, ResultParser] = {
    "_count": _count, "_offset": _offset, "_sort": _sort, "_total": _choice(TOTAL_MODES),
    "_summary": _choice(SUMMARY_MODES), "_elements": _elements, "_include": _include,
    "_revinclude": _revinclude,
}


# --- value helpers -----------------------------------------------------------------------------------------


def split_unescaped(text: str, separator: str) -> list[str]:
    """Split on ``separator`` where it is not escaped by a backslash; the parts keep their escapes."""
    parts, current, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i:i + 2])
            i += 2
            continue
        if ch == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def unescape(text: str) -> str:
    """Remove the search escapes ``\\,`` ``\\|`` ``\\$`` ``\\\\`` (R4 §3.1.1.4 "Escaping")."""
    return _ESCAPED.sub(r"\1", text)


#: The largest ``_count``/``_offset`` read (a 32-bit integer): beyond, SQL integer parameters overflow.
MAX_PAGE_NUMBER = 2**31 - 1


def _non_negative(name: str, value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise BadRequest(f"search parameter {name!r}: expected a non-negative integer, not {value!r}")
    if len(value) > 10 or int(value) > MAX_PAGE_NUMBER:
        raise BadRequest(f"search parameter {name!r}: {value[:20]} is larger than {MAX_PAGE_NUMBER}")
    return int(value)


def _prefix(text: str) -> tuple[str, str]:
    if len(text) > 2 and text[:2] in PREFIXES:
        return text[:2], text[2:]
    return "eq", text


def _token_value(name: str, modifier: str | None, part: str) -> Value:
    if modifier == "text":
        return StringValue(unescape(part))
    pieces = [unescape(p) for p in split_unescaped(part, "|")]
    if modifier == "of-type":
        if len(pieces) != 3 or not all(pieces):
            raise BadRequest(f"search parameter {name!r}: :of-type takes system|code|value, not {part!r}")
        return OfTypeValue(*pieces)
    if len(pieces) == 1:
        return TokenValue(None, pieces[0])
    if len(pieces) == 2:
        return TokenValue(pieces[0], pieces[1] or None)
    raise BadRequest(f"search parameter {name!r}: {part!r} has more than one unescaped '|'")


def _date_value(name: str, prefix: str, text: str) -> DateValue:
    # A '+' of a time zone that was not percent-encoded arrives as a space.
    found = date_range(unescape(text).replace(" ", "+"))
    if found is None:
        raise BadRequest(f"search parameter {name!r}: {text!r} is not a date (yyyy[-mm[-dd[Thh:mm[:ss]]]][zone])")
    return DateValue(prefix, *found)


def _number_value(name: str, prefix: str, text: str, quantity: bool) -> NumberValue:
    pieces = [unescape(p) for p in split_unescaped(text, "|")] if quantity else [text]
    if len(pieces) not in (1, 3):
        raise BadRequest(f"search parameter {name!r}: {text!r} is not number[|system|code]")
    number = parse_decimal(pieces[0])
    if number is None:
        raise BadRequest(f"search parameter {name!r}: {pieces[0]!r} is not a number")
    low, high = decimal_range(number)
    system = pieces[1] or None if len(pieces) == 3 else None
    code = pieces[2] or None if len(pieces) == 3 else None
    return NumberValue(prefix, number, low, high, system, code)

