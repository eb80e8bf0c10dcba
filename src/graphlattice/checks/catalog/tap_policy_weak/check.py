"""tap-policy-weak: TAP enabled, but multi-use or with lifetimes above the configured bounds."""

from __future__ import annotations

from graphlattice.checks.context import CheckContext
from graphlattice.checks.registry import register
from graphlattice.checks.result import Affected, Finding, PreCheck
from graphlattice.entra.tap import TapPolicy


def _minutes(value: int) -> str:
    return f"{value} min ({value / 60:g} h)" if value >= 60 else f"{value} min"


@register("tap-policy-weak")
def evaluate(ctx: CheckContext) -> Finding:
    config = ctx.tenant.method_configuration("TemporaryAccessPass")
    policy = TapPolicy.from_graph(config)
    evidence = {
        "state": "enabled" if policy.enabled else "disabled",
        "isUsableOnce": policy.is_usable_once,
        "defaultLifetimeInMinutes": policy.default_lifetime,
        "maximumLifetimeInMinutes": policy.maximum_lifetime,
        "minimumLifetimeInMinutes": policy.minimum_lifetime,
    }
    if not policy.enabled:
        return ctx.not_applicable("The Temporary Access Pass method is disabled.", evidence=evidence)
    limits = ctx.config
    reasons: list[str] = []
    if not policy.is_usable_once:
        reasons.append("Passes may be multi-use (isUsableOnce is false).")
    if policy.maximum_lifetime > limits.tap_max_lifetime_minutes:
        reasons.append(
            f"Maximum lifetime is {_minutes(policy.maximum_lifetime)}, above the bound of "
            f"{_minutes(limits.tap_max_lifetime_minutes)}."
        )
    if policy.default_lifetime > limits.tap_default_lifetime_minutes:
        reasons.append(
            f"Default lifetime is {_minutes(policy.default_lifetime)}, above the bound of "
            f"{_minutes(limits.tap_default_lifetime_minutes)}."
        )
    holders = [
        uid
        for uid, methods in ctx.tenant.methods.items()
        if any(
            str(m.get("@odata.type", "")).lower().endswith("temporaryaccesspassauthenticationmethod")
            and m.get("isUsable") is not False
            for m in methods
        )
    ]
    prechecks = [
        PreCheck(
            "Is the TAP method enabled, and for whom?",
            "Enabled for all users."
            if policy.includes_all_users
            else f"Enabled for {len(policy.included_group_ids)} group(s).",
        ),
        PreCheck(
            "Who holds a usable pass right now (kept after a policy change)?",
            f"{len(holders)} user(s) hold a usable pass."
            if ctx.tenant.available.get("authenticationMethods")
            else "Unknown: per-user methods were not collected.",
        ),
    ]
    policy_obj = Affected(
        id="TemporaryAccessPass",
        type="authenticationMethodConfiguration",
        display_name="Temporary Access Pass policy",
    )
    if reasons:
        return ctx.failed(
            f"The TAP policy is weak: {' '.join(reasons)}",
            affected=[policy_obj],
            reasons=reasons,
            evidence=evidence,
            prechecks=prechecks,
        )
    return ctx.passed(
        "Passes are one-time and short-lived within the configured bounds.",
        affected=[policy_obj],
        evidence=evidence,
        prechecks=prechecks,
    )
