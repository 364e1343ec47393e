"""A compiled subset of FHIRPath: the shapes R4 SearchParameter expressions use, as plain look-ups.

fhirpathpy evaluates any expression but costs 0.1-0.6 ms per evaluation; the search indexer runs about 30
expressions per write. The R4 expressions are nearly all of a few shapes, so this module compiles those,
once per (resource type, expression), into chains of dictionary look-ups:

- paths ``A.b.c`` (a choice element ``value`` reads ``valueQuantity``, ``valueString`` ... as the type
  model lists them), unions ``a | b`` (branches rooted at another resource type are dropped),
- ``(A.b as T)``, ``A.b.as(T)``, ``A.b.ofType(T)``, ``A.b[0]``,
- ``where(resolve() is T)``, ``where(field = 'literal')``, ``where(hasExtension('url'))``,
  ``extension('url')``, and the boolean test ``P.exists() and P != false``.

Anything else raises :class:`UnsupportedExpression`, and the caller falls back to fhirpathpy. A compiled
program also knows the FHIR type of each value it finds (an Identifier and a ContactPoint are both
``{system, value}``), which the index conversion needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapter.conformance.structure import ElementDef, TypeModel

Item = tuple[Any, str | None]
"""A value found by a path and its FHIR type (a type name or a backbone scope); ``None`` if unknown."""
Program = Callable[[dict], list[Item]]
#: Separates ``code`` from its implicit system in a value's static type (``code@http://...``).
CODE_SYSTEM_MARK = "@"


class UnsupportedExpression(ValueError):
    """An expression outside the subset this module compiles; it runs on fhirpathpy instead."""


# --- parsing -----------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>\d+)|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|"
                    r"(?P<op>[().\[\]=|,]))")
_ROOTS = frozenset({"Resource", "DomainResource"})


def split_union(expression: str) -> list[str]:
    """Top-level ``|`` branches of an expression (not inside parentheses or string literals)."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(expression):
        if ch == "'" and (i == 0 or expression[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]":
            depth -= 1
        elif not quoted and depth == 0 and ch == "|":
            parts.append(expression[start:i].strip())
            start = i + 1
    parts.append(expression[start:].strip())
    return [p for p in parts if p]


def applicable_branches(expression: str, resource_type: str, resource_types: frozenset[str]) -> list[str]:
    """The union branches that can select something in ``resource_type``.

    R4 shares one SearchParameter between types (``Patient.name | Practitioner.name``); a branch rooted at
    another resource type never matches and is dropped, so the compiled program does no work for it.
    """
    kept = []
    for branch in split_union(expression):
        root = _root_name(branch)
        if root in resource_types and root != resource_type:
            continue
        kept.append(branch)
    return kept


def _root_name(branch: str) -> str:
    match = re.match(r"[\s(]*([A-Za-z_][A-Za-z0-9_]*)", branch)
    return match.group(1) if match else ""


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise UnsupportedExpression(f"cannot read {text[pos:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent over the FHIRPath subset; produces a flat list of operations.

    Operations: ``("root",)``, ``("child", name)``, ``("index", n)``, ``("as", type)``,
    ``("where_ref", type)``, ``("where_eq", field, literal)``, ``("where_ext", url)``, ``("ext", url)``.
    """

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def parse(self) -> list[tuple]:
        ops = self._branch()
        if self.pos != len(self.tokens):
            raise UnsupportedExpression(f"unexpected {self._peek()}")
        return ops

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, kind: str, text: str | None = None) -> str:
        token = self._peek()
        if token is None or token[0] != kind or (text is not None and token[1] != text):
            raise UnsupportedExpression(f"expected {text or kind}, got {token}")
        self.pos += 1
        return token[1]

    def _at(self, kind: str, text: str | None = None) -> bool:
        token = self._peek()
        return token is not None and token[0] == kind and (text is None or token[1] == text)

    def _branch(self) -> list[tuple]:
        ops = self._primary()
        while self._at("op", ".") or self._at("op", "["):
            if self._at("op", "["):
                self._take("op", "[")
                ops.append(("index", int(self._take("num"))))
                self._take("op", "]")
                continue
            self._take("op", ".")
            ops.extend(self._step())
        if self._at("ident", "as"):
            self._take("ident")
            ops.append(("as", self._take("ident")))
        return ops

    def _primary(self) -> list[tuple]:
        if self._at("op", "("):
            self._take("op", "(")
            ops = self._branch()
            self._take("op", ")")
            return ops
        name = self._take("ident")
        if name[0].isupper():
            return [("root", name)]
        return [("root", None), ("child", name)]

    def _step(self) -> list[tuple]:
        name = self._take("ident")
        if not self._at("op", "("):
            return [("child", name)]
        self._take("op", "(")
        if name in ("as", "ofType"):
            ops = [("as", self._take("ident"))]
        elif name == "where":
            ops = [self._condition()]
        elif name == "extension":
            ops = [("ext", _literal(self._take("str")))]
        else:
            raise UnsupportedExpression(f"function {name}()")
        self._take("op", ")")
        return ops

    def _condition(self) -> tuple:
        name = self._take("ident")
        if name == "resolve":
            self._take("op", "(")
            self._take("op", ")")
            self._take("ident", "is")
            return ("where_ref", self._take("ident"))
        if name == "hasExtension":
            self._take("op", "(")
            url = _literal(self._take("str"))
            self._take("op", ")")
            return ("where_ext", url)
        self._take("op", "=")
        return ("where_eq", name, _literal(self._take("str")))


def _literal(token: str) -> str:
    return token[1:-1].replace("\\'", "'").replace("\\\\", "\\")


# --- compiling -------------------------------------------------------------------------------------------


_BOOLEAN_TEST = re.compile(r"(?P<path>[A-Za-z][\w.]*)\.exists\(\) and (?P=path) != false")


@dataclass(frozen=True, slots=True)
class PathContext:
    """What compiling needs: the type model, the resource type, and the implicit system of a bound code."""

    types: TypeModel
    resource_type: str
    code_system: Callable[[ElementDef], str | None]


def compile_expression(ctx: PathContext, branches: list[str]) -> Program:
    """A program for the union of ``branches``, or for the boolean test ``P.exists() and P != false``.

    The boolean test is R4's ``Patient-deceased``: true when a deceasedDateTime or a true
    deceasedBoolean is present, false otherwise (so ``deceased=false`` finds the living).
    """
    test = _BOOLEAN_TEST.fullmatch(branches[0]) if len(branches) == 1 else None
    if test is None:
        return _compile_union(ctx, branches)
    path = _compile_union(ctx, [test.group("path")])

    def boolean(resource: dict) -> list[Item]:
        found = path(resource)
        return [(bool(found) and any(value is not False for value, _ in found), "boolean")]

    return boolean


def root_keys(ctx: PathContext, branches: list[str]) -> frozenset[str] | None:
    """The resource properties a union reads first, or None when it must always run (boolean tests)."""
    if len(branches) == 1 and _BOOLEAN_TEST.fullmatch(branches[0]):
        return None
    keys: set[str] = set()
    for branch in branches:
        ops = _Parser(branch).parse()
        if len(ops) < 2 or ops[1][0] not in ("child", "ext"):
            return None
        name = ops[1][1] if ops[1][0] == "child" else "extension"
        table, _ = _child_table(ctx, {ctx.resource_type}, name)
        keys.update(key for entries in table.values() for key, _ in entries)
    return frozenset(keys)


def _compile_union(ctx: PathContext, branches: list[str]) -> Program:
    programs = [_compile_branch(ctx, _Parser(b).parse()) for b in branches]
    if len(programs) == 1:
        return programs[0]

    def union(resource: dict) -> list[Item]:
        found: list[Item] = []
        for program in programs:
            found.extend(program(resource))
        return found

    return union


def _compile_branch(ctx: PathContext, ops: list[tuple]) -> Program:
    """Turn parsed operations into runtime steps, tracking the possible types of values statically."""
    resource_type = ctx.resource_type
    root = ops[0][1]
    if root is not None and root != resource_type and root not in _ROOTS:
        raise UnsupportedExpression(f"root {root}")
    scopes: set[str] = {resource_type}
    steps: list[Callable[[list[Item]], list[Item]]] = []
    last_child: dict[str, list[tuple[str, str]]] | None = None
    for op in ops[1:]:
        kind = op[0]
        if kind == "child":
            last_child, scopes = _child_table(ctx, scopes, op[1])
            steps.append(_child_step(last_child))
        elif kind == "ext":
            last_child, scopes = _child_table(ctx, scopes, "extension")
            steps.append(_child_step(last_child))
            steps.append(_filter_step(lambda v, url=op[1]: isinstance(v, dict) and v.get("url") == url))
            last_child = None
        elif kind == "as":
            allowed = {s for s in scopes if _is_a(ctx.types, s, op[1])}
            if last_child is not None:
                _narrow(last_child, allowed)
            else:
                steps.append(lambda items, allowed=frozenset(allowed): [i for i in items if i[1] in allowed])
            scopes = allowed
        else:
            steps.append(_runtime_step(op))
            last_child = None
    return _chain(resource_type, steps)


def _child_table(ctx: PathContext, scopes: set[str], name: str
                 ) -> tuple[dict[str, list[tuple[str, str]]], set[str]]:
    """For each possible input type, the JSON keys to read and the type of what is found there.

    A ``code`` bound to a value set of a single code system gets the type ``code@<system>``, so the
    token rows carry that implicit system (R4 §3.1.1.4.10: for ``code`` "the system is implicit").
    """
    types = ctx.types
    table: dict[str, list[tuple[str, str]]] = {}
    out: set[str] = set()
    for scope in scopes:
        element = types.element(scope, name)
        if element is None:
            continue
        if element.choice:
            keys = [(name + t[0].upper() + t[1:], types.scope_of(element, t)) for t in element.types]
        elif element.types == ("code",) and (system := ctx.code_system(element)):
            keys = [(name, f"code{CODE_SYSTEM_MARK}{system}")]
        else:
            keys = [(name, types.scope_of(element, element.types[0] if element.types else ""))]
        table[scope] = keys
        out.update(scope for _, scope in keys)
    if not table:
        raise UnsupportedExpression(f"no element {name} in {sorted(scopes)}")
    return table, out


def _narrow(table: dict[str, list[tuple[str, str]]], allowed: set[str]) -> None:
    for keys in table.values():
        keys[:] = [k for k in keys if k[1] in allowed]


def _is_a(types: TypeModel, scope: str, type_name: str) -> bool:
    """FHIRPath ``is``/``as``: the type or one of its bases (``Age`` is a ``Quantity``)."""
    type_name = type_name.removeprefix("FHIR.")
    scope = scope.partition(CODE_SYSTEM_MARK)[0]
    current = types.types.get(scope)
    if current is None:
        return scope == type_name
    while current is not None:
        if current.name == type_name:
            return True
        current = types.types.get(current.base) if current.base else None
    return False


def _child_step(table: dict[str, list[tuple[str, str]]]) -> Callable[[list[Item]], list[Item]]:
    if len(table) == 1:
        (scope, keys), = table.items()

        def single(items: list[Item]) -> list[Item]:
            out: list[Item] = []
            for value, value_scope in items:
                if value_scope != scope or type(value) is not dict:
                    continue
                for key, child_scope in keys:
                    found = value.get(key)
                    if found is None:
                        continue
                    if type(found) is list:
                        out.extend((x, child_scope) for x in found)
                    else:
                        out.append((found, child_scope))
            return out

        return single

    def multi(items: list[Item]) -> list[Item]:
        out: list[Item] = []
        for value, value_scope in items:
            keys = table.get(value_scope) if type(value) is dict else None
            for key, child_scope in keys or ():
                found = value.get(key)
                if found is None:
                    continue
                if type(found) is list:
                    out.extend((x, child_scope) for x in found)
                else:
                    out.append((found, child_scope))
        return out

    return multi


def _filter_step(keep: Callable[[Any], bool]) -> Callable[[list[Item]], list[Item]]:
    return lambda items: [item for item in items if keep(item[0])]


def _runtime_step(op: tuple) -> Callable[[list[Item]], list[Item]]:
    kind = op[0]
    if kind == "index":
        return lambda items, n=op[1]: items[n:n + 1]
    if kind == "where_eq":
        return _filter_step(lambda v, f=op[1], lit=op[2]: isinstance(v, dict) and v.get(f) == lit)
    if kind == "where_ext":
        return _filter_step(lambda v, url=op[1]: isinstance(v, dict) and any(
            isinstance(e, dict) and e.get("url") == url for e in v.get("extension", ())))
    if kind == "where_ref":
        return _filter_step(lambda v, t=op[1]: isinstance(v, dict) and _reference_type(v) == t)
    raise UnsupportedExpression(kind)


def _reference_type(reference: dict) -> str | None:
    """The resource type a Reference points at, for ``where(resolve() is T)`` without resolving it."""
    text = reference.get("reference")
    if isinstance(text, str) and not text.startswith("#"):
        segments = text.split("/")
        if len(segments) >= 4 and segments[-2] == "_history":
            segments = segments[:-2]
        if len(segments) >= 2:
            return segments[-2]
    return reference.get("type")


def _chain(resource_type: str, steps: list[Callable[[list[Item]], list[Item]]]) -> Program:
    if len(steps) == 1:
        step = steps[0]
        return lambda resource: step([(resource, resource_type)])

    def run(resource: dict) -> list[Item]:
        items: list[Item] = [(resource, resource_type)]
        for step in steps:
            items = step(items)
            if not items:
                break
        return items

    return run
