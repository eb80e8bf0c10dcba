"""Compile a Sigma rule's detection (pySigma's parsed condition tree) to a SQL predicate.

The predicate is over one event table of :mod:`graphlattice.detect.fields`; the engine wraps it into a scan
(or, for correlation rules, into a windowed join). One compiler, two SQL dialects: :data:`DUCKDB` (the local
engine) and :data:`SPARK` (Spark SQL, for ``detect --engine spark``). They differ only in leaf syntax —
identifier and string quoting, list lambdas, regular expressions, string functions, intervals — which a
:class:`Dialect` renders; the tree walk and every Sigma decision are shared. Sigma semantics kept:

- strings match case-insensitively unless ``|cased``; ``*`` and ``?`` are wildcards; ``|contains``,
  ``|startswith``, ``|endswith``, ``|all``, ``|re`` (RE2 syntax, flags inline), ``|cidr``, ``|gt`` ...,
  ``|exists``, ``|fieldref`` and ``null`` work as the specification says;
- a missing field never matches a value, so ``not selection`` matches it (every comparison is two-valued);
- a list field (``auth_methods``) matches when ANY element does; the parts of a list of objects
  (``modified_properties.key`` / ``.new`` / ``.old``) used in one selection must hold for the SAME element.

``|re`` is the one place the engines may disagree: DuckDB evaluates RE2, Spark Java regular expressions.
The pack uses no regular expression; a rule that does should stay within their common syntax.

Keyword searches (values without a field) and placeholders are refused: the pack never needs them, and a
field-less search has no meaning over normalised columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionIdentifier,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from graphlattice.detect.fields import Field, Kind
from graphlattice.errors import CatalogError

__all__ = ["DUCKDB", "SPARK", "Dialect", "RuleCompileError", "compile_detection", "sql_string"]


class RuleCompileError(CatalogError):
    """A rule uses something the local engine cannot evaluate (an unknown field, a keyword search, ...)."""


def sql_string(text: str) -> str:
    """A SQL string literal (DuckDB, standard SQL)."""
    return "'" + text.replace("'", "''") + "'"


class Dialect:
    """How one SQL engine spells the pieces the compiler and the engine emit (DuckDB's, by default)."""

    name = "duckdb"

    def quote(self, name: str) -> str:
        """An identifier (a column)."""
        return f'"{name}"'

    def string(self, text: str) -> str:
        return sql_string(text)

    def any_element(self, column: str, var: str, predicate: str) -> str:
        """TRUE when some element ``var`` of the list ``column`` satisfies ``predicate`` (never NULL)."""
        return f"coalesce(len(list_filter({column}, lambda {var}: {predicate})) > 0, false)"

    def member(self, var: str, sub: str) -> str:
        """A part of a struct element."""
        return f'{var}."{sub}"'

    def contains(self, subject: str, text: str) -> str:
        return f"contains({subject}, {self.string(text)})"

    def starts_with(self, subject: str, text: str) -> str:
        return f"starts_with({subject}, {self.string(text)})"

    def ends_with(self, subject: str, text: str) -> str:
        return f"ends_with({subject}, {self.string(text)})"

    def like(self, target: str, pattern: str, *, cased: bool) -> str:
        """``pattern`` is a LIKE pattern (``%``, ``_``) whose escape character is a backslash."""
        operator = "LIKE" if cased else "ILIKE"
        return f"({target} {operator} {self.string(pattern)} ESCAPE {self.string(chr(92))})"

    def regex(self, target: str, pattern: str) -> str:
        """A search (not a full match) for ``pattern`` in ``target``."""
        return f"regexp_matches({target}, {self.string(pattern)})"

    def as_text(self, target: str) -> str:
        return f"CAST({target} AS VARCHAR)"

    def as_double(self, target: str) -> str:
        """``target`` as a number, NULL when it is not one."""
        return f"try_cast({target} AS DOUBLE)"

    def seconds(self, seconds: int) -> str:
        """An interval of whole seconds, to add to a timestamp."""
        return f"INTERVAL ({int(seconds)}) SECOND"


class SparkDialect(Dialect):
    """Spark SQL (3.4 or newer; ANSI mode or not): backquoted identifiers, backslash-escaped strings,
    ``exists`` for list lambdas, ``RLIKE`` (Java regular expressions)."""

    name = "spark"

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def string(self, text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def any_element(self, column: str, var: str, predicate: str) -> str:
        return f"coalesce(exists({column}, {var} -> {predicate}), false)"

    def member(self, var: str, sub: str) -> str:
        return f"{var}.{self.quote(sub)}"

    def starts_with(self, subject: str, text: str) -> str:
        return f"startswith({subject}, {self.string(text)})"

    def ends_with(self, subject: str, text: str) -> str:
        return f"endswith({subject}, {self.string(text)})"

    def regex(self, target: str, pattern: str) -> str:
        return f"({target} RLIKE {self.string(pattern)})"

    def as_text(self, target: str) -> str:
        return f"CAST({target} AS STRING)"

    def seconds(self, seconds: int) -> str:
        return f"INTERVAL '{int(seconds)}' SECOND"


DUCKDB = Dialect()
SPARK = SparkDialect()


_OPS = {
    CompareOperators.LT: "<",
    CompareOperators.LTE: "<=",
    CompareOperators.GT: ">",
    CompareOperators.GTE: ">=",
    CompareOperators.NEQ: "<>",
}
_ELEMENT = "_e"


class _Compiler:
    def __init__(self, rule: SigmaRule, columns: Mapping[str, Field], where: str, dialect: Dialect) -> None:
        self.rule = rule
        self.columns = columns
        self.where = where
        self.d = dialect

    def fail(self, message: str) -> RuleCompileError:
        name = self.rule.name or self.rule.title
        return RuleCompileError(self.where, f"rule {name!r}: {message}")

    # -- tree -----------------------------------------------------------------------------------------

    def node(self, node: Any) -> str:
        if isinstance(node, ConditionAND):
            return self.conjunction(node)
        if isinstance(node, ConditionOR):
            return "(" + " OR ".join(self.node(a) for a in node.args) + ")"
        if isinstance(node, ConditionNOT):
            return "(NOT " + self.node(node.args[0]) + ")"
        if isinstance(node, ConditionFieldEqualsValueExpression):
            field, sub = self.resolve(node.field)
            if field.kind in (Kind.TEXT_LIST, Kind.STRUCT_LIST) and not (
                sub is None and isinstance(node.value, SigmaNull | SigmaExists)
            ):
                return self.any_element(field, [node])
            return self.leaf(node, self.d.quote(field.name), field.kind)
        if isinstance(node, ConditionValueExpression):
            raise self.fail("keyword searches (values without a field) are not supported; name a field")
        raise self.fail(f"unsupported condition element {type(node).__name__}")

    def conjunction(self, node: ConditionAND) -> str:
        """AND; inside one selection, parts about the same list of objects match one element together."""
        args = node.args
        selection = _from_selection(node)
        groups: dict[str, list[Any]] = {}
        parts: list[str | tuple[str, list[Any]]] = []
        for arg in args:
            base = self.list_base(arg) if selection else None
            if base is None:
                parts.append(self.node(arg))
            else:
                if base not in groups:
                    groups[base] = []
                    parts.append(("group", groups[base]))
                groups[base].append(arg)
        rendered = []
        for part in parts:
            if isinstance(part, str):
                rendered.append(part)
            else:
                items = part[1]
                field, _ = self.resolve(self.first_field(items[0]))
                rendered.append(self.any_element(field, items))
        return "(" + " AND ".join(rendered) + ")"

    def list_base(self, node: Any) -> str | None:
        """The list field every leaf of ``node`` is about (no NOT inside), else None."""
        fields = set()
        stack = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, ConditionNOT | ConditionValueExpression):
                return None
            if isinstance(item, ConditionAND | ConditionOR):
                stack.extend(item.args)
            elif isinstance(item, ConditionFieldEqualsValueExpression):
                field, sub = self.resolve(item.field)
                if field.kind not in (Kind.TEXT_LIST, Kind.STRUCT_LIST):
                    return None
                if sub is None and isinstance(item.value, SigmaNull | SigmaExists):
                    return None
                fields.add(field.name)
            else:
                return None
        return fields.pop() if len(fields) == 1 else None

    def first_field(self, node: Any) -> str:
        while not isinstance(node, ConditionFieldEqualsValueExpression):
            node = node.args[0]
        return str(node.field)

    def any_element(self, field: Field, nodes: list[Any]) -> str:
        """TRUE when one element of a list field satisfies every node (each node in element context)."""
        inner = " AND ".join(self.element_node(n, field) for n in nodes)
        return self.d.any_element(self.d.quote(field.name), _ELEMENT, inner)

    def element_node(self, node: Any, field: Field) -> str:
        if isinstance(node, ConditionAND):
            return "(" + " AND ".join(self.element_node(a, field) for a in node.args) + ")"
        if isinstance(node, ConditionOR):
            return "(" + " OR ".join(self.element_node(a, field) for a in node.args) + ")"
        assert isinstance(node, ConditionFieldEqualsValueExpression)
        _, sub = self.resolve(node.field)
        target = self.d.member(_ELEMENT, sub) if sub is not None else _ELEMENT
        return self.leaf(node, target, Kind.TEXT)

    def resolve(self, name: str) -> tuple[Field, str | None]:
        field = self.columns.get(name)
        if field is not None:
            return field, None
        base, _, sub = name.partition(".")
        field = self.columns.get(base)
        if field is not None and field.kind is Kind.STRUCT_LIST and sub in field.subfields:
            return field, sub
        raise self.fail(f"unknown field {name!r} (not a canonical field of this log source)")

    # -- leaves -------------------------------------------------------------------------------------------

    def leaf(self, node: ConditionFieldEqualsValueExpression, target: str, kind: Kind) -> str:
        value = node.value
        if isinstance(value, SigmaNull):
            return f"({target} IS NULL)"
        if isinstance(value, SigmaExists):
            return f"({target} IS {'NOT ' if value.exists else ''}NULL)"
        return f"coalesce({self.value(target, kind, value)}, false)"

    def value(self, target: str, kind: Kind, value: Any) -> str:
        if isinstance(value, SigmaExpansion):
            return "(" + " OR ".join(self.value(target, kind, v) for v in value.values) + ")"
        if isinstance(value, SigmaFieldReference):
            if value.starts_with or value.ends_with:
                raise self.fail("|fieldref with startswith/endswith is not supported")
            other, sub = self.resolve(value.field)
            if sub is not None or other.kind in (Kind.TEXT_LIST, Kind.STRUCT_LIST):
                raise self.fail("|fieldref must name a plain field")
            return f"({target} = {self.d.quote(other.name)})"
        if kind is Kind.INT:
            return self.int_value(target, value)
        if kind is Kind.BOOL:
            return self.bool_value(target, value)
        if kind is Kind.TIME:
            raise self.fail("matching time fields is not supported (use a correlation timespan)")
        return self.text_value(target, value)

    def int_value(self, target: str, value: Any) -> str:
        if isinstance(value, SigmaNumber):
            return f"({target} = {value.number!r})"
        if isinstance(value, SigmaCompareExpression):
            return f"({target} {_OPS[value.op]} {value.number.number!r})"
        if isinstance(value, SigmaString) and not value.contains_special():
            text = value.to_plain().strip()
            if text.lstrip("-").isdigit():
                return f"({target} = {int(text)})"
            return "false"
        return self.text_value(self.d.as_text(target), value)

    def bool_value(self, target: str, value: Any) -> str:
        if isinstance(value, SigmaBool):
            return f"({target} = {'true' if value.boolean else 'false'})"
        plain = value.to_plain() if isinstance(value, SigmaString | SigmaNumber) else None
        text = str(plain).strip().lower() if plain is not None else ""
        if text in ("true", "1"):
            return f"({target} = true)"
        if text in ("false", "0"):
            return f"({target} = false)"
        raise self.fail(f"a boolean field cannot match {value!r}")

    def text_value(self, target: str, value: Any) -> str:
        if isinstance(value, SigmaCasedString):
            return self.string(target, value, cased=True)
        if isinstance(value, SigmaString):
            return self.string(target, value, cased=False)
        if isinstance(value, SigmaNumber):
            return f"({target} = {self.d.string(str(value.number))})"
        if isinstance(value, SigmaBool):
            return f"(lower({target}) = {self.d.string('true' if value.boolean else 'false')})"
        if isinstance(value, SigmaRegularExpression):
            flags = {
                SigmaRegularExpressionFlag.IGNORECASE: "i",
                SigmaRegularExpressionFlag.MULTILINE: "m",
                SigmaRegularExpressionFlag.DOTALL: "s",
            }
            inline = "".join(sorted(flags[f] for f in value.flags))
            pattern = (f"(?{inline})" if inline else "") + str(value.regexp.to_plain())
            return self.d.regex(target, pattern)
        if isinstance(value, SigmaCIDRExpression):
            tests = []
            for pattern in value.expand(wildcard="*"):
                if pattern.endswith("*"):
                    tests.append(self.d.starts_with(target, pattern[:-1]))
                else:
                    tests.append(f"({target} = {self.d.string(pattern)})")
            return "(" + " OR ".join(tests) + ")"
        if isinstance(value, SigmaCompareExpression):
            return f"({self.d.as_double(target)} {_OPS[value.op]} {value.number.number!r})"
        raise self.fail(f"unsupported value {type(value).__name__}")

    def string(self, target: str, value: SigmaString, *, cased: bool) -> str:
        if value.contains_placeholder():
            raise self.fail("placeholders (%name%) are not supported")

        def fold(text: str) -> str:
            return text if cased else text.lower()

        subject = target if cased else f"lower({target})"
        parts = list(value.s)
        if not value.contains_special():
            return f"({subject} = {self.d.string(fold(str(value.to_plain())))})"
        star = SpecialChars.WILDCARD_MULTI
        middle = parts[1:-1] if len(parts) >= 2 else []
        plain_middle = all(isinstance(p, str) for p in middle)
        if len(parts) == 3 and parts[0] == star and parts[2] == star and plain_middle:
            return self.d.contains(subject, fold(str(parts[1])))
        if len(parts) == 2 and parts[1] == star and isinstance(parts[0], str):
            return self.d.starts_with(subject, fold(parts[0]))
        if len(parts) == 2 and parts[0] == star and isinstance(parts[1], str):
            return self.d.ends_with(subject, fold(parts[1]))
        pattern = []
        for part in parts:
            if part == star:
                pattern.append("%")
            elif part == SpecialChars.WILDCARD_SINGLE:
                pattern.append("_")
            else:
                pattern.append(str(part).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))
        return self.d.like(target, "".join(pattern), cased=cased)


def _from_selection(node: Any) -> bool:
    """Whether an AND node comes from a selection (a detection map), not from the condition's ``and``.

    pySigma links a selection's subtree to the identifier or selector that named it; the ``and`` of the
    condition expression has no such ancestor.
    """
    parent = getattr(node, "parent", None)
    while parent is not None:
        if isinstance(parent, ConditionIdentifier | ConditionSelector):
            return True
        parent = getattr(parent, "parent", None)
    return False


def compile_detection(
    rule: SigmaRule, columns: Mapping[str, Field], where: str, dialect: Dialect = DUCKDB
) -> str:
    """The rule's condition as one SQL predicate over ``columns``; ``where`` names the rule's file."""
    compiler = _Compiler(rule, columns, where, dialect)
    conditions = rule.detection.parsed_condition
    if not conditions:
        raise compiler.fail("has no condition")
    predicates = []
    for condition in conditions:
        try:
            tree = condition.parse()
        except ValueError as exc:  # pySigma's SigmaError subclasses ValueError
            raise compiler.fail(f"condition cannot be parsed: {exc}") from None
        predicates.append(compiler.node(tree))
    # several conditions in one rule are alternatives (Sigma: a list of conditions is OR-ed)
    return predicates[0] if len(predicates) == 1 else "(" + " OR ".join(predicates) + ")"
