"""users-without-mfa: enabled members who have no second factor at all (password, e-mail or nothing)."""

from __future__ import annotations

from datetime import datetime

from graphlattice.checks.context import CheckContext, NotEvaluable
from graphlattice.checks.coverage import method_gaps, standing_gap
from graphlattice.checks.methods_view import (
    METHOD_GRANTS,
    Source,
    Tier,
    UserMethods,
    method_reach,
    methods_view,
    name_list,
    plural,
)
from graphlattice.checks.registry import register
from graphlattice.checks.result import Affected, Cause, Finding, PreCheck
from graphlattice.entra.tap import ENABLED_BY_POLICY, TapPolicy
from graphlattice.errors import InputError
from graphlattice.tenant.model import Tenant, User

_SAMPLE = 20  # ids of not-evaluated users kept in the evidence (all are counted)


def _sort_key(user: User) -> tuple[str, str]:
    return (user.display_name.casefold(), user.id)


def _tap_policy(tenant: Tenant) -> TapPolicy | None:
    if not tenant.available.get("authenticationMethodsPolicy", False):
        return None
    try:
        return TapPolicy.from_graph(tenant.method_configuration("TemporaryAccessPass"))
    except InputError:
        return None


def _pass_state(
    policy: TapPolicy | None, methods: UserMethods, user_id: str, groups: frozenset[str], now: datetime
) -> str | None:
    """Graph's ``methodUsabilityReason`` for the user's pass at collection time, or None when unknown."""
    method = methods.pass_method
    if method is None:
        return None
    if policy is not None:
        try:
            return policy.pass_status(method, user_id, groups, now)
        except InputError:
            pass
    reason = method.get("methodUsabilityReason")
    return reason if isinstance(reason, str) and reason else None


def _blocked_answer(tenant: Tenant, blocked: list[str], with_pass: int) -> str:
    if not blocked and not with_pass:
        return "Nobody among the evaluated members: every one has a second factor."
    holders = plural(with_pass, "user without a lasting method holds", "users without a lasting method hold")
    if not blocked:
        return f"Nobody would be blocked: {holders} a usable pass and can register now."
    text = (
        f"{plural(len(blocked), 'user')} with nothing to satisfy it: {name_list(tenant, blocked)}. "
        "Each needs a Temporary Access Pass (or another verified enrolment) first."
    )
    if with_pass:
        text += f" In addition, {holders} a usable pass and can register now."
    return text


@register("users-without-mfa")
def evaluate(ctx: CheckContext) -> Finding:
    tenant = ctx.tenant
    view = methods_view(tenant)
    view.require_source(tenant)

    members = 0
    failing: list[tuple[User, UserMethods]] = []
    no_data: list[str] = []
    unrecognised: list[str] = []
    by_source = {Source.METHODS.value: 0, Source.REGISTRATION.value: 0}
    for user in tenant.iter_members():
        members += 1
        methods = view.of(user.id)
        verdict = methods.decided_below(Tier.WEAK)
        if verdict is None:
            (unrecognised if methods.evaluated else no_data).append(user.id)
            continue
        by_source[methods.source.value] += 1
        if verdict:
            failing.append((user, methods))

    gaps = method_gaps(tenant, no_data, unrecognised, "enabled member")
    unknown_standing = standing_gap(tenant, tenant.standing_unknown)
    if unknown_standing is not None:
        gaps.insert(0, unknown_standing)
    if members == 0:
        return ctx.not_applicable("The tenant has no enabled member users.", gaps=gaps)
    evaluated = members - len(no_data) - len(unrecognised)
    not_evaluated = len(no_data) + len(unrecognised)
    if evaluated == 0:
        raise NotEvaluable(
            f"none of the {members:,} enabled members could be evaluated: "
            + "; ".join(gap.what for gap in gaps),
            grant=METHOD_GRANTS,
            cause=Cause.COVERAGE,
        )

    failing.sort(key=lambda pair: _sort_key(pair[0]))
    failing_ids = [user.id for user, _ in failing]
    tap = method_reach(tenant, "TemporaryAccessPass", "Temporary Access Pass", failing_ids)
    tap_usable = set(tap.usable) if tap.known else set()
    policy = _tap_policy(tenant)

    affected: list[Affected] = []
    holding_pass = 0
    blocked: list[str] = []  # nothing that satisfies an MFA requirement today, not even a usable pass
    for user, methods in failing:
        detail = methods.describe()
        usable_pass = False
        if methods.has_pass:
            holding_pass += 1
            state = _pass_state(policy, methods, user.id, view.groups_of(user.id), ctx.now)
            usable_pass = state == ENABLED_BY_POLICY
            if usable_pass:
                detail += "; holds a usable Temporary Access Pass but has not registered a lasting method yet"
            elif state is None:
                detail += "; holds a Temporary Access Pass whose usability is unknown"
            else:
                detail += f"; holds a Temporary Access Pass that cannot be used ({state})"
        if not usable_pass:
            blocked.append(user.id)
        if tap.known:
            detail += "; can use a pass: " + ("yes" if user.id in tap_usable else "no")
        affected.append(ctx.affected(user.id, detail, kind="user"))

    evidence = {
        "members": members,
        "evaluated": evaluated,
        "withoutMfa": len(failing),
        "holdingPassOnly": holding_pass,
        "blockedByGate": len(blocked),
        "notEvaluated": not_evaluated,
        "notInEitherSource": len(no_data),
        "unrecognisedMethods": len(unrecognised),
        "notEvaluatedSample": sorted(no_data + unrecognised)[:_SAMPLE],
        "evaluatedFrom": by_source,
        "sources": view.sources(),
        "temporaryAccessPass": tap.to_json(),
    }

    prechecks = [
        PreCheck(
            "Is the Temporary Access Pass method enabled and usable by the users without MFA?",
            tap.answer(tenant, "users without MFA")
            if failing
            else "No evaluated member lacks MFA, so none needs a pass now. " + tap.state(),
        ),
        PreCheck(
            "Who would be blocked from registering once the registration gate is enforced?",
            _blocked_answer(tenant, blocked, len(failing) - len(blocked)),
        ),
        PreCheck(
            "How complete and current is the method data?",
            f"Per-user methods decided {by_source[Source.METHODS.value]:,} member(s), the registration "
            f"report (refreshed with a delay of hours) {by_source[Source.REGISTRATION.value]:,}; "
            f"{len(no_data):,} member(s) are in neither and {len(unrecognised):,} have only unrecognised "
            "method types.",
        ),
    ]

    if failing:
        reasons = [
            f"{plural(len(failing), 'enabled member has', 'enabled members have')} no second factor, only a "
            "password (e-mail and security questions serve password reset only): "
            f"{name_list(tenant, failing_ids)}."
        ]
        if holding_pass:
            reasons.append(
                f"{plural(holding_pass, 'of them holds', 'of them hold')} a Temporary Access Pass "
                "and no lasting method yet."
            )
        if tap.known and tap.not_usable:
            reasons.append(
                f"{plural(len(tap.not_usable), 'of them cannot', 'of them cannot')} use a Temporary "
                "Access Pass under the current policy."
            )
        return ctx.failed(
            f"{len(failing):,} of {evaluated:,} evaluated enabled members lack any MFA method.",
            affected=affected,
            reasons=reasons,
            evidence=evidence,
            prechecks=prechecks,
            gaps=gaps,
        )
    return ctx.passed(
        f"All {evaluated:,} evaluated enabled members have an MFA method.",
        evidence=evidence,
        prechecks=prechecks,
        gaps=gaps,
    )
