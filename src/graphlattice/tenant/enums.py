"""Case-insensitive enum handling for Graph strings.

Graph (and its own examples) mix ``All``/``all`` and ``Member``/``member``; new enum members appear without
notice. ``EnumReader`` folds case, keeps unknown values as they are (lower-cased), and remembers them so a
check that depends on the field can say UNKNOWN instead of guessing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


class EnumReader:
    def __init__(self) -> None:
        self._unknown: dict[tuple[str, str], set[str]] = defaultdict(set)

    def read(self, value: object, field: str, allowed: frozenset[str], collection: str) -> str | None:
        """Return ``value`` lower-cased; remember it when it is not one of ``allowed`` (lower-case)."""
        if value is None:
            return None
        text = str(value).lower()
        if text not in allowed:
            self._unknown[(collection, field)].add(str(value))
        return text

    def unknown(self, collection: str, field: str) -> frozenset[str]:
        return frozenset(self._unknown.get((collection, field), ()))

    def all_unknown(self) -> dict[tuple[str, str], frozenset[str]]:
        return {key: frozenset(values) for key, values in self._unknown.items()}


def fold(values: Iterable[object]) -> frozenset[str]:
    """Lower-case every string of an enum list (``None`` entries dropped)."""
    return frozenset(str(v).lower() for v in values if v is not None)
