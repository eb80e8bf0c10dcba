"""users-risky-mfa: enabled members whose only second factors are SMS or voice calls."""

from __future__ import annotations

from collections.abc import Mapping

from graphlattice.checks.context import CheckContext, NotEvaluable
from graphlattice.checks.coverage import method_gaps, standing_gap
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
from graphlattice.checks.result import Affected, Cause, Finding, PreCheck
from graphlattice.entra.method_policy import MethodConfiguration, legacy_policies_apply
from graphlattice.errors import InputError
from graphlattice.tenant.model import Tenant, User

_SAMPLE = 20


def _campaign(tenant: Tenant) -> str:
    """The Authenticator registration campaign ("nudge") state, as Graph reports it."""
    if not tenant.available.get("authenticationMethodsPolicy", False) or tenant.auth_methods_policy is None:
        return "Unknown: the authentication methods policy could not be read."
    enforcement = tenant.auth_methods_policy.get("registrationEnforcement")
    campaign = (
        enforcement.get("authenticationMethodsRegistrationCampaign")
        if isinstance(enforcement, Mapping)
        else None
    )
    if not isinstance(campaign, Mapping):
        return "Not reported by the authentication methods policy."
    state = str(campaign.get("state") or "default")
    if state.casefold() == "enabled":
        return (
            "Yes: the campaign is enabled; users who complete MFA with SMS or voice are asked to set up "
            "Authenticator."
        )
    if state.casefold() == "default":
        return "Left to Microsoft (state 'default'); enable it explicitly to be sure these users are nudged."
    return f"No: the campaign state is '{state}'."


def _state(config: MethodConfiguration) -> str:
    if config.enabled:
        return "enabled"
    return "disabled" if config.present else "not listed (treated as disabled)"


def _phone_factors(tenant: Tenant, affected: bool) -> str:
    """Whether SMS and voice are still offered as second factors by the authentication methods policy."""
    if not tenant.available.get("authenticationMethodsPolicy", False) or tenant.auth_methods_policy is None:
        return (
            "Unknown: the authentication methods policy could not be read "
            "(grant Policy.Read.AuthenticationMethod)."
        )
    try:
        sms = MethodConfiguration.from_graph("Sms", tenant.method_configuration("Sms"))
        voice = MethodConfiguration.from_graph("Voice", tenant.method_configuration("Voice"))
    except InputError as exc:
        return f"Unknown: a phone method configuration could not be read ({exc})."
    parts = [
        f"SMS: {_state(sms)}",
        f"voice: {_state(voice)}",
    ]
    text = "; ".join(parts) + "."
    if legacy_policies_apply(tenant.auth_methods_policy):
        state = tenant.auth_methods_policy.get("policyMigrationState") or "not reported"
        text += (
            f" The policy is not fully migrated (policyMigrationState: {state}), so the legacy MFA and SSPR "
            "settings may still offer SMS and voice."
        )
    elif affected and not sms.enabled and not voice.enabled:
        text += (
            " With both disabled and the policy migrated, these users cannot complete MFA with their phone "
            "at all: they will be asked to register another method at their next MFA prompt."
        )
    return text


@register("users-risky-mfa")
def evaluate(ctx: CheckContext) -> Finding:
    tenant = ctx.tenant
    view = methods_view(tenant)
    view.require_source(tenant)

    members = 0
    failing: list[tuple[User, UserMethods]] = []
    no_data: list[str] = []
    unrecognised: list[str] = []
    without_mfa = 0
    for user in tenant.iter_members():
        members += 1
        methods = view.of(user.id)
        if not methods.evaluated:
            no_data.append(user.id)
            continue
        tier = methods.tier
        if tier >= Tier.PHISHABLE:
            continue
        if methods.uncertain:
            unrecognised.append(user.id)
        elif tier is Tier.WEAK:
            failing.append((user, methods))
        else:
            without_mfa += 1

    gaps = method_gaps(tenant, no_data, unrecognised, "enabled member")
    unknown_standing = standing_gap(tenant, tenant.standing_unknown)
    if unknown_standing is not None:
        gaps.insert(0, unknown_standing)
    if members == 0:
        return ctx.not_applicable("The tenant has no enabled member users.", gaps=gaps)
    not_evaluated = len(no_data) + len(unrecognised)
    evaluated = members - not_evaluated
    if evaluated == 0:
        raise NotEvaluable(
            f"none of the {members:,} enabled members could be evaluated: "
            + "; ".join(gap.what for gap in gaps),
            grant=METHOD_GRANTS,
            cause=Cause.COVERAGE,
        )

    failing.sort(key=lambda pair: (pair[0].display_name.casefold(), pair[0].id))
    failing_ids = [user.id for user, _ in failing]
    sms_ready = [user.id for user, methods in failing if methods.sms_sign_in_ready]

    affected: list[Affected] = []
    for user, methods in failing:
        detail = methods.describe()
        if methods.sms_sign_in_ready:
            detail += "; SMS sign-in is ready: the phone number and a texted code are enough to sign in"
        affected.append(ctx.affected(user.id, detail, kind="user"))

    authenticator = method_reach(tenant, "MicrosoftAuthenticator", "Microsoft Authenticator", failing_ids)
    passkeys = method_reach(tenant, "Fido2", "Passkeys (FIDO2)", failing_ids)
    sms_sign_in = method_reach(tenant, "Sms", "SMS sign-in", failing_ids, sms_sign_in=True)
    stranded: list[str] = []
    if authenticator.known and passkeys.known:
        no_passkey = set(passkeys.not_usable)
        stranded = [uid for uid in authenticator.not_usable if uid in no_passkey]

    who = "SMS/voice-only users"
    if failing:
        stronger = f"{authenticator.answer(tenant, who)} {passkeys.answer(tenant, who)}"
        if stranded:
            stronger += (
                f" {plural(len(stranded), 'user')} can use neither and must be added to a method's "
                f"targets before they can move: {name_list(tenant, stranded)}."
            )
        sign_in_answer = sms_sign_in.answer(tenant, who)
    else:
        stronger = f"{authenticator.state()} {passkeys.state()}"
        sign_in_answer = sms_sign_in.state()
    if view.methods_available:
        ready = plural(len(sms_ready), "of them has", "of them have")
        sign_in_answer += f" {ready} a phone reporting smsSignInState 'ready'."
    prechecks = [
        PreCheck(
            "Are stronger methods (Microsoft Authenticator, passkeys/FIDO2) enabled for these users?",
            stronger,
        ),
        PreCheck("Is SMS sign-in (phone number as the first factor) enabled?", sign_in_answer),
        PreCheck("Are SMS and voice still allowed as second factors?", _phone_factors(tenant, bool(failing))),
        PreCheck(
            "Is the Microsoft Authenticator registration campaign (sign-in nudge) on?", _campaign(tenant)
        ),
    ]

    evidence = {
        "members": members,
        "evaluated": evaluated,
        "smsOrVoiceOnly": len(failing),
        "smsSignInReady": len(sms_ready),
        "withoutMfa": without_mfa,
        "notEvaluated": not_evaluated,
        "notInEitherSource": len(no_data),
        "unrecognisedMethods": len(unrecognised),
        "notEvaluatedSample": sorted(no_data + unrecognised)[:_SAMPLE],
        "sources": view.sources(),
        "microsoftAuthenticator": authenticator.to_json(),
        "fido2": passkeys.to_json(),
        "smsSignIn": sms_sign_in.to_json(),
    }
    if failing:
        reasons = [
            f"{plural(len(failing), 'enabled member')} can complete MFA only with a texted code or a phone "
            "call: "
            f"{name_list(tenant, failing_ids)}."
        ]
        if sms_ready:
            reasons.append(
                f"{plural(len(sms_ready), 'of them', 'of them')} can also sign in with SMS alone "
                f"(no password): {name_list(tenant, sms_ready)}."
            )
        if stranded:
            reasons.append(
                f"{plural(len(stranded), 'of them is', 'of them are')} not targeted by Microsoft "
                "Authenticator or passkeys in the authentication methods policy."
            )
        return ctx.failed(
            f"{len(failing):,} of {evaluated:,} evaluated enabled members rely on SMS or voice as their only "
            f"second factor.",
            affected=affected,
            reasons=reasons,
            evidence=evidence,
            prechecks=prechecks,
            gaps=gaps,
        )
    return ctx.passed(
        f"No evaluated enabled member relies on SMS or voice alone ({evaluated:,} evaluated).",
        evidence=evidence,
        prechecks=prechecks,
        gaps=gaps,
    )
