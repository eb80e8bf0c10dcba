"""Check an action name and its parameters against the engine's registry, without running anything.

Scenario files are validated with this (a typo in a timeline is a file:line error at load time, not a
failure halfway through ``range start``), and ``range act --list`` prints the same registry.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from graphlattice.errors import InvalidValue
from graphlattice.range.actions import ACTIONS, ActionSpec, read_param

_REFERENCE_NOW = datetime(2026, 1, 1, tzinfo=UTC)  # resolves +MINUTES while checking a file's values

__all__ = ["ACTIONS", "catalog", "describe_problem", "usage"]


def describe_problem(action: str, params: Mapping[str, str]) -> tuple[str, str | None] | None:
    """A one-line complaint about ``action`` and its parameters, with the parameter it is about (None: the
    action itself or a missing parameter); None when all is well.

    Values are checked against Graph's types and limits as ``range act`` checks them; those that hold a
    ``${step.field}`` reference are filled in later, so only their names are checked.
    """
    spec = ACTIONS.get(action)
    if spec is None:
        close = difflib.get_close_matches(action, list(ACTIONS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown action {action!r}{hint}; 'graphlattice range act --list' lists them", None
    known = [p.name for p in spec.params]
    for name in params:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (it takes {', '.join(known)})"
            return f"{action}: unknown parameter {name!r}{hint}", name
    for param in spec.params:
        value = params.get(param.name)
        if value is None:
            if param.required:
                return f"{action}: missing required parameter {param.name!r}", None
            continue
        if "${" in str(value):
            continue  # filled in from an earlier step when the timeline plays
        if param.choices and value not in param.choices:
            choices = ", ".join(param.choices)
            return f"{action}: {param.name} must be one of {choices} (got {value!r})", param.name
        try:
            read_param(spec, param, value, _REFERENCE_NOW)
        except InvalidValue as exc:
            return str(exc), param.name
    return None


def usage(spec: ActionSpec) -> str:
    """``issue-tap user=… [lifetime_minutes=…] …`` for help screens."""
    parts = [spec.name]
    for param in spec.params:
        shown = f"{param.name}=" + ("|".join(param.choices) if param.choices else param.type.upper())
        parts.append(shown if param.required else f"[{shown}]")
    return " ".join(parts)


def catalog() -> list[dict[str, Any]]:
    """Every action with every parameter, sorted by name: what ``range act --list`` prints.

    ``actor`` says who acts: ``required`` (an admin or user, --as), ``optional``, or ``none`` (the action
    names its own subject). A parameter's ``choices`` is empty when any value of its type goes.
    """
    return [
        {
            "name": spec.name,
            "help": spec.help,
            "actor": spec.actor,
            "usage": usage(spec),
            "params": [
                {
                    "name": p.name,
                    "type": p.type,
                    "required": p.required,
                    "help": p.help,
                    "choices": list(p.choices),
                }
                for p in spec.params
            ],
        }
        for spec in sorted(ACTIONS.values(), key=lambda spec: spec.name)
    ]
