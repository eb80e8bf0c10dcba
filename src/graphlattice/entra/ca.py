"""Conditional Access evaluation over Graph's ``conditionalAccessPolicy`` JSON.

For each policy we decide whether it covers the sign-in (:mod:`graphlattice.entra.ca_conditions`) and
whether the session as described already meets its grant controls, and report Graph's
``appliedConditionalAccessPolicy`` result string:

* enabled: ``success``, ``failure`` (the session does not meet the grant; for an interactive control such
  as MFA the user would be prompted), ``notApplied``;
* report-only: ``reportOnlySuccess``, ``reportOnlyFailure`` (a non-interactive control is unmet, e.g.
  block or compliant device), ``reportOnlyInterrupted`` (the user would have to act, e.g. do MFA, which
  Microsoft shows as "Report-only: User action required"), ``reportOnlyNotApplied``;
* disabled: ``notEnabled``;
* ``unknown`` when a condition or control cannot be decided from what is known (never a guess);
* :data:`NOT_EVALUATED` (our own value, never written to a record) for a report-only policy scoped to user
  actions: Entra does not evaluate those in report-only mode, so a real sign-in log carries no result for
  them and report-only cannot measure such a policy (``data/ca_user_actions.yaml``). Pass ``what_if=True`` to
  evaluate it anyway, as a simulation does, with the report-only result it would have had.

The built-in ``mfa`` control is met by any combination of the built-in Multifactor authentication
strength, which includes a Temporary Access Pass. :func:`requires_mfa` says whether the enforced policies
asked for multifactor authentication, which is what a sign-in record's ``authenticationRequirement`` reports
(what was required, not what was used).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from graphlattice.entra.ca_conditions import REPORT_ONLY_EVALUATES_USER_ACTIONS, policy_covers
from graphlattice.entra.signin import SignInContext
from graphlattice.entra.strengths import BUILTIN_STRENGTHS, MFA_STRENGTH_ID, Strength, satisfied_by

__all__ = [
    "NOT_EVALUATED",
    "AccessDecision",
    "GrantRequirement",
    "PolicyResult",
    "SignInContext",
    "access_decision",
    "evaluate",
    "requires_mfa",
]

_EMPTY: Mapping[str, Mapping[str, Any]] = MappingProxyType({})

# builtInControls that the user can satisfy by acting during sign-in, and those that are facts of the device
# or app. Controls not listed here (approvedApplication, compliantApplication, unknown ones) are not modelled.
_INTERACTIVE = {"mfa": "mfa", "passwordchange": "passwordChange", "riskremediation": "riskRemediation"}
_CANONICAL = {
    "block": "block",
    "compliantdevice": "compliantDevice",
    "domainjoineddevice": "domainJoinedDevice",
    "approvedapplication": "approvedApplication",
    "compliantapplication": "compliantApplication",
    **_INTERACTIVE,
}

_REPORT_ONLY = "enabledforreportingbutnotenforced"
NOT_EVALUATED = "notEvaluated"
"""Result of a report-only policy scoped to user actions, which Entra does not evaluate (never logged)."""


@dataclass(slots=True, frozen=True)
class GrantRequirement:
    """A policy's ``grantControls``: the controls and whether all (AND) or one (OR) must be met."""

    operator: str
    built_in_controls: tuple[str, ...]
    authentication_strength_id: str | None = None
    authentication_strength: Strength | None = None
    custom_authentication_factors: tuple[str, ...] = ()
    terms_of_use: tuple[str, ...] = ()

    @classmethod
    def from_graph(cls, grant: Mapping[str, Any] | None) -> GrantRequirement | None:
        if not isinstance(grant, Mapping):
            return None
        strength_obj = grant.get("authenticationStrength")
        strength_id: str | None = None
        embedded: Strength | None = None
        if isinstance(strength_obj, Mapping) and isinstance(strength_obj.get("id"), str):
            strength_id = strength_obj["id"]
            if strength_obj.get("allowedCombinations"):
                embedded = Strength.from_graph(strength_obj)
        controls = [c for c in grant.get("builtInControls") or [] if isinstance(c, str)]
        return cls(
            operator=str(grant.get("operator") or "OR").upper(),
            built_in_controls=tuple(_CANONICAL.get(c.casefold(), c) for c in controls),
            authentication_strength_id=strength_id,
            authentication_strength=embedded,
            custom_authentication_factors=tuple(
                str(c) for c in grant.get("customAuthenticationFactors") or []
            ),
            terms_of_use=tuple(str(t) for t in grant.get("termsOfUse") or []),
        )


@dataclass(slots=True, frozen=True)
class PolicyResult:
    """How one policy treats the sign-in.

    ``why_not`` says why the policy does not apply, or what could not be evaluated (result ``unknown``).
    ``satisfied`` is None when the policy does not apply or its grant cannot be decided.
    """

    policy_id: str
    display_name: str
    state: str
    applies: bool
    why_not: str | None
    grant: GrantRequirement | None
    satisfied: bool | None
    result: str
    unmet_controls: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class AccessDecision:
    """The combined effect of the enabled policies: blocked when any of them is not met."""

    blocked: bool
    unmet: list[str]
    undetermined: list[str] = field(default_factory=list)


def evaluate(
    policies: Iterable[Mapping[str, Any]],
    ctx: SignInContext,
    *,
    named_locations: Mapping[str, Mapping[str, Any]] = _EMPTY,
    strengths: Mapping[str, Strength] | None = None,
    what_if: bool = False,
) -> list[PolicyResult]:
    """Evaluate every policy for one sign-in, in the order given.

    By default the answer is what Entra itself evaluates and logs. ``what_if=True`` also evaluates report-only
    policies scoped to user actions, which the service skips, as a simulation of turning them on needs.
    """
    locations = {str(k).casefold(): v for k, v in named_locations.items()}
    known_strengths = dict(BUILTIN_STRENGTHS)
    known_strengths.update({k.casefold(): v for k, v in (strengths or {}).items()})
    return [_evaluate_one(policy, ctx, locations, known_strengths, what_if) for policy in policies]


def access_decision(results: Iterable[PolicyResult]) -> AccessDecision:
    """Only enabled policies count; report-only and disabled policies never block."""
    unmet: list[str] = []
    undetermined: list[str] = []
    for result in results:
        if result.state.casefold() != "enabled":
            continue
        if result.result == "failure":
            unmet.append(f"{result.display_name}: requires {', '.join(result.unmet_controls) or 'a control'}")
        elif result.result == "unknown":
            undetermined.append(f"{result.display_name}: {result.why_not}")
    return AccessDecision(blocked=bool(unmet), unmet=unmet, undetermined=undetermined)


def requires_mfa(results: Iterable[PolicyResult]) -> bool:
    """Whether an enforced policy that applies asks for multifactor authentication (the built-in ``mfa``
    control or an authentication strength), met or not: a sign-in's ``authenticationRequirement``."""
    for result in results:
        if result.state.casefold() != "enabled" or not result.applies or result.grant is None:
            continue
        if result.grant.authentication_strength_id is not None:
            return True
        if any(c.casefold() == "mfa" for c in result.grant.built_in_controls):
            return True
    return False


def _evaluate_one(
    policy: Mapping[str, Any],
    ctx: SignInContext,
    locations: Mapping[str, Mapping[str, Any]],
    strengths: Mapping[str, Strength],
    what_if: bool,
) -> PolicyResult:
    base: dict[str, Any] = {
        "policy_id": str(policy.get("id") or ""),
        "display_name": str(policy.get("displayName") or policy.get("id") or ""),
        "state": str(policy.get("state") or ""),
    }
    state = base["state"].casefold()
    if state not in ("enabled", _REPORT_ONLY):
        return PolicyResult(
            **base,
            applies=False,
            why_not="the policy is disabled",
            grant=None,
            satisfied=None,
            result="notEnabled",
        )
    report_only = state == _REPORT_ONLY
    conditions = policy.get("conditions")
    if report_only and not what_if and not REPORT_ONLY_EVALUATES_USER_ACTIONS and _user_actions(conditions):
        return PolicyResult(
            **base,
            applies=False,
            why_not="report-only mode does not evaluate policies scoped to user actions",
            grant=GrantRequirement.from_graph(policy.get("grantControls")),
            satisfied=None,
            result=NOT_EVALUATED,
        )
    covered, why = policy_covers(conditions if isinstance(conditions, Mapping) else {}, ctx, locations)
    grant = GrantRequirement.from_graph(policy.get("grantControls"))
    if covered is None:
        return PolicyResult(**base, applies=False, why_not=why, grant=grant, satisfied=None, result="unknown")
    if covered is False:
        result = "reportOnlyNotApplied" if report_only else "notApplied"
        return PolicyResult(**base, applies=False, why_not=why, grant=grant, satisfied=None, result=result)
    satisfied, interactive, unmet = _grant_outcome(grant, ctx, strengths)
    if satisfied is None:
        result = "unknown"
    elif satisfied:
        result = "reportOnlySuccess" if report_only else "success"
    elif report_only:
        result = "reportOnlyInterrupted" if interactive else "reportOnlyFailure"
    else:
        result = "failure"
    why_unknown = "a grant control cannot be evaluated" if satisfied is None else None
    return PolicyResult(
        **base,
        applies=True,
        why_not=why_unknown,
        grant=grant,
        satisfied=satisfied,
        result=result,
        unmet_controls=unmet,
    )


def _user_actions(conditions: Any) -> bool:
    apps = conditions.get("applications") if isinstance(conditions, Mapping) else None
    actions = apps.get("includeUserActions") if isinstance(apps, Mapping) else None
    return isinstance(actions, list) and any(isinstance(a, str) and a.strip() for a in actions)


# One control: (met, the user could meet it by acting now).
_Outcome = tuple[bool | None, bool]


def _grant_outcome(
    grant: GrantRequirement | None, ctx: SignInContext, strengths: Mapping[str, Strength]
) -> tuple[bool | None, bool, tuple[str, ...]]:
    """(met, an unmet outcome is interactive, names of unmet controls)."""
    outcomes: list[tuple[str, _Outcome]] = []
    if grant is not None:
        outcomes += [(control, _control(control, ctx)) for control in grant.built_in_controls]
        if grant.authentication_strength_id is not None:
            strength = grant.authentication_strength or strengths.get(
                grant.authentication_strength_id.casefold()
            )
            label = strength.display_name if strength else grant.authentication_strength_id
            name = f"authentication strength {label}"
            met = None if strength is None else satisfied_by(strength, ctx.used_modes)
            outcomes.append((name, (met, True)))
        outcomes += [(f"custom control {c}", (None, True)) for c in grant.custom_authentication_factors]
        outcomes += [(f"terms of use {t}", (None, True)) for t in grant.terms_of_use]
    if not outcomes:
        return True, False, ()  # session controls only
    values = [met for _, (met, _) in outcomes]
    unmet = tuple(name for name, (met, _) in outcomes if met is False)
    if grant is not None and grant.operator == "AND":
        if any(v is False for v in values):
            return False, all(i for _, (met, i) in outcomes if met is False), unmet
        return (None if any(v is None for v in values) else True), False, ()
    if any(v is True for v in values):
        return True, False, ()
    if any(v is None for v in values):
        return None, False, ()
    return False, any(i for _, (_, i) in outcomes), unmet


def _control(control: str, ctx: SignInContext) -> _Outcome:
    key = control.casefold()
    if key == "block":
        return False, False
    if key == "mfa":
        return satisfied_by(BUILTIN_STRENGTHS[MFA_STRENGTH_ID], ctx.used_modes), True
    if key == "compliantdevice":
        return ctx.device_compliant, False
    if key == "domainjoineddevice":
        return ctx.device_hybrid_joined, False
    if key in ("passwordchange", "riskremediation"):
        return False, True  # a step the user must take in this sign-in
    return None, False
