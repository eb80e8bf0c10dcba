"""The one YAML reader for files users give us: settings, waivers, scenarios and Sigma rules.

PyYAML's safe loader already refuses Python object tags, but a hostile or broken file can still hurt it:

- **Aliases.** ``&a [*b, *b, ...]`` nine levels deep ("billion laughs") is a few hundred bytes that stand for
  hundreds of millions of values. The loader shares aliased objects, so loading is cheap, but everything that
  walks, prints or copies the result pays the full size. Here the number of aliases is limited, and so is how
  much they may add to the document (:data:`MAX_ALIAS_NODES` values beyond those written out).
- **Depth.** PyYAML composes and constructs recursively: ten thousand ``[`` exhaust Python's stack. Nesting is
  limited to :data:`MAX_DEPTH` levels, far beyond any real file.
- **Numbers.** An integer literal with thousands of digits breaks ``int()`` (Python refuses more than 4,300
  digits) and anything outside 64 bits breaks JSON output and date arithmetic later: integers are limited to
  the signed 64-bit range.
- **Tags.** Only YAML's core types are built (text, numbers, booleans, null, lists, mappings). ``!!binary``,
  ``!!set``, ``!!omap``, ``!!python/...`` and custom tags are refused rather than handed on as objects no
  consumer expects. Timestamps stay the text written (``2027-02-30`` is then the consumer's one-line error
  with the line, not a ``ValueError`` from the loader).

With ``lines=True`` (the default) mappings are :class:`Node` and lists :class:`Items`, which remember the line
of every key and item, so validation errors can name it; keys must be text and may not repeat. Every problem
is raised through the caller's error class with the file and line. The Entra data tables shipped inside the
package are trusted and keep their plain loader.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from graphlattice.files import ErrorFactory, Kind, decode_text, read_bytes

__all__ = [
    "MAX_ALIASES",
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "Items",
    "Node",
    "load_yaml",
    "load_yaml_documents",
    "parse_yaml",
    "parse_yaml_documents",
]

MAX_DEPTH = 100
MAX_ALIASES = 1_000
MAX_ALIAS_NODES = 100_000
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 63) - 1


class Node(dict[str, Any]):
    """A mapping with ``line`` (where it starts) and ``key_lines`` (where each key is written)."""

    line: int
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        lines: dict[str, int] = getattr(self, "key_lines", {})
        return lines.get(key, getattr(self, "line", 0))


class Items(list[Any]):
    """A list with ``line`` (where it starts) and ``item_lines`` (where each item starts)."""

    line: int
    item_lines: list[int]

    def line_at(self, index: int) -> int:
        lines = getattr(self, "item_lines", [])
        return lines[index] if index < len(lines) else getattr(self, "line", 0)


class _Refused(yaml.MarkedYAMLError):
    """A limit of this loader was reached (depth, aliases, a number, a tag, a key)."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem=problem, problem_mark=mark)


_CORE_TAGS = frozenset(
    "tag:yaml.org,2002:" + name for name in ("null", "bool", "int", "float", "str", "seq", "map")
)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    digits = str(node.value).replace("_", "").lstrip("+-")
    if len(digits) > 66:  # a 64-bit value in binary with its 0b prefix is the longest legitimate form
        raise _Refused("number too large (integers are limited to 64 bits)", node.start_mark)
    value: int = loader.construct_yaml_int(node)
    if not _INT_MIN <= value <= _INT_MAX:
        raise _Refused("number too large (integers are limited to 64 bits)", node.start_mark)
    return value


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


def _refuse_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    raise _Refused(f"the YAML tag {node.tag} is not supported here", node.start_mark)


def _construct_node(loader: _Loader, node: yaml.MappingNode) -> Node:
    loader.flatten_mapping(node)
    out = Node()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            raise _Refused(f"keys must be text, not {_short(key)}", key_node.start_mark)
        if key in out:
            raise _Refused(f"key {_short(key)} appears twice", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = line
    return out


def _construct_items(loader: _Loader, node: yaml.SequenceNode) -> Items:
    out = Items(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


def _construct_plain_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise _Refused("a key must be a single value", key_node.start_mark) from None
        if key in out:
            raise _Refused(f"key {_short(key)} appears twice", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
    return out


def _construct_plain_list(loader: _Loader, node: yaml.SequenceNode) -> list[Any]:
    return [loader.construct_object(child, deep=True) for child in node.value]


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Loader(yaml.SafeLoader):
    """The safe loader with limits on depth, aliases, numbers and tags (see the module docstring)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Refused(f"more than {MAX_ALIASES:,} aliases", self._mark())
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep", self._mark())
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _mark(self) -> yaml.Mark | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        return getattr(event, "start_mark", None)

    def documents(self) -> Iterator[Any]:
        while self.check_node():
            node = self.get_node()
            if node is None:  # pragma: no cover - check_node said there is one
                break
            if self._aliases:
                _check_expansion(node)
            yield self.construct_document(node)


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases stand for more than :data:`MAX_ALIAS_NODES` extra values."""
    sizes: dict[int, int] = {}
    written: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            return known
        sizes[key] = 1  # a recursive alias counts once; the constructor then refuses or shares it
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        sizes[key] = total
        return total

    def count_written(node: yaml.Node) -> None:
        stack = [node]
        while stack:
            current = stack.pop()
            if id(current) in written:
                continue
            written.add(id(current))
            if isinstance(current, yaml.SequenceNode):
                stack.extend(current.value)
            elif isinstance(current, yaml.MappingNode):
                for k, v in current.value:
                    stack.extend((k, v))

    count_written(root)
    if size(root) - len(written) > MAX_ALIAS_NODES:
        raise _Refused(
            f"its aliases expand to more than {MAX_ALIAS_NODES:,} values (an alias bomb?)", root.start_mark
        )


def _loader_class(lines: bool) -> type[_Loader]:
    return _LineLoader if lines else _PlainLoader


class _LineLoader(_Loader):
    pass


class _PlainLoader(_Loader):
    pass


for _cls, _mapping, _sequence in (
    (_LineLoader, _construct_node, _construct_items),
    (_PlainLoader, _construct_plain_mapping, _construct_plain_list),
):
    _cls.yaml_constructors = {
        tag: fn for tag, fn in yaml.SafeLoader.yaml_constructors.items() if tag in _CORE_TAGS
    }
    _cls.yaml_constructors[None] = _refuse_tag
    for _tag in ("binary", "set", "omap", "pairs"):
        _cls.yaml_constructors[f"tag:yaml.org,2002:{_tag}"] = _refuse_tag
    _cls.add_constructor("tag:yaml.org,2002:int", _construct_int)
    _cls.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
    _cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
    _cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def parse_yaml_documents(text: str, name: str, error: ErrorFactory, *, lines: bool = True) -> list[Any]:
    """Every document of ``text`` (``name`` is the file to blame in errors)."""
    loader: _Loader | None = None
    try:
        loader = _loader_class(lines)(text)  # the reader checks the characters here already
        loader.name = name
        return list(loader.documents())
    except _Refused as exc:
        mark = exc.problem_mark
        raise error(name, str(exc.problem), mark.line + 1 if mark else None) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        raise error(name, f"not valid YAML: {problem}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc)
        raise error(name, f"not valid YAML: {reason}", line) from None
    except (ValueError, OverflowError) as exc:  # e.g. a float YAML resolves but Python cannot build
        raise error(name, f"not valid YAML: {exc}", None) from None
    except RecursionError:  # pragma: no cover - the depth limit comes first
        raise error(name, f"not valid YAML: nested more than {MAX_DEPTH} levels deep", None) from None
    finally:
        if loader is not None:
            loader.dispose()


def parse_yaml(text: str, name: str, error: ErrorFactory, *, lines: bool = True) -> Any:
    """The single document of ``text`` (``None`` when it is empty); several documents are an error."""
    documents = parse_yaml_documents(text, name, error, lines=lines)
    if len(documents) > 1:
        raise error(name, "holds more than one YAML document ('---'); expected one", None)
    return documents[0] if documents else None


def load_yaml(path: str | Path, kind: Kind, error: ErrorFactory, *, lines: bool = True) -> Any:
    """Read a regular file of ``kind`` (see :mod:`graphlattice.files`) and parse its one document."""
    data = read_bytes(path, kind, error)
    return parse_yaml(decode_text(path, data, kind, error), str(path), error, lines=lines)


def load_yaml_documents(
    path: str | Path, kind: Kind, error: ErrorFactory, *, lines: bool = True
) -> list[Any]:
    """Read a regular file of ``kind`` and parse every document in it (Sigma files hold several)."""
    data = read_bytes(path, kind, error)
    return parse_yaml_documents(decode_text(path, data, kind, error), str(path), error, lines=lines)
