"""Is the attacker out, and is the door closed? A read-only verdict on a range.

* **Containment** — every foothold in the scenario is replayed on a private copy of the state
  (:meth:`Range.simulate`): the attacker's old refresh tokens, their Authenticator and passkey, a live pass,
  the password when they know it. A foothold holds while any of its replays succeeds. The range is contained
  when no foothold holds.
* **Root cause** — the foundation's risk checks run on the range's tenant as it stands, with the attacker's
  own devices left out (a planted Authenticator is not the victim's MFA); a check narrowed to a ``subject``
  is fixed once no failing finding names that person. Objectives written as replays (the operator issuing a
  fresh pass) are fixed once the engine refuses them.
* **Collateral** — the victim's own methods deleted, or the victim's account disabled.

Nothing here changes the range: no state is written, no journal line or log record is added.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphlattice.checks.engine import assess
from graphlattice.checks.result import Finding, Status
from graphlattice.errors import ActionDenied, RangeError
from graphlattice.range.engine import Range
from graphlattice.range.player import step_results
from graphlattice.range.scenario import Invocation, RootCause, Scenario
from graphlattice.range.score import ScoreSheet, score
from graphlattice.range.state import ATTACKER, RangeState
from graphlattice.tenant.model import Tenant

__all__ = ["Collateral", "FootholdResult", "RootCauseResult", "Verdict", "verify"]


@dataclass(frozen=True, slots=True)
class FootholdResult:
    id: str
    description: str
    attacker_still_in: bool
    evidence: tuple[str, ...]  # what each replay said (shown in the table, not in the JSON)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "description": self.description, "attackerStillIn": self.attacker_still_in}


@dataclass(frozen=True, slots=True)
class RootCauseResult:
    id: str
    fixed: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "fixed": self.fixed, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Collateral:
    id: str  # the deleted method's id, or the victim's user id
    kind: str  # "method-deleted" or "account-disabled"
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Verdict:
    scenario: str
    contained: bool
    footholds: tuple[FootholdResult, ...]
    root_cause: tuple[RootCauseResult, ...]
    collateral: tuple[Collateral, ...]
    sheet: ScoreSheet

    @property
    def score(self) -> int:
        return self.sheet.total

    @property
    def root_cause_fixed(self) -> bool:
        return all(r.fixed for r in self.root_cause)

    def to_json(self) -> dict[str, Any]:
        return {
            "contained": self.contained,
            "footholds": [f.to_json() for f in self.footholds],
            "rootCause": [r.to_json() for r in self.root_cause],
            "collateral": [c.to_json() for c in self.collateral],
            "score": self.score,
        }


def _error_code(record: Mapping[str, Any]) -> int | None:
    status = record.get("status")
    code = status.get("errorCode") if isinstance(status, Mapping) else None
    return code if isinstance(code, int) else None


# ---- replays --------------------------------------------------------------------------------------------


def _replay(rng: Range, scenario: Scenario, inv: Invocation, results: Mapping[str, Any]) -> tuple[bool, str]:
    """(succeeded, what the engine said) for one action on a copy of the state."""
    try:
        params = scenario.resolve(inv, results)
    except RangeError as exc:  # ScenarioError is an InputError; a missing result means the step never ran
        return False, str(exc)
    try:
        result = rng.simulate(inv.action, params, actor=scenario.actor_upn(inv.actor))
    except ActionDenied as denied:
        codes = [_error_code(r) for r in denied.records]
        if any(code in inv.also_in_on for code in codes if code is not None):
            return True, f"first factor accepted, only then stopped: {denied.reason}"
        return False, denied.reason
    except RangeError as exc:
        return False, str(exc)
    message = result.message
    for key in ("code", "password"):  # a replay's secrets stay in the copy
        secret = result.data.get(key)
        if isinstance(secret, str) and secret:
            message = message.replace(secret, "***")
    return True, message


def _footholds(rng: Range, scenario: Scenario, results: Mapping[str, Any]) -> list[FootholdResult]:
    out: list[FootholdResult] = []
    for foothold in scenario.footholds:
        said: list[str] = []
        still_in = False
        for inv in foothold.replay:
            ok, message = _replay(rng, scenario, inv, results)
            still_in = still_in or ok
            said.append(("works: " if ok else "refused: ") + message)
        out.append(FootholdResult(foothold.id, foothold.description, still_in, tuple(said)))
    return out


# ---- root cause -----------------------------------------------------------------------------------------


def _without_attacker_devices(state: RangeState) -> Tenant:
    """The tenant as checks see it, minus devices the attacker planted on other people's accounts."""
    planted = {mid for mid, holder in state.secrets.devices.items() if holder.casefold() == ATTACKER}
    methods: dict[str, list[dict[str, Any]]] = state.collections["authenticationMethods"]
    for uid, items in methods.items():
        if state.owner_of(uid).casefold() == ATTACKER:
            continue  # the attacker's own account keeps its own methods
        methods[uid] = [m for m in items if str(m.get("id", "")).casefold() not in planted]
    return state.tenant(with_logs=False)


def _check_result(
    findings: list[Finding], cause: RootCause, scenario: Scenario, tenant: Tenant
) -> RootCauseResult:
    if not findings:
        return RootCauseResult(cause.id, False, "The check produced no result.")
    if cause.subject is not None:
        subject_id = scenario.user_id(cause.subject)
        name = scenario.person(cause.subject).name
        for finding in findings:
            if finding.status is Status.UNKNOWN:
                return RootCauseResult(cause.id, False, f"Cannot tell: {finding.summary}")
            if finding.status is Status.FAIL:
                for item in finding.affected:
                    if item.id.casefold() == subject_id:
                        return RootCauseResult(cause.id, False, f"{name}: {item.detail or finding.summary}")
        return RootCauseResult(cause.id, True, f"{name} is no longer flagged by {cause.check}.")
    failing = [f for f in findings if f.status in (Status.FAIL, Status.UNKNOWN)]
    if failing:
        first = failing[0]
        prefix = "Cannot tell: " if first.status is Status.UNKNOWN else ""
        names = [a.display_name for a in first.affected if a.display_name]
        shown = f" ({', '.join(names[:4])}{' and more' if len(names) > 4 else ''})" if names else ""
        return RootCauseResult(cause.id, False, prefix + first.summary.rstrip(".") + shown + ".")
    return RootCauseResult(cause.id, True, findings[0].summary)


def _root_causes(rng: Range, scenario: Scenario, results: Mapping[str, Any]) -> list[RootCauseResult]:
    tenant = _without_attacker_devices(rng.peek())
    checks = list(dict.fromkeys(c.check for c in scenario.root_causes if c.check))
    by_risk: dict[str, list[Finding]] = {risk: [] for risk in checks}
    if checks:
        for finding in assess(tenant, scenario.assess_config(), only=checks).findings:
            by_risk.setdefault(finding.risk, []).append(finding)
    out: list[RootCauseResult] = []
    for cause in scenario.root_causes:
        if cause.check is not None:
            out.append(_check_result(by_risk.get(cause.check, []), cause, scenario, tenant))
            continue
        outcomes = [(inv, *_replay(rng, scenario, inv, results)) for inv in cause.replay]
        still = [_still_possible(scenario, inv, results) for inv, ok, _ in outcomes if ok]
        if still:
            out.append(RootCauseResult(cause.id, False, "Still possible: " + "; ".join(still) + "."))
        else:
            out.append(RootCauseResult(cause.id, True, "Refused: " + "; ".join(m for _, _, m in outcomes)))
    return out


def _still_possible(scenario: Scenario, inv: Invocation, results: Mapping[str, Any]) -> str:
    """E.g. "lukas.brandt@… may run issue-tap (user=mia.hoffmann@…) right now"."""
    who = scenario.actor_upn(inv.actor) or "the attacker"
    params = scenario.resolve(inv, results)
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{who} may run {inv.action}" + (f" ({shown})" if shown else "") + " right now"


# ---- collateral -----------------------------------------------------------------------------------------


def _collateral(state: RangeState, scenario: Scenario) -> list[Collateral]:
    victim = scenario.person(scenario.cast.victim)
    uid = scenario.user_id(victim.key)
    present = {str(m.get("id", "")).casefold() for m in state.methods_of(uid)}
    out = [
        Collateral(mid, "method-deleted", f"{victim.name}'s own {label} was deleted")
        for mid, label in scenario.victim_method_ids().items()
        if mid not in present
    ]
    user = state.find_user(uid)
    if user is not None and user.get("accountEnabled") is False:
        out.append(Collateral(uid, "account-disabled", f"{victim.name}'s account is disabled"))
    return out


# ---- the verdict ----------------------------------------------------------------------------------------


def verify(rng: Range) -> Verdict:
    """Replay every foothold and judge root cause and collateral, without changing the range."""
    scenario = rng.scenario
    results = step_results(rng)
    footholds = _footholds(rng, scenario, results)
    causes = _root_causes(rng, scenario, results)
    collateral = _collateral(rng.peek(), scenario)
    points = {f.id: f.points for f in scenario.footholds} | {r.id: r.points for r in scenario.root_causes}
    sheet = score(
        [(points[f.id], f.attacker_still_in) for f in footholds],
        [(points[r.id], r.fixed) for r in causes],
        hint_costs=[h.cost for h in scenario.hints[: rng.hints_used]],
        collateral_items=len(collateral),
        collateral_penalty=scenario.collateral_penalty,
    )
    return Verdict(
        scenario=scenario.id,
        contained=not any(f.attacker_still_in for f in footholds),
        footholds=tuple(footholds),
        root_cause=tuple(causes),
        collateral=tuple(collateral),
        sheet=sheet,
    )
