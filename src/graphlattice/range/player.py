"""Play a scenario's attacker timeline through :meth:`Range.act`, the same door every defender uses.

Each step first moves the clock to the step's time, then runs the action as the step's actor with its
parameters resolved (person keys become UPNs, ``${step.field}`` takes an earlier result). The results that
later steps and the verifier refer to (session and refresh-token handles, method and request ids) are kept
in the range's metadata under ``timeline``; secrets such as a pass code are not. After the last step the
clock moves to the scenario's ``handover`` time, when the player takes over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphlattice.errors import ActionDenied, RangeError
from graphlattice.range.clock import iso
from graphlattice.range.engine import Range
from graphlattice.range.scenario import Scenario

__all__ = ["TIMELINE_KEY", "play_timeline", "step_results"]

TIMELINE_KEY = "timeline"
_SECRET_FIELDS = frozenset({"code", "password", "newPassword", "temporaryAccessPass"})


def _public(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in _SECRET_FIELDS and isinstance(v, (str, int, bool))}


def _move_clock(rng: Range, moment: Any) -> None:
    if moment is not None and moment > rng.now:
        rng.act("advance-clock", {"to": iso(moment)}, actor=None)


def play_timeline(rng: Range, scenario: Scenario) -> None:
    """Run every step; a step refused when the file expects success (or the reverse) is a scenario bug."""
    results: dict[str, dict[str, Any]] = {}
    for step in scenario.timeline:
        _move_clock(rng, step.at)
        inv = step.invocation
        params = scenario.resolve(inv, results)
        try:
            result = rng.act(inv.action, params, actor=scenario.actor_upn(inv.actor))
        except ActionDenied as denied:
            if step.expect == "denied":
                results[step.id] = {"denied": denied.reason}
                continue
            raise RangeError(
                f"{scenario.path}:{inv.line}: step {step.id} ({inv.action}) was refused: {denied.reason}"
            ) from None
        if step.expect == "denied":
            raise RangeError(
                f"{scenario.path}:{inv.line}: step {step.id} ({inv.action}) was expected to be refused "
                f"but succeeded: {result.message}"
            )
        results[step.id] = _public(result.data)
    _move_clock(rng, scenario.handover)
    rng.meta[TIMELINE_KEY] = results


def step_results(rng: Range) -> dict[str, dict[str, Any]]:
    """What each timeline step returned when the range was started (see :func:`play_timeline`)."""
    raw = rng.meta.get(TIMELINE_KEY)
    if not isinstance(raw, dict):
        return {}
    return {str(k): dict(v) for k, v in raw.items() if isinstance(v, dict)}
