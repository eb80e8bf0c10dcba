"""Signing in, and whether a session or refresh token still works.

A sign-in names the user, the method and the *holder* (who is at the keyboard: ``attacker``, ``victim``, a
UPN ...). The holder decides which secrets are at hand: a password the holder knows, a pass whose code the
holder knows, an authenticator, passkey or phone the holder has in their hand. Methods:

* ``password`` — the password alone (single factor);
* ``authenticator`` — passwordless phone sign-in when the holder has an Authenticator registered for it;
  otherwise password plus an Authenticator push answered on the holder's device;
* ``passkey`` — a FIDO2 credential the holder holds (no password);
* ``sms`` — password plus a code texted to the holder's mobile number;
* ``tap`` — the user's Temporary Access Pass (usable per the TAP policy; a one-time pass is spent);
* ``refresh-token`` — redeem an earlier session's refresh token.

After the credentials, Conditional Access is evaluated for the application with the user's groups and active
roles (:mod:`graphlattice.entra.ca`); every attempt, good or bad, writes a sign-in record. Refresh-token
validity follows :mod:`graphlattice.entra.tokens`: revoked by a credential event per Microsoft's table (a
browser session holds a session cookie, an app a refresh token, and the table treats them differently),
issued before ``signInSessionsValidFromDateTime``, born of a Temporary Access Pass that has expired or no
longer exists (deleted, or replaced by a new one), or the user is disabled.

Records say what Entra says: the error code's own text in ``failureReason`` (this module's explanation goes
to ``additionalDetails`` and to the refusal the learner sees) and the requirement, not the methods used, in
``authenticationRequirement``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphlattice.entra import signin_errors as E
from graphlattice.entra import tokens
from graphlattice.entra.ca import PolicyResult, access_decision, evaluate, requires_mfa
from graphlattice.entra.method_policy import MethodConfiguration, PasskeyRules, legacy_policies_apply
from graphlattice.entra.methods import MethodKind, classify_method
from graphlattice.entra.signin import SignInContext
from graphlattice.entra.strengths import Strength
from graphlattice.entra.tap import (
    DISABLED_BY_POLICY,
    ENABLED_BY_POLICY,
    EXPIRED,
    NOT_YET_VALID,
    ONE_TIME_USED,
    TapPolicy,
)
from graphlattice.errors import ActionDenied, EntraRuleError, RangeError
from graphlattice.range import records as rec
from graphlattice.range.clock import parse_instant
from graphlattice.range.state import Json, RangeState, Session
from graphlattice.tenant.model import Tenant

__all__ = [
    "METHODS",
    "REGISTER_SECURITY_INFO",
    "SignInRequest",
    "ca_context",
    "evaluate_ca",
    "has_mfa_method",
    "method_enabled",
    "session_problem",
    "sign_in",
    "tap_of",
    "tap_policy",
    "token_kind",
    "user_active_roles",
]

METHODS = ("password", "tap", "authenticator", "passkey", "refresh-token", "sms")
REGISTER_SECURITY_INFO = "urn:user:registersecurityinfo"

_APP_SUITES: dict[str, frozenset[str]] = {
    "19db86c3-b2b9-44cc-b339-36da233a3be2": frozenset(),  # My Signins
    "4765445b-32c6-49b0-83e6-1d93765276ca": frozenset({"Office365"}),  # OfficeHome
    "1fec8e78-bce4-4aaf-ab1b-5451cc387264": frozenset({"Office365"}),  # Teams
    "c44b4083-3bb0-49c1-b47d-974e53cbdf3c": frozenset({"MicrosoftAdminPortals"}),  # Azure portal
}
_STRONG = "MFA requirement satisfied by strong authentication"
# (error code, the Range's explanation); the record's failureReason is Entra's text for the code.
_BAD_PASSWORD = (E.INVALID_PASSWORD, "The password entered is not the user's password.")
_DISABLED = (E.ACCOUNT_DISABLED, "The user account is disabled.")
_MFA_FAILED = (E.MFA_FAILED, "The second factor was not completed.")
_MUST_ENROLL = (
    E.MFA_ENROLLMENT_REQUIRED,
    "Multifactor authentication is required and the user has no method for it yet: the session may only "
    "register security info.",
)
_TOKEN_REVOKED = (E.GRANT_REVOKED, "The refresh token was revoked.")
_TOKEN_EXPIRED = (E.GRANT_EXPIRED, "The refresh token has expired.")
_TAP_REASONS = {
    EXPIRED: "The Temporary Access Pass has expired.",
    NOT_YET_VALID: "The Temporary Access Pass is not valid yet.",
    DISABLED_BY_POLICY: "The Temporary Access Pass policy does not let this user sign in with a pass.",
    ONE_TIME_USED: "The one-time Temporary Access Pass has already been used.",
}
# A passkey sign-in step as Entra names it (the method's name in Security info and the admin center).
_PASSKEY = "Passkey (device-bound)"
_PASSKEY_LABELS = {"devicebound": _PASSKEY, "synced": "Passkey (synced)"}
_CONFIG_FOR = {
    MethodKind.MICROSOFT_AUTHENTICATOR_PUSH: "MicrosoftAuthenticator",
    MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS: "MicrosoftAuthenticator",
    MethodKind.FIDO2: "Fido2",
    MethodKind.PHONE_MOBILE: "Sms",
    MethodKind.SOFTWARE_OATH: "SoftwareOath",
}
_LEGACY_KINDS = frozenset(
    {MethodKind.MICROSOFT_AUTHENTICATOR_PUSH, MethodKind.PHONE_MOBILE, MethodKind.SOFTWARE_OATH}
)


@dataclass(slots=True, frozen=True)
class SignInRequest:
    user: str
    method: str
    holder: str | None = None
    ip: str = "203.0.113.10"
    country: str | None = None
    city: str | None = None
    app: str = "my-signins"
    password: str | None = None  # a password typed in (otherwise: the holder must know it)
    code: str | None = None  # a pass code typed in (otherwise: the holder must know it)
    token: str | None = None  # for refresh-token


# -- shared lookups -----------------------------------------------------------------------------------------


def user_active_roles(tenant: Tenant, user_id: str) -> frozenset[str]:
    """Role template ids held active at tenant scope (what counts for an actor and for CA)."""
    return frozenset(g.role_id for g in tenant.grants_of(user_id) if g.kind != "eligible" and g.tenant_wide)


def tap_policy(tenant: Tenant) -> TapPolicy:
    return TapPolicy.from_graph(tenant.method_configuration("TemporaryAccessPass"))


def tap_of(state: RangeState, user_id: str) -> Json | None:
    for method in state.methods_of(user_id):
        if classify_method(method) is MethodKind.TEMPORARY_ACCESS_PASS:
            return method
    return None


def method_enabled(state: RangeState, tenant: Tenant, user_id: str, kind: MethodKind) -> bool:
    """Whether the authentication methods policy lets this user use (and register) a method of ``kind``."""
    config_id = _CONFIG_FOR.get(kind)
    if config_id is None:
        return True
    policy = state.collections.get("authenticationMethodsPolicy")
    config = MethodConfiguration.from_graph(config_id, tenant.method_configuration(config_id))
    if config.usable_by(user_id, tenant.groups_of(user_id)):
        return True
    return kind in _LEGACY_KINDS and legacy_policies_apply(policy)


def ca_context(
    state: RangeState,
    tenant: Tenant,
    user: Json,
    *,
    used_modes: Collection[str],
    ip: str,
    country: str | None,
    app_id: str | None = None,
    user_action: str | None = None,
    client_app: str = "Browser",
) -> SignInContext:
    uid = str(user["id"]).casefold()
    return SignInContext(
        user_id=uid,
        group_ids=tenant.groups_of(uid),
        role_ids=user_active_roles(tenant, uid),
        is_guest=str(user.get("userType") or "").casefold() == "guest",
        application=app_id,
        application_suites=_APP_SUITES.get(app_id.casefold()) if app_id else None,
        user_action=user_action,
        ip=ip,
        country=country,
        client_app_type="browser" if client_app == "Browser" else "mobileAppsAndDesktopClients",
        platform="windows",
        device_compliant=False,
        device_hybrid_joined=False,
        used_modes=frozenset(used_modes),
    )


def evaluate_ca(tenant: Tenant, ctx: SignInContext) -> tuple[list[PolicyResult], str | None, int]:
    """Evaluate every policy as Entra does (report-only user actions are not evaluated); returns (results,
    reason it blocks or None, error code)."""
    strengths: dict[str, Strength] = {}
    for sid, obj in tenant.strength_policies.items():
        try:
            strengths[sid] = Strength.from_graph(obj)
        except EntraRuleError as exc:
            raise RangeError(f"authentication strength {sid} cannot be read: {exc}") from None
    results = evaluate(tenant.ca_policies, ctx, named_locations=tenant.named_locations, strengths=strengths)
    decision = access_decision(results)
    if not decision.blocked:
        return results, None, 0
    blocks = any(
        r.result == "failure" and r.grant is not None and "block" in r.grant.built_in_controls
        for r in results
    )
    code = E.BLOCKED_BY_CONDITIONAL_ACCESS if blocks else E.MFA_REQUIRED
    return results, "Conditional Access: " + "; ".join(decision.unmet), code


def token_kind(session: Session) -> tokens.TokenKind:
    """What the session holds: a browser session holds a session cookie, an app a refresh token."""
    client = rec.app_by_name(session.app_id)[4] if session.app_id else "Browser"
    return tokens.TokenKind.COOKIE if client == "Browser" else tokens.TokenKind.TOKEN


def session_problem(state: RangeState, session: Session) -> tuple[int, str] | None:
    """Why a session's refresh token no longer works (error code, reason), or None when it does."""
    user = state.find_user(session.user_id)
    if user is None:
        return _TOKEN_REVOKED[0], "The user no longer exists."
    if user.get("accountEnabled") is False:
        return _DISABLED
    if session.revoked_at is not None:
        return _TOKEN_REVOKED[0], f"The refresh token was revoked ({session.revoked_reason})."
    valid_from_raw = user.get("signInSessionsValidFromDateTime")
    valid_from = parse_instant(valid_from_raw) if isinstance(valid_from_raw, str) and valid_from_raw else None
    if not tokens.valid_after_revocation(session.issued_at, valid_from):
        return _TOKEN_REVOKED[0], "The refresh token was issued before the user's sessions were revoked."
    if session.via_tap_id is not None and session.expires_at is not None:
        wanted = session.via_tap_id.casefold()
        present = any(str(m.get("id", "")).casefold() == wanted for m in state.methods_of(session.user_id))
        if not tokens.tap_tokens_alive(pass_present=present, now=state.now, pass_end=session.expires_at):
            if present or state.now >= session.expires_at:
                return (
                    _TOKEN_EXPIRED[0],
                    "The refresh token came from a Temporary Access Pass that has expired.",
                )
            return (
                _TOKEN_REVOKED[0],
                "The refresh token came from a Temporary Access Pass that has been deleted or replaced.",
            )
    elif session.expires_at is not None and state.now >= session.expires_at:
        return _TOKEN_EXPIRED
    return None


# -- sign-in ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Proof:
    modes: tuple[str, ...]
    steps: list[Json]
    mfa: bool
    via_tap: Json | None = None
    session: Session | None = None  # refresh-token redemption


class _Failed(Exception):
    def __init__(self, code: int, reason: str, steps: list[Json]) -> None:
        self.code = code
        self.reason = reason
        self.steps = steps
        super().__init__(reason)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _knows_password(state: RangeState, uid: str, holder: str, typed: str | None) -> bool:
    secret = state.secrets.passwords.get(uid)
    if secret is None:
        return False
    return secret.matches(typed) if typed is not None else secret.known_to(holder)


def _held(state: RangeState, method: Json, holder: str) -> bool:
    who = state.secrets.devices.get(str(method.get("id", "")).casefold())
    return who is not None and who.casefold() == holder.casefold()


def _step(
    state: RangeState, method: str, detail: str | None, requirement: str, result: str, ok: bool = True
) -> Json:
    return rec.step(rec.ts(state.now), method, detail, requirement, result, ok)


def _password_step(state: RangeState, ok: bool = True) -> Json:
    if ok:
        return _step(state, "Password", "Password in the cloud", "Primary authentication", "Correct password")
    return _step(state, "Password", None, "Primary authentication", "Invalid username or password", ok=False)


def _prove(state: RangeState, tenant: Tenant, user: Json, req: SignInRequest, holder: str) -> _Proof:
    uid = str(user["id"]).casefold()
    methods = state.methods_of(uid)
    method = req.method
    if method == "password":
        if not _knows_password(state, uid, holder, req.password):
            raise _Failed(*_BAD_PASSWORD, [_password_step(state, ok=False)])
        return _Proof(("password",), [_password_step(state)], mfa=False)
    if method in ("authenticator", "sms"):
        if method == "authenticator":
            apps = [m for m in methods if classify_method(m).name.startswith("MICROSOFT_AUTHENTICATOR")]
            mine = [m for m in apps if _held(state, m, holder)]
            passwordless = [
                m
                for m in mine
                if classify_method(m) is MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS
                and method_enabled(state, tenant, uid, MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS)
            ]
            if passwordless:
                device = passwordless[0].get("displayName")
                step = _step(state, "Authenticator App", device, "Primary authentication", _STRONG)
                return _Proof(("deviceBasedPush",), [step], mfa=True)
            usable = [m for m in mine if method_enabled(state, tenant, uid, classify_method(m))]
            label, mode = "Authenticator App", "microsoftAuthenticatorPush"
        else:
            phones = [m for m in methods if classify_method(m) is MethodKind.PHONE_MOBILE]
            usable = [
                m
                for m in phones
                if _held(state, m, holder) and method_enabled(state, tenant, uid, MethodKind.PHONE_MOBILE)
            ]
            label, mode = "SMS", "sms"
        if not _knows_password(state, uid, holder, req.password):
            raise _Failed(*_BAD_PASSWORD, [_password_step(state, ok=False)])
        if not usable:
            detail = "MFA denied; user did not respond to mobile app notification"
            raise _Failed(
                *_MFA_FAILED, [_password_step(state), _step(state, label, None, "MFA", detail, ok=False)]
            )
        device = usable[0].get("displayName") if method == "authenticator" else None
        steps = [_password_step(state), _step(state, label, device, "MFA", "MFA successfully completed")]
        return _Proof(("password", mode), steps, mfa=True)
    if method == "passkey":
        rules = PasskeyRules.from_graph(tenant.method_configuration("Fido2"))
        held = [
            m
            for m in methods
            if classify_method(m) is MethodKind.FIDO2
            and _held(state, m, holder)
            and method_enabled(state, tenant, uid, MethodKind.FIDO2)
        ]
        keys = [m for m in held if rules.model_allowed(_text(m.get("aaGuid")))]
        if not keys:
            step = _step(state, _PASSKEY, None, "Primary authentication", "Authentication failed", ok=False)
            why = (
                "The authentication methods policy no longer allows this passkey's model (AAGUID)."
                if held
                else "No passkey registered for this user is held by the one signing in."
            )
            raise _Failed(_BAD_PASSWORD[0], why, [step])
        label = _PASSKEY_LABELS.get(str(keys[0].get("passkeyType") or "").casefold(), _PASSKEY)
        name = keys[0].get("displayName") or "Passkey"
        return _Proof(("fido2",), [_step(state, label, name, "Primary authentication", _STRONG)], True)
    if method == "tap":
        return _prove_tap(state, tenant, uid, req, holder)
    raise RangeError(f"unknown sign-in method {method!r}; use one of: {', '.join(METHODS)}")


def _prove_tap(state: RangeState, tenant: Tenant, uid: str, req: SignInRequest, holder: str) -> _Proof:
    fail_step = _step(
        state, "Temporary Access Pass", None, "Primary authentication", "Authentication failed", ok=False
    )
    tap = tap_of(state, uid)
    if tap is None:
        raise _Failed(_BAD_PASSWORD[0], "The user has no Temporary Access Pass.", [fail_step])
    secret = state.secrets.passes.get(str(tap["id"]).casefold())
    known = secret is not None and (
        secret.matches(req.code) if req.code is not None else secret.known_to(holder)
    )
    if not known:
        raise _Failed(_BAD_PASSWORD[0], "The Temporary Access Pass entered is not correct.", [fail_step])
    status = tap_policy(tenant).pass_status(tap, uid, tenant.groups_of(uid), state.now)
    if status != ENABLED_BY_POLICY:
        raise _Failed(_BAD_PASSWORD[0], _TAP_REASONS.get(status, status), [fail_step])
    once = bool(tap.get("isUsableOnce"))
    mode = "temporaryAccessPassOneTime" if once else "temporaryAccessPassMultiUse"
    step = _step(state, "Temporary Access Pass", None, "Primary authentication", _STRONG)
    return _Proof((mode,), [step], mfa=True, via_tap=tap)


def _prove_refresh(state: RangeState, uid: str, req: SignInRequest) -> _Proof:
    session = state.sessions.get(req.token or "")
    if session is None or session.user_id != uid:
        raise _Failed(_TOKEN_REVOKED[0], "The refresh token is not valid for this user.", [])
    problem = session_problem(state, session)
    if problem is not None:
        raise _Failed(problem[0], problem[1], [])
    if session.registration_only:
        raise _Failed(_MUST_ENROLL[0], "The session was only allowed to register security info.", [])
    steps = [
        _step(
            state,
            "Previously satisfied",
            None,
            "Primary authentication",
            "First factor requirement satisfied by claim in the token",
        ),
    ]
    if session.mfa_at is not None:
        steps.append(
            _step(
                state, "Previously satisfied", None, "MFA", "MFA requirement satisfied by claim in the token"
            )
        )
    return _Proof(session.methods_used, steps, mfa=session.mfa_at is not None, session=session)


def sign_in(state: RangeState, tenant: Tenant, req: SignInRequest) -> tuple[Session, Json]:
    """Authenticate, evaluate Conditional Access, write the sign-in record; returns (session, record).

    A failure writes its record and raises :class:`ActionDenied` carrying it.
    """
    if req.method not in METHODS:
        raise RangeError(f"unknown sign-in method {req.method!r}; use one of: {', '.join(METHODS)}")
    user = state.user(req.user)
    uid = str(user["id"]).casefold()
    holder = req.holder or state.owner_of(uid)
    app = rec.app_by_name(req.app)
    interactive = req.method != "refresh-token"
    base: dict[str, Any] = {
        "user": user,
        "app": app,
        "ip": req.ip,
        "country": req.country,
        "city": req.city,
        "interactive": interactive,
    }

    def fail(code: int, reason: str, steps: list[Json], ca: list[PolicyResult] | None = None) -> ActionDenied:
        results = ca or []
        record = rec.sign_in(
            state,
            steps=steps,
            ca=results,
            error=code,
            detail=reason,
            mfa_required=requires_mfa(results),
            **base,
        )
        return ActionDenied(f"Sign-in failed ({code}): {reason}", records=[record])

    if user.get("accountEnabled") is False:
        raise fail(*_DISABLED, [])
    try:
        proof = (
            _prove_refresh(state, uid, req)
            if req.method == "refresh-token"
            else _prove(state, tenant, user, req, holder)
        )
    except _Failed as failed:
        raise fail(failed.code, failed.reason, failed.steps) from None
    ctx = ca_context(
        state,
        tenant,
        user,
        used_modes=proof.modes,
        ip=req.ip,
        country=req.country,
        app_id=app[1],
        client_app=app[4],
    )
    results, blocked, code = evaluate_ca(tenant, ctx)
    if blocked is not None:
        if code == E.MFA_REQUIRED and proof.session is None and not has_mfa_method(state, tenant, uid):
            # The registration interrupt: MFA is required and the user has no method for it, so Entra asks
            # them to set one up. The session can only register security info.
            session = _new_session(state, uid, proof, holder, req, registration_only=True)
            record = rec.sign_in(
                state,
                steps=proof.steps,
                ca=results,
                error=_MUST_ENROLL[0],
                detail=_MUST_ENROLL[1],
                mfa_required=True,
                session_id=session.id,
                **base,
            )
            return session, record
        raise fail(code, blocked, proof.steps, results)
    session = proof.session if proof.session is not None else _new_session(state, uid, proof, holder, req)
    record = rec.sign_in(
        state,
        steps=proof.steps,
        ca=results,
        mfa_required=requires_mfa(results),
        session_id=session.id,
        **base,
    )
    if proof.via_tap is not None and proof.via_tap.get("isUsableOnce"):
        proof.via_tap["isUsable"] = False
        proof.via_tap["methodUsabilityReason"] = ONE_TIME_USED
    user["signInActivity"] = {
        **(user.get("signInActivity") or {}),
        ("lastSignInDateTime" if interactive else "lastNonInteractiveSignInDateTime"): record[
            "createdDateTime"
        ],
        "lastSuccessfulSignInDateTime": record["createdDateTime"],
        "lastSuccessfulSignInRequestId": record["id"],
    }
    return session, record


def has_mfa_method(state: RangeState, tenant: Tenant, uid: str) -> bool:
    """Whether the user has a method that can be used for MFA now (a pass only while it is usable)."""
    for method in state.methods_of(uid):
        kind = classify_method(method)
        if not kind.is_mfa_capable:
            continue
        if kind is not MethodKind.TEMPORARY_ACCESS_PASS:
            return True
        if tap_policy(tenant).pass_status(method, uid, tenant.groups_of(uid), state.now) == ENABLED_BY_POLICY:
            return True
    return False


def _new_session(
    state: RangeState,
    uid: str,
    proof: _Proof,
    holder: str,
    req: SignInRequest,
    *,
    registration_only: bool = False,
) -> Session:
    now = state.now
    expires: datetime | None = None
    tap_id: str | None = None
    if proof.via_tap is not None:
        tap = proof.via_tap
        tap_id = str(tap["id"])
        start = parse_instant(
            str(tap.get("startDateTime") or tap.get("createdDateTime")), what="startDateTime"
        )
        expires = tokens.token_expiry_with_tap(now, start, int(tap["lifetimeInMinutes"]))
    session = Session(
        id=state.ids.token(),
        user_id=uid,
        issued_at=now,
        methods_used=proof.modes,
        mfa_at=now if proof.mfa else None,
        password_based=tokens.is_password_based(proof.modes),
        via_tap_id=tap_id,
        expires_at=expires,
        holder=holder,
        ip=req.ip,
        country=req.country,
        app_id=rec.app_by_name(req.app)[1],
        registration_only=registration_only,
    )
    state.sessions[session.id] = session
    return session
