"""A deliberately small evaluator for Conditional Access device filter rules.

Supported: ``device.isCompliant`` and ``device.trustType`` compared with ``-eq`` / ``-ne``, combined with
``-and`` / ``-or`` and parentheses (operators are case-insensitive, as in Entra). Any other property,
operator or syntax makes the whole rule *not evaluable*: the result is ``None`` and the caller reports the
policy as not evaluated instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["DeviceFacts", "evaluate_device_rule"]

_TOKEN = re.compile(r"""\s*(\(|\)|-\w+|device\.\w+|"[^"]*"|'[^']*'|[^\s()]+)""")
_HYBRID_TRUST_TYPE = "serverad"  # trustType of a Microsoft Entra hybrid joined device


@dataclass(slots=True, frozen=True)
class DeviceFacts:
    """What the sign-in tells us about the device; ``None`` means not known."""

    is_compliant: bool | None = None
    hybrid_joined: bool | None = None


def evaluate_device_rule(rule: str, device: DeviceFacts) -> bool | None:
    """True/False when the rule can be decided for this device, ``None`` when it cannot."""
    tokens = _tokenize(rule)
    if tokens is None:
        return None
    parser = _Parser(tokens, device)
    try:
        value = parser.expression()
    except _Unsupported:
        return None
    return value if parser.at_end() else None


class _Unsupported(Exception):
    """The rule uses something this evaluator does not model."""


def _tokenize(rule: str) -> list[str] | None:
    tokens: list[str] = []
    position = 0
    text = rule.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            return None
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _and(values: list[bool | None]) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _or(values: list[bool | None]) -> bool | None:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


class _Parser:
    def __init__(self, tokens: list[str], device: DeviceFacts) -> None:
        self.tokens = tokens
        self.position = 0
        self.device = device

    def at_end(self) -> bool:
        return self.position == len(self.tokens)

    def _next(self) -> str:
        if self.at_end():
            raise _Unsupported
        token = self.tokens[self.position]
        self.position += 1
        return token

    def _peek(self) -> str | None:
        return None if self.at_end() else self.tokens[self.position].casefold()

    def expression(self) -> bool | None:
        values = [self.term()]
        while self._peek() == "-or":
            self._next()
            values.append(self.term())
        return _or(values)

    def term(self) -> bool | None:
        values = [self.factor()]
        while self._peek() == "-and":
            self._next()
            values.append(self.factor())
        return _and(values)

    def factor(self) -> bool | None:
        if self._peek() == "(":
            self._next()
            value = self.expression()
            if self._next() != ")":
                raise _Unsupported
            return value
        return self.comparison()

    def comparison(self) -> bool | None:
        prop, operator, literal = self._next().casefold(), self._next().casefold(), self._next()
        if operator not in ("-eq", "-ne"):
            raise _Unsupported
        equal = self._compare(prop, _literal(literal))
        if equal is None:
            return None
        return equal if operator == "-eq" else not equal

    def _compare(self, prop: str, literal: str) -> bool | None:
        if prop == "device.iscompliant":
            if literal not in ("true", "false"):
                raise _Unsupported
            known = self.device.is_compliant
            return None if known is None else known == (literal == "true")
        if prop == "device.trusttype":
            hybrid = self.device.hybrid_joined
            if hybrid is None:
                return None
            if literal == _HYBRID_TRUST_TYPE:
                return hybrid
            return False if hybrid else None  # not hybrid: AzureAD vs Workplace is not known
        raise _Unsupported


def _literal(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        token = token[1:-1]
    return token.strip().casefold()
