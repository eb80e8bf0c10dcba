"""The Passkey (FIDO2) configuration's registration and key-restriction settings.

Source: Microsoft Learn "Enable passkeys (FIDO2) for your organization" (how-to-enable-passkey-fido2, ms.date
2025-03-04: "Allow self-service set up", "Key Restriction Policy", "B2B collaboration users"); Graph v1.0
fido2AuthenticationMethodConfiguration.
"""

from __future__ import annotations

from typing import Any

import pytest

from graphlattice.entra.method_policy import PasskeyRules
from graphlattice.errors import InputError

AUTHENTICATOR_IOS = "90a3ccdf-635c-4729-a248-9b709135078f"
YUBIKEY = "cb69481e-8ff7-4039-93ec-0a2729a154a8"


def _config(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
        "id": "Fido2",
        "state": "enabled",
        "isSelfServiceRegistrationAllowed": True,
        "isAttestationEnforced": False,
        "keyRestrictions": {"isEnforced": False, "enforcementType": "block", "aaGuids": []},
    }
    base.update(fields)
    return base


def test_an_open_configuration_allows_self_service_registration_of_any_model() -> None:
    rules = PasskeyRules.from_graph(_config())
    assert rules.registration_refusal(AUTHENTICATOR_IOS) is None
    assert rules.model_allowed(None)


def test_missing_fields_take_the_defaults() -> None:
    assert PasskeyRules.from_graph({"id": "Fido2"}).registration_refusal(YUBIKEY) is None
    assert PasskeyRules.from_graph(None).self_service is True


def test_self_service_off_refuses_security_info_registration() -> None:
    rules = PasskeyRules.from_graph(_config(isSelfServiceRegistrationAllowed=False))
    assert rules.registration_refusal(AUTHENTICATOR_IOS) == (
        "Self-service set up of passkeys is turned off in the authentication methods policy"
    )
    assert rules.model_allowed(AUTHENTICATOR_IOS)  # sign-in with an existing passkey is unaffected


@pytest.mark.parametrize(
    ("enforcement", "listed", "aaguid", "allowed"),
    [
        ("allow", [AUTHENTICATOR_IOS.upper()], AUTHENTICATOR_IOS, True),
        ("allow", [AUTHENTICATOR_IOS], YUBIKEY, False),
        ("allow", [AUTHENTICATOR_IOS], None, False),
        ("block", [YUBIKEY], YUBIKEY, False),
        ("block", [YUBIKEY], AUTHENTICATOR_IOS, True),
    ],
)
def test_key_restrictions_apply_to_registration_and_sign_in(
    enforcement: str, listed: list[str], aaguid: str | None, allowed: bool
) -> None:
    restrictions = {"isEnforced": True, "enforcementType": enforcement, "aaGuids": listed}
    rules = PasskeyRules.from_graph(_config(keyRestrictions=restrictions))
    assert rules.model_allowed(aaguid) is allowed
    refusal = rules.registration_refusal(aaguid)
    assert (refusal is None) is allowed
    if not allowed:
        assert (
            refusal
            == f"The authentication methods policy does not allow passkeys of this model (AAGUID {aaguid})"
        )


def test_restrictions_not_enforced_are_ignored() -> None:
    restrictions = {"isEnforced": False, "enforcementType": "allow", "aaGuids": [AUTHENTICATOR_IOS]}
    assert PasskeyRules.from_graph(_config(keyRestrictions=restrictions)).model_allowed(YUBIKEY)


def test_guests_cannot_register_passkeys() -> None:
    refusal = PasskeyRules.from_graph(_config()).registration_refusal(AUTHENTICATOR_IOS, guest=True)
    assert (
        refusal == "Passkey registration isn't supported for B2B collaboration users in the resource tenant"
    )


def test_wrong_types_are_input_errors() -> None:
    with pytest.raises(InputError):
        PasskeyRules.from_graph(_config(isSelfServiceRegistrationAllowed="yes"))
    with pytest.raises(InputError):
        PasskeyRules.from_graph(_config(keyRestrictions={"isEnforced": True, "aaGuids": "x"}))
