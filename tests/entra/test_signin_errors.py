"""Entra's own failureReason text per sign-in error code.

Sources: Microsoft Graph beta signin-list example (50126: "Error validating credentials due to invalid
username or password."), Microsoft Entra error code reference (error names and meanings), and the service
messages that Microsoft's troubleshooting articles quote for AADSTS50053, 50076, 53003.
"""

from __future__ import annotations

import pytest

from graphlattice.entra import signin_errors as E
from graphlattice.errors import EntraRuleError

GRAPH = "00000003-0000-0000-c000-000000000000"

EXPECTED = {
    50053: "You've tried to sign in too many times with an incorrect user ID or password.",
    50057: "The user account is disabled.",
    50074: "Strong Authentication is required.",
    50076: "Due to a configuration change made by your administrator, or because you moved to a new "
    f"location, you must use multi-factor authentication to access '{GRAPH}'.",
    50079: "Due to a configuration change made by your administrator, or because you moved to a new "
    f"location, you must enroll in multi-factor authentication to access '{GRAPH}'.",
    50126: "Error validating credentials due to invalid username or password.",
    50173: "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user "
    "might have changed or reset their password.",
    53003: "Access has been blocked by Conditional Access policies. The access policy does not allow token "
    "issuance.",
    70008: "The provided authorization code or refresh token has expired due to inactivity. Send a new "
    "interactive authorization request for this user and resource.",
    500121: "Authentication failed during strong authentication request.",
}


@pytest.mark.parametrize(("code", "text"), sorted(EXPECTED.items()))
def test_failure_reason(code: int, text: str) -> None:
    assert E.failure_reason(code, resource=GRAPH) == text


def test_named_codes() -> None:
    assert (E.MFA_REQUIRED, E.INVALID_PASSWORD, E.BLOCKED_BY_CONDITIONAL_ACCESS) == (50076, 50126, 53003)
    assert (E.ACCOUNT_LOCKED, E.ACCOUNT_DISABLED, E.STRONG_AUTH_REQUIRED) == (50053, 50057, 50074)


def test_a_resource_is_needed_where_the_text_names_one() -> None:
    with pytest.raises(EntraRuleError):
        E.failure_reason(50076)


def test_unknown_code_is_a_packaging_error() -> None:
    with pytest.raises(EntraRuleError):
        E.failure_reason(12345)
