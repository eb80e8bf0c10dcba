"""What "nothing was lost and nothing is torn" means for a range folder, checked from its files."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from graphlattice.range.engine import Range
from graphlattice.range.store import SEED_FILE, STATE_FILE

TAP = "#microsoft.graph.temporaryAccessPassAuthenticationMethod"


def record_ids(folder: Path, file: str = STATE_FILE) -> list[str]:
    """Ids of the audit and sign-in records in the state (or the seed), in order."""
    doc = orjson.loads((folder / file).read_bytes())["state"]
    return [str(r["id"]) for r in doc["directoryAudits"] + doc["signIns"]]


def assert_consistent(
    folder: Path, *, since: int, clock: datetime, passes_of: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The folder is one committed state, and its journal tells exactly how it got there; returns the journal.

    ``since``: journal entries before the writers under test started; ``clock``: the range's time then (the
    writers move it only with ``advance-clock minutes=N``); ``passes_of``: users whose Temporary Access Pass
    must be the one the last journaled ``issue-tap`` for them created.
    """
    rng = Range.open(folder)
    journal = rng.journal()
    ids = record_ids(folder)
    assert len(ids) == len(set(ids)), "a record id was drawn twice"
    journaled = [rid for e in journal if e["outcome"] == "ok" for rid in e.get("records") or []]
    assert len(journaled) == len(set(journaled)), "a journal entry was written twice"
    seeded = set(record_ids(folder, SEED_FILE))
    assert set(ids) == set(journaled) | seeded, "state and journal disagree about the records"
    assert rng.now.strftime("%Y-%m-%dT%H:%M:%SZ") == journal[-1]["clock"]
    moved = [e for e in journal[since:] if e["action"] == "advance-clock" and e["outcome"] == "ok"]
    minutes = sum(int(e["params"]["minutes"]) for e in moved)
    assert rng.now == clock + timedelta(minutes=minutes), "state and journal disagree about the clock"
    state = rng.peek()
    for upn in passes_of:
        names = {upn.casefold(), state.user_id(upn)}  # the command line names users by UPN, Graph by id
        issued = [
            e["data"]["id"]
            for e in journal
            if e["action"] == "issue-tap"
            and e["outcome"] == "ok"
            and str(e["params"]["user"]).casefold() in names
        ]
        held = [m["id"] for m in state.methods_of(state.user_id(upn)) if m.get("@odata.type") == TAP]
        assert held == issued[-1:], f"the pass of {upn} in the state is not the last one journaled"
    return journal
