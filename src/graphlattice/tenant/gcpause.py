"""Pause Python's cyclic garbage collector while building or scanning large object graphs.

Loading a 100,000-user snapshot allocates millions of long-lived containers; with the collector running,
every few thousand allocations trigger a pass over all of them, which more than doubles load time. Nothing
we build has reference cycles that need collecting mid-load, so the collector is paused. On the way out the
objects that survived are moved straight to the oldest generation (``gc.freeze`` then ``gc.unfreeze``), so
the next young-generation collection does not walk them all; they stay collectable as usual.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()  # frozen -> oldest generation: out of the young collections' way, still collectable
        if was_enabled:
            gc.enable()
