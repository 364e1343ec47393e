"""A fast evaluator for the common subset of FHIRPath that invariants use, with fhirpathpy behind it.

Most constraints are small: ``extension.exists() != value.exists()`` (ext-1, on every extension),
``contained.contained.empty()`` (dom-2, on every resource), ``code.empty() or system.exists()``. fhirpathpy
evaluates them in 0.05-0.3 ms, which is most of the cost of a profile validation; evaluated here on the
plain JSON they take a few microseconds.

The parsed expression (fhirpathpy's AST, parsed once) is compiled into Python closures over lists of
:class:`Node`. Navigation uses the type model to spell choice elements (``value`` is ``valueQuantity``)
and to pair primitives with their ``_x`` objects. Supported: navigation, ``$this``, ``%resource``,
``%rootResource``, ``%context``, ``%ucum``, string/number/boolean literals, parentheses,
``and``/``or``/``xor``/``implies`` (short-circuit where the result cannot change, singleton evaluation as
in :mod:`~adapter.validation.fhirpath_functions`), ``=``/``!=`` on single strings, numbers and booleans,
``<``/``<=``/``>``/``>=`` on numbers and on dates or date-times of the same precision, ``+`` on numbers,
``is``/``ofType``/``as`` with FHIR types, ``where``/``select``/``exists(criteria)``/``all``,
``exists()``, ``empty()``, ``not()``, ``count()``, ``hasValue()``, ``first()``, ``length()``,
``toString()`` of a string, ``startsWith()``, ``matches()``, ``extension(url)``, ``trace()``,
``htmlChecks()``, ``descendants()``, ``|``, ``in``/``contains`` and ``+``/``&`` on strings: enough for
``dom-3``, which looks through the whole resource for references to each contained resource.

Anything else raises :class:`Fallback` when it is reached (not when compiled), and the caller evaluates
the whole expression with fhirpathpy instead: ``reference.startsWith('#').not() or (...)`` (ref-1) is
answered here for every reference that is not local, by fhirpathpy for the others.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from adapter.conformance.structure import TypeModel
from adapter.validation.fhirpath_functions import html_checks


class Fallback(Exception):
    """This expression (on this data) needs the full FHIRPath engine."""


class Node:
    """One item of a collection: a JSON value and the type path its children are looked up in."""

    __slots__ = ("scope", "value")

    def __init__(self, value: Any, scope: str | None) -> None:
        self.value = value
        self.scope = scope


class Env:
    """The variables of one evaluation, and the descendants computed during it."""

    __slots__ = ("context", "descendants", "resource", "root")

    def __init__(self, context: list[Node], resource: dict, root: dict) -> None:
        self.context = context
        self.resource = resource
        self.root = root
        self.descendants: dict[int, list[Node]] = {}


#: A compiled expression: the focus collection and the environment in, a collection out.
Compiled = Callable[[list[Node], Env], list[Node]]

#: Primitive types compared with ``=`` here; dates and times compare by FHIRPath rules (fhirpathpy).
_PLAIN_TYPES = frozenset({"string", "code", "id", "uri", "url", "canonical", "oid", "uuid", "markdown",
                          "boolean", "integer", "decimal", "positiveInt", "unsignedInt", "base64Binary"})
#: The FHIRPath system type of each FHIR primitive (fhirpath.html#types): ``answer is Boolean`` holds for
#: a FHIR ``boolean``, ``$this is DateTime`` for a ``dateTime``, as the constraints that use them intend.
_SYSTEM_TYPES = {
    "boolean": "Boolean", "integer": "Integer", "unsignedInt": "Integer", "positiveInt": "Integer",
    "decimal": "Decimal", "date": "Date", "dateTime": "DateTime", "instant": "DateTime", "time": "Time",
    **dict.fromkeys(("string", "uri", "url", "canonical", "code", "oid", "id", "uuid", "markdown",
                     "base64Binary", "xhtml"), "String"),
}

#: A type test that cannot be answered here (the node's type is unknown).
_UNKNOWN = object()

#: Types whose values compare as dates and times (by :func:`_compare_moments`).
_TEMPORAL_TYPES = frozenset({"date", "dateTime", "instant"})
_NUMBER = (int, Decimal)
_FULL_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
_DATE_TIME = re.compile(r"(\d{4})(?:-(\d\d)(?:-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d(?:\.\d+)?))?"
                        r"(Z|[+-]\d\d:\d\d)?)?)?)?")


class FastCompiler:
    """Compiles parsed expressions into closures; knows the type model for navigation."""

    def __init__(self, types: TypeModel) -> None:
        self._types = types
        self._elements: dict[str, dict[str, dict[str, str]]] = {}
        self._is_type: dict[tuple[str | None, str], object] = {}

    def compile(self, parsed: dict) -> Compiled:
        return self._expression(parsed["children"][0])

    # --- navigation -----------------------------------------------------------------------------------------

    def navigate(self, nodes: list[Node], name: str) -> list[Node]:
        found: list[Node] = []
        for node in nodes:
            value = node.value
            if type(value) is not dict:
                if name in ("id", "extension"):
                    raise Fallback  # a primitive's own children are in its ``_x`` object, not kept here
                continue  # a primitive has no other children
            if node.scope is None:
                raise Fallback
            spellings = self._spellings(node.scope, name)
            if len(spellings) == 1:
                key, child_scope = next(iter(spellings.items()))
                self._collect(value, key, child_scope, found)
                continue
            for key in value:  # a choice: the object's few keys, not the type's many spellings
                child_scope = spellings.get(key[1:] if key[:1] == "_" else key)
                if child_scope is not None:
                    self._collect(value, key.lstrip("_"), child_scope, found)
                    break
        return found

    def _spellings(self, scope: str, name: str) -> dict[str, str]:
        """The JSON keys of element ``name`` in ``scope`` and the type path of each (one unless a choice;
        none when the scope has no such element).

        Raises:
            Fallback: the scope is not one the type model knows.
        """
        table = self._elements.get(scope)
        if table is None:
            if scope not in self._types.children:
                raise Fallback
            table = self._elements[scope] = {}
        spellings = table.get(name)
        if spellings is None:
            element = next((e for e in self._types.children.get(scope, ()) if e.name == name), None)
            if element is None:
                spellings = {}
            elif element.choice:
                spellings = {name + t[0].upper() + t[1:]: element.children_scope or t for t in element.types}
            else:
                spellings = {name: element.children_scope or (element.types[0] if element.types else "")}
            table[name] = spellings
        return spellings

    def _collect(self, obj: dict, key: str, scope: str, found: list[Node]) -> None:
        value = obj.get(key)
        companion = obj.get("_" + key)
        if type(value) is list or type(companion) is list:
            values = value if type(value) is list else []
            companions = companion if type(companion) is list else []
            for index in range(max(len(values), len(companions))):
                item = values[index] if index < len(values) else None
                if item is None and index < len(companions):
                    item = companions[index]
                if item is not None:
                    found.append(Node(item, TypeModel.nested_type(item, scope)))
        elif value is not None:
            found.append(Node(value, TypeModel.nested_type(value, scope)))
        elif companion is not None:
            found.append(Node(companion, scope))

    def descendants(self, nodes: list[Node], env: Env) -> list[Node]:
        """Every node below the given ones, typed by the model; memoized per value for one evaluation."""
        found: list[Node] = []
        for node in nodes:
            key = id(node.value)
            below = env.descendants.get(key)
            if below is None:
                below = env.descendants[key] = []
                self._below(node, below)
            found.extend(below)
        return found

    def _below(self, node: Node, found: list[Node]) -> None:
        value = node.value
        if type(value) is not dict or node.scope is None:
            return
        properties = self._types.properties.get(node.scope)
        if properties is None:
            raise Fallback
        for key, child in value.items():
            if key == "resourceType":
                continue
            if key[:1] == "_":  # a primitive's id/extension: its extensions are descendants too
                for extension in _as_list(child):
                    nested_extensions = extension.get("extension") if type(extension) is dict else None
                    for nested in nested_extensions if type(nested_extensions) is list else ():
                        self._descend_into(Node(nested, "Extension"), found)
                continue
            prop = properties.get(key)
            if prop is None:
                raise Fallback
            element, type_code = prop
            scope = element.children_scope or type_code
            for item in _as_list(child):
                if item is not None:
                    self._descend_into(Node(item, TypeModel.nested_type(item, scope)), found)

    def _descend_into(self, node: Node, found: list[Node]) -> None:
        found.append(node)
        self._below(node, found)

    # --- compiling ----------------------------------------------------------------------------------------------

    def _expression(self, node: dict) -> Compiled:
        kind = node.get("type")
        handler = _HANDLERS.get(kind or "")
        if handler is None:
            return _unsupported
        return handler(self, node)

    def _term(self, node: dict) -> Compiled:
        return self._expression(node["children"][0])

    def _invocation_term(self, node: dict) -> Compiled:
        return self._invocation(node["children"][0], None)

    def _invocation_expression(self, node: dict) -> Compiled:
        source = self._expression(node["children"][0])
        return self._invocation(node["children"][1], source)

    def _invocation(self, node: dict, source: Compiled | None) -> Compiled:
        kind = node.get("type")
        if kind == "MemberInvocation":
            name = node["children"][0]["text"].strip("`")
            if source is None:
                return lambda focus, env: self.navigate(focus, name)
            return lambda focus, env: self.navigate(source(focus, env), name)
        if kind == "ThisInvocation" and source is None:
            return lambda focus, env: focus
        if kind == "FunctionInvocation":
            return self._function(node["children"][0], source)
        return _unsupported

    def _function(self, node: dict, source: Compiled | None) -> Compiled:
        name = node["children"][0]["text"]
        params = node["children"][1]["children"] if len(node["children"]) > 1 else []
        inner = source or (lambda focus, env: focus)
        simple = _SIMPLE_FUNCTIONS.get(name)
        if simple is not None and not params:
            return lambda focus, env: simple(inner(focus, env))
        if name in _LAMBDA_FUNCTIONS and len(params) == 1:
            criteria = self._expression(params[0])
            apply = _LAMBDA_FUNCTIONS[name]
            return lambda focus, env: apply(inner(focus, env), criteria, env)
        if name in ("ofType", "as") and len(params) == 1:
            type_name = _type_name(params[0])
            return lambda focus, env: [n for n in inner(focus, env) if self.is_type(n, type_name)]
        if name == "trace":
            return inner
        numbers = [_integer_literal(p) for p in params]
        if name == "substring" and params and None not in numbers:
            return lambda focus, env: _substring(inner(focus, env), *numbers)
        if name in ("intersect", "exclude") and len(params) == 1:
            other = self._expression(params[0])
            keep = name == "intersect"

            def combine(focus: list[Node], env: Env) -> list[Node]:
                wanted = {_identity(node) for node in other(focus, env)}
                return [node for node in inner(focus, env) if (_identity(node) in wanted) == keep]

            return combine
        if name == "descendants" and not params:
            return lambda focus, env: self.descendants(inner(focus, env), env)
        literal = _string_literal(params[0]) if len(params) == 1 else None
        if literal is not None and name == "startsWith":
            return lambda focus, env: _starts_with(inner(focus, env), literal)
        if literal is not None and name == "extension":
            return lambda focus, env: _extensions(inner(focus, env), literal)
        if literal is not None and name == "matches":
            pattern = re.compile(literal, re.DOTALL)
            return lambda focus, env: _matches(inner(focus, env), pattern)
        return _unsupported

    def _literal(self, node: dict) -> Compiled:
        literal = node["children"][0]
        kind, text = literal.get("type"), literal.get("text", "")
        if kind == "StringLiteral":
            value = _string_literal_text(text)
            if value is None:
                return _unsupported
            nodes = [Node(value, "string")]
        elif kind == "BooleanLiteral":
            nodes = [Node(text == "true", "boolean")]
        elif kind == "NumberLiteral":
            nodes = [Node(Decimal(text) if "." in text else int(text), "decimal" if "." in text else "integer")]
        else:
            return _unsupported
        return lambda focus, env: nodes

    def _external(self, node: dict) -> Compiled:
        name = node["children"][0]["children"][0]["text"].strip("`")
        if name == "resource":
            return lambda focus, env: [Node(env.resource, env.resource.get("resourceType"))]
        if name == "rootResource":
            return lambda focus, env: [Node(env.root, env.root.get("resourceType"))]
        if name == "context":
            return lambda focus, env: env.context
        if name == "ucum":
            ucum = [Node("http://unitsofmeasure.org", "string")]
            return lambda focus, env: ucum
        return _unsupported

    def _parenthesized(self, node: dict) -> Compiled:
        return self._expression(node["children"][0])

    def _boolean(self, node: dict) -> Compiled:
        operator = node["terminalNodeText"][0]
        left = self._expression(node["children"][0])
        right = self._expression(node["children"][1])
        return _BOOLEAN_OPERATORS[operator](left, right)

    def _equality(self, node: dict) -> Compiled:
        operator = node["terminalNodeText"][0]
        if operator not in ("=", "!="):
            return _unsupported
        left = self._expression(node["children"][0])
        right = self._expression(node["children"][1])
        negate = operator == "!="

        def equality(focus: list[Node], env: Env) -> list[Node]:
            a, b = left(focus, env), right(focus, env)
            if not a or not b:
                return []
            result = _equal(a, b)
            return [Node(result != negate, "boolean")]

        return equality


    def _type_expression(self, node: dict) -> Compiled:
        operator = node["terminalNodeText"][0]
        source = self._expression(node["children"][0])
        type_name = _type_name(node["children"][1])
        if operator == "is":
            def is_type(focus: list[Node], env: Env) -> list[Node]:
                nodes = source(focus, env)
                if not nodes:
                    return []
                if len(nodes) > 1:
                    raise Fallback
                return [Node(self.is_type(nodes[0], type_name), "boolean")]
            return is_type
        return lambda focus, env: [n for n in source(focus, env) if self.is_type(n, type_name)]

    def is_type(self, node: Node, type_name: str) -> bool:
        """Whether a node is of a FHIR type or one derived from it (``Age`` is a ``Quantity``).

        Raises:
            Fallback: the node's type is unknown, or not one the type model names.
        """
        key = (node.scope, type_name)
        verdict = self._is_type.get(key)
        if verdict is None:
            verdict = self._is_type[key] = self._type_test(node.scope, type_name)
        if verdict is _UNKNOWN:
            raise Fallback
        return verdict is True

    def _type_test(self, scope: str | None, type_name: str) -> object:
        if type_name.startswith("System.") or (type_name not in self._types.types
                                                and type_name in _SYSTEM_TYPES.values()):
            system = _SYSTEM_TYPES.get(scope or "")
            return _UNKNOWN if system is None else system == type_name.removeprefix("System.")
        name = type_name.removeprefix("FHIR.")
        if name not in self._types.types or scope is None:
            return _UNKNOWN
        if scope not in self._types.types:
            # an inline element (``Observation.component``) is a BackboneElement
            return _UNKNOWN if "." not in scope else name in ("BackboneElement", "Element")
        return self._types.inherits(scope, name)

    def _inequality(self, node: dict) -> Compiled:
        operator = node["terminalNodeText"][0]
        left = self._expression(node["children"][0])
        right = self._expression(node["children"][1])
        test = _COMPARISONS[operator]

        def compare(focus: list[Node], env: Env) -> list[Node]:
            a, b = left(focus, env), right(focus, env)
            if not a or not b:
                return []
            order = _order(a, b)
            return [] if order is None else [Node(test(order), "boolean")]

        return compare

    def _additive(self, node: dict) -> Compiled:
        operator = node["terminalNodeText"][0]
        if operator not in ("+", "&"):
            return _unsupported
        left = self._expression(node["children"][0])
        right = self._expression(node["children"][1])

        def add(focus: list[Node], env: Env) -> list[Node]:
            a, b = left(focus, env), right(focus, env)
            if len(a) > 1 or len(b) > 1:
                raise Fallback
            x = a[0].value if a else ("" if operator == "&" else None)
            y = b[0].value if b else ("" if operator == "&" else None)
            if x is None or y is None:
                return []
            if type(x) is str and type(y) is str:
                return [Node(x + y, "string")]
            if operator == "+" and _is_number(x) and _is_number(y):
                total = x + y
                return [Node(total, "decimal" if type(total) is Decimal else "integer")]
            raise Fallback

        return add

    def _union(self, node: dict) -> Compiled:
        left = self._expression(node["children"][0])
        right = self._expression(node["children"][1])

        def union(focus: list[Node], env: Env) -> list[Node]:
            merged: dict[Any, Node] = {}
            for item in (*left(focus, env), *right(focus, env)):
                merged.setdefault(_identity(item), item)
            return list(merged.values())

        return union

    def _membership(self, node: dict) -> Compiled:
        operator = node["terminalNodeText"][0]
        first = self._expression(node["children"][0])
        second = self._expression(node["children"][1])

        def member(focus: list[Node], env: Env) -> list[Node]:
            items, collection = (first(focus, env), second(focus, env))
            if operator == "contains":
                items, collection = collection, items
            if not items:
                return []
            if len(items) > 1:
                raise Fallback
            wanted = _identity(items[0])
            return [Node(any(_identity(other) == wanted for other in collection), "boolean")]

        return member


def _unsupported(focus: list[Node], env: Env) -> list[Node]:
    raise Fallback


def _truth(nodes: list[Node]) -> bool | None:
    """As :func:`adapter.validation.fhirpath_functions._truth` (singleton evaluation)."""
    if not nodes:
        return None
    if len(nodes) > 1:
        if all(type(n.value) is bool for n in nodes):
            raise Fallback
        return True
    value = nodes[0].value
    return value if type(value) is bool else True


def _result(value: bool | None) -> list[Node]:
    return [] if value is None else [Node(value, "boolean")]


def _or(left: Compiled, right: Compiled) -> Compiled:
    def evaluate(focus: list[Node], env: Env) -> list[Node]:
        a = _truth(left(focus, env))
        if a is True:
            return _result(True)
        b = _truth(right(focus, env))
        if b is True:
            return _result(True)
        return _result(False if a is False and b is False else None)
    return evaluate


def _and(left: Compiled, right: Compiled) -> Compiled:
    def evaluate(focus: list[Node], env: Env) -> list[Node]:
        a = _truth(left(focus, env))
        if a is False:
            return _result(False)
        b = _truth(right(focus, env))
        if b is False:
            return _result(False)
        return _result(True if a is True and b is True else None)
    return evaluate


def _xor(left: Compiled, right: Compiled) -> Compiled:
    def evaluate(focus: list[Node], env: Env) -> list[Node]:
        a, b = _truth(left(focus, env)), _truth(right(focus, env))
        return _result(None if a is None or b is None else a != b)
    return evaluate


def _implies(left: Compiled, right: Compiled) -> Compiled:
    def evaluate(focus: list[Node], env: Env) -> list[Node]:
        a = _truth(left(focus, env))
        if a is False:
            return _result(True)
        b = _truth(right(focus, env))
        if b is True:
            return _result(True)
        return _result(False if a is True and b is False else None)
    return evaluate


_BOOLEAN_OPERATORS: dict[str, Callable[[Compiled, Compiled], Compiled]] = {
    "and": _and, "or": _or, "xor": _xor, "implies": _implies,
}


def _equal(a: list[Node], b: list[Node]) -> bool:
    if len(a) != 1 or len(b) != 1:
        raise Fallback
    x, y = a[0], b[0]
    if x.scope not in _PLAIN_TYPES or y.scope not in _PLAIN_TYPES:
        raise Fallback
    left, right = x.value, y.value
    if type(left) is bool or type(right) is bool:
        return type(left) is type(right) and left == right
    if isinstance(left, (int, Decimal)) and isinstance(right, (int, Decimal)):
        return Decimal(left) == Decimal(right)
    if type(left) is str and type(right) is str:
        return left == right
    raise Fallback


def _exists(nodes: list[Node]) -> list[Node]:
    return [Node(bool(nodes), "boolean")]


def _empty(nodes: list[Node]) -> list[Node]:
    return [Node(not nodes, "boolean")]


def _not(nodes: list[Node]) -> list[Node]:
    if not nodes:
        return []
    if len(nodes) > 1 or type(nodes[0].value) is not bool:
        raise Fallback
    return [Node(not nodes[0].value, "boolean")]


def _count(nodes: list[Node]) -> list[Node]:
    return [Node(len(nodes), "integer")]


def _first(nodes: list[Node]) -> list[Node]:
    return nodes[:1]


def _has_value(nodes: list[Node]) -> list[Node]:
    return [Node(len(nodes) == 1 and type(nodes[0].value) not in (dict, list), "boolean")]


_SIMPLE_FUNCTIONS: dict[str, Callable[[list[Node]], list[Node]]] = {
    "exists": _exists, "empty": _empty, "not": _not, "count": _count, "first": _first, "hasValue": _has_value,
}


def _starts_with(nodes: list[Node], prefix: str) -> list[Node]:
    if not nodes:
        return []
    if len(nodes) > 1 or type(nodes[0].value) is not str:
        raise Fallback
    return [Node(nodes[0].value.startswith(prefix), "boolean")]


def _extensions(nodes: list[Node], url: str) -> list[Node]:
    found: list[Node] = []
    for node in nodes:
        extensions = node.value.get("extension") if type(node.value) is dict else None
        if type(extensions) is list:
            for extension in extensions:
                if type(extension) is dict and extension.get("url") == url:
                    found.append(Node(extension, "Extension"))
    return found


def _integer_literal(node: dict) -> int | None:
    while node.get("type") in ("TermExpression", "LiteralTerm") and node.get("children"):
        node = node["children"][0]
    text = node.get("text", "")
    return int(text) if node.get("type") == "NumberLiteral" and text.isdigit() else None


def _substring(nodes: list[Node], start: int, length: int | None = None) -> list[Node]:
    if not nodes:
        return []
    if len(nodes) > 1 or type(nodes[0].value) is not str:
        raise Fallback
    text = nodes[0].value
    if start >= len(text):
        return []
    return [Node(text[start:] if length is None else text[start:start + length], "string")]


def _as_list(value: Any) -> list[Any]:
    return value if type(value) is list else [value]


def _identity(node: Node) -> Any:
    """What makes two items equal for ``|``, ``in`` and ``intersect``: a primitive's value (numbers by
    value, strings by text), a complex value's content (every child equal, FHIRPath §6.1.1).

    Raises:
        Fallback: dates and times, whose equality depends on precision.
    """
    value = node.value
    if node.scope in _TEMPORAL_TYPES or node.scope == "time":
        raise Fallback
    if type(value) is bool:
        return ("boolean", value)
    if _is_number(value):
        return ("number", Decimal(value))
    if type(value) is str:
        return ("string", value)
    return ("object", json.dumps(value, sort_keys=True, default=str))


def _is_number(value: Any) -> bool:
    return isinstance(value, _NUMBER) and type(value) is not bool


def _order(a: list[Node], b: list[Node]) -> int | None:
    """-1/0/1 comparing two singletons (numbers, or dates and times); None when FHIRPath says "empty".

    Raises:
        Fallback: anything else (strings, quantities, times of day).
    """
    if len(a) > 1 or len(b) > 1:
        raise Fallback
    x, y = a[0].value, b[0].value
    if _is_number(x) and _is_number(y):
        return (x > y) - (x < y)
    if a[0].scope in _TEMPORAL_TYPES and b[0].scope in _TEMPORAL_TYPES and type(x) is str and type(y) is str:
        return _compare_moments(x, y)
    raise Fallback


def _compare_moments(x: str, y: str) -> int | None:
    """Dates and date-times by FHIRPath's rule (§6.2, "comparison"): component by component to the precision
    both have; equal so far but of different precision is empty (``2020-06-01`` against
    ``2020-06-01T10:00:00Z`` is neither before nor after). Two full date-times with time zones compare as
    instants.

    Raises:
        Fallback: a value that is not a FHIR date or dateTime.
    """
    left, right = _DATE_TIME.fullmatch(x), _DATE_TIME.fullmatch(y)
    if left is None or right is None:
        raise Fallback
    if _FULL_DATE_TIME.fullmatch(x) and _FULL_DATE_TIME.fullmatch(y):
        first, second = (datetime.fromisoformat(v.replace("Z", "+00:00")) for v in (x, y))
        return (first > second) - (first < second)
    a = [Decimal(part) for part in left.groups()[:6] if part is not None]
    b = [Decimal(part) for part in right.groups()[:6] if part is not None]
    for p, q in zip(a, b, strict=False):
        if p != q:
            return -1 if p < q else 1
    return 0 if len(a) == len(b) else None


_COMPARISONS: dict[str, Callable[[int], bool]] = {
    "<": lambda order: order < 0, "<=": lambda order: order <= 0,
    ">": lambda order: order > 0, ">=": lambda order: order >= 0,
}


def _where(nodes: list[Node], criteria: Compiled, env: Env) -> list[Node]:
    return [node for node in nodes if _truth(criteria([node], env)) is True]


def _select(nodes: list[Node], criteria: Compiled, env: Env) -> list[Node]:
    return [found for node in nodes for found in criteria([node], env)]


def _exists_where(nodes: list[Node], criteria: Compiled, env: Env) -> list[Node]:
    return [Node(any(_truth(criteria([node], env)) is True for node in nodes), "boolean")]


def _all(nodes: list[Node], criteria: Compiled, env: Env) -> list[Node]:
    return [Node(all(_truth(criteria([node], env)) is True for node in nodes), "boolean")]


#: Functions whose parameter is evaluated on each input item (``$this``).
_LAMBDA_FUNCTIONS: dict[str, Callable[[list[Node], Compiled, Env], list[Node]]] = {
    "where": _where, "select": _select, "exists": _exists_where, "all": _all,
}


def _matches(nodes: list[Node], pattern: re.Pattern[str]) -> list[Node]:
    if not nodes:
        return []
    if len(nodes) > 1 or type(nodes[0].value) is not str:
        raise Fallback
    return [Node(pattern.search(nodes[0].value) is not None, "boolean")]


def _length(nodes: list[Node]) -> list[Node]:
    if not nodes:
        return []
    if len(nodes) > 1 or type(nodes[0].value) is not str:
        raise Fallback
    return [Node(len(nodes[0].value), "integer")]


def _to_string(nodes: list[Node]) -> list[Node]:
    if not nodes:
        return []
    if len(nodes) > 1 or type(nodes[0].value) is not str:
        raise Fallback
    return [Node(nodes[0].value, "string")]


def _html_checks(nodes: list[Node]) -> list[Node]:
    return [Node(html_checks([n.value for n in nodes]), "boolean")]


def _type_name(node: dict) -> str:
    """The text of a type specifier (``Quantity``, ``FHIR.Quantity``) or a parameter naming a type."""
    return node.get("text") or "".join(c.get("text", "") for c in node.get("children", []))


def _string_literal(node: dict) -> str | None:
    """The value of a parameter that is a plain string literal, or None."""
    while node.get("type") in ("TermExpression", "LiteralTerm") and node.get("children"):
        node = node["children"][0]
    if node.get("type") != "StringLiteral":
        return None
    return _string_literal_text(node.get("text", ""))


def _string_literal_text(text: str) -> str | None:
    """``'abc'`` -> ``abc``; None when it has escapes (fhirpathpy reads those)."""
    if len(text) < 2 or "\\" in text:
        return None
    return text[1:-1]


_SIMPLE_FUNCTIONS.update({"length": _length, "toString": _to_string, "htmlChecks": _html_checks})

_HANDLERS: dict[str, Callable[[FastCompiler, dict], Compiled]] = {
    "TermExpression": FastCompiler._term,
    "InvocationTerm": FastCompiler._invocation_term,
    "InvocationExpression": FastCompiler._invocation_expression,
    "LiteralTerm": FastCompiler._literal,
    "ExternalConstantTerm": FastCompiler._external,
    "ParenthesizedTerm": FastCompiler._parenthesized,
    "AndExpression": FastCompiler._boolean,
    "OrExpression": FastCompiler._boolean,
    "ImpliesExpression": FastCompiler._boolean,
    "EqualityExpression": FastCompiler._equality,
    "InequalityExpression": FastCompiler._inequality,
    "AdditiveExpression": FastCompiler._additive,
    "TypeExpression": FastCompiler._type_expression,
    "UnionExpression": FastCompiler._union,
    "MembershipExpression": FastCompiler._membership,
}
