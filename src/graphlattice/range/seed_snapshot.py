"""Seed a range from a snapshot folder (the demo tenant, or any export): a tenant without a scenario.

Used to serve a large tenant (the 100,000-user demo) through the Graph-compatible endpoint, e.g. for the
collector benchmark. The range's clock starts at the snapshot's ``collectedAt``; nobody is given anyone
else's password; there is no attacker timeline to replay.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from graphlattice.errors import RangeError
from graphlattice.range.engine import Range
from graphlattice.range.state import RangeState
from graphlattice.tenant.collections import COLLECTIONS
from graphlattice.tenant.model import parse_time
from graphlattice.tenant.snapshot import iter_jsonl

__all__ = ["seed_from_snapshot"]


def _read(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise RangeError(f"cannot read {path}: {exc}") from None


def seed_from_snapshot(snapshot: Path, state_dir: Path, *, seed: int = 1, logs: bool = True) -> Range:
    """A new range in ``state_dir`` holding the tenant of ``snapshot`` (replaces a range there); ``logs``
    False leaves the audit and sign-in records out (a large demo tenant's logs run to gigabytes)."""
    root = Path(snapshot)
    manifest = _read(root / "manifest.json") if (root / "manifest.json").exists() else {}
    now = parse_time(manifest.get("collectedAt"))
    if now is None:
        raise RangeError(f"{root}: the manifest has no collectedAt to start the range's clock at")
    collections: dict[str, Any] = {}
    for name, spec in COLLECTIONS.items():
        path = root / spec.filename
        if not path.exists() or (not logs and name in ("directoryAudits", "signIns")):
            continue
        if spec.shape == "jsonl":
            collections[name] = [obj for _, obj in iter_jsonl(path)]
        else:
            collections[name] = _read(path)
    state = RangeState.from_collections(
        collections, now=now, seed=seed, tenant_id=str(manifest.get("tenantId") or "") or None
    )
    return Range.seeded(state_dir, state, scenario_id="custom")
