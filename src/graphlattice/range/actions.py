"""Every change to a range is one of these actions, with the rules the real service applies.

:data:`ACTIONS` maps each public action name (kebab case, as used by ``range act NAME key=value`` and by
scenario timelines) to an :class:`ActionSpec`: the function, its parameters (type, required, help) and
whether it needs an acting principal. :func:`run_action` parses the parameters, runs the action against a
:class:`~graphlattice.range.state.RangeState` and returns an :class:`ActionResult` with the records it wrote.

Rules come from :mod:`graphlattice.entra` and are never re-implemented here: who may act on whom and who may
change tenant policy (``admin_actions.can_perform``, backed by ``authority.decide``), the TAP policy
(``tap.TapPolicy``), Conditional Access (``ca.evaluate``, including the ``urn:user:registersecurityinfo``
user action), Entra's built-in registration rules (``registration.may_register``) and the refresh-token
revocation table (``tokens``). A refused action raises :class:`~graphlattice.errors.ActionDenied` with the
one-line reason; :class:`~graphlattice.range.engine.Range` then restores the state (keeping only failure
records such as a failed sign-in).

Method objects are shaped as Graph returns them: a Microsoft Authenticator registration has a
``createdDateTime`` only when it is registered for passwordless phone sign-in, phone methods use Graph's
fixed per-slot ids, a user has at most one Temporary Access Pass (a new one replaces the old), and the pass
code appears only in the create response.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from graphlattice.entra import roles as R
from graphlattice.entra import tokens
from graphlattice.entra.admin_actions import AdminAction, can_perform
from graphlattice.entra.authority import ELIGIBLE_ROLES_PROTECT_TARGET, TargetProfile
from graphlattice.entra.ca import requires_mfa
from graphlattice.entra.groups import membership_control
from graphlattice.entra.method_policy import PasskeyRules
from graphlattice.entra.methods import MethodKind, classify_method
from graphlattice.entra.pim_policy import approval_stage, role_policy_rules
from graphlattice.entra.registration import RegistrationContext, may_register
from graphlattice.entra.roles import ROLE_CATALOG, get_role, role_display_name
from graphlattice.entra.strengths import (
    MFA_STRENGTH_ID,
    PASSWORDLESS_MFA_STRENGTH_ID,
    PHISHING_RESISTANT_MFA_STRENGTH_ID,
)
from graphlattice.entra.tap import ONE_TIME_USED, TapPolicy, TapPolicyViolation, issue_refusal
from graphlattice.errors import ActionDenied, InvalidValue, RangeError
from graphlattice.range import records as rec
from graphlattice.range import schema as S
from graphlattice.range import sessions as ses
from graphlattice.range import writes as W
from graphlattice.range.clock import iso
from graphlattice.range.schema import Spec
from graphlattice.range.state import Json, RangeState, Secret, Session
from graphlattice.tenant.model import Tenant, parse_time

__all__ = [
    "ACTIONS",
    "ActionResult",
    "ActionSpec",
    "Param",
    "parse_params",
    "read_param",
    "run_action",
    "settle",
]

NS = "#microsoft.graph."
PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"
PHONE_IDS = {
    "mobile": "3179e48a-750b-4051-897c-87b9720928f7",
    "alternateMobile": "b6332ec1-7057-4abe-9331-3d72feddfe41",
    "office": "e37fc753-ff3b-4958-9484-eaa9425c82bc",
}
_AUTHENTICATOR_VERSION = "6.8.17"
_PASSKEY_AAGUID = "90a3ccdf-635c-4729-a248-9b709135078f"  # passkey in Microsoft Authenticator (iOS)
_DEFAULT_ACTIVATION = "PT8H"
_DEFAULT_ELIGIBILITY = timedelta(days=365)  # Expiration_Admin_Eligibility's default (entra.pim_policy)

ParamType = Literal["str", "int", "float", "bool", "time", "list", "json", "duration"]


# -- the registry's types -----------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Param:
    """One parameter: how it is read from text (``type``) and what it may be (``spec``: Graph's type and
    limits, from :mod:`graphlattice.range.writes`; without one, the type's default limits apply)."""

    name: str
    type: ParamType = "str"
    required: bool = False
    help: str = ""
    choices: tuple[str, ...] = ()
    spec: Spec | None = None


@dataclass(slots=True, frozen=True)
class ActionSpec:
    """One public action. ``actor``: ``required`` (an admin or user principal acts), ``optional`` or
    ``none`` (the action names its own subject, e.g. ``sign-in`` names the user)."""

    name: str
    run: Callable[[Ctx], ActionResult]
    params: tuple[Param, ...]
    help: str
    actor: Literal["required", "optional", "none"] = "required"

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass(slots=True)
class ActionResult:
    """What an action reports: a one-line message, data (ids, the pass code, a token), the records written."""

    message: str
    data: dict[str, Any] = field(default_factory=dict)
    records: list[Json] = field(default_factory=list)


# -- parameters ---------------------------------------------------------------------------------------------

_JSON_LIMIT = 1_000_000  # characters of a JSON parameter (a Conditional Access policy is a few kilobytes)
_DEFAULT_SPECS: dict[ParamType, Spec] = {
    "str": W.TEXT,
    "int": S.integer(),
    "float": S.number(-1e12, 1e12),
    "bool": S.boolean(),
    "time": S.instant(),
    "list": S.list_of(W.KEY),
    "json": S.any_object("object"),
    "duration": W.ELIGIBILITY,
}


def parse_duration(text: str) -> timedelta:
    """ISO 8601 durations as PIM writes them (``PT8H``, ``P1D``, ``PT30M``); a bare number is hours."""
    raw = text.strip()
    if re.fullmatch(r"\d{1,6}(\.\d{1,6})?", raw):
        return timedelta(hours=float(raw))
    parsed = S.parse_iso_duration(raw)
    if parsed is None:
        raise RangeError(f"not an ISO 8601 duration: {S.shown(text)} (e.g. PT8H)")
    return parsed


def format_duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    if hours or mins or not days:
        out += "T" + (f"{hours}H" if hours else "") + (f"{mins}M" if mins else "")
    return out if out != "PT" else "PT0M"


def _spec_of(param: Param) -> Spec:
    if param.spec is not None:
        return param.spec
    if param.choices:
        return S.text(choices=param.choices)
    return _DEFAULT_SPECS[param.type]


def _read(param: Param, raw: Any, now: datetime) -> Any:
    """The parameter's value before its spec is checked: text read as its type where the type asks."""
    if param.type == "time" and isinstance(raw, str) and raw.strip().startswith("+"):
        minutes = S.check(W.CLOCK_MINUTES, raw.strip()[1:], param.name, text_input=True)
        return now + timedelta(minutes=minutes)
    if param.type == "list" and isinstance(raw, str):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if param.type == "list" and isinstance(raw, tuple):
        return list(raw)
    if param.type == "json" and isinstance(raw, str):
        if len(raw) > _JSON_LIMIT:
            raise InvalidValue(param.name, f"is longer than {_JSON_LIMIT} characters")
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, RecursionError) as exc:
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise InvalidValue(param.name, f"is not valid JSON ({why})") from None
    if param.type == "duration" and isinstance(raw, str) and re.fullmatch(r"\s*[\d.+-]+\s*", raw):
        hours = S.check(S.number(0, 24 * 3650), raw, param.name, text_input=True)
        return timedelta(hours=hours)
    return raw


def read_param(spec: ActionSpec, param: Param, raw: Any, now: datetime) -> Any:
    """One parameter's value, read from text or YAML and checked against its spec (``now`` resolves
    ``+MINUTES``); :class:`~graphlattice.errors.InvalidValue` naming it when it does not fit."""
    try:
        value = _read(param, raw, now)
        if param.type == "json" and isinstance(value, Mapping):
            return S.check(_spec_of(param), dict(value), param.name)  # JSON is typed: no text reading
        if param.type == "json":
            raise InvalidValue(param.name, "must be a JSON object")
        return S.check(_spec_of(param), value, param.name, text_input=True)
    except InvalidValue as exc:
        raise InvalidValue(exc.field, exc.reason, action=spec.name, message=exc.args[0]) from None


def parse_params(spec: ActionSpec, params: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Check names, required parameters, types and limits; values may be strings (command line) or YAML
    values. A bad one raises :class:`~graphlattice.errors.InvalidValue` naming it."""
    known = {p.name for p in spec.params}
    unknown = sorted(str(k) for k in set(params) - known)
    if unknown:
        raise InvalidValue(
            unknown[0],
            "is not a parameter",
            action=spec.name,
            message=f"unknown parameter(s) {S.shown(', '.join(unknown), 80)}; "
            f"it takes {', '.join(sorted(known)) or 'none'}",
        )
    out: dict[str, Any] = {}
    for param in spec.params:
        raw = params.get(param.name)
        if raw is None or (isinstance(raw, str) and raw == "" and param.type != "str"):
            if param.required:
                raise InvalidValue(
                    param.name,
                    "is required",
                    action=spec.name,
                    message=f"missing required parameter {param.name}",
                )
            continue
        out[param.name] = read_param(spec, param, raw, now)
    return out


# -- the context of one action ------------------------------------------------------------------------------


class Ctx:
    """One action being carried out: the state, the acting principal and the parsed parameters."""

    def __init__(
        self, state: RangeState, spec: ActionSpec, actor: str | None, params: dict[str, Any]
    ) -> None:
        self.state = state
        self.spec = spec
        self.actor_key = actor
        self.params = params
        self._tenant: Tenant | None = None

    @property
    def now(self) -> datetime:
        return self.state.now

    @property
    def tenant(self) -> Tenant:
        """The tenant as it stands (rebuilt after :meth:`changed`)."""
        if self._tenant is None:
            self._tenant = self.state.tenant(with_logs=False)
        return self._tenant

    def changed(self) -> None:
        self._tenant = None

    def p(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def actor(self) -> Json:
        """The acting user (an action that needs one refuses to run without it)."""
        if not self.actor_key:
            raise RangeError(f"{self.spec.name} needs an acting principal (actor=UPN)")
        found = self.state.find_user(self.actor_key)
        if found is None:
            raise RangeError(f"unknown actor: {self.actor_key} (actions are taken by a user of the tenant)")
        return found

    def actor_ip(self, actor: Json) -> str | None:
        ip = self.p("ip")
        if ip:
            return str(ip)
        uid = str(actor["id"]).casefold()
        mine = [s for s in self.state.sessions.values() if s.user_id == uid]
        return max(mine, key=lambda s: s.issued_at).ip if mine else None

    def roles_of(self, user_id: str) -> frozenset[str]:
        return ses.user_active_roles(self.tenant, user_id)

    def profile(self, user_id: str) -> TargetProfile:
        tenant = self.tenant
        uid = user_id.casefold()
        held = tenant.any_role_ids(uid) if ELIGIBLE_ROLES_PROTECT_TARGET else tenant.active_role_ids(uid)
        return TargetProfile(role_ids=held, in_role_assignable_group=uid in tenant.role_assignable_members)

    def authorize(self, action: AdminAction, target: Json | None = None) -> Json:
        """The actor, once ``admin_actions.can_perform`` allows the action (on ``target`` if given)."""
        actor = self.actor()
        aid = str(actor["id"]).casefold()
        kwargs: dict[str, Any] = {}
        if target is not None:
            tid = str(target["id"]).casefold()
            kwargs = {"target": self.profile(tid), "actor_is_target": aid == tid}
        decision = can_perform(action, self.roles_of(aid), **kwargs)
        if not decision.allowed:
            raise ActionDenied(f"Insufficient privileges to complete the operation: {decision.reason}")
        return actor


# -- running ------------------------------------------------------------------------------------------------


def run_action(
    state: RangeState, name: str, params: Mapping[str, Any], *, actor: str | None = None
) -> ActionResult:
    """Carry out one action on ``state`` (mutating it); raises RangeError / ActionDenied.

    Does not restore the state on failure and does not persist: :class:`~graphlattice.range.engine.Range`
    does both. Verification and dry runs call this on a copy.
    """
    spec = ACTIONS.get(name)
    if spec is None:
        raise RangeError(f"unknown action {name!r}; actions: {', '.join(sorted(ACTIONS))}")
    values = dict(params)
    if "actor" in values and spec.param("actor") is None:  # actor=UPN given among the parameters
        given = values.pop("actor")
        actor = actor or (str(given) if given else None)
    parsed = parse_params(spec, values, state.now)
    if spec.actor == "required" and not actor:
        raise RangeError(f"{name} needs an acting principal (actor=UPN)")
    settle(state)
    audits, sign_ins = len(state.audits), len(state.sign_ins)
    result = spec.run(Ctx(state, spec, actor, parsed))
    settle(state)
    result.records = state.audits[audits:] + state.sign_ins[sign_ins:]
    return result


def settle(state: RangeState) -> None:
    """Bring time-dependent state up to the clock: pass usability and expired PIM activations."""
    _expire_activations(state)
    tenant = state.tenant(with_logs=False)
    policy = ses.tap_policy(tenant)
    for user in state.collections["users"]:
        uid = str(user["id"]).casefold()
        tap = ses.tap_of(state, uid)
        if tap is None or tap.get("methodUsabilityReason") == ONE_TIME_USED:
            continue
        status = policy.pass_status(tap, uid, tenant.groups_of(uid), state.now)
        tap["isUsable"] = status == "EnabledByPolicy"
        tap["methodUsabilityReason"] = status


# -- helpers ------------------------------------------------------------------------------------------------


def _uid(user: Json) -> str:
    return str(user["id"]).casefold()


def _role_id(text: str) -> str:
    """A built-in role by template id or display name (case-insensitive)."""
    key = text.strip().casefold()
    if get_role(key) is not None:
        return key
    for rid, info in ROLE_CATALOG.items():
        if info.display_name.casefold() == key:
            return rid
    raise RangeError(f"unknown role: {text}")


def _principal(state: RangeState, key: str) -> tuple[Json, str]:
    """A user or group by id, UPN or display name; returns (object, 'user' | 'group')."""
    user = state.find_user(key)
    if user is not None:
        return user, "user"
    return _group(state, key), "group"


def _group(state: RangeState, key: str) -> Json:
    wanted = key.strip().casefold()
    for group in state.collections["groups"]:
        if wanted in (str(group.get("id", "")).casefold(), str(group.get("displayName", "")).casefold()):
            return group  # type: ignore[no-any-return]
    raise RangeError(f"unknown user or group: {key}")


def _target_for(obj: Json, kind: str, props: list[Json] | None = None) -> Json:
    if kind == "user":
        return rec.user_target(obj, props)
    return {
        "id": obj["id"],
        "displayName": obj.get("displayName"),
        "type": "Group",
        "userPrincipalName": None,
        "groupType": "azureAD",
        "modifiedProperties": props or [],
    }


def _revoke(state: RangeState, user_id: str, event: tokens.CredentialEvent) -> list[str]:
    """Apply a credential event to the user's sessions per Microsoft's table; returns the revoked ids.

    A browser session is a session cookie and an app's session a refresh token: the table revokes them
    differently (an admin password reset leaves a non-password browser session alive).

    Every session that exists when the event happens was issued before it (actions are ordered even when
    the simulated clock shows the same second), so the table alone decides.
    """
    revoked: list[str] = []
    for session in state.sessions.values():
        if session.user_id != user_id or session.revoked_at is not None:
            continue
        if tokens.revokes(event, password_based=session.password_based, kind=ses.token_kind(session)):
            session.revoked_at = state.now
            session.revoked_reason = str(event)
            revoked.append(session.id)
    return revoked


def _set_password(ctx: Ctx, user: Json, value: str, known_by: list[str], *, force_change: bool) -> None:
    state = ctx.state
    uid = _uid(user)
    # Only a seeded password handed to the attacker keeps its plaintext; a new one is known by holders only.
    state.secrets.passwords[uid] = Secret.new(state.ids, value, known_by, keep_plaintext=False)
    user["lastPasswordChangeDateTime"] = iso(state.now)
    user["passwordProfile"] = {"forceChangePasswordNextSignIn": force_change, "password": None}


def _method_label(method: Json) -> str:
    kind = classify_method(method)
    return {
        MethodKind.TEMPORARY_ACCESS_PASS: "temporary access pass",
        MethodKind.MICROSOFT_AUTHENTICATOR_PUSH: "Microsoft Authenticator App",
        MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS: "Microsoft Authenticator App",
        MethodKind.FIDO2: "Fido2",
        MethodKind.PHONE_MOBILE: "phone",
        MethodKind.PHONE_VOICE: "phone",
        MethodKind.SOFTWARE_OATH: "software OATH token",
        MethodKind.EMAIL: "email",
        MethodKind.WINDOWS_HELLO_FOR_BUSINESS: "Windows Hello for Business",
    }.get(kind, kind.value)


# -- sign-in ------------------------------------------------------------------------------------------------


def _sign_in(ctx: Ctx) -> ActionResult:
    req = ses.SignInRequest(
        user=ctx.p("user"),
        method=ctx.p("method"),
        holder=ctx.p("holder") or ctx.p("as_holder"),
        ip=ctx.p("ip", "203.0.113.10"),
        country=ctx.p("country"),
        city=ctx.p("city"),
        app=ctx.p("app", "my-signins"),
        password=ctx.p("password"),
        code=ctx.p("code"),
        token=ctx.p("token"),
    )
    session, record = ses.sign_in(ctx.state, ctx.tenant, req)
    user = ctx.state.user(req.user)
    what = "redeemed a refresh token" if req.method == "refresh-token" else f"signed in with {req.method}"
    if session.registration_only:
        what += " and was asked to set up multifactor authentication (registration only)"
    return ActionResult(
        f"{user.get('userPrincipalName')} {what} from {req.ip}"
        + (f" ({req.country})" if req.country else ""),
        {
            "session": session.id,
            "refresh_token": session.id,
            "user": user["id"],
            "signInId": record["id"],
            "mfa": session.mfa_at is not None,
            "registrationOnly": session.registration_only,
            "expiresAt": iso(session.expires_at) if session.expires_at else None,
        },
    )


# -- Temporary Access Pass ----------------------------------------------------------------------------------


def _issue_tap(ctx: Ctx) -> ActionResult:
    state = ctx.state
    target = state.user(ctx.p("user"))
    actor = ctx.authorize(AdminAction.MANAGE_USER_AUTH_METHODS, target)
    refusal = issue_refusal(target)
    if refusal is not None:
        raise ActionDenied(refusal)
    policy = ses.tap_policy(ctx.tenant)
    try:
        grant = policy.resolve_request(ctx.p("lifetime_minutes"), ctx.p("usable_once"))
    except TapPolicyViolation as exc:
        raise ActionDenied(f"Temporary Access Pass not created: {exc.reason}") from None
    uid = _uid(target)
    start: datetime = ctx.p("start", state.now)
    methods = state.methods_of(uid)
    old = ses.tap_of(state, uid)
    if old is not None:  # one pass per user: the new one replaces the old
        methods.remove(old)
        state.secrets.passes.pop(str(old["id"]).casefold(), None)
    code = state.ids.tap_code(grant.length)
    method: Json = {
        "@odata.type": NS + "temporaryAccessPassAuthenticationMethod",
        "id": state.ids.uuid(),
        "temporaryAccessPass": None,
        "createdDateTime": iso(state.now),
        "startDateTime": iso(start),
        "lifetimeInMinutes": grant.lifetime_in_minutes,
        "isUsableOnce": grant.is_usable_once,
        "isUsable": False,
        "methodUsabilityReason": "NotYetValid",
    }
    status = policy.pass_status(method, uid, ctx.tenant.groups_of(uid), state.now)
    method["isUsable"] = status == "EnabledByPolicy"
    method["methodUsabilityReason"] = status
    methods.append(method)
    state.secrets.passes[str(method["id"]).casefold()] = Secret.new(
        state.ids, code, [state.owner_of(_uid(actor))], keep_plaintext=False
    )
    end = start + timedelta(minutes=grant.lifetime_in_minutes)
    props = [
        rec.prop("TemporaryAccessPass.Id", '""', rec.quoted(str(method["id"]))),
        rec.prop("TemporaryAccessPass.StartDateTime", '""', rec.quoted(iso(start))),
        rec.prop("TemporaryAccessPass.EndDateTime", '""', rec.quoted(iso(end))),
        rec.prop(
            "TemporaryAccessPass.AccessPassUsage",
            '""',
            rec.quoted("OneTime" if grant.is_usable_once else "Multiple"),
        ),
    ]
    rec.audit(
        state,
        service="Authentication Methods",
        category="UserManagement",
        activity="Admin registered security info",
        operation="Add",
        initiated_by=rec.by_user(actor, ctx.actor_ip(actor)),
        targets=[rec.user_target(target, props)],
        result_reason="Admin registered temporary access pass method for user",
    )
    response = dict(method, temporaryAccessPass=code)
    usage = "one-time" if grant.is_usable_once else "reusable"
    return ActionResult(
        f"Temporary Access Pass created for {target.get('userPrincipalName')}: {usage}, "
        f"{grant.lifetime_in_minutes} minutes from {iso(start)} ({status}); the code is in data.code",
        {"id": method["id"], "code": code, "temporaryAccessPass": code, "method": response},
    )


def _admin_delete_record(ctx: Ctx, actor: Json, target: Json, method: Json) -> None:
    rec.audit(
        ctx.state,
        service="Authentication Methods",
        category="UserManagement",
        activity="Admin deleted security info",
        operation="Delete",
        initiated_by=rec.by_user(actor, ctx.actor_ip(actor)),
        targets=[rec.user_target(target)],
        result_reason=f"Admin deleted {_method_label(method)} method for user",
    )


def _remove_method(state: RangeState, uid: str, method: Json) -> None:
    state.methods_of(uid).remove(method)
    mid = str(method.get("id", "")).casefold()
    state.secrets.devices.pop(mid, None)
    state.secrets.passes.pop(mid, None)


def _delete_tap(ctx: Ctx) -> ActionResult:
    state = ctx.state
    target = state.user(ctx.p("user"))
    actor = ctx.authorize(AdminAction.MANAGE_USER_AUTH_METHODS, target)
    tap = ses.tap_of(state, _uid(target))
    if tap is None:
        raise RangeError(f"{target.get('userPrincipalName')} has no Temporary Access Pass")
    _remove_method(state, _uid(target), tap)
    _admin_delete_record(ctx, actor, target, tap)
    return ActionResult(
        f"Deleted the Temporary Access Pass of {target.get('userPrincipalName')}", {"id": tap["id"]}
    )


# -- methods ------------------------------------------------------------------------------------------------

_KINDS = {
    "authenticator": MethodKind.MICROSOFT_AUTHENTICATOR_PUSH,
    "authenticator-passwordless": MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS,
    "passkey": MethodKind.FIDO2,
    "phone": MethodKind.PHONE_MOBILE,
    "software-oath": MethodKind.SOFTWARE_OATH,
}
_REGISTERED_REASON = {
    "authenticator": "User registered Authenticator App with Notification and Code",
    "authenticator-passwordless": "User registered Microsoft Authenticator App",
    "passkey": "User registered Fido2 Authentication Method",
    "software-oath": "User registered Software OATH token",
}
_PHONE_REASON = {
    "mobile": "User registered Mobile Phone SMS",
    "alternateMobile": "User registered Alternate Mobile Phone",
    "office": "User registered Office Phone",
}
_PHONE_NUMBER = re.compile(r"^\+\d{1,3} \d{4,14}(x\d{1,6})?$")


def _session_for(ctx: Ctx) -> Session:
    state = ctx.state
    token = ctx.p("session")
    if token:
        session = state.sessions.get(str(token))
        if session is None:
            raise RangeError(f"unknown session: {token}")
        return session
    if not ctx.actor_key:
        raise RangeError("register-method needs session=ID (the session the user registers in)")
    uid = _uid(ctx.actor())
    live = [s for s in state.sessions.values() if s.user_id == uid and ses.session_problem(state, s) is None]
    if not live:
        raise RangeError(f"{ctx.actor_key} has no live session; sign in first")
    return max(live, key=lambda s: s.issued_at)


def _register_method(ctx: Ctx) -> ActionResult:
    state = ctx.state
    session = _session_for(ctx)
    problem = ses.session_problem(state, session)
    if problem is not None:
        raise ActionDenied(f"The session cannot be used ({problem[0]}): {problem[1]}")
    user = state.user(session.user_id)
    uid = _uid(user)
    kind_name: str = ctx.p("kind")
    phone_type: str = ctx.p("phone_type", "mobile")
    kind = _KINDS[kind_name]
    if kind_name == "phone" and phone_type != "mobile":
        kind = MethodKind.PHONE_VOICE
    tenant = ctx.tenant
    ip = ctx.p("ip") or session.ip
    country = ctx.p("country") or session.country
    if not ses.method_enabled(state, tenant, uid, kind):
        raise ActionDenied(
            f"The authentication methods policy does not let {user.get('userPrincipalName')} "
            f"register {kind_name}"
        )
    # Conditional Access on the "Register security information" user action.
    ca = ses.ca_context(
        state,
        tenant,
        user,
        used_modes=session.methods_used,
        ip=ip,
        country=country,
        user_action=ses.REGISTER_SECURITY_INFO,
    )
    results, blocked, code = ses.evaluate_ca(tenant, ca)
    applied = [r for r in results if r.applies]
    if blocked is not None or applied:
        steps = [
            rec.step(
                rec.ts(state.now),
                "Previously satisfied",
                None,
                "Primary authentication",
                "First factor requirement satisfied by claim in the token",
            )
        ]
        record = rec.sign_in(
            state,
            user=user,
            app=rec.APPS["my-signins"],
            ip=ip,
            country=country,
            steps=steps,
            ca=results,
            error=code if blocked else 0,
            detail=blocked,
            mfa_required=requires_mfa(results),
            interactive=False,
            session_id=session.id,
        )
        if blocked is not None:
            raise ActionDenied(f"Security info registration blocked ({code}): {blocked}", records=[record])
    # Entra's built-in registration rules.
    existing = state.methods_of(uid)
    decision = may_register(
        RegistrationContext(
            user_has_mfa_capable_method=ses.has_mfa_method(state, tenant, uid),
            session_mfa_at=session.mfa_at,
            now=state.now,
            method_kind=kind,
            session_used_tap=session.via_tap_id is not None,
            tap_one_time="temporaryAccessPassOneTime" in session.methods_used,
            session_started_at=session.issued_at,
            interrupt_mode=session.registration_only,
        )
    )
    if not decision.allowed:
        raise ActionDenied(decision.reason)
    if kind is MethodKind.FIDO2:  # the Passkey (FIDO2) configuration: self-service set up and key models
        rules = PasskeyRules.from_graph(tenant.method_configuration("Fido2"))
        guest = str(user.get("userType") or "").casefold() == "guest"
        refusal = rules.registration_refusal(ctx.p("aaguid", _PASSKEY_AAGUID), guest=guest)
        if refusal is not None:
            raise ActionDenied(refusal)
    holder: str = ctx.p("holder") or session.holder
    device: str | None = ctx.p("device_name")
    method: Json
    now = iso(state.now)
    upgraded: Json | None = None
    if kind_name == "authenticator-passwordless":
        # Turning on phone sign-in for an app already registered on the same device updates that method.
        upgraded = next(
            (
                m
                for m in existing
                if classify_method(m) is MethodKind.MICROSOFT_AUTHENTICATOR_PUSH
                and (device is None or m.get("displayName") == device)
                and (state.secrets.devices.get(str(m.get("id", "")).casefold()) or "").casefold()
                == holder.casefold()
            ),
            None,
        )
    if upgraded is not None:
        upgraded["createdDateTime"] = now
        method = upgraded
        device = device or upgraded.get("displayName")
        reason = _REGISTERED_REASON[kind_name]
    elif kind_name in ("authenticator", "authenticator-passwordless"):
        method = {
            "@odata.type": NS + "microsoftAuthenticatorAuthenticationMethod",
            "id": state.ids.uuid(),
            "displayName": device or "Phone",
            "deviceTag": "SoftwareTokenActivated",
            "phoneAppVersion": _AUTHENTICATOR_VERSION,
            "createdDateTime": now if kind_name == "authenticator-passwordless" else None,
        }
        reason = _REGISTERED_REASON[kind_name]
    elif kind_name == "passkey":
        method = {
            "@odata.type": NS + "fido2AuthenticationMethod",
            "id": state.ids.b64id(43),
            "displayName": device or "Passkey",
            "aaGuid": ctx.p("aaguid", _PASSKEY_AAGUID),
            "model": ctx.p("model", "Microsoft Authenticator"),
            "attestationLevel": "notAttested",
            "passkeyType": ctx.p("passkey_type", "deviceBound"),
            "attestationCertificates": [],
            "createdDateTime": now,
        }
        reason = _REGISTERED_REASON[kind_name]
    elif kind_name == "phone":
        number = ctx.p("phone_number")
        if not number or not _PHONE_NUMBER.match(number):
            raise RangeError("register-method kind=phone needs phone_number in the form '+CC NUMBER'")
        taken = {
            str(m.get("phoneType"))
            for m in existing
            if "phoneAuthenticationMethod" in str(m.get("@odata.type"))
        }
        if phone_type in taken:
            raise ActionDenied(f"The user already has a {phone_type} phone; update or delete it first")
        if phone_type == "alternateMobile" and "mobile" not in taken:
            raise ActionDenied("A mobile phone must be registered before an alternate mobile phone")
        sms_ready = (
            phone_type == "mobile"
            and (cfg := tenant.method_configuration("Sms")) is not None
            and any(
                isinstance(t, Mapping) and t.get("isUsableForSignIn") for t in cfg.get("includeTargets") or ()
            )
        )
        method = {
            "@odata.type": NS + "phoneAuthenticationMethod",
            "id": PHONE_IDS[phone_type],
            "phoneNumber": number,
            "phoneType": phone_type,
            "smsSignInState": ("ready" if sms_ready else "notAllowedByPolicy")
            if phone_type == "mobile"
            else "notSupported",
        }
        reason = _PHONE_REASON[phone_type]
    else:
        method = {
            "@odata.type": NS + "softwareOathAuthenticationMethod",
            "id": state.ids.uuid(),
            "secretKey": None,
            "createdDateTime": now,
        }
        reason = _REGISTERED_REASON[kind_name]
    if upgraded is None:
        existing.append(method)
    state.secrets.devices[str(method["id"]).casefold()] = holder
    records_by = rec.by_user(user, ip)
    registered = [("User registered security info", "Add", reason)]
    if kind_name == "passkey":  # Security info first asks the service for the WebAuthn creation options
        registered.insert(
            0, ("Get passkey creation options", "Other", "Successfully retrieved passkey creation options.")
        )
    for activity, operation, result_reason in registered:
        rec.audit(
            state,
            service="Authentication Methods",
            category="UserManagement",
            activity=activity,
            operation=operation,
            initiated_by=records_by,
            targets=[rec.user_target(user)],
            result_reason=result_reason,
        )
    if kind_name in ("authenticator-passwordless", "passkey"):
        activity = (
            "Add passwordless phone sign-in credential"
            if kind_name != "passkey"
            else "Add FIDO2 security key"
        )
        targets = [rec.user_target(user)]
        if kind_name != "passkey":
            targets.append(rec.device_target(state.ids.uuid(), device or "Phone"))
        rec.audit(
            state,
            service="Device Registration Service",
            category="UserManagement",
            activity=activity,
            operation="Add",
            initiated_by=records_by,
            targets=targets,
            details=[("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0")],
        )
    return ActionResult(
        f"{user.get('userPrincipalName')} registered {kind_name}"
        + (f" ({device})" if device else "")
        + f", held by {holder}",
        {"id": method["id"], "method": method, "holder": holder},
    )


def _delete_method(ctx: Ctx) -> ActionResult:
    state = ctx.state
    target = state.user(ctx.p("user"))
    uid = _uid(target)
    wanted = str(ctx.p("method")).casefold()
    method = next((m for m in state.methods_of(uid) if str(m.get("id", "")).casefold() == wanted), None)
    if method is None:
        raise RangeError(f"{target.get('userPrincipalName')} has no authentication method {ctx.p('method')}")
    if classify_method(method) is MethodKind.PASSWORD:
        raise ActionDenied("The password method cannot be deleted; reset the password instead")
    actor = ctx.actor()
    if _uid(actor) == uid:  # a user removing their own method in My Security Info
        _remove_method(state, uid, method)
        rec.audit(
            state,
            service="Authentication Methods",
            category="UserManagement",
            activity="User deleted security info",
            operation="Delete",
            initiated_by=rec.by_user(actor, ctx.actor_ip(actor)),
            targets=[rec.user_target(target)],
            result_reason=f"User deleted {_method_label(method)} method",
        )
    else:
        actor = ctx.authorize(AdminAction.MANAGE_USER_AUTH_METHODS, target)
        _remove_method(state, uid, method)
        _admin_delete_record(ctx, actor, target, method)
    return ActionResult(
        f"Deleted {_method_label(method)} method {method['id']} of {target.get('userPrincipalName')}",
        {"id": method["id"], "method": method},
    )


# -- sessions and passwords ---------------------------------------------------------------------------------


def _revoke_sessions(ctx: Ctx) -> ActionResult:
    state = ctx.state
    target = state.user(ctx.p("user"))
    actor = ctx.actor()
    if _uid(actor) != _uid(target):
        actor = ctx.authorize(AdminAction.REVOKE_SIGN_IN_SESSIONS, target)
    old = target.get("signInSessionsValidFromDateTime")
    now = iso(state.now)
    target["signInSessionsValidFromDateTime"] = now
    revoked = _revoke(state, _uid(target), tokens.CredentialEvent.SESSIONS_REVOKED)
    props = [
        rec.prop(
            "StsRefreshTokensValidFrom",
            json.dumps([old]) if old else "[]",
            json.dumps([now]),
        ),
        rec.prop("Included Updated Properties", None, rec.quoted("StsRefreshTokensValidFrom")),
    ]
    rec.audit(
        state,
        service="Core Directory",
        category="UserManagement",
        activity="Update StsRefreshTokenValidFrom Timestamp",
        operation="Update",
        initiated_by=rec.by_user(actor, ctx.actor_ip(actor)),
        targets=[rec.user_target(target, props)],
    )
    return ActionResult(
        f"Revoked the sign-in sessions of {target.get('userPrincipalName')} "
        f"({len(revoked)} refresh token(s))",
        {"value": True, "revoked": revoked},
    )


def _reset_password(ctx: Ctx) -> ActionResult:
    state = ctx.state
    target = state.user(ctx.p("user"))
    actor = ctx.authorize(AdminAction.RESET_PASSWORD, target)
    value = ctx.p("password") or state.ids.password()
    uid = _uid(target)
    known = [state.owner_of(_uid(actor)), state.owner_of(uid)]
    _set_password(ctx, target, value, known, force_change=True)
    revoked = _revoke(state, uid, tokens.CredentialEvent.PASSWORD_RESET_BY_ADMIN)
    _password_records(
        state,
        rec.by_user(actor, ctx.actor_ip(actor)),
        target,
        "Reset password (by admin)",
        "Successfully completed reset.",
        directory="Reset user password",
    )
    return ActionResult(
        f"Reset the password of {target.get('userPrincipalName')} (must change at next sign-in); "
        f"{len(revoked)} refresh token(s) revoked",
        {"newPassword": value, "revoked": revoked},
    )


_SSPR_KINDS = frozenset(
    {
        MethodKind.MICROSOFT_AUTHENTICATOR_PUSH,
        MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS,
        MethodKind.PHONE_MOBILE,
        MethodKind.PHONE_VOICE,
        MethodKind.SOFTWARE_OATH,
        MethodKind.EMAIL,
    }
)


def _self_service_reset(ctx: Ctx) -> ActionResult:
    state = ctx.state
    user = state.user(ctx.p("user"))
    uid = _uid(user)
    holder = ctx.p("holder") or state.owner_of(uid)
    proofs = [
        m
        for m in state.methods_of(uid)
        if classify_method(m) in _SSPR_KINDS
        and (
            classify_method(m) is MethodKind.EMAIL
            or (state.secrets.devices.get(str(m.get("id", "")).casefold()) or "").casefold()
            == holder.casefold()
        )
    ]
    if user.get("accountEnabled") is False:
        raise ActionDenied("Self-service password reset is not available: the account is disabled")
    if not proofs:
        _password_records(
            state,
            rec.by_user(user, ctx.p("ip")),
            user,
            "Blocked from self-service password reset",
            "User does not hold a registered verification method.",
            result="failure",
        )
        raise ActionDenied(
            "Self-service password reset needs a registered verification method held by the person resetting",
            records=[state.audits[-1]],
        )
    value = ctx.p("password") or state.ids.password()
    _set_password(ctx, user, value, [holder], force_change=False)
    revoked = _revoke(state, uid, tokens.CredentialEvent.PASSWORD_RESET_SELF_SERVICE)
    _password_records(
        state,
        rec.by_user(user, ctx.p("ip")),
        user,
        "Reset password (self-service)",
        "Successfully completed reset.",
    )
    return ActionResult(
        f"{user.get('userPrincipalName')} reset their password by self-service; "
        f"{len(revoked)} password-based refresh token(s) revoked, others untouched",
        {"newPassword": value, "revoked": revoked},
    )


def _password_records(
    state: RangeState,
    by: Json,
    user: Json,
    activity: str,
    reason: str,
    *,
    directory: str | None = None,
    result: str = "success",
) -> None:
    """A password event as Entra logs it: the password service's record and, for an admin reset or a
    change, Core Directory's (``directory``: its activity) under the same correlation id."""
    correlation = state.ids.uuid()
    common: dict[str, Any] = {"category": "UserManagement", "operation": "Update", "initiated_by": by}
    rec.audit(
        state,
        service="Self-service Password Management",
        activity=activity,
        targets=[rec.user_target(user)],
        result=result,
        result_reason=reason,
        correlation=correlation,
        **common,
    )
    if directory is not None:
        rec.audit(
            state,
            service="Core Directory",
            activity=directory,
            targets=[rec.user_target(user)],
            correlation=correlation,
            **common,
        )


def _change_password(ctx: Ctx) -> ActionResult:
    state = ctx.state
    user = state.user(ctx.p("user"))
    uid = _uid(user)
    holder = ctx.p("holder") or state.owner_of(uid)
    secret = state.secrets.passwords.get(uid)
    current = ctx.p("current_password")
    knows = secret is not None and (secret.matches(current) if current else secret.known_to(holder))
    if not knows:
        raise ActionDenied("Password change failed: the current password is not correct")
    value = ctx.p("password") or state.ids.password()
    _set_password(ctx, user, value, [holder], force_change=False)
    revoked = _revoke(state, uid, tokens.CredentialEvent.PASSWORD_CHANGED_BY_USER)
    _password_records(
        state,
        rec.by_user(user, ctx.p("ip")),
        user,
        "Change password (self-service)",
        "Successfully completed change.",
        directory="Change user password",
    )
    return ActionResult(
        f"{user.get('userPrincipalName')} changed their password; {len(revoked)} refresh token(s) revoked",
        {"newPassword": value, "revoked": revoked},
    )


def _set_enabled(ctx: Ctx, enabled: bool) -> ActionResult:
    state = ctx.state
    target = state.user(ctx.p("user"))
    actor = ctx.authorize(AdminAction.UPDATE_ACCOUNT_ENABLED, target)
    old = target.get("accountEnabled") is not False
    target["accountEnabled"] = enabled
    props = [
        rec.prop("AccountEnabled", json.dumps([old]), json.dumps([enabled])),
        rec.prop("Included Updated Properties", None, rec.quoted("AccountEnabled")),
    ]
    by = rec.by_user(actor, ctx.actor_ip(actor))
    correlation = state.ids.uuid()
    rec.audit(
        state,
        service="Core Directory",
        category="UserManagement",
        activity="Update user",
        operation="Update",
        initiated_by=by,
        targets=[rec.user_target(target, props)],
        correlation=correlation,
    )
    rec.audit(
        state,
        service="Core Directory",
        category="UserManagement",
        activity="Enable account" if enabled else "Disable account",
        operation="Update",
        initiated_by=by,
        targets=[rec.user_target(target)],
        correlation=correlation,
    )
    word = "Enabled" if enabled else "Disabled"
    return ActionResult(f"{word} the account {target.get('userPrincipalName')}", {"accountEnabled": enabled})


# -- groups -------------------------------------------------------------------------------------------------


def _group_member(ctx: Ctx, add: bool) -> ActionResult:
    state = ctx.state
    group = _group(state, ctx.p("group"))
    member, kind = _principal(state, ctx.p("member"))
    actor = ctx.actor()
    control = membership_control(group)
    owners = {str(o.get("id", "")).casefold() for o in group.get("owners") or ()}
    roles = ctx.roles_of(_uid(actor))
    if control.dynamic_rule is not None:
        raise ActionDenied(
            f"{group.get('displayName')} has dynamic membership; members cannot be added by hand"
        )
    if not (roles & control.role_ids or _uid(actor) in owners):
        raise ActionDenied(
            "Insufficient privileges to complete the operation: the actor neither owns "
            f"{group.get('displayName')} nor holds a role that manages its members"
        )
    members: list[Json] = group.setdefault("members", [])
    mid = str(member["id"]).casefold()
    present = next((m for m in members if str(m.get("id", "")).casefold() == mid), None)
    if add and present is not None:
        raise RangeError(f"{ctx.p('member')} is already a member of {group.get('displayName')}")
    if not add and present is None:
        raise RangeError(f"{ctx.p('member')} is not a member of {group.get('displayName')}")
    if add:
        members.append(
            {"@odata.type": NS + kind, "id": member["id"], "displayName": member.get("displayName")}
        )
    else:
        members.remove(present)  # type: ignore[arg-type]
    props = [
        rec.prop("Group.ObjectID", None, rec.quoted(str(group["id"]))),
        rec.prop("Group.DisplayName", None, rec.quoted(str(group.get("displayName")))),
    ]
    rec.audit(
        state,
        service="Core Directory",
        category="GroupManagement",
        activity="Add member to group" if add else "Remove member from group",
        operation="Assign" if add else "Unassign",
        initiated_by=rec.by_user(actor, ctx.actor_ip(actor)),
        targets=[_target_for(member, kind, props), _target_for(group, "group")],
    )
    verb = "Added" if add else "Removed"
    return ActionResult(f"{verb} {ctx.p('member')} {'to' if add else 'from'} {group.get('displayName')}", {})


# -- roles and PIM ------------------------------------------------------------------------------------------


def _ensure_role_definition(state: RangeState, role_id: str) -> None:
    defs: list[Json] = state.collections["roleDefinitions"]
    if not any(str(d.get("id", "")).casefold() == role_id for d in defs):
        defs.append(
            {
                "id": role_id,
                "templateId": role_id,
                "displayName": role_display_name(role_id),
                "isBuiltIn": True,
                "isEnabled": True,
            }
        )


def _role_records(
    ctx: Ctx,
    activity: str,
    role_id: str,
    principal: Json,
    kind: str,
    by: Json,
    *,
    correlation: str | None = None,
) -> None:
    rec.audit(
        ctx.state,
        service="Core Directory",
        category="RoleManagement",
        activity=activity,
        operation="Unassign" if activity.startswith("Remove") else "Assign",
        initiated_by=by,
        targets=[_target_for(principal, kind, rec.role_props(role_id)), rec.role_target(role_id)],
        correlation=correlation,
    )


def _pim_record(
    ctx: Ctx,
    activity: str,
    role_id: str,
    principal: Json,
    kind: str,
    by: Json,
    *,
    operation: str,
    reason: str = "",
    details: list[tuple[str, str]] | None = None,
    correlation: str | None = None,
) -> None:
    rec.audit(
        ctx.state,
        service="PIM",
        category="RoleManagement",
        activity=activity,
        operation=operation,
        initiated_by=by,
        targets=[rec.role_target(role_id), _target_for(principal, kind)],
        result_reason=reason,
        details=details or [],
        correlation=correlation,
    )


def _role_grants(state: RangeState, collection: str, principal_id: str, role_id: str) -> list[Json]:
    """The entries of ``collection`` (role assignments or eligibilities) giving this principal this role."""
    return [
        a
        for a in state.collections[collection]
        if str(a.get("principalId", "")).casefold() == principal_id
        and str(a.get("roleDefinitionId", "")).casefold() == role_id
    ]


def _assignments_of(state: RangeState, principal_id: str, role_id: str) -> list[Json]:
    return _role_grants(state, "roleAssignments", principal_id, role_id)


def _assign_role(ctx: Ctx) -> ActionResult:
    state = ctx.state
    actor = ctx.authorize(AdminAction.MANAGE_ROLE_ASSIGNMENTS)
    principal, kind = _principal(state, ctx.p("principal"))
    role_id = _role_id(ctx.p("role"))
    scope = ctx.p("scope", "/")
    pid = str(principal["id"]).casefold()
    if kind == "group" and principal.get("isAssignableToRole") is not True:
        raise ActionDenied("Only role-assignable groups can be assigned a directory role")
    if _assignments_of(state, pid, role_id):
        raise RangeError(f"{ctx.p('principal')} already holds {role_display_name(role_id)}")
    _ensure_role_definition(state, role_id)
    assignment_id = state.ids.b64id(43)
    state.collections["roleAssignments"].append(
        {
            "id": assignment_id,
            "principalId": principal["id"],
            "roleDefinitionId": role_id,
            "directoryScopeId": scope,
        }
    )
    state.collections["roleAssignmentScheduleInstances"].append(
        {
            "id": assignment_id,
            "principalId": principal["id"],
            "roleDefinitionId": role_id,
            "directoryScopeId": scope,
            "appScopeId": None,
            "startDateTime": iso(state.now),
            "endDateTime": None,
            "assignmentType": "Assigned",
            "memberType": "Direct",
            "roleAssignmentOriginId": assignment_id,
            "roleAssignmentScheduleId": assignment_id,
        }
    )
    by = rec.by_user(actor, ctx.actor_ip(actor))
    correlation = state.ids.uuid()
    _pim_record(
        ctx,
        "Add member to role outside of PIM (permanent)",
        role_id,
        principal,
        kind,
        by,
        operation="Add",
        correlation=correlation,
    )
    _role_records(ctx, "Add member to role", role_id, principal, kind, by, correlation=correlation)
    return ActionResult(
        f"Assigned {role_display_name(role_id)} to {ctx.p('principal')} (active, permanent)",
        {"id": assignment_id, "roleDefinitionId": role_id},
    )


def _remove_role(ctx: Ctx) -> ActionResult:
    state = ctx.state
    actor = ctx.authorize(AdminAction.MANAGE_ROLE_ASSIGNMENTS)
    principal, kind = _principal(state, ctx.p("principal"))
    role_id = _role_id(ctx.p("role"))
    pid = str(principal["id"]).casefold()
    found = _assignments_of(state, pid, role_id)
    if not found:
        raise RangeError(f"{ctx.p('principal')} holds no active {role_display_name(role_id)} assignment")
    if pid == _uid(actor) and role_id == R.GLOBAL_ADMINISTRATOR:
        raise ActionDenied("A Global Administrator cannot remove their own Global Administrator assignment")
    ids = {str(a.get("id", "")).casefold() for a in found}
    state.collections["roleAssignments"] = [
        a for a in state.collections["roleAssignments"] if str(a.get("id", "")).casefold() not in ids
    ]
    state.collections["roleAssignmentScheduleInstances"] = [
        i
        for i in state.collections["roleAssignmentScheduleInstances"]
        if str(i.get("roleAssignmentOriginId") or i.get("id") or "").casefold() not in ids
        and not (
            str(i.get("principalId", "")).casefold() == pid
            and str(i.get("roleDefinitionId", "")).casefold() == role_id
        )
    ]
    _role_records(
        ctx, "Remove member from role", role_id, principal, kind, rec.by_user(actor, ctx.actor_ip(actor))
    )
    return ActionResult(
        f"Removed {role_display_name(role_id)} from {ctx.p('principal')}", {"removed": sorted(ids)}
    )


def _role_policy(ctx: Ctx, role_id: str, *, create: bool) -> Json | None:
    """The PIM policy (with rules) assigned to a role; created with Microsoft's defaults when asked."""
    state = ctx.state
    for assignment in state.collections["roleManagementPolicyAssignments"]:
        if str(assignment.get("roleDefinitionId", "")).casefold() == role_id:
            pid = str(assignment.get("policyId", "")).casefold()
            for existing in state.collections["roleManagementPolicies"]:
                if str(existing.get("id", "")).casefold() == pid:
                    found: Json = existing
                    return found
    if not create:
        return None
    policy_id = f"DirectoryRole_{state.tenant_id}_{state.ids.uuid()}"
    policy: Json = {
        "id": policy_id,
        "displayName": "DirectoryRole",
        "description": "DirectoryRole",
        "isOrganizationDefault": False,
        "scopeId": "/",
        "scopeType": "DirectoryRole",
        "lastModifiedDateTime": None,
        "rules": role_policy_rules(approval=False, approvers=[], max_activation=_DEFAULT_ACTIVATION),
    }
    state.collections["roleManagementPolicies"].append(policy)
    state.collections["roleManagementPolicyAssignments"].append(
        {
            "id": f"{policy_id}_{role_id}",
            "policyId": policy_id,
            "roleDefinitionId": role_id,
            "scopeId": "/",
            "scopeType": "DirectoryRole",
        }
    )
    return policy


def _rule(policy: Json, rule_id: str) -> Json:
    for rule in policy.setdefault("rules", []):
        if str(rule.get("id", "")).casefold() == rule_id.casefold():
            return rule  # type: ignore[no-any-return]
    kinds = {"Approval": "Approval", "Enablement": "Enablement", "Expiration": "Expiration"}
    kind = kinds[rule_id.split("_", 1)[0]]
    rule = {
        "@odata.type": f"{NS}unifiedRoleManagementPolicy{kind}Rule",
        "id": rule_id,
        "target": {"caller": "EndUser", "operations": ["All"], "level": "Assignment"},
    }
    policy["rules"].append(rule)
    return rule


def _apply_role_settings(
    ctx: Ctx,
    actor: Json,
    role_id: str,
    *,
    approval: bool | None,
    mfa: bool | None,
    max_duration: timedelta | None,
    approvers: list[str] | None,
) -> list[str]:
    policy = _role_policy(ctx, role_id, create=True)
    assert policy is not None
    before = json.loads(json.dumps(policy.get("rules")))
    changed: list[str] = []
    if approval is not None or approvers is not None:
        setting = _rule(policy, "Approval_EndUser_Assignment").setdefault("setting", {})
        if approval is not None:
            setting["isApprovalRequired"] = approval
            changed.append(f"approval {'required' if approval else 'not required'}")
        if approvers is not None:
            stage_approvers: list[Json] = []
            for key in approvers:
                obj, kind = _principal(ctx.state, key)
                if kind == "user":
                    stage_approvers.append(
                        {
                            "@odata.type": NS + "singleUser",
                            "userId": obj["id"],
                            "description": obj.get("displayName"),
                        }
                    )
                else:
                    stage_approvers.append(
                        {
                            "@odata.type": NS + "groupMembers",
                            "groupId": obj["id"],
                            "description": obj.get("displayName"),
                        }
                    )
            setting["approvalStages"] = [approval_stage(stage_approvers)]
            changed.append(f"approvers {', '.join(approvers)}")
    if mfa is not None:
        rule = _rule(policy, "Enablement_EndUser_Assignment")
        enabled = [r for r in rule.get("enabledRules") or [] if r != "MultiFactorAuthentication"]
        rule["enabledRules"] = (["MultiFactorAuthentication"] if mfa else []) + enabled
        changed.append(f"MFA on activation {'required' if mfa else 'not required'}")
    if max_duration is not None:
        if max_duration <= timedelta(0) or max_duration > timedelta(hours=24):
            raise RangeError("max_duration must be between 30 minutes and 24 hours (e.g. PT4H)")
        rule = _rule(policy, "Expiration_EndUser_Assignment")
        rule["isExpirationRequired"] = True
        rule["maximumDuration"] = format_duration(max_duration)
        changed.append(f"maximum activation {rule['maximumDuration']}")
    policy["lastModifiedDateTime"] = iso(ctx.now)
    policy["lastModifiedBy"] = {"displayName": actor.get("displayName"), "id": actor["id"]}
    rec.audit(
        ctx.state,
        service="PIM",
        category="RoleManagement",
        activity="Update role setting in PIM",
        operation="Update",
        initiated_by=rec.by_user(actor, ctx.actor_ip(actor)),
        targets=[
            rec.role_target(role_id),
            rec.policy_target(
                str(policy["id"]), str(policy.get("displayName")), before, policy.get("rules"), "Rules"
            ),
        ],
        result_reason="; ".join(changed),
    )
    return changed


def _update_role_policy(ctx: Ctx) -> ActionResult:
    actor = ctx.authorize(AdminAction.UPDATE_ROLE_SETTINGS)
    role_id = _role_id(ctx.p("role"))
    changed = _apply_role_settings(
        ctx,
        actor,
        role_id,
        approval=ctx.p("approval_required"),
        mfa=ctx.p("mfa_required"),
        max_duration=ctx.p("max_duration"),
        approvers=ctx.p("approvers"),
    )
    if not changed:
        raise InvalidValue(
            "approval_required",
            "or another setting is needed",
            action=ctx.spec.name,
            message="give approval_required, mfa_required, max_duration or approvers",
        )
    return ActionResult(f"PIM settings of {role_display_name(role_id)}: {'; '.join(changed)}", {})


def _eligibilities_of(state: RangeState, principal_id: str, role_id: str) -> list[Json]:
    return _role_grants(state, "roleEligibilitySchedules", principal_id, role_id)


def _add_eligibility(ctx: Ctx) -> ActionResult:
    state = ctx.state
    actor = ctx.authorize(AdminAction.MANAGE_ROLE_ELIGIBILITY)
    principal, kind = _principal(state, ctx.p("principal"))
    role_id = _role_id(ctx.p("role"))
    pid = str(principal["id"]).casefold()
    if _eligibilities_of(state, pid, role_id):
        raise RangeError(f"{ctx.p('principal')} is already eligible for {role_display_name(role_id)}")
    duration: timedelta | None = ctx.p("duration")
    longest = _eligibility_maximum(ctx, role_id)
    if duration is not None and duration > longest:
        raise ActionDenied(
            'The following policy rules failed: ["ExpirationRule"] (an eligibility of '
            f"{role_display_name(role_id)} may last at most {format_duration(longest)})"
        )
    _ensure_role_definition(state, role_id)
    end = state.now + duration if duration else None
    schedule_id = state.ids.uuid()
    state.collections["roleEligibilitySchedules"].append(
        {
            "id": schedule_id,
            "principalId": principal["id"],
            "roleDefinitionId": role_id,
            "directoryScopeId": "/",
            "appScopeId": None,
            "memberType": "Direct",
            "status": "Provisioned",
            "createdUsing": schedule_id,
            "createdDateTime": iso(state.now),
            "modifiedDateTime": None,
            "scheduleInfo": {
                "startDateTime": iso(state.now),
                "recurrence": None,
                "expiration": {
                    "type": "afterDateTime" if end else "noExpiration",
                    "endDateTime": iso(end) if end else None,
                    "duration": None,
                },
            },
        }
    )
    by = rec.by_user(actor, ctx.actor_ip(actor))
    correlation = state.ids.uuid()
    details = [("StartTime", iso(state.now))] + ([("ExpirationTime", iso(end))] if end else [])
    _pim_record(
        ctx,
        f"Add eligible member to role in PIM completed ({'timebound' if end else 'permanent'})",
        role_id,
        principal,
        kind,
        by,
        operation="Add",
        reason=ctx.p("justification", ""),
        details=details,
        correlation=correlation,
    )
    _role_records(ctx, "Add eligible member to role", role_id, principal, kind, by, correlation=correlation)
    message = f"{ctx.p('principal')} is now eligible for {role_display_name(role_id)}"
    approval = ctx.p("approval")
    if approval is not None:
        ctx.changed()
        if can_perform(AdminAction.UPDATE_ROLE_SETTINGS, ctx.roles_of(_uid(actor))).allowed:
            _apply_role_settings(
                ctx, actor, role_id, approval=approval, mfa=None, max_duration=None, approvers=None
            )
            message += f"; activation {'requires' if approval else 'does not require'} approval"
        else:
            raise ActionDenied(
                "Insufficient privileges to complete the operation: cannot change PIM role settings"
            )
    return ActionResult(message, {"id": schedule_id})


def _eligibility_maximum(ctx: Ctx, role_id: str) -> timedelta:
    """How long the role's PIM policy lets an eligible assignment last (Microsoft's default: a year)."""
    policy = _role_policy(ctx, role_id, create=False)
    rules = policy.get("rules") if policy is not None else None
    for rule in rules if isinstance(rules, list) else ():
        if isinstance(rule, Mapping) and str(rule.get("id", "")).casefold() == "expiration_admin_eligibility":
            found = S.parse_iso_duration(str(rule.get("maximumDuration") or ""))
            if found is not None:
                return found
    return _DEFAULT_ELIGIBILITY


def _remove_eligibility(ctx: Ctx) -> ActionResult:
    state = ctx.state
    actor = ctx.authorize(AdminAction.MANAGE_ROLE_ELIGIBILITY)
    principal, kind = _principal(state, ctx.p("principal"))
    role_id = _role_id(ctx.p("role"))
    found = _eligibilities_of(state, str(principal["id"]).casefold(), role_id)
    if not found:
        raise RangeError(f"{ctx.p('principal')} is not eligible for {role_display_name(role_id)}")
    for item in found:
        state.collections["roleEligibilitySchedules"].remove(item)
    by = rec.by_user(actor, ctx.actor_ip(actor))
    correlation = state.ids.uuid()
    _pim_record(
        ctx,
        "Remove eligible member from role in PIM completed (permanent)",
        role_id,
        principal,
        kind,
        by,
        operation="Delete",
        correlation=correlation,
    )
    _role_records(
        ctx, "Remove eligible member from role", role_id, principal, kind, by, correlation=correlation
    )
    return ActionResult(f"{ctx.p('principal')} is no longer eligible for {role_display_name(role_id)}", {})


def _activate(ctx: Ctx, request: Json, by: Json) -> None:
    """Complete an activation request: the active assignment, its schedule instance and the records."""
    state = ctx.state
    principal = state.user(str(request["principalId"]))
    role_id = str(request["roleDefinitionId"]).casefold()
    start = state.now
    end = start + parse_duration(str(request["scheduleInfo"]["expiration"]["duration"]))
    assignment_id = state.ids.b64id(43)
    state.collections["roleAssignments"].append(
        {
            "id": assignment_id,
            "principalId": principal["id"],
            "roleDefinitionId": role_id,
            "directoryScopeId": "/",
        }
    )
    state.collections["roleAssignmentScheduleInstances"].append(
        {
            "id": assignment_id,
            "principalId": principal["id"],
            "roleDefinitionId": role_id,
            "directoryScopeId": "/",
            "appScopeId": None,
            "startDateTime": iso(start),
            "endDateTime": iso(end),
            "assignmentType": "Activated",
            "memberType": "Direct",
            "roleAssignmentOriginId": assignment_id,
            "roleAssignmentScheduleId": request["id"],
        }
    )
    request["status"] = "Provisioned"
    request["completedDateTime"] = iso(start)
    details = [
        ("Justification", str(request.get("justification") or "")),
        ("StartTime", iso(start)),
        ("ExpirationTime", iso(end)),
    ]
    correlation = str(request.get("correlation") or state.ids.uuid())
    _pim_record(
        ctx,
        "Add member to role completed (PIM activation)",
        role_id,
        principal,
        "user",
        by,
        operation="Add",
        reason=str(request.get("justification") or ""),
        details=details,
        correlation=correlation,
    )
    _role_records(
        ctx,
        "Add member to role",
        role_id,
        principal,
        "user",
        {"user": None, "app": dict(rec.MS_PIM)},
        correlation=correlation,
    )


def _activate_role(ctx: Ctx) -> ActionResult:
    state = ctx.state
    user = state.user(ctx.p("user") or ctx.actor_key or "")
    uid = _uid(user)
    role_id = _role_id(ctx.p("role"))
    if not _eligibilities_of(state, uid, role_id):
        raise ActionDenied(
            f"{user.get('userPrincipalName')} is not eligible for {role_display_name(role_id)}"
        )
    if _assignments_of(state, uid, role_id):
        raise RangeError(f"{user.get('userPrincipalName')} already holds {role_display_name(role_id)} active")
    rules = ctx.tenant.activation_rules.get(role_id)
    maximum = (
        parse_duration(rules.max_duration)
        if rules and rules.max_duration
        else parse_duration(_DEFAULT_ACTIVATION)
    )
    wanted: timedelta = ctx.p("duration") or maximum
    if wanted > maximum:
        raise ActionDenied(
            'The following policy rules failed: ["ExpirationRule"] (the activation duration exceeds '
            f"the maximum of {format_duration(maximum)} for this role)"
        )
    # Without a policy in the tenant the role has Microsoft's default settings: MFA on activation, 8 hours.
    if rules is None or rules.mfa_required:
        token = ctx.p("session")
        candidates = (
            [state.sessions[token]]
            if token and token in state.sessions
            else [s for s in state.sessions.values() if s.user_id == uid]
        )
        if not any(
            s.user_id == uid and s.mfa_at is not None and ses.session_problem(state, s) is None
            for s in candidates
        ):
            raise ActionDenied(
                "Activating this role requires multifactor authentication; the user has no session with MFA"
            )
    justification = ctx.p("justification", "")
    approval, _why = ctx.tenant.activation_approval(role_id)
    request_id = state.ids.uuid()
    request: Json = {
        "id": request_id,
        "action": "selfActivate",
        "principalId": user["id"],
        "roleDefinitionId": role_id,
        "directoryScopeId": "/",
        "justification": justification,
        "createdDateTime": iso(state.now),
        "status": "PendingApproval" if approval else "Granted",
        "scheduleInfo": {
            "startDateTime": iso(state.now),
            "expiration": {"type": "afterDuration", "duration": format_duration(wanted), "endDateTime": None},
        },
        "correlation": state.ids.uuid(),
    }
    by = rec.by_user(user, ctx.p("ip"))
    if approval:
        state.requests[request_id] = request
        _pim_record(
            ctx,
            "Add member to role requested (PIM activation)",
            role_id,
            user,
            "user",
            by,
            operation="Create",
            reason=justification,
            details=[("Justification", justification)],
            correlation=str(request["correlation"]),
        )
        return ActionResult(
            f"Activation of {role_display_name(role_id)} requested by {user.get('userPrincipalName')}: "
            f"pending approval (request {request_id})",
            {"request": request_id, "status": "PendingApproval"},
        )
    _activate(ctx, request, by)
    return ActionResult(
        f"{user.get('userPrincipalName')} activated {role_display_name(role_id)} "
        f"for {format_duration(wanted)}",
        {"request": request_id, "status": "Provisioned"},
    )


def _approver_named(ctx: Ctx, role_id: str, approver_id: str) -> bool | None:
    policy = _role_policy(ctx, role_id, create=False)
    if policy is None:
        return None
    setting = _rule(policy, "Approval_EndUser_Assignment").get("setting") or {}
    named: list[Json] = [
        a for stage in setting.get("approvalStages") or [] for a in stage.get("primaryApprovers") or []
    ]
    if not named:
        return None
    groups = ctx.tenant.groups_of(approver_id)
    for entry in named:
        if str(entry.get("userId", "")).casefold() == approver_id:
            return True
        if str(entry.get("groupId", "")).casefold() in groups:
            return True
    return False


def _approve_activation(ctx: Ctx) -> ActionResult:
    state = ctx.state
    request = state.requests.get(str(ctx.p("request")))
    if request is None:
        raise RangeError(f"no pending activation request {ctx.p('request')}")
    actor = ctx.actor()
    aid = _uid(actor)
    role_id = str(request["roleDefinitionId"]).casefold()
    if aid == str(request["principalId"]).casefold():
        raise ActionDenied("Requestors cannot approve their own activation requests")
    decision = can_perform(
        AdminAction.APPROVE_ROLE_ACTIVATION,
        ctx.roles_of(aid),
        designated_approver=_approver_named(ctx, role_id, aid),
    )
    if not decision.allowed:
        raise ActionDenied(f"Insufficient privileges to complete the operation: {decision.reason}")
    del state.requests[str(request["id"])]
    principal = state.user(str(request["principalId"]))
    _pim_record(
        ctx,
        "Add member to role request approved (PIM activation)",
        role_id,
        principal,
        "user",
        rec.by_user(actor, ctx.actor_ip(actor)),
        operation="Update",
        reason="Approved",
        details=[("Justification", str(request.get("justification") or ""))],
        correlation=str(request.get("correlation") or ""),
    )
    _activate(ctx, request, rec.by_user(principal, None))
    return ActionResult(
        f"Approved: {principal.get('userPrincipalName')} now holds {role_display_name(role_id)}",
        {"request": request["id"], "status": "Provisioned"},
    )


def _expire_activations(state: RangeState) -> None:
    instances: list[Json] = state.collections.get("roleAssignmentScheduleInstances", [])
    expired = []
    for inst in instances:
        if str(inst.get("assignmentType", "")).casefold() != "activated":
            continue
        end = parse_time(inst.get("endDateTime"))
        if end is not None and end <= state.now:
            expired.append((inst, end))
    if not expired:
        return
    for inst, end in expired:
        instances.remove(inst)
        origin = str(inst.get("roleAssignmentOriginId") or inst.get("id") or "").casefold()
        state.collections["roleAssignments"] = [
            a for a in state.collections["roleAssignments"] if str(a.get("id", "")).casefold() != origin
        ]
        principal = state.find_user(str(inst.get("principalId", "")))
        if principal is None:
            continue
        role_id = str(inst.get("roleDefinitionId", "")).casefold()
        pim = {"user": None, "app": dict(rec.MS_PIM)}
        rec.audit(
            state,
            service="PIM",
            category="RoleManagement",
            activity="Remove member from role (PIM activation expired)",
            operation="Delete",
            initiated_by=pim,
            targets=[rec.role_target(role_id), rec.user_target(principal)],
            result_reason="Timebound activation expired",
            at=end,
        )
        rec.audit(
            state,
            service="Core Directory",
            category="RoleManagement",
            activity="Remove member from role",
            operation="Unassign",
            initiated_by=pim,
            targets=[rec.user_target(principal, rec.role_props(role_id)), rec.role_target(role_id)],
            at=end,
        )


# -- policies -----------------------------------------------------------------------------------------------


def _method_targets(ctx: Ctx, keys: list[str], *, include: bool) -> list[Json]:
    out: list[Json] = []
    for key in keys:
        if key.casefold() == "all_users":
            out.append(
                {"targetType": "group", "id": "all_users", "isRegistrationRequired": False}
                if include
                else {"targetType": "group", "id": "all_users"}
            )
            continue
        obj, kind = _principal(ctx.state, key)
        item: Json = {"targetType": kind, "id": obj["id"]}
        if include:
            item["isRegistrationRequired"] = False
        out.append(item)
    return out


def _update_tap_policy(ctx: Ctx) -> ActionResult:
    state = ctx.state
    actor = ctx.authorize(AdminAction.UPDATE_TAP_POLICY)
    policy = state.collections["authenticationMethodsPolicy"]
    configs: list[Json] = policy.setdefault("authenticationMethodConfigurations", [])
    config = next((c for c in configs if str(c.get("id", "")).casefold() == "temporaryaccesspass"), None)
    if config is None:
        config = {
            "@odata.type": NS + "temporaryAccessPassAuthenticationMethodConfiguration",
            "id": "TemporaryAccessPass",
            "state": "disabled",
            "includeTargets": [],
            "excludeTargets": [],
        }
        configs.append(config)
    before = json.loads(json.dumps(config))
    fields = {
        "state": "state",
        "usable_once": "isUsableOnce",
        "default_lifetime": "defaultLifetimeInMinutes",
        "min_lifetime": "minimumLifetimeInMinutes",
        "max_lifetime": "maximumLifetimeInMinutes",
        "length": "defaultLength",
    }
    changed = []
    for param, key in fields.items():
        value = ctx.p(param)
        if value is not None:
            config[key] = value
            changed.append(f"{key}={json.dumps(value)}")
    if ctx.p("include_groups") is not None:
        config["includeTargets"] = _method_targets(ctx, ctx.p("include_groups"), include=True)
        changed.append("includeTargets=" + ",".join(ctx.p("include_groups")))
    if ctx.p("exclude_groups") is not None:
        config["excludeTargets"] = _method_targets(ctx, ctx.p("exclude_groups"), include=False)
        changed.append("excludeTargets=" + ",".join(ctx.p("exclude_groups")))
    if not changed:
        raise InvalidValue(
            "state", "or another change is needed", action=ctx.spec.name, message="nothing to change"
        )
    resolved = TapPolicy.from_graph(config)
    if not resolved.minimum_lifetime <= resolved.default_lifetime <= resolved.maximum_lifetime:
        culprit = next(
            (p for p in ("default_lifetime", "min_lifetime", "max_lifetime") if ctx.p(p) is not None),
            "default_lifetime",
        )
        raise InvalidValue(
            culprit,
            f"leaves the lifetimes out of order: minimum {resolved.minimum_lifetime} <= default "
            f"{resolved.default_lifetime} <= maximum {resolved.maximum_lifetime} minutes must hold",
            action=ctx.spec.name,
        )
    policy["lastModifiedDateTime"] = iso(state.now)
    rec.audit(
        state,
        service="Authentication Methods",
        category="ApplicationManagement",
        activity="Authentication Methods Policy Update",
        operation="Update",
        initiated_by=rec.by_user(actor, ctx.actor_ip(actor)),
        targets=[
            rec.policy_target(
                "TemporaryAccessPass", "Temporary Access Pass", before, config, "TemporaryAccessPass"
            )
        ],
    )
    return ActionResult(
        "Temporary Access Pass policy updated: " + "; ".join(changed), {"configuration": config}
    )


_STRENGTHS = {
    "mfa": MFA_STRENGTH_ID,
    "passwordless": PASSWORDLESS_MFA_STRENGTH_ID,
    "phishing-resistant": PHISHING_RESISTANT_MFA_STRENGTH_ID,
}


def _grant(ctx: Ctx) -> Json:
    strength = ctx.p("strength")
    if strength:
        sid = _STRENGTHS.get(str(strength).casefold(), str(strength))
        return {
            "operator": "OR",
            "builtInControls": [],
            "customAuthenticationFactors": [],
            "termsOfUse": [],
            "authenticationStrength": {"id": sid},
        }
    return {
        "operator": "OR",
        "builtInControls": ["mfa"],
        "customAuthenticationFactors": [],
        "termsOfUse": [],
        "authenticationStrength": None,
    }


def _template(ctx: Ctx, name: str) -> Json:
    exclude_users = [ctx.state.user(u)["id"] for u in ctx.p("exclude_users") or []]
    exclude_groups = [_group(ctx.state, g)["id"] for g in ctx.p("exclude_groups") or []]
    users = {
        "includeUsers": ["All"],
        "excludeUsers": exclude_users,
        "includeGroups": [],
        "excludeGroups": exclude_groups,
        "includeRoles": [],
        "excludeRoles": [],
        "includeGuestsOrExternalUsers": None,
        "excludeGuestsOrExternalUsers": None,
    }
    if name == "registration-gate":
        applications = {
            "includeApplications": [],
            "excludeApplications": [],
            "includeUserActions": [ses.REGISTER_SECURITY_INFO],
            "includeAuthenticationContextClassReferences": [],
        }
        title = "Require MFA to register security info"
    else:
        applications = {
            "includeApplications": ["All"],
            "excludeApplications": [],
            "includeUserActions": [],
            "includeAuthenticationContextClassReferences": [],
        }
        title = "Require MFA for all users"
    return {
        "displayName": ctx.p("name") or title,
        "conditions": {
            "clientAppTypes": ["all"],
            "signInRiskLevels": [],
            "userRiskLevels": [],
            "servicePrincipalRiskLevels": [],
            "applications": applications,
            "users": users,
            "locations": None,
            "platforms": None,
            "devices": None,
            "clientApplications": None,
            "authenticationFlows": None,
        },
        "grantControls": _grant(ctx),
        "sessionControls": None,
    }


def _ca_record(ctx: Ctx, actor: Json, activity: str, policy: Json, before: Json | None) -> None:
    rec.audit(
        ctx.state,
        service="Conditional Access",
        category="Policy",
        activity=activity,
        operation="Add" if before is None else "Update",
        initiated_by=rec.by_user(actor, ctx.actor_ip(actor)),
        targets=[
            rec.policy_target(
                str(policy["id"]), policy.get("displayName"), before, policy, "ConditionalAccessPolicy"
            )
        ],
    )


_CA_STATES = ("enabled", "disabled", "enabledForReportingButNotEnforced")


def _create_ca_policy(ctx: Ctx) -> ActionResult:
    state = ctx.state
    actor = ctx.authorize(AdminAction.CREATE_CA_POLICY)
    if ctx.p("policy") is not None:
        body = dict(ctx.p("policy"))
        if not isinstance(body.get("conditions"), Mapping) or not body.get("displayName"):
            raise RangeError("create-ca-policy: a policy needs displayName and conditions")
    elif ctx.p("template") is not None:
        body = _template(ctx, ctx.p("template"))
    else:
        raise InvalidValue(
            "policy",
            "or template is needed",
            action=ctx.spec.name,
            message="needs template=registration-gate|require-mfa-all or policy=JSON",
        )
    policy: Json = {
        "id": state.ids.uuid(),
        "templateId": None,
        "createdDateTime": iso(state.now),
        "modifiedDateTime": None,
        **{k: v for k, v in body.items() if k not in ("id", "createdDateTime", "modifiedDateTime")},
    }
    policy["state"] = ctx.p("state") or body.get("state") or "enabled"
    if policy["state"] not in _CA_STATES:
        raise RangeError(f"state must be one of {', '.join(_CA_STATES)}")
    state.collections["conditionalAccessPolicies"].append(policy)
    ctx.changed()
    _ca_record(ctx, actor, "Add conditional access policy", policy, None)
    return ActionResult(
        f"Created Conditional Access policy {policy['displayName']!r} ({policy['state']})",
        {"id": policy["id"], "policy": policy},
    )


def _update_ca_policy(ctx: Ctx) -> ActionResult:
    state = ctx.state
    actor = ctx.authorize(AdminAction.UPDATE_CA_POLICY)
    wanted = str(ctx.p("policy")).casefold()
    policy = next(
        (
            p
            for p in state.collections["conditionalAccessPolicies"]
            if wanted in (str(p.get("id", "")).casefold(), str(p.get("displayName", "")).casefold())
        ),
        None,
    )
    if policy is None:
        raise RangeError(f"unknown Conditional Access policy: {ctx.p('policy')}")
    before = json.loads(json.dumps(policy))
    changes = []
    if ctx.p("state") is not None:
        policy["state"] = ctx.p("state")
        changes.append(f"state={ctx.p('state')}")
    if ctx.p("strength") is not None:
        policy["grantControls"] = _grant(ctx)
        changes.append(f"strength={ctx.p('strength')}")
    for key in ("exclude_users", "exclude_groups"):
        if ctx.p(key) is not None:
            users = policy.setdefault("conditions", {}).setdefault("users", {})
            if key == "exclude_users":
                users["excludeUsers"] = [state.user(u)["id"] for u in ctx.p(key)]
            else:
                users["excludeGroups"] = [_group(state, g)["id"] for g in ctx.p(key)]
            changes.append(f"{key}={','.join(ctx.p(key))}")
    if ctx.p("patch") is not None:
        for key, value in ctx.p("patch").items():
            if key not in ("id", "createdDateTime"):
                policy[key] = value
        changes.append("patched " + ", ".join(sorted(ctx.p("patch"))))
    if not changes:
        raise InvalidValue(
            "patch", "or another change is needed", action=ctx.spec.name, message="nothing to change"
        )
    policy["modifiedDateTime"] = iso(state.now)
    ctx.changed()
    _ca_record(ctx, actor, "Update conditional access policy", policy, before)
    return ActionResult(
        f"Updated Conditional Access policy {policy.get('displayName')!r}: {'; '.join(changes)}",
        {"id": policy["id"]},
    )


# -- the clock ----------------------------------------------------------------------------------------------


def _advance_clock(ctx: Ctx) -> ActionResult:
    clock = ctx.state.clock
    if ctx.p("to") is not None:
        target: datetime = ctx.p("to")
        if target < clock.now:
            raise InvalidValue(
                "to", f"cannot move the clock back from {clock.iso()} to {iso(target)}", action=ctx.spec.name
            )
        clock.advance_to(target)
    elif ctx.p("minutes") is not None:
        minutes = float(ctx.p("minutes"))
        if clock.now + timedelta(minutes=minutes) > S.LATEST:
            raise InvalidValue(
                "minutes",
                f"would move the clock past {S.LATEST:%Y-%m-%d}, the last day a range can hold",
                action=ctx.spec.name,
            )
        clock.advance(minutes)
    else:
        raise InvalidValue(
            "minutes", "or to is needed", action=ctx.spec.name, message="needs minutes=N or to=TIME"
        )
    return ActionResult(f"The clock is now {clock.iso()}", {"now": clock.iso()})


# -- the registry -------------------------------------------------------------------------------------------

_IP = Param(
    "ip",
    help="the actor's IP address for the audit record (default: their latest session's)",
    spec=W.IP_ADDRESS,
)
_USER = Param("user", required=True, help="the target user (UPN or object id)", spec=W.KEY)
_ROLE = Param("role", required=True, help="role display name or template id", spec=W.KEY)
_HOLDER = Param("holder", help="who is acting (attacker, victim, a UPN); decides which secrets are at hand")
_PRINCIPAL = Param(
    "principal", required=True, help="a user (UPN or id) or a role-assignable group", spec=W.KEY
)
_GROUP = Param("group", required=True, help="group id or display name", spec=W.KEY)
_MEMBER = Param("member", required=True, help="the user (UPN or id) or group to add or remove", spec=W.KEY)
_JUSTIFICATION = Param("justification", help="why (written to the PIM record)", spec=W.JUSTIFICATION)
_NEW_PASSWORD = Param(
    "password", help="the new password (default: generated); Entra's password policy applies", spec=W.PASSWORD
)
_SOURCE_IP = Param("ip", help="source IP", spec=W.IP_ADDRESS)
_EXCLUDE_USERS = Param("exclude_users", "list", help="users left out of the policy (comma list)")
_EXCLUDE_GROUPS = Param("exclude_groups", "list", help="groups left out of the policy (comma list)")

ACTIONS: Mapping[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            "sign-in",
            _sign_in,
            (
                Param("user", required=True, help="the account signing in", spec=W.KEY),
                Param("method", required=True, help="how", choices=ses.METHODS),
                _HOLDER,
                Param("as_holder", help="same as holder"),
                Param("ip", help="source IP address", spec=W.IP_ADDRESS),
                Param("country", help="two-letter country or region code", spec=W.COUNTRY),
                Param("city", help="city, for the sign-in record"),
                Param("app", help="my-signins (default), office, azure-portal, teams, or an app id"),
                Param(
                    "password",
                    help="a password typed in (default: the holder must know it)",
                    spec=W.PASSWORD_ATTEMPT,
                ),
                Param("code", help="a Temporary Access Pass typed in (default: the holder must know it)"),
                Param("token", help="refresh token / session id, for method=refresh-token"),
            ),
            "Sign in (or redeem a refresh token); Conditional Access applies; writes a sign-in record",
            actor="none",
        ),
        ActionSpec(
            "issue-tap",
            _issue_tap,
            (
                _USER,
                Param(
                    "lifetime_minutes",
                    "int",
                    help="10-43200, within the policy (default: policy default)",
                    spec=W.TAP_LIFETIME,
                ),
                Param("usable_once", "bool", help="one-time pass (multi-use only if the policy allows)"),
                Param("start", "time", help="start time (ISO 8601 or +MINUTES; default now)"),
                _IP,
            ),
            "Create a Temporary Access Pass for a user (replaces any existing pass); returns the code",
        ),
        ActionSpec("delete-tap", _delete_tap, (_USER, _IP), "Delete a user's Temporary Access Pass"),
        ActionSpec(
            "register-method",
            _register_method,
            (
                Param("session", help="the session the user registers in (default: the actor's latest)"),
                Param("kind", required=True, help="what to register", choices=tuple(_KINDS)),
                Param("device_name", help="display name of the phone or passkey", spec=W.DEVICE_NAME),
                Param("phone_number", help="for kind=phone: '+CC NUMBER'", spec=S.text(32)),
                Param("phone_type", help="for kind=phone", choices=tuple(PHONE_IDS)),
                Param("passkey_type", help="for kind=passkey", choices=("deviceBound", "synced")),
                Param("aaguid", help="for kind=passkey: the authenticator's AAGUID"),
                Param("model", help="for kind=passkey: the authenticator model"),
                _HOLDER,
                Param("ip", help="source IP (default: the session's)", spec=W.IP_ADDRESS),
                Param("country", help="country (default: the session's)", spec=W.COUNTRY),
            ),
            "Register security info inside a session (the registration user action and Entra's rules apply)",
            actor="optional",
        ),
        ActionSpec(
            "delete-method",
            _delete_method,
            (_USER, Param("method", required=True, help="the method id", spec=W.KEY), _IP),
            "Delete one of a user's authentication methods",
        ),
        ActionSpec(
            "revoke-sessions", _revoke_sessions, (_USER, _IP), "Revoke all of a user's sign-in sessions"
        ),
        ActionSpec(
            "reset-password",
            _reset_password,
            (_USER, _NEW_PASSWORD, _IP),
            "Reset a user's password as an administrator",
        ),
        ActionSpec(
            "self-service-reset",
            _self_service_reset,
            (
                _USER,
                _HOLDER,
                _NEW_PASSWORD,
                _SOURCE_IP,
            ),
            "The user resets their own password (SSPR), verifying with a method the holder has",
            actor="optional",
        ),
        ActionSpec(
            "change-password",
            _change_password,
            (
                _USER,
                _HOLDER,
                Param("current_password", help="default: the holder must know it", spec=W.PASSWORD_ATTEMPT),
                _NEW_PASSWORD,
                _SOURCE_IP,
            ),
            "The user changes their own password",
            actor="optional",
        ),
        ActionSpec("disable-user", lambda ctx: _set_enabled(ctx, False), (_USER, _IP), "Disable an account"),
        ActionSpec("enable-user", lambda ctx: _set_enabled(ctx, True), (_USER, _IP), "Enable an account"),
        ActionSpec(
            "add-group-member",
            lambda ctx: _group_member(ctx, True),
            (_GROUP, _MEMBER, _IP),
            "Add a user or group to a group",
        ),
        ActionSpec(
            "remove-group-member",
            lambda ctx: _group_member(ctx, False),
            (_GROUP, _MEMBER, _IP),
            "Remove a member from a group",
        ),
        ActionSpec(
            "assign-role",
            _assign_role,
            (_PRINCIPAL, _ROLE, Param("scope", help="default /"), _IP),
            "Assign a directory role (active, permanent)",
        ),
        ActionSpec(
            "remove-role",
            _remove_role,
            (_PRINCIPAL, _ROLE, _IP),
            "Remove an active role assignment",
        ),
        ActionSpec(
            "add-eligibility",
            _add_eligibility,
            (
                _PRINCIPAL,
                _ROLE,
                Param("approval", "bool", help="also require approval to activate the role"),
                Param(
                    "duration",
                    "duration",
                    help="eligibility length, e.g. P365D (default: permanent)",
                    spec=W.ELIGIBILITY,
                ),
                _JUSTIFICATION,
                _IP,
            ),
            "Make a principal eligible for a role in PIM",
        ),
        ActionSpec(
            "remove-eligibility",
            _remove_eligibility,
            (_PRINCIPAL, _ROLE, _IP),
            "Remove a PIM eligibility",
        ),
        ActionSpec(
            "activate-role",
            _activate_role,
            (
                Param("user", help="the eligible user (default: the actor)"),
                _ROLE,
                _JUSTIFICATION,
                Param(
                    "duration", "duration", help="e.g. PT4H (default: the policy maximum)", spec=W.ACTIVATION
                ),
                Param("session", help="a session with MFA, when the policy requires it"),
                Param("ip", help="source IP for the PIM record", spec=W.IP_ADDRESS),
            ),
            "Activate an eligible role (pending when the PIM policy requires approval)",
            actor="optional",
        ),
        ActionSpec(
            "approve-activation",
            _approve_activation,
            (Param("request", required=True, help="the request id", spec=W.KEY), _IP),
            "Approve a pending PIM activation request",
        ),
        ActionSpec(
            "update-role-policy",
            _update_role_policy,
            (
                _ROLE,
                Param("approval_required", "bool", help="activation needs an approver"),
                Param("mfa_required", "bool", help="activation needs multifactor authentication"),
                Param("max_duration", "duration", help="maximum activation, e.g. PT4H", spec=W.ACTIVATION),
                Param("approvers", "list", help="users or groups who approve (comma list)"),
                _IP,
            ),
            "Change a role's PIM activation settings",
        ),
        ActionSpec(
            "update-tap-policy",
            _update_tap_policy,
            (
                Param("state", help="turn the method on or off", choices=("enabled", "disabled")),
                Param("usable_once", "bool", help="every pass is one-time"),
                Param("default_lifetime", "int", help="minutes, 10-43200", spec=W.TAP_LIFETIME),
                Param("min_lifetime", "int", help="minutes, 10-43200", spec=W.TAP_LIFETIME),
                Param("max_lifetime", "int", help="minutes, 10-43200", spec=W.TAP_LIFETIME),
                Param("length", "int", help="pass length, 8-48", spec=W.TAP_LENGTH),
                Param("include_groups", "list", help="groups (or all_users) who may use a pass"),
                Param("exclude_groups", "list", help="groups excluded"),
                _IP,
            ),
            "Change the Temporary Access Pass policy",
        ),
        ActionSpec(
            "create-ca-policy",
            _create_ca_policy,
            (
                Param(
                    "template",
                    help="a ready policy: MFA to register security info, or MFA for all apps",
                    choices=("registration-gate", "require-mfa-all"),
                ),
                Param(
                    "policy",
                    "json",
                    help="a full conditionalAccessPolicy object instead of a template",
                    spec=W.CA_POLICY,
                ),
                Param("name", help="display name", spec=W.DISPLAY_NAME),
                Param("state", help="default enabled", choices=_CA_STATES),
                Param("strength", help="mfa, passwordless, phishing-resistant or a strength id"),
                _EXCLUDE_USERS,
                _EXCLUDE_GROUPS,
                _IP,
            ),
            "Create a Conditional Access policy",
        ),
        ActionSpec(
            "update-ca-policy",
            _update_ca_policy,
            (
                Param("policy", required=True, help="id or display name", spec=W.KEY),
                Param("state", help="default enabled", choices=_CA_STATES),
                Param("strength", help="mfa, passwordless, phishing-resistant or a strength id"),
                _EXCLUDE_USERS,
                _EXCLUDE_GROUPS,
                Param("patch", "json", help="top-level properties to replace", spec=W.CA_POLICY_PATCH),
                _IP,
            ),
            "Change a Conditional Access policy",
        ),
        ActionSpec(
            "advance-clock",
            _advance_clock,
            (
                Param("minutes", "float", help="minutes to move forward", spec=W.CLOCK_MINUTES),
                Param("to", "time", help="move to this time"),
            ),
            "Move the simulated clock forward",
            actor="none",
        ),
    )
}
"""Public actions by name (kebab case)."""
