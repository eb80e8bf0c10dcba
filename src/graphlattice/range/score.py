"""Points for a Range verdict.

A scenario's footholds and root causes are worth 100 points together (the file says how they are split).
The player earns a foothold's points when no replay of it gets the attacker in, and a root cause's points when
it is fixed; every hint taken costs its price, every piece of collateral damage costs the scenario's
``collateralPenalty``. The score never goes below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ScoreSheet", "score"]


@dataclass(frozen=True, slots=True)
class ScoreSheet:
    containment: int  # points from closed footholds
    root_cause: int  # points from fixed root causes
    hints: int  # points spent on hints
    collateral: int  # points lost to collateral damage
    total: int

    def explain(self) -> str:
        return (
            f"containment {self.containment} + root cause {self.root_cause} - hints {self.hints} "
            f"- collateral {self.collateral} = {self.total}"
        )


def score(
    footholds: Sequence[tuple[int, bool]],
    root_causes: Sequence[tuple[int, bool]],
    *,
    hint_costs: Sequence[int],
    collateral_items: int,
    collateral_penalty: int,
) -> ScoreSheet:
    """``footholds``: (points, attacker still in); ``root_causes``: (points, fixed)."""
    containment = sum(points for points, still_in in footholds if not still_in)
    root = sum(points for points, fixed in root_causes if fixed)
    hints = sum(hint_costs)
    collateral = collateral_items * collateral_penalty
    return ScoreSheet(containment, root, hints, collateral, max(0, containment + root - hints - collateral))
