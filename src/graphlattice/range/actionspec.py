"""Placeholder until the engine's action registry lands."""

from __future__ import annotations

from collections.abc import Mapping


def describe_problem(action: str, params: Mapping[str, str]) -> str | None:
    return None
