"""Entra's built-in rules for a user registering security info on their own account.

These rules hold with or without Conditional Access, which :mod:`graphlattice.entra.ca` evaluates separately
for the ``urn:user:registersecurityinfo`` user action. The rules and their sources are in
``data/registration_rules.yaml``; the one-time Temporary Access Pass window comes from
``data/tap_policy.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from graphlattice.entra._data import load_table, require_list, require_mapping, require_str
from graphlattice.entra.authority import Decision
from graphlattice.entra.methods import MethodKind
from graphlattice.errors import EntraRuleError

__all__ = [
    "ONE_TIME_TAP_REGISTRATION_MINUTES",
    "PASSKEY_RECENT_MFA_MINUTES",
    "SECURITY_INFO_SESSION_MINUTES",
    "RegistrationContext",
    "may_register",
]


@dataclass(slots=True, frozen=True)
class RegistrationContext:
    """One attempt by a signed-in user to add a method of ``method_kind`` to their own account.

    ``session_mfa_at`` is when the session last completed multifactor authentication (``None``: never).
    A session that signed in with a Temporary Access Pass (``session_used_tap``) counts as having completed
    MFA at sign-in; ``session_started_at`` is that sign-in time, used when ``session_mfa_at`` is not given
    and for the one-time pass window (``tap_one_time``). ``interrupt_mode``: the session is the registration
    interrupt of a sign-in that needed MFA from a user without a method (it may only register); it is itself
    a combined registration session and registers only within that session's lifetime of its sign-in.
    """

    user_has_mfa_capable_method: bool
    session_mfa_at: datetime | None
    now: datetime
    method_kind: MethodKind
    session_used_tap: bool
    tap_one_time: bool = False
    session_started_at: datetime | None = None
    interrupt_mode: bool = False


@dataclass(slots=True, frozen=True)
class _Rules:
    not_self_registrable: frozenset[MethodKind]
    recent_mfa: Mapping[MethodKind, int]
    passwordless: frozenset[MethodKind]
    tap_satisfies_mfa: bool
    one_time_tap_minutes: int
    security_info_minutes: int
    names: Mapping[MethodKind, str]


def _kinds(raw: object, where: str) -> frozenset[MethodKind]:
    return frozenset(MethodKind(require_str(k, where)) for k in require_list(raw, where))


def _load() -> _Rules:
    table = load_table("registration_rules")
    recent = {
        MethodKind(require_str(k, "registration_rules.recent_mfa_minutes")): int(v)
        for k, v in require_mapping(
            table["recent_mfa_minutes"], "registration_rules.recent_mfa_minutes"
        ).items()
    }
    names = {
        MethodKind(require_str(k, "registration_rules.display_names")): require_str(v, f"display_names.{k}")
        for k, v in require_mapping(table["display_names"], "registration_rules.display_names").items()
    }
    if set(names) != set(MethodKind):
        raise EntraRuleError("registration_rules.display_names must name every MethodKind")
    window = load_table("tap_policy")["one_time_registration_window_minutes"]
    visit = table["security_info_session_minutes"]
    if (
        not isinstance(window, int)
        or not isinstance(visit, int)
        or any(m <= 0 for m in [window, visit, *recent.values()])
    ):
        raise EntraRuleError("registration windows must be positive whole minutes")
    return _Rules(
        not_self_registrable=_kinds(table["not_self_registrable"], "registration_rules.not_self_registrable"),
        recent_mfa=MappingProxyType(recent),
        passwordless=_kinds(table["passwordless_kinds"], "registration_rules.passwordless_kinds"),
        tap_satisfies_mfa=bool(table["tap_satisfies_mfa"]),
        one_time_tap_minutes=window,
        security_info_minutes=visit,
        names=MappingProxyType(names),
    )


_RULES = _load()

PASSKEY_RECENT_MFA_MINUTES: int = _RULES.recent_mfa[MethodKind.FIDO2]
"""A passkey (FIDO2) may be registered only within this many minutes of completing MFA (inclusive)."""

ONE_TIME_TAP_REGISTRATION_MINUTES: int = _RULES.one_time_tap_minutes
"""After a one-time TAP sign-in, a passwordless method must be registered within this many minutes
(inclusive)."""

SECURITY_INFO_SESSION_MINUTES: int = _RULES.security_info_minutes
"""A combined registration session lasts this many minutes (inclusive); a sign-in's registration interrupt
registers only within them."""


def _effective_mfa_at(ctx: RegistrationContext) -> datetime | None:
    if ctx.session_mfa_at is not None:
        return ctx.session_mfa_at
    if ctx.session_used_tap and _RULES.tap_satisfies_mfa:
        return ctx.session_started_at
    return None


def _minutes(delta: timedelta) -> str:
    whole = int(delta.total_seconds() // 60)
    return "1 minute" if whole == 1 else f"{whole} minutes"


def may_register(ctx: RegistrationContext) -> Decision:
    """Whether Entra's built-in rules let this session register ``ctx.method_kind`` (``via_role`` is None)."""
    what = _RULES.names[ctx.method_kind]
    if ctx.method_kind in _RULES.not_self_registrable:
        return Decision(False, None, f"Users cannot add {what} themselves in Security info")

    if ctx.interrupt_mode:
        limit = _RULES.security_info_minutes
        rule = (
            f"Security info sessions last {limit} minutes: the registration this sign-in was interrupted for "
            "has to be done within them, and then the user must sign in again"
        )
        if ctx.session_started_at is None:
            return Decision(False, None, f"{rule}; the sign-in time is unknown")
        elapsed = ctx.now - ctx.session_started_at
        if elapsed > timedelta(minutes=limit):
            return Decision(False, None, f"{rule}; {_minutes(elapsed)} have passed")

    mfa_at = _effective_mfa_at(ctx)
    mfa_done = mfa_at is not None or (ctx.session_used_tap and _RULES.tap_satisfies_mfa)
    if ctx.user_has_mfa_capable_method and not mfa_done:
        return Decision(
            False,
            None,
            "The user already has a method that can be used for multifactor authentication, so the session "
            "must complete multifactor authentication before adding or changing security info",
        )

    window = _RULES.recent_mfa.get(ctx.method_kind)
    if window is not None:
        if mfa_at is None:
            state = "its time is unknown" if mfa_done else "this session has not completed it"
            return Decision(
                False,
                None,
                f"Registering {what} requires multifactor authentication within the past {window} minutes; "
                + state,
            )
        elapsed = ctx.now - mfa_at
        if elapsed > timedelta(minutes=window):
            return Decision(
                False,
                None,
                f"Registering {what} requires multifactor authentication within the past {window} minutes; "
                f"the last was {_minutes(elapsed)} ago",
            )

    if ctx.session_used_tap and ctx.tap_one_time and ctx.method_kind in _RULES.passwordless:
        limit = _RULES.one_time_tap_minutes
        rule = (
            f"A passwordless method must be registered within {limit} minutes of signing in with a one-time "
            "Temporary Access Pass"
        )
        started = ctx.session_started_at if ctx.session_started_at is not None else ctx.session_mfa_at
        if started is None:
            return Decision(
                False,
                None,
                f"{rule}; the sign-in time is unknown",
            )
        elapsed = ctx.now - started
        if elapsed > timedelta(minutes=limit):
            return Decision(
                False,
                None,
                f"{rule}; {_minutes(elapsed)} have passed",
            )

    if ctx.session_used_tap:
        basis = "the Temporary Access Pass sign-in satisfies multifactor authentication"
    elif mfa_at is not None:
        basis = "the session completed multifactor authentication"
    else:
        basis = (
            "the user has no method that can be used for multifactor authentication yet, so none is required"
        )
    return Decision(True, None, f"The user may add {what}: {basis}")
