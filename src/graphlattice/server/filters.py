"""``$filter``: a parser and evaluator for the OData forms Graph accepts on the collections we serve.

Grammar (a subset of OData v4 that Graph's identity APIs use)::

    expr    := and ('or' and)*
    and     := unary ('and' unary)*
    unary   := 'not' unary | '(' expr ')' | call | lambda | comparison
    compare := path op literal | path 'in' '(' literal (',' literal)* ')'     op: eq ne gt ge lt le
    call    := startswith '(' path ',' literal ')'
    lambda  := path '/' ('any' | 'all') '(' var ':' expr ')'
    literal := 'text' | number | true | false | null | 2026-03-02T09:14:05Z (DateTimeOffset, unquoted)

Each collection declares which property may be filtered with which operator (:class:`FilterSpec`); the rest
is refused as Graph refuses it, with ``Request_UnsupportedQuery``. Inside a lambda the property is named
``collection/any/sub`` (``targetResources/any/id``) or ``collection/any`` for a list of strings
(``methodsRegistered/any``). Text comparisons ignore case, as Graph's do on directory properties.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphlattice.server.errors import UNSUPPORTED_QUERY, GraphError, bad_request

__all__ = ["Filter", "FilterSpec", "parse_filter"]

Json = dict[str, Any]
FilterSpec = Mapping[str, frozenset[str]]
"""Filterable property (``a/b``, ``list/any/sub``) -> operators (eq ne gt ge lt le in startswith)."""

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2}))
    | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>[()/,:])
    )""",
    re.VERBOSE,
)
_COMPARE = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_MAX_DEPTH = 32


class _Syntax(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Lit:
    value: Any  # str, int, float, bool, None, datetime


@dataclass(frozen=True, slots=True)
class _Cmp:
    path: tuple[str, ...]
    op: str  # eq ne gt ge lt le in startswith
    values: tuple[_Lit, ...]


@dataclass(frozen=True, slots=True)
class _Lambda:
    path: tuple[str, ...]
    kind: str  # any | all
    var: str
    body: _Node


@dataclass(frozen=True, slots=True)
class _Bool:
    op: str  # and | or | not
    parts: tuple[_Node, ...]


_Node = _Cmp | _Lambda | _Bool


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise _Syntax(f"unexpected character at position {pos}: {text[pos : pos + 10]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.depth = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _Syntax("the expression ends too early")
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        text = self.take()[1]
        if text != value:
            raise _Syntax(f"expected {value!r}, found {text!r}")

    def word(self, value: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token[0] == "name" and token[1].casefold() == value

    def parse(self) -> _Node:
        node = self.expr()
        if self.peek() is not None:
            raise _Syntax(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def expr(self) -> _Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _Syntax("the expression is nested too deeply")
        parts = [self.conj()]
        while self.word("or"):
            self.take()
            parts.append(self.conj())
        self.depth -= 1
        return parts[0] if len(parts) == 1 else _Bool("or", tuple(parts))

    def conj(self) -> _Node:
        parts = [self.unary()]
        while self.word("and"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else _Bool("and", tuple(parts))

    def unary(self) -> _Node:
        if self.word("not"):
            self.take()
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise _Syntax("the expression is nested too deeply")
            node = self.unary()
            self.depth -= 1
            return _Bool("not", (node,))
        token = self.peek()
        if token is not None and token[1] == "(":
            self.take()
            node = self.expr()
            self.expect(")")
            return node
        if self.word("startswith") and self.peek(1) is not None and self.peek(1)[1] == "(":  # type: ignore[index]
            self.take()
            self.expect("(")
            path = self.path()
            self.expect(",")
            literal = self.literal()
            self.expect(")")
            if not isinstance(literal.value, str):
                raise _Syntax("startswith needs a quoted text")
            return _Cmp(path, "startswith", (literal,))
        path = self.path()
        token = self.peek()
        if token is not None and token[1] == "/" and (self.word("any", 1) or self.word("all", 1)):
            self.take()
            kind = self.take()[1].casefold()
            self.expect("(")
            var_kind, var = self.take()
            if var_kind != "name":
                raise _Syntax(f"{kind}() needs a range variable, e.g. {kind}(t: t/id eq '...')")
            self.expect(":")
            body = self.expr()
            self.expect(")")
            return _Lambda(path, kind, var, body)
        op_kind, op = self.take()
        op = op.casefold()
        if op == "in":
            self.expect("(")
            values = [self.literal()]
            while self.peek() is not None and self.peek()[1] == ",":  # type: ignore[index]
                self.take()
                values.append(self.literal())
            self.expect(")")
            return _Cmp(path, "in", tuple(values))
        if op_kind != "name" or op not in _COMPARE:
            raise _Syntax(f"expected an operator (eq, ne, gt, ge, lt, le, in) after {'/'.join(path)!r}")
        return _Cmp(path, op, (self.literal(),))

    def path(self) -> tuple[str, ...]:
        kind, text = self.take()
        if kind != "name":
            raise _Syntax(f"expected a property name, found {text!r}")
        parts = [text]
        while (
            self.peek() is not None
            and self.peek()[1] == "/"  # type: ignore[index]
            and not (self.word("any", 1) or self.word("all", 1))
        ):
            self.take()
            kind, text = self.take()
            if kind != "name":
                raise _Syntax(f"expected a property name after '/', found {text!r}")
            parts.append(text)
        return tuple(parts)

    def literal(self) -> _Lit:
        kind, text = self.take()
        if kind == "string":
            return _Lit(text[1:-1].replace("''", "'"))
        if kind == "datetime":
            try:
                return _Lit(datetime.fromisoformat(text.replace("Z", "+00:00")))
            except ValueError:
                raise _Syntax(f"{text!r} is not a valid DateTimeOffset") from None
        if kind == "guid":
            return _Lit(text)
        if kind == "number":
            return _Lit(float(text) if "." in text else int(text))
        if kind == "name" and text in ("true", "false"):
            return _Lit(text == "true")
        if kind == "name" and text == "null":
            return _Lit(None)
        raise _Syntax(f"expected a value, found {text!r}")


# ---- evaluation -------------------------------------------------------------------------------------------


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "startswith":
        return isinstance(left, str) and left.casefold().startswith(str(right).casefold())
    if isinstance(right, datetime):
        left = _as_datetime(left)
        if left is None:
            return op == "ne"
    elif isinstance(right, str) and isinstance(left, str):
        left, right = left.casefold(), right.casefold()
    elif right is None or left is None:
        return (left is right) if op == "eq" else (left is not right) if op == "ne" else False
    elif isinstance(right, bool) or isinstance(left, bool):
        if not (isinstance(left, bool) and isinstance(right, bool)):
            return op == "ne"
    elif not (isinstance(left, (int, float)) and isinstance(right, (int, float))):
        return op == "ne"
    try:
        if op == "eq":
            return bool(left == right)
        if op == "ne":
            return bool(left != right)
        if op == "gt":
            return bool(left > right)
        if op == "ge":
            return bool(left >= right)
        if op == "lt":
            return bool(left < right)
        if op == "le":
            return bool(left <= right)
    except TypeError:
        return False
    return False


def _resolve(item: Any, path: Sequence[str]) -> Any:
    value = item
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


class Filter:
    """A parsed, checked ``$filter``; call it with an item to know whether the item passes."""

    def __init__(self, node: _Node) -> None:
        self._node = node

    def __call__(self, item: Json) -> bool:
        return self._eval(self._node, item, {})

    def _value(self, path: tuple[str, ...], item: Json, env: dict[str, Any]) -> Any:
        if path[0] in env:
            return _resolve(env[path[0]], path[1:])
        return _resolve(item, path)

    def _eval(self, node: _Node, item: Json, env: dict[str, Any]) -> bool:
        if isinstance(node, _Cmp):
            left = self._value(node.path, item, env)
            if node.op == "in":
                return any(_compare(left, "eq", v.value) for v in node.values)
            return _compare(left, node.op, node.values[0].value)
        if isinstance(node, _Lambda):
            values = self._value(node.path, item, env)
            if not isinstance(values, list):
                return node.kind == "all"
            test: Callable[[Any], bool] = lambda v: self._eval(node.body, item, {**env, node.var: v})  # noqa: E731
            return any(test(v) for v in values) if node.kind == "any" else all(test(v) for v in values)
        if node.op == "and":
            return all(self._eval(p, item, env) for p in node.parts)
        if node.op == "or":
            return any(self._eval(p, item, env) for p in node.parts)
        return not self._eval(node.parts[0], item, env)

    def equals(self) -> dict[str, Any]:
        """Top-level ``prop eq value`` terms joined by ``and`` (mandatory-filter checks, index lookups)."""
        out: dict[str, Any] = {}
        parts = (
            self._node.parts if isinstance(self._node, _Bool) and self._node.op == "and" else (self._node,)
        )
        for part in parts:
            if isinstance(part, _Cmp) and part.op == "eq":
                out["/".join(part.path)] = part.values[0].value
        return out


def _check(node: _Node, spec: FilterSpec, resource: str, scope: dict[str, str]) -> None:
    if isinstance(node, _Bool):
        for part in node.parts:
            _check(part, spec, resource, scope)
        return
    if isinstance(node, _Lambda):
        if node.path[0] in scope:
            raise _Syntax("nested lambdas are not supported")
        base = "/".join(node.path) + "/" + node.kind
        if base not in spec and not any(k.startswith(base + "/") for k in spec):
            raise GraphError(
                400,
                UNSUPPORTED_QUERY,
                f"Unsupported or invalid query filter clause specified for property '{'/'.join(node.path)}' "
                f"of resource '{resource}'.",
            )
        _check(node.body, spec, resource, {**scope, node.var: base})
        return
    inside = node.path[0] in scope
    key = "/".join((scope[node.path[0]], *node.path[1:])) if inside else "/".join(node.path)
    allowed = spec.get(key)
    if allowed is None or node.op not in allowed:
        shown = "/".join(node.path) if node.path[0] not in scope else key
        raise GraphError(
            400,
            UNSUPPORTED_QUERY,
            f"Unsupported or invalid query filter clause specified for property '{shown}' of resource "
            f"'{resource}'." + ("" if allowed is None else f" Operator '{node.op}' is not supported."),
        )


def parse_filter(text: str, spec: FilterSpec, resource: str) -> Filter:
    """Parse ``$filter`` and check it against the collection's ``spec``; Graph-style 400s otherwise."""
    if not text.strip():
        raise bad_request("Invalid filter clause: the $filter query option is empty.")
    if len(text) > 4096:
        raise bad_request("Invalid filter clause: the $filter query option is too long.")
    try:
        node = _Parser(text).parse()
        _check(node, spec, resource, {})
    except _Syntax as exc:
        raise bad_request(f"Invalid filter clause: {exc}.") from None
    return Filter(node)
