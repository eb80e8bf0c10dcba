"""Scenario files through the project's one safe YAML reader, with every mapping and list item's line.

Scenario files are written by hand, so every validation error names the file and the line:
:mod:`graphlattice.safeyaml` builds :class:`Node` mappings and :class:`Items` lists that carry line numbers
(scalars stay plain Python values; their line is the line of the key or list item that holds them), and
refuses alias bombs, deep nesting, huge numbers and unknown tags. A scenario is a regular file of at most
:data:`graphlattice.files.SCENARIO`'s size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphlattice.errors import ScenarioError
from graphlattice.files import SCENARIO
from graphlattice.safeyaml import Items, Node, load_yaml

__all__ = ["Items", "Node", "read_yaml"]


def read_yaml(path: Path) -> Any:
    """Parse one YAML document; syntax errors and limits become :class:`ScenarioError` with the line."""
    return load_yaml(path, SCENARIO, ScenarioError)
