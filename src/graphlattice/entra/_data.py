"""Loading of the rule tables shipped in ``graphlattice/entra/data``.

Every table is a YAML mapping with a ``source`` (where Microsoft documents the facts) and ``notes``.
A table that does not have the expected shape is a packaging bug, reported as ``EntraRuleError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml

from graphlattice.errors import EntraRuleError

__all__ = ["load_table", "require_list", "require_mapping", "require_str"]


@cache
def load_table(name: str) -> Mapping[str, Any]:
    """Parse ``data/<name>.yaml`` once and check that it names its source."""
    text = resources.files("graphlattice.entra").joinpath("data", f"{name}.yaml").read_text("utf-8")
    try:
        table = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EntraRuleError(f"entra/data/{name}.yaml is not valid YAML: {exc}") from exc
    if not isinstance(table, Mapping):
        raise EntraRuleError(f"entra/data/{name}.yaml must be a mapping at the top level")
    if not isinstance(table.get("source"), str) or not table["source"].strip():
        raise EntraRuleError(f"entra/data/{name}.yaml must name its source")
    return table


def require_mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise EntraRuleError(f"{where}: expected a mapping")
    return value


def require_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise EntraRuleError(f"{where}: expected a list")
    return value


def require_str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise EntraRuleError(f"{where}: expected a non-empty string")
    return value
