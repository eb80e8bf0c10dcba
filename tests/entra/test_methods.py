"""Authentication method classification, one expectation per kind and per Graph spelling.

Sources: MicrosoftDocs/entra-docs docs/identity/authentication/concept-authentication-methods.md; Graph v1.0
authenticationMethod resource docs; userRegistrationDetails.methodsRegistered values seen in reports.
"""

from __future__ import annotations

from typing import Any

import pytest

from graphlattice.entra.methods import (
    AUTH_METHOD_MODES,
    MethodKind,
    canonical_mode,
    canonical_modes,
    classify_method,
    classify_registered,
    odata_type_name,
)

K = MethodKind

# kind: (MFA-capable, phishing-resistant, weak second factor, authentication method modes)
TRAITS: dict[MethodKind, tuple[bool, bool, bool, set[str]]] = {
    K.PASSWORD: (False, False, False, {"password"}),
    K.EMAIL: (False, False, False, {"email"}),
    K.PHONE_MOBILE: (True, False, True, {"sms", "voice"}),
    K.PHONE_VOICE: (True, False, True, {"voice"}),
    K.MICROSOFT_AUTHENTICATOR_PUSH: (True, False, False, {"microsoftAuthenticatorPush"}),
    K.MICROSOFT_AUTHENTICATOR_PASSWORDLESS: (
        True,
        False,
        False,
        {"deviceBasedPush", "microsoftAuthenticatorPush"},
    ),
    K.SOFTWARE_OATH: (True, False, False, {"softwareOath"}),
    K.HARDWARE_OATH: (True, False, False, {"hardwareOath"}),
    K.FIDO2: (True, True, False, {"fido2"}),
    K.WINDOWS_HELLO_FOR_BUSINESS: (True, True, False, {"windowsHelloForBusiness"}),
    K.PLATFORM_CREDENTIAL: (True, True, False, {"windowsHelloForBusiness"}),
    K.X509_CERTIFICATE: (True, True, False, {"x509CertificateSingleFactor", "x509CertificateMultiFactor"}),
    K.TEMPORARY_ACCESS_PASS: (
        True,
        False,
        False,
        {"temporaryAccessPassOneTime", "temporaryAccessPassMultiUse"},
    ),
    K.SECURITY_QUESTION: (False, False, False, set()),
    K.EXTERNAL: (True, False, False, set()),
    K.UNKNOWN: (False, False, False, set()),
}


def test_every_kind_has_expectations() -> None:
    assert set(TRAITS) == set(MethodKind)


@pytest.mark.parametrize("kind", list(MethodKind))
def test_kind_traits(kind: MethodKind) -> None:
    mfa, phishing_resistant, weak, modes = TRAITS[kind]
    assert kind.is_mfa_capable is mfa
    assert kind.is_phishing_resistant is phishing_resistant
    assert kind.is_weak_second_factor is weak
    assert kind.auth_modes == modes


def _method(odata_type: str, **fields: Any) -> dict[str, Any]:
    return {"@odata.type": f"#microsoft.graph.{odata_type}", "id": "x", **fields}


@pytest.mark.parametrize(
    ("obj", "kind"),
    [
        (_method("passwordAuthenticationMethod"), K.PASSWORD),
        (_method("emailAuthenticationMethod", emailAddress="a@b.example"), K.EMAIL),
        (_method("phoneAuthenticationMethod", phoneType="mobile"), K.PHONE_MOBILE),
        (_method("phoneAuthenticationMethod", phoneType="alternateMobile"), K.PHONE_VOICE),
        (_method("phoneAuthenticationMethod", phoneType="office"), K.PHONE_VOICE),
        (_method("phoneAuthenticationMethod", phoneType="unknownFutureValue"), K.UNKNOWN),
        (
            {
                "@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
                "id": "3179e48a-750b-4051-897c-87b9720928f7",
            },
            K.PHONE_MOBILE,
        ),
        (
            {
                "@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
                "id": "b6332ec1-7057-4abe-9331-3d72feddfe41",
            },
            K.PHONE_VOICE,
        ),
        (
            {
                "@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
                "id": "e37fc753-ff3b-4958-9484-eaa9425c82bc",
            },
            K.PHONE_VOICE,
        ),
        (_method("phoneAuthenticationMethod"), K.UNKNOWN),
        (
            _method("microsoftAuthenticatorAuthenticationMethod", createdDateTime=None),
            K.MICROSOFT_AUTHENTICATOR_PUSH,
        ),
        (_method("microsoftAuthenticatorAuthenticationMethod"), K.MICROSOFT_AUTHENTICATOR_PUSH),
        (
            _method("microsoftAuthenticatorAuthenticationMethod", createdDateTime="2025-11-20T10:00:00Z"),
            K.MICROSOFT_AUTHENTICATOR_PASSWORDLESS,
        ),
        (
            _method("passwordlessMicrosoftAuthenticatorAuthenticationMethod"),
            K.MICROSOFT_AUTHENTICATOR_PASSWORDLESS,
        ),
        (_method("softwareOathAuthenticationMethod"), K.SOFTWARE_OATH),
        (_method("hardwareOathAuthenticationMethod"), K.HARDWARE_OATH),
        (_method("fido2AuthenticationMethod", passkeyType="synced"), K.FIDO2),
        (_method("windowsHelloForBusinessAuthenticationMethod"), K.WINDOWS_HELLO_FOR_BUSINESS),
        (_method("platformCredentialAuthenticationMethod", platform="macOS"), K.PLATFORM_CREDENTIAL),
        (_method("temporaryAccessPassAuthenticationMethod"), K.TEMPORARY_ACCESS_PASS),
        (_method("externalAuthenticationMethod"), K.EXTERNAL),
        (_method("qrCodePinAuthenticationMethod"), K.UNKNOWN),
        ({"id": "no-type"}, K.UNKNOWN),
        ({"@odata.type": "#Microsoft.Graph.FIDO2AuthenticationMethod"}, K.FIDO2),
        ({"@odata.type": "fido2AuthenticationMethod"}, K.FIDO2),
    ],
)
def test_classify_method(obj: dict[str, Any], kind: MethodKind) -> None:
    assert classify_method(obj) is kind


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("password", K.PASSWORD),
        ("email", K.EMAIL),
        ("mobilePhone", K.PHONE_MOBILE),
        ("alternateMobilePhone", K.PHONE_VOICE),
        ("officePhone", K.PHONE_VOICE),
        ("microsoftAuthenticatorPush", K.MICROSOFT_AUTHENTICATOR_PUSH),
        ("microsoftAuthenticatorPasswordless", K.MICROSOFT_AUTHENTICATOR_PASSWORDLESS),
        ("softwareOneTimePasscode", K.SOFTWARE_OATH),
        ("hardwareOneTimePasscode", K.HARDWARE_OATH),
        ("windowsHelloForBusiness", K.WINDOWS_HELLO_FOR_BUSINESS),
        ("fido2", K.FIDO2),
        ("passKeyDeviceBound", K.FIDO2),
        ("temporaryAccessPass", K.TEMPORARY_ACCESS_PASS),
        ("securityQuestion", K.SECURITY_QUESTION),
        ("MOBILEPHONE", K.PHONE_MOBILE),
        ("somethingNew", K.UNKNOWN),
    ],
)
def test_classify_registered(name: str, kind: MethodKind) -> None:
    assert classify_registered(name) is kind


def test_odata_type_name() -> None:
    assert odata_type_name({"@odata.type": "#microsoft.graph.emailAuthenticationMethod"}) == (
        "emailAuthenticationMethod"
    )
    assert odata_type_name({}) == ""


def test_modes_are_graph_spelled_and_matched_without_case() -> None:
    assert len(AUTH_METHOD_MODES) == 17
    assert canonical_mode("TEMPORARYACCESSPASSONETIME") == "temporaryAccessPassOneTime"
    assert canonical_mode(" sms ") == "sms"
    assert canonical_mode("somethingElse") == "somethingElse"
    assert canonical_modes(["Password", "", "SMS"]) == {"password", "sms"}
