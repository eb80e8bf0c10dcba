"""admins-risky-mfa: privileged users with no MFA, only SMS/voice, or no phishing-resistant method.

Two findings: the main one (no second factor, or SMS/voice only: critical) and the variant
``no-phishing-resistant`` (a stronger but phishable factor such as Authenticator, and no passkey: high).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from graphlattice.checks.context import CheckContext, NotEvaluable
from graphlattice.checks.coverage import (
    collection_cause,
    method_gaps,
    standing_gap,
    unread_gap,
    unresolved_gap,
)
from graphlattice.checks.methods_view import (
    METHOD_GRANTS,
    Tier,
    UserMethods,
    method_reach,
    methods_view,
    name_list,
    plural,
)
from graphlattice.checks.registry import register
from graphlattice.checks.result import Affected, Cause, Finding, Gap, PreCheck, Severity
from graphlattice.checks.role_facts import (
    UNKNOWN_ROLE_NOTE,
    role_name,
    role_privilege,
    template_id,
)
from graphlattice.entra.authority import Action, TargetProfile, roles_able_to
from graphlattice.entra.privileged import privileged_holders
from graphlattice.entra.roles import role_display_name
from graphlattice.tenant.model import RoleGrant, Tenant, User

VARIANT = "no-phishing-resistant"
_PHISHING_RESISTANT = (
    "a phishing-resistant method (passkey/FIDO2, Windows Hello for Business or a certificate)"
)
_MISSING = {
    Tier.NONE: f"any second factor, and {_PHISHING_RESISTANT}",
    Tier.WEAK: f"a second factor other than SMS/voice, and {_PHISHING_RESISTANT}",
    Tier.PHISHABLE: _PHISHING_RESISTANT,
}
_SAMPLE = 20


@dataclass(slots=True)
class _RoleHolding:
    active: bool = False
    eligible: bool = False
    via_groups: set[str] = field(default_factory=set)
    scopes: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Admin:
    user: User
    grants: list[RoleGrant]
    methods: UserMethods | None = None
    break_glass: bool = False


def _role_name(tenant: Tenant, role_id: str) -> str:
    name = role_name(tenant, role_id)
    return name if role_privilege(tenant, role_id) is not None else f"{name} ({UNKNOWN_ROLE_NOTE})"


def _holdings(grants: list[RoleGrant]) -> dict[str, _RoleHolding]:
    out: dict[str, _RoleHolding] = defaultdict(_RoleHolding)
    for grant in grants:
        holding = out[grant.role_id]
        if grant.kind == "eligible":
            holding.eligible = True
        else:
            holding.active = True
        if grant.via_group_id:
            holding.via_groups.add(grant.via_group_id)
        if not grant.tenant_wide:
            holding.scopes.add(grant.scope)
    return out


def _roles_text(tenant: Tenant, holdings: dict[str, _RoleHolding]) -> str:
    parts = []
    for role_id, holding in sorted(holdings.items(), key=lambda item: _role_name(tenant, item[0])):
        how = (
            "active and eligible"
            if holding.active and holding.eligible
            else ("active" if holding.active else "eligible")
        )
        if holding.via_groups:
            how += ", via group " + ", ".join(sorted(tenant.display_name(g) for g in holding.via_groups))
        if holding.scopes:
            how += ", scoped to " + ", ".join(sorted(holding.scopes))
        parts.append(f"{_role_name(tenant, role_id)} ({how})")
    return "; ".join(parts)


def _roles_json(tenant: Tenant, holdings: dict[str, _RoleHolding]) -> list[dict[str, Any]]:
    return [
        {
            "roleId": role_id,
            "role": _role_name(tenant, role_id),
            "active": h.active,
            "eligible": h.eligible,
            "viaGroups": sorted(h.via_groups),
            "scopes": sorted(h.scopes) or ["/"],
        }
        for role_id, h in sorted(holdings.items())
    ]


def _privileged_admins(ctx: CheckContext) -> dict[str, _Admin]:
    """Users holding a privileged role (active or eligible, directly or through a role-assignable group),
    as :func:`graphlattice.entra.privileged.privileged_holders` (shared with detection) finds them."""
    tenant = ctx.tenant
    break_glass = set(ctx.config.break_glass)
    admins: dict[str, _Admin] = {}
    for uid, grants in privileged_holders(tenant).users.items():
        user = tenant.users[uid]
        admins[uid] = _Admin(user, list(grants), break_glass=bool(break_glass & {uid, user.upn.lower()}))
    return admins


def _who_can_manage(tenant: Tenant, admins: list[_Admin]) -> str:
    """Roles that may manage the methods of (and issue a pass to) every listed admin."""
    able: frozenset[str] | None = None
    assignable = tenant.role_assignable_members
    for admin in admins:
        target = TargetProfile(
            role_ids=frozenset(template_id(tenant, r) for r in tenant.any_role_ids(admin.user.id)),
            in_role_assignable_group=admin.user.id in assignable,
        )
        roles = roles_able_to(Action.MANAGE_AUTH_METHODS, target)
        able = roles if able is None else able & roles
    if not able:
        return "No built-in role may manage the methods of all of them; handle them one by one."
    names = sorted(role_display_name(r) for r in able)
    joined = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return (
        f"Only {joined} may issue them a pass or remove their methods "
        "(nobody may do so for their own account through admin APIs)."
    )


@register("admins-risky-mfa")
def evaluate(ctx: CheckContext) -> list[Finding]:
    tenant = ctx.tenant
    view = methods_view(tenant)
    admins = _privileged_admins(ctx)
    eligibility_read = tenant.available.get("roleEligibilitySchedules", False)
    scope_gaps: list[Gap] = []  # privileged users who may exist but are not in this result
    lost = unresolved_gap(
        tenant,
        list(privileged_holders(tenant).unresolved),
        "whether they are users, and their MFA, is unknown",
    )
    if lost is not None:
        scope_gaps.append(lost)
    if not eligibility_read:
        scope_gaps.append(
            unread_gap(
                tenant, "roleEligibilitySchedules", "admins holding roles only as eligible are missing"
            )
        )
    if not admins and not eligibility_read and lost is None:
        raise NotEvaluable(
            "no user holds an active privileged role, and PIM-eligible assignments could not be read "
            f"({tenant.errors.get('roleEligibilitySchedules', 'not collected')})",
            grant=["RoleEligibilitySchedule.Read.Directory"],
            cause=collection_cause(tenant, "roleEligibilitySchedules"),
        )
    if not admins:
        summary = "No user holds a privileged role (active or eligible)."
        return [
            ctx.not_applicable(summary, gaps=scope_gaps),
            ctx.not_applicable(summary, variant=VARIANT, gaps=scope_gaps),
        ]
    view.require_source(tenant)

    weakest: list[_Admin] = []  # no second factor, or SMS/voice only
    phishable: list[_Admin] = []
    disabled: list[str] = []
    guests: list[str] = []
    standing: list[str] = []  # accountEnabled or userType not in the snapshot
    no_data: list[str] = []
    unrecognised: list[str] = []
    evaluated = 0
    for admin in admins.values():
        user = admin.user
        if user.account_enabled is False:
            disabled.append(user.id)
            continue
        if user.user_type is not None and not user.is_member:
            guests.append(user.id)
            continue
        if user.enabled_member is None:
            standing.append(user.id)
            continue
        methods = view.of(user.id)
        admin.methods = methods
        if not methods.evaluated:
            no_data.append(user.id)
            continue
        tier = methods.tier
        if tier is Tier.PHISHING_RESISTANT:
            evaluated += 1
        elif methods.uncertain:
            unrecognised.append(user.id)
        else:
            evaluated += 1
            (phishable if tier is Tier.PHISHABLE else weakest).append(admin)

    not_evaluated = len(guests) + len(no_data) + len(unrecognised) + len(standing)
    gaps = list(scope_gaps)
    unknown_standing = standing_gap(tenant, standing, "privileged user")
    if unknown_standing is not None:
        gaps.append(unknown_standing)
    gaps.extend(method_gaps(tenant, no_data, unrecognised, "privileged user"))
    if guests:
        gaps.append(
            Gap(
                f"{plural(len(guests), 'privileged guest')} may do MFA in their home tenant, which this "
                f"tenant cannot see ({name_list(tenant, guests)})"
            )
        )
    if evaluated == 0:
        if not_evaluated == 0:
            summary = f"Every privileged user ({len(disabled):,}) is disabled."
            return [
                ctx.not_applicable(summary, gaps=scope_gaps),
                ctx.not_applicable(summary, variant=VARIANT, gaps=scope_gaps),
            ]
        raise NotEvaluable(
            f"none of the {plural(not_evaluated, 'enabled privileged user')} could be evaluated: "
            + "; ".join(gap.what for gap in gaps),
            grant=[*METHOD_GRANTS, *(g for gap in gaps for g in gap.grant if g not in METHOD_GRANTS)],
            cause=Cause.COVERAGE,
        )

    def order(admin: _Admin) -> tuple[str, str]:
        return (admin.user.display_name.casefold(), admin.user.id)

    weakest.sort(key=order)
    phishable.sort(key=order)

    def affected_of(admin: _Admin) -> Affected:
        assert admin.methods is not None
        holdings = _holdings(admin.grants)
        detail = (
            f"roles: {_roles_text(tenant, holdings)} — methods: {admin.methods.describe()} — "
            f"missing: {_MISSING[admin.methods.tier]}"
        )
        if admin.break_glass:
            detail += " — declared break-glass account"
        return ctx.affected(admin.user.id, detail, kind="user")

    def admin_json(admin: _Admin) -> dict[str, Any]:
        assert admin.methods is not None
        return {
            "id": admin.user.id,
            "userPrincipalName": admin.user.upn,
            "roles": _roles_json(tenant, _holdings(admin.grants)),
            "methods": admin.methods.labels(),
            "source": admin.methods.source.value,
            "tier": admin.methods.tier.name.lower(),
            "breakGlass": admin.break_glass,
        }

    no_mfa = [a for a in weakest if a.methods is not None and a.methods.tier is Tier.NONE]
    sms_only = [a for a in weakest if a.methods is not None and a.methods.tier is Tier.WEAK]
    only_eligible = sum(1 for a in admins.values() if all(g.kind == "eligible" for g in a.grants))
    eligibility = PreCheck(
        "Were PIM-eligible role assignments read?",
        f"Yes: {plural(only_eligible, 'privileged user holds', 'privileged users hold')} roles only as "
        "eligible; "
        "they are included, because activation asks only for the MFA they already have unless an "
        "authentication context demands more."
        if eligibility_read
        else "No: eligible-only admins are missing from this result "
        f"({tenant.errors.get('roleEligibilitySchedules', 'not collected')}).",
    )

    def prechecks(group: list[_Admin]) -> list[PreCheck]:
        ids = [a.user.id for a in group]
        passkeys = method_reach(tenant, "Fido2", "Passkeys (FIDO2)", ids)
        tap = method_reach(tenant, "TemporaryAccessPass", "Temporary Access Pass", ids)
        listed_bg = [a.user.id for a in group if a.break_glass]
        who = "admins listed"
        return [
            PreCheck(
                "Are passkeys (FIDO2) enabled for these admins?",
                passkeys.answer(tenant, who) if group else passkeys.state(),
            ),
            PreCheck(
                "Can they use a Temporary Access Pass to enrol a passkey without their current method?",
                tap.answer(tenant, who) if group else tap.state(),
            ),
            PreCheck(
                "Who may issue them a pass or remove their weak methods?",
                _who_can_manage(tenant, group) if group else "Not needed: no admin is listed.",
            ),
            PreCheck(
                "Are any of them declared break-glass accounts?",
                (
                    f"Yes: {name_list(tenant, listed_bg)}. Give them FIDO2 keys kept in a safe, and keep "
                    "them "
                    "out of the admin policy rollout until the keys are registered."
                )
                if listed_bg
                else "No."
                if ctx.config.break_glass
                else "No break-glass accounts are declared in the settings.",
            ),
            eligibility,
        ]

    evidence = {
        "privilegedUsers": len(admins),
        "evaluated": evaluated,
        "noMfa": len(no_mfa),
        "smsOrVoiceOnly": len(sms_only),
        "noPhishingResistant": len(phishable),
        "disabled": len(disabled),
        "notEvaluated": not_evaluated,
        "guestsNotEvaluated": sorted(guests)[:_SAMPLE],
        "standingUnknown": sorted(standing)[:_SAMPLE],
        "unresolvedPrincipals": sorted(privileged_holders(tenant).unresolved)[:_SAMPLE],
        "notInEitherSource": sorted(no_data)[:_SAMPLE],
        "unrecognisedMethods": sorted(unrecognised)[:_SAMPLE],
        "eligibilityRead": eligibility_read,
        "sources": view.sources(),
    }

    main_evidence = dict(evidence, admins=[admin_json(a) for a in weakest])
    if weakest:
        reasons = []
        if no_mfa:
            reasons.append(
                f"{plural(len(no_mfa), 'privileged user has', 'privileged users have')} no second "
                f"factor at all: {name_list(tenant, [a.user.id for a in no_mfa])}."
            )
        if sms_only:
            reasons.append(
                f"{plural(len(sms_only), 'privileged user relies', 'privileged users rely')} on SMS "
                f"or voice only: {name_list(tenant, [a.user.id for a in sms_only])}."
            )
        bg_weak = [a.user.id for a in weakest if a.break_glass]
        if bg_weak:
            reasons.append(
                f"{plural(len(bg_weak), 'of them is a', 'of them are')} declared break-glass "
                f"account{'s' if len(bg_weak) > 1 else ''}: {name_list(tenant, bg_weak)}."
            )
        kinds = [
            text for count, text in ((len(no_mfa), "no MFA"), (len(sms_only), "only SMS/voice")) if count
        ]
        breakdown = (
            " or ".join(kinds)
            if len(kinds) == 1
            else f"no MFA ({len(no_mfa):,}) or only SMS/voice ({len(sms_only):,})"
        )
        main = ctx.failed(
            f"{len(weakest):,} of {evaluated:,} evaluated privileged users have {breakdown}.",
            affected=[affected_of(a) for a in weakest],
            reasons=reasons,
            evidence=main_evidence,
            prechecks=prechecks(weakest),
            gaps=gaps,
        )
    else:
        main = ctx.passed(
            f"None of the {evaluated:,} evaluated privileged users is without MFA or limited to SMS/voice.",
            evidence=main_evidence,
            prechecks=prechecks(weakest),
            gaps=gaps,
        )

    variant_evidence = dict(evidence, admins=[admin_json(a) for a in phishable])
    if phishable:
        variant = ctx.failed(
            f"{len(phishable):,} of {evaluated:,} evaluated privileged users have MFA but no "
            "phishing-resistant "
            f"method.",
            affected=[affected_of(a) for a in phishable],
            reasons=[
                f"{plural(len(phishable), 'privileged user signs', 'privileged users sign')} in with "
                "phishable factors only (Authenticator push or codes, OATH codes, external MFA): "
                f"{name_list(tenant, [a.user.id for a in phishable])}."
            ],
            evidence=variant_evidence,
            prechecks=prechecks(phishable),
            severity=Severity.HIGH,
            variant=VARIANT,
            gaps=gaps,
        )
    else:
        variant = ctx.passed(
            "No evaluated privileged user relies on phishable factors without a phishing-resistant method.",
            evidence=variant_evidence,
            prechecks=prechecks(phishable),
            severity=Severity.HIGH,
            variant=VARIANT,
            gaps=gaps,
        )
    return [main, variant]
