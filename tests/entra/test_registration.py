"""Entra's built-in security-info registration rules, each rule and each window edge, written independently.

Sources: MicrosoftDocs/entra-docs docs/identity/authentication/concept-registration-mfa-sspr-combined.md
(MFA before security info when an MFA-capable method exists; hardware tokens and passwords not registrable),
how-to-enable-passkey-fido2.md (passkey needs MFA within the past five minutes),
howto-authentication-temporary-access-pass.md (TAP sign-in registers without extra prompts; one-time pass:
passwordless registration within 10 minutes of sign-in); concept-registration-mfa-sspr-combined.md at
ms.date 2024-10-01, "Session controls for Combined Registration" (registration sessions last 15 minutes; MFA
completed in a valid session carries over).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from graphlattice.entra import MethodKind
from graphlattice.entra.registration import (
    ONE_TIME_TAP_REGISTRATION_MINUTES,
    PASSKEY_RECENT_MFA_MINUTES,
    SECURITY_INFO_SESSION_MINUTES,
    RegistrationContext,
    may_register,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TINY = timedelta(microseconds=1)


def ctx(
    kind: MethodKind,
    *,
    has_mfa: bool = True,
    mfa_ago: timedelta | None = timedelta(minutes=1),
    tap: bool = False,
    one_time: bool = False,
    started_ago: timedelta | None = None,
    interrupt: bool = False,
) -> RegistrationContext:
    return RegistrationContext(
        user_has_mfa_capable_method=has_mfa,
        session_mfa_at=None if mfa_ago is None else NOW - mfa_ago,
        now=NOW,
        method_kind=kind,
        session_used_tap=tap,
        tap_one_time=one_time,
        session_started_at=None if started_ago is None else NOW - started_ago,
        interrupt_mode=interrupt,
    )


def test_documented_windows() -> None:
    assert PASSKEY_RECENT_MFA_MINUTES == 5
    assert ONE_TIME_TAP_REGISTRATION_MINUTES == 10
    assert SECURITY_INFO_SESSION_MINUTES == 15


# --- rule: kinds a user cannot add in Security info ---


@pytest.mark.parametrize(
    "kind",
    [MethodKind.PASSWORD, MethodKind.HARDWARE_OATH, MethodKind.TEMPORARY_ACCESS_PASS, MethodKind.UNKNOWN],
)
def test_not_self_registrable(kind: MethodKind) -> None:
    decision = may_register(ctx(kind))
    assert decision.allowed is False and decision.via_role is None
    assert "cannot add" in decision.reason


# --- rule: MFA before security info when the user already has an MFA-capable method ---

ORDINARY = [
    MethodKind.MICROSOFT_AUTHENTICATOR_PUSH,
    MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS,
    MethodKind.PHONE_MOBILE,
    MethodKind.PHONE_VOICE,
    MethodKind.SOFTWARE_OATH,
    MethodKind.EMAIL,
    MethodKind.SECURITY_QUESTION,
    MethodKind.WINDOWS_HELLO_FOR_BUSINESS,
]


@pytest.mark.parametrize("kind", ORDINARY)
def test_existing_mfa_method_requires_mfa(kind: MethodKind) -> None:
    denied = may_register(ctx(kind, has_mfa=True, mfa_ago=None))
    assert denied.allowed is False
    assert "multifactor authentication before adding or changing security info" in denied.reason
    assert may_register(ctx(kind, has_mfa=True, mfa_ago=timedelta(hours=6))).allowed is True


@pytest.mark.parametrize("kind", ORDINARY)
def test_no_mfa_method_needs_no_mfa(kind: MethodKind) -> None:
    decision = may_register(ctx(kind, has_mfa=False, mfa_ago=None))
    assert decision.allowed is True
    assert "none is required" in decision.reason


@pytest.mark.parametrize("kind", ORDINARY)
def test_tap_sign_in_counts_as_mfa(kind: MethodKind) -> None:
    decision = may_register(ctx(kind, has_mfa=True, mfa_ago=None, tap=True, started_ago=timedelta(minutes=2)))
    assert decision.allowed is True
    assert "Temporary Access Pass" in decision.reason


def test_tap_without_any_time_still_satisfies_the_mfa_rule() -> None:
    assert may_register(ctx(MethodKind.PHONE_MOBILE, mfa_ago=None, tap=True)).allowed is True


# --- rule: passkey needs MFA within the past five minutes ---


@pytest.mark.parametrize("has_mfa", [True, False])
def test_passkey_window_edges(has_mfa: bool) -> None:
    five = timedelta(minutes=5)
    assert may_register(ctx(MethodKind.FIDO2, has_mfa=has_mfa, mfa_ago=timedelta(0))).allowed is True
    assert may_register(ctx(MethodKind.FIDO2, has_mfa=has_mfa, mfa_ago=five)).allowed is True
    late = may_register(ctx(MethodKind.FIDO2, has_mfa=has_mfa, mfa_ago=five + TINY))
    assert late.allowed is False
    assert "within the past 5 minutes" in late.reason and "5 minutes ago" in late.reason


@pytest.mark.parametrize("has_mfa", [True, False])
def test_passkey_without_mfa_is_refused_even_for_a_user_without_mfa_methods(has_mfa: bool) -> None:
    decision = may_register(ctx(MethodKind.FIDO2, has_mfa=has_mfa, mfa_ago=None))
    assert decision.allowed is False
    # A user with MFA methods is stopped by the earlier rule; one without by the passkey rule.
    expected = "before adding or changing security info" if has_mfa else "has not completed it"
    assert expected in decision.reason


def test_passkey_after_tap_sign_in_uses_the_sign_in_time() -> None:
    kind = MethodKind.FIDO2
    at_edge = ctx(kind, mfa_ago=None, tap=True, started_ago=timedelta(minutes=5))
    assert may_register(at_edge).allowed is True
    past = ctx(kind, mfa_ago=None, tap=True, started_ago=timedelta(minutes=5) + TINY)
    assert may_register(past).allowed is False
    unknown = may_register(ctx(kind, mfa_ago=None, tap=True))
    assert unknown.allowed is False and "time is unknown" in unknown.reason


def test_passkey_window_follows_the_latest_mfa_not_the_sign_in() -> None:
    # Signed in with a TAP an hour ago (multi-use), re-did MFA two minutes ago.
    decision = may_register(
        ctx(MethodKind.FIDO2, mfa_ago=timedelta(minutes=2), tap=True, started_ago=timedelta(hours=1))
    )
    assert decision.allowed is True


@pytest.mark.parametrize("kind", ORDINARY)
def test_other_kinds_have_no_recent_mfa_window(kind: MethodKind) -> None:
    assert may_register(ctx(kind, mfa_ago=timedelta(days=3))).allowed is True


# --- rule: one-time TAP, passwordless registration within 10 minutes of sign-in ---

PASSWORDLESS = [
    MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS,
    MethodKind.WINDOWS_HELLO_FOR_BUSINESS,
    MethodKind.PLATFORM_CREDENTIAL,
]


@pytest.mark.parametrize("kind", PASSWORDLESS)
def test_one_time_tap_window_edges(kind: MethodKind) -> None:
    ten = timedelta(minutes=10)
    ok = ctx(kind, mfa_ago=None, tap=True, one_time=True, started_ago=ten)
    assert may_register(ok).allowed is True
    late = may_register(ctx(kind, mfa_ago=None, tap=True, one_time=True, started_ago=ten + TINY))
    assert late.allowed is False
    assert "within 10 minutes" in late.reason and "one-time" in late.reason


@pytest.mark.parametrize("kind", PASSWORDLESS)
def test_multi_use_tap_has_no_registration_window(kind: MethodKind) -> None:
    decision = may_register(ctx(kind, mfa_ago=None, tap=True, one_time=False, started_ago=timedelta(hours=5)))
    assert decision.allowed is True


@pytest.mark.parametrize(
    "kind", [MethodKind.MICROSOFT_AUTHENTICATOR_PUSH, MethodKind.PHONE_MOBILE, MethodKind.SOFTWARE_OATH]
)
def test_one_time_tap_window_spares_methods_that_are_not_passwordless(kind: MethodKind) -> None:
    decision = may_register(
        ctx(kind, mfa_ago=None, tap=True, one_time=True, started_ago=timedelta(minutes=30))
    )
    assert decision.allowed is True


def test_one_time_tap_passkey_meets_both_windows() -> None:
    # The passkey's five minutes are the tighter limit after a one-time TAP sign-in.
    six = ctx(MethodKind.FIDO2, mfa_ago=None, tap=True, one_time=True, started_ago=timedelta(minutes=6))
    assert "within the past 5 minutes" in may_register(six).reason
    four = ctx(MethodKind.FIDO2, mfa_ago=None, tap=True, one_time=True, started_ago=timedelta(minutes=4))
    assert may_register(four).allowed is True
    # Fresh MFA after the sign-in satisfies the passkey rule but not the one-time pass window.
    redo = ctx(
        MethodKind.FIDO2,
        mfa_ago=timedelta(minutes=1),
        tap=True,
        one_time=True,
        started_ago=timedelta(minutes=11),
    )
    assert "one-time" in may_register(redo).reason


def test_one_time_tap_without_sign_in_time_is_refused_for_passwordless() -> None:
    decision = may_register(
        RegistrationContext(
            user_has_mfa_capable_method=False,
            session_mfa_at=None,
            now=NOW,
            method_kind=MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS,
            session_used_tap=True,
            tap_one_time=True,
        )
    )
    assert decision.allowed is False and "unknown" in decision.reason


def test_minimal_positional_construction_matches_the_range_contract() -> None:
    decision = may_register(
        RegistrationContext(
            True, NOW - timedelta(minutes=3), NOW, MethodKind.MICROSOFT_AUTHENTICATOR_PUSH, False
        )
    )
    assert decision.allowed is True and decision.via_role is None


# --- rule: a combined registration session lasts 15 minutes ---


@pytest.mark.parametrize("kind", ORDINARY)
def test_the_sign_in_interrupt_registers_within_fifteen_minutes(kind: MethodKind) -> None:
    fifteen = timedelta(minutes=15)
    edge = ctx(kind, has_mfa=False, mfa_ago=None, started_ago=fifteen, interrupt=True)
    assert may_register(edge).allowed is True
    late = may_register(ctx(kind, has_mfa=False, mfa_ago=None, started_ago=fifteen + TINY, interrupt=True))
    assert late.allowed is False
    assert (
        "last 15 minutes" in late.reason
        and "sign in again" in late.reason
        and "15 minutes have" in late.reason
    )
    unknown = may_register(ctx(kind, has_mfa=False, mfa_ago=None, interrupt=True))
    assert unknown.allowed is False and "unknown" in unknown.reason


@pytest.mark.parametrize("kind", ORDINARY)
def test_a_live_session_opens_a_new_registration_session_each_visit(kind: MethodKind) -> None:
    # Manage mode through a session that signed in hours ago: MFA completed then carries over.
    hours = ctx(kind, has_mfa=True, mfa_ago=timedelta(hours=6), started_ago=timedelta(hours=6))
    assert may_register(hours).allowed is True
    no_method = ctx(kind, has_mfa=False, mfa_ago=None, started_ago=timedelta(hours=6))
    assert may_register(no_method).allowed is True
