"""Every cell of Microsoft's refresh-token revocation table, written independently of the YAML table.

Source: MicrosoftDocs/entra-docs docs/identity-platform/refresh-tokens.md ("Token revocation"); the meaning of
non-password-based from MicrosoftDocs/azure-docs articles/active-directory/develop/access-tokens.md; the TAP
token lifetime from docs/identity/authentication/howto-authentication-temporary-access-pass.md ("Expiration").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from graphlattice.entra.tokens import (
    CredentialEvent,
    TokenKind,
    is_password_based,
    revokes,
    survives,
    tap_tokens_alive,
    token_expiry_with_tap,
    valid_after_revocation,
)

R, A = True, False  # Revoked, stays Alive

# Columns in Microsoft's order: password cookie, password token, non-password cookie, non-password token,
# confidential client token.
TABLE = {
    CredentialEvent.PASSWORD_EXPIRED: (A, A, A, A, A),
    CredentialEvent.PASSWORD_CHANGED_BY_USER: (R, R, A, A, A),
    CredentialEvent.PASSWORD_RESET_SELF_SERVICE: (R, R, A, A, A),
    CredentialEvent.PASSWORD_RESET_BY_ADMIN: (R, R, A, R, R),
    CredentialEvent.PASSWORD_RESET_BY_ADMIN_AZURE_PORTAL: (R, R, A, A, A),
    CredentialEvent.SESSIONS_REVOKED: (R, R, R, R, R),
    CredentialEvent.SINGLE_SIGN_OUT: (R, A, R, A, A),
}
PUBLIC_COLUMNS = [
    (0, True, TokenKind.COOKIE),
    (1, True, TokenKind.TOKEN),
    (2, False, TokenKind.COOKIE),
    (3, False, TokenKind.TOKEN),
]

CELLS = [
    (event, based, kind, row[index]) for event, row in TABLE.items() for index, based, kind in PUBLIC_COLUMNS
]


def test_table_covers_every_event() -> None:
    assert set(TABLE) == set(CredentialEvent)


@pytest.mark.parametrize(("event", "password_based", "kind", "revoked"), CELLS)
def test_public_client_cell(
    event: CredentialEvent, password_based: bool, kind: TokenKind, revoked: bool
) -> None:
    assert revokes(event, password_based=password_based, kind=kind) is revoked


@pytest.mark.parametrize("event", list(TABLE))
@pytest.mark.parametrize("password_based", [True, False])
def test_confidential_client_cell_ignores_the_credential(
    event: CredentialEvent, password_based: bool
) -> None:
    expected = TABLE[event][4]
    assert revokes(event, password_based=password_based, kind=TokenKind.CONFIDENTIAL_CLIENT_TOKEN) is expected


def test_kind_defaults_to_token_and_accepts_plain_strings() -> None:
    assert revokes(CredentialEvent.SINGLE_SIGN_OUT, password_based=True) is False
    assert revokes("singleSignOut", password_based=True, kind="cookie") is True
    assert revokes("passwordResetByAdmin", password_based=False, kind="token") is True
    with pytest.raises(ValueError):
        revokes(CredentialEvent.SESSIONS_REVOKED, password_based=True, kind="jwt")


def test_event_values_are_stable() -> None:
    assert CredentialEvent("sessionsRevoked") is CredentialEvent.SESSIONS_REVOKED
    assert CredentialEvent("passwordResetByAdmin") is CredentialEvent.PASSWORD_RESET_BY_ADMIN
    assert [k.value for k in TokenKind] == ["cookie", "token", "confidentialClientToken"]


@pytest.mark.parametrize(
    ("modes", "expected"),
    [
        (["password"], True),
        (["password", "sms"], True),
        (["Password", "microsoftAuthenticatorPush"], True),
        (("password", "softwareOath"), True),
        (["temporaryAccessPassMultiUse"], False),
        (["temporaryAccessPassOneTime"], False),
        (["fido2"], False),
        (["windowsHelloForBusiness"], False),
        (["deviceBasedPush"], False),
        (["x509CertificateMultiFactor"], False),
        (["sms"], False),  # SMS sign-in: no password typed
        ([], False),
    ],
)
def test_is_password_based(modes: list[str], expected: bool) -> None:
    assert is_password_based(modes) is expected


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_only_tokens_issued_before_the_event_are_revoked() -> None:
    event = CredentialEvent.PASSWORD_RESET_BY_ADMIN
    before, same, after = T0 - timedelta(seconds=1), T0, T0 + timedelta(minutes=5)
    assert survives(event, event_at=T0, issued_at=before, password_based=True) is False
    assert survives(event, event_at=T0, issued_at=same, password_based=True) is True
    assert survives(event, event_at=T0, issued_at=after, password_based=True) is True


def test_survives_follows_the_table_for_older_tokens() -> None:
    old = T0 - timedelta(days=1)
    # A TAP-born refresh token (non-password-based) outlives a user's password change ...
    assert survives(
        CredentialEvent.PASSWORD_CHANGED_BY_USER, event_at=T0, issued_at=old, password_based=False
    )
    # ... and an SSPR, but not an admin reset from the Entra admin center nor a session revocation.
    assert survives(
        CredentialEvent.PASSWORD_RESET_SELF_SERVICE, event_at=T0, issued_at=old, password_based=False
    )
    assert not survives(
        CredentialEvent.PASSWORD_RESET_BY_ADMIN, event_at=T0, issued_at=old, password_based=False
    )
    assert not survives(CredentialEvent.SESSIONS_REVOKED, event_at=T0, issued_at=old, password_based=False)
    # A non-password-based browser cookie outlives even the admin reset.
    assert survives(
        CredentialEvent.PASSWORD_RESET_BY_ADMIN,
        event_at=T0,
        issued_at=old,
        password_based=False,
        kind="cookie",
    )


def test_sign_in_sessions_valid_from() -> None:
    assert valid_after_revocation(T0, None) is True
    assert valid_after_revocation(T0 - timedelta(microseconds=1), T0) is False
    assert valid_after_revocation(T0, T0) is True
    assert valid_after_revocation(T0 + timedelta(hours=1), T0) is True


def test_tap_token_dies_with_the_pass() -> None:
    start = T0
    assert token_expiry_with_tap(T0 + timedelta(minutes=5), start, 60) == datetime(
        2026, 3, 2, 10, 0, tzinfo=UTC
    )
    assert token_expiry_with_tap(T0, start, 43200) == T0 + timedelta(days=30)
    assert token_expiry_with_tap(T0 + timedelta(minutes=60), start, 60) == T0 + timedelta(minutes=60)


def test_tap_token_outside_the_pass_is_an_error() -> None:
    with pytest.raises(ValueError):
        token_expiry_with_tap(T0 - timedelta(minutes=1), T0, 60)
    with pytest.raises(ValueError):
        token_expiry_with_tap(T0 + timedelta(minutes=61), T0, 60)
    with pytest.raises(ValueError):
        token_expiry_with_tap(T0, T0, 0)


@pytest.mark.parametrize(
    ("present", "minutes", "alive"),
    [
        (True, 30, True),  # the pass exists and has not run out
        (False, 30, False),  # deleted, or replaced by a new pass: its tokens go with it
        (True, 60, False),  # expired
        (False, 90, False),
    ],
)
def test_tap_tokens_die_when_the_pass_is_deleted_replaced_or_expires(
    present: bool, minutes: int, alive: bool
) -> None:
    end = T0 + timedelta(minutes=60)
    assert tap_tokens_alive(pass_present=present, now=T0 + timedelta(minutes=minutes), pass_end=end) is alive
