"""A YAML reader that remembers where every mapping, key and list item came from.

Scenario files are written by hand, so every validation error names the file and the line. PyYAML's safe
loader is extended to build :class:`Node` mappings and :class:`Items` lists that carry line numbers; scalars
stay plain Python values (their line is the line of the key or list item that holds them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from graphlattice.errors import ScenarioError

__all__ = ["Items", "Node", "read_yaml"]


class Node(dict[str, Any]):
    """A mapping with ``line`` (where it starts) and ``key_lines`` (where each key is written)."""

    line: int
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class Items(list[Any]):
    """A list with ``line`` (where it starts) and ``item_lines`` (where each item starts)."""

    line: int
    item_lines: list[int]

    def line_at(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    """Safe loader whose mappings and sequences remember their lines (1-based)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Node:
    loader.flatten_mapping(node)
    out = Node()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            raise ScenarioError(loader.name, f"keys must be text, not {key!r}", line)
        if key in out:
            raise ScenarioError(loader.name, f"key {key!r} appears twice", line)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = line
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> Items:
    out = Items(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> str:
    """Keep timestamps as the text written, so the scenario decides how to read them."""
    return str(loader.construct_scalar(node))


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def read_yaml(path: Path) -> Any:
    """Parse one YAML document; syntax errors become :class:`ScenarioError` with the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(path), f"cannot read: {exc.strerror or exc}") from None
    loader = _Loader(text)
    loader.name = str(path)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        raise ScenarioError(
            str(path), f"not valid YAML: {problem}", mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(str(path), f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
