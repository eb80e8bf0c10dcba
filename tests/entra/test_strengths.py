"""Authentication strengths: the built-in combinations exactly as Graph lists them, and matching.

Source: Graph v1.0 api/authenticationstrengthroot-list-policies.md (example response).
"""

from __future__ import annotations

import pytest

from graphlattice.entra.strengths import (
    BUILTIN_STRENGTHS,
    MFA_STRENGTH_ID,
    PASSWORDLESS_MFA_STRENGTH_ID,
    PHISHING_RESISTANT_MFA_STRENGTH_ID,
    Strength,
    accepts_tap,
    satisfied_by,
)
from graphlattice.errors import EntraRuleError

MFA = [
    "windowsHelloForBusiness",
    "fido2",
    "x509CertificateMultiFactor",
    "deviceBasedPush",
    "temporaryAccessPassOneTime",
    "temporaryAccessPassMultiUse",
    "password,microsoftAuthenticatorPush",
    "password,softwareOath",
    "password,hardwareOath",
    "password,x509CertificateSingleFactor",
    "password,x509CertificateMultiFactor",
    "password,sms",
    "password,voice",
    "federatedMultiFactor",
    "microsoftAuthenticatorPush,federatedSingleFactor",
    "softwareOath,federatedSingleFactor",
    "hardwareOath,federatedSingleFactor",
    "sms,federatedSingleFactor",
    "voice,federatedSingleFactor",
]
PASSWORDLESS = ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor", "deviceBasedPush"]
PHISHING_RESISTANT = ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"]

BUILTINS = [
    ("00000000-0000-0000-0000-000000000002", "Multifactor authentication", MFA, True),
    ("00000000-0000-0000-0000-000000000003", "Passwordless MFA", PASSWORDLESS, False),
    ("00000000-0000-0000-0000-000000000004", "Phishing resistant MFA", PHISHING_RESISTANT, False),
]


def _combos(entries: list[str]) -> set[frozenset[str]]:
    return {frozenset(entry.split(",")) for entry in entries}


@pytest.mark.parametrize(("strength_id", "name", "combinations", "tap"), BUILTINS)
def test_builtin_strength(strength_id: str, name: str, combinations: list[str], tap: bool) -> None:
    strength = BUILTIN_STRENGTHS[strength_id]
    assert strength.id == strength_id
    assert strength.display_name == name
    assert strength.policy_type == "builtIn"
    assert strength.combinations == _combos(combinations)
    assert accepts_tap(strength) is tap


def test_builtin_ids() -> None:
    assert set(BUILTIN_STRENGTHS) == {
        MFA_STRENGTH_ID,
        PASSWORDLESS_MFA_STRENGTH_ID,
        PHISHING_RESISTANT_MFA_STRENGTH_ID,
    }


# (used modes, MFA, Passwordless MFA, Phishing-resistant MFA)
SESSIONS = [
    ({"password"}, False, False, False),
    ({"password", "sms"}, True, False, False),
    ({"password", "voice"}, True, False, False),
    ({"sms"}, False, False, False),
    ({"email", "password"}, False, False, False),
    ({"temporaryAccessPassOneTime"}, True, False, False),
    ({"temporaryAccessPassMultiUse"}, True, False, False),
    ({"fido2"}, True, True, True),
    ({"windowsHelloForBusiness"}, True, True, True),
    ({"deviceBasedPush"}, True, True, False),
    ({"password", "microsoftAuthenticatorPush"}, True, False, False),
    ({"microsoftAuthenticatorPush"}, False, False, False),
    ({"x509CertificateSingleFactor"}, False, False, False),
    ({"password", "x509CertificateSingleFactor"}, True, False, False),
    ({"federatedSingleFactor", "sms"}, True, False, False),
    (set(), False, False, False),
]


@pytest.mark.parametrize(("modes", "mfa", "passwordless", "phishing_resistant"), SESSIONS)
def test_satisfied_by(modes: set[str], mfa: bool, passwordless: bool, phishing_resistant: bool) -> None:
    assert satisfied_by(BUILTIN_STRENGTHS[MFA_STRENGTH_ID], modes) is mfa
    assert satisfied_by(BUILTIN_STRENGTHS[PASSWORDLESS_MFA_STRENGTH_ID], modes) is passwordless
    assert satisfied_by(BUILTIN_STRENGTHS[PHISHING_RESISTANT_MFA_STRENGTH_ID], modes) is phishing_resistant


def test_custom_strength_from_graph() -> None:
    strength = Strength.from_graph(
        {
            "id": "a1b2c3d4-0000-4000-8000-000000000001",
            "displayName": "Keys or TAP",
            "policyType": "custom",
            "allowedCombinations": ["fido2", "temporaryAccessPassOneTime", "Password, SMS"],
        }
    )
    assert strength.combinations == {
        frozenset({"fido2"}),
        frozenset({"temporaryAccessPassOneTime"}),
        frozenset({"password", "sms"}),
    }
    assert accepts_tap(strength)
    assert satisfied_by(strength, ["SMS", "PASSWORD"])
    assert not satisfied_by(strength, ["temporaryAccessPassMultiUse"])


def test_strength_without_id_is_rejected() -> None:
    with pytest.raises(EntraRuleError):
        Strength.from_graph({"allowedCombinations": ["fido2"]})
