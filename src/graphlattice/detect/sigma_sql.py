"""Compile a Sigma rule's detection (pySigma's parsed condition tree) to a DuckDB SQL predicate.

The predicate is over one event table of :mod:`graphlattice.detect.fields`; the engine wraps it into a scan
(or, for correlation rules, into a windowed join). Sigma semantics kept:

- strings match case-insensitively unless ``|cased``; ``*`` and ``?`` are wildcards; ``|contains``,
  ``|startswith``, ``|endswith``, ``|all``, ``|re`` (RE2 syntax, flags inline), ``|cidr``, ``|gt`` ...,
  ``|exists``, ``|fieldref`` and ``null`` work as the specification says;
- a missing field never matches a value, so ``not selection`` matches it (every comparison is two-valued);
- a list field (``auth_methods``) matches when ANY element does; the parts of a list of objects
  (``modified_properties.key`` / ``.new`` / ``.old``) used in one selection must hold for the SAME element.

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

__all__ = ["RuleCompileError", "compile_detection", "sql_string"]


class RuleCompileError(CatalogError):
    """A rule uses something the local engine cannot evaluate (an unknown field, a keyword search, ...)."""


def sql_string(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


_OPS = {
    CompareOperators.LT: "<",
    CompareOperators.LTE: "<=",
    CompareOperators.GT: ">",
    CompareOperators.GTE: ">=",
    CompareOperators.NEQ: "<>",
}
_ELEMENT = "_e"


class _Compiler:
    def __init__(self, rule: SigmaRule, columns: Mapping[str, Field], where: str) -> None:
        self.rule = rule
        self.columns = columns
        self.where = where

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
            return self.leaf(node, _quote(field.name), field.kind)
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
        return f"coalesce(len(list_filter({_quote(field.name)}, lambda {_ELEMENT}: {inner})) > 0, false)"

    def element_node(self, node: Any, field: Field) -> str:
        if isinstance(node, ConditionAND):
            return "(" + " AND ".join(self.element_node(a, field) for a in node.args) + ")"
        if isinstance(node, ConditionOR):
            return "(" + " OR ".join(self.element_node(a, field) for a in node.args) + ")"
        assert isinstance(node, ConditionFieldEqualsValueExpression)
        _, sub = self.resolve(node.field)
        target = f'{_ELEMENT}."{sub}"' if sub is not None else _ELEMENT
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
            return f"({target} = {_quote(other.name)})"
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
        return self.text_value(f"CAST({target} AS VARCHAR)", value)

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
            return f"({target} = {sql_string(str(value.number))})"
        if isinstance(value, SigmaBool):
            return f"(lower({target}) = {sql_string('true' if value.boolean else 'false')})"
        if isinstance(value, SigmaRegularExpression):
            flags = {
                SigmaRegularExpressionFlag.IGNORECASE: "i",
                SigmaRegularExpressionFlag.MULTILINE: "m",
                SigmaRegularExpressionFlag.DOTALL: "s",
            }
            inline = "".join(sorted(flags[f] for f in value.flags))
            pattern = (f"(?{inline})" if inline else "") + str(value.regexp.to_plain())
            return f"regexp_matches({target}, {sql_string(pattern)})"
        if isinstance(value, SigmaCIDRExpression):
            tests = []
            for pattern in value.expand(wildcard="*"):
                if pattern.endswith("*"):
                    tests.append(f"starts_with({target}, {sql_string(pattern[:-1])})")
                else:
                    tests.append(f"({target} = {sql_string(pattern)})")
            return "(" + " OR ".join(tests) + ")"
        if isinstance(value, SigmaCompareExpression):
            return f"(try_cast({target} AS DOUBLE) {_OPS[value.op]} {value.number.number!r})"
        raise self.fail(f"unsupported value {type(value).__name__}")

    def string(self, target: str, value: SigmaString, *, cased: bool) -> str:
        if value.contains_placeholder():
            raise self.fail("placeholders (%name%) are not supported")

        def fold(text: str) -> str:
            return text if cased else text.lower()

        subject = target if cased else f"lower({target})"
        parts = list(value.s)
        if not value.contains_special():
            return f"({subject} = {sql_string(fold(str(value.to_plain())))})"
        star = SpecialChars.WILDCARD_MULTI
        middle = parts[1:-1] if len(parts) >= 2 else []
        plain_middle = all(isinstance(p, str) for p in middle)
        if len(parts) == 3 and parts[0] == star and parts[2] == star and plain_middle:
            return f"contains({subject}, {sql_string(fold(str(parts[1])))})"
        if len(parts) == 2 and parts[1] == star and isinstance(parts[0], str):
            return f"starts_with({subject}, {sql_string(fold(parts[0]))})"
        if len(parts) == 2 and parts[0] == star and isinstance(parts[1], str):
            return f"ends_with({subject}, {sql_string(fold(parts[1]))})"
        pattern = []
        for part in parts:
            if part == star:
                pattern.append("%")
            elif part == SpecialChars.WILDCARD_SINGLE:
                pattern.append("_")
            else:
                pattern.append(str(part).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))
        operator = "LIKE" if cased else "ILIKE"
        return f"({target} {operator} {sql_string(''.join(pattern))} ESCAPE '\\')"


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


def _quote(name: str) -> str:
    return f'"{name}"'


def compile_detection(rule: SigmaRule, columns: Mapping[str, Field], where: str) -> str:
    """The rule's condition as one SQL predicate over ``columns``; ``where`` names the rule's file."""
    compiler = _Compiler(rule, columns, where)
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
