"""Live collection from Microsoft Graph (or a Graph-compatible endpoint such as the Range) into a snapshot.

``collect(CollectOptions(out_dir=...), tokens)`` writes the snapshot folder the rest of GraphLattice reads;
:mod:`~graphlattice.collect.plan` is the request plan as data, :mod:`~graphlattice.collect.client` the
read-only Graph client, :mod:`~graphlattice.collect.writer` the streaming writer and
:mod:`~graphlattice.collect.auth` where tokens come from.
"""

from __future__ import annotations

from graphlattice.collect.collector import CollectOptions, CollectResult, collect

__all__ = ["CollectOptions", "CollectResult", "collect"]
