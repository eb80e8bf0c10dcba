"""Live collection from Microsoft Graph (or a Graph-compatible endpoint such as the Range) into a snapshot.

``collect(CollectOptions(out_dir=...), tokens)`` writes the snapshot folder the rest of GraphLattice reads;
:mod:`~graphlattice.collect.plan` is the request plan as data, :mod:`~graphlattice.collect.client` the
read-only Graph client, :mod:`~graphlattice.collect.writer` the streaming writer and
:mod:`~graphlattice.collect.auth` where tokens come from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphlattice.collect.collector import CollectOptions, CollectResult, collect

__all__ = ["CollectOptions", "CollectResult", "collect"]


def __getattr__(name: str) -> Any:
    """Import the collector (httpx, azure-identity) only when it is used, not for its small modules such as
    :mod:`~graphlattice.collect.limits`, which every command line start reads."""
    if name in __all__:
        from graphlattice.collect import collector

        return getattr(collector, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
