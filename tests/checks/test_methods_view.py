"""The shared per-user methods view: source precedence, tiers, unknowns, and the memoising classifier."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from graphlattice.checks.methods_view import Source, Tier, methods_view
from graphlattice.entra.methods import MethodKind, classify_method
from graphlattice.tenant.model import Tenant, User

G = "#microsoft.graph."
PASSWORD = {"@odata.type": G + "passwordAuthenticationMethod", "id": "28c10230-6103-485e-b985-444c60001490"}
EMAIL = {"@odata.type": G + "emailAuthenticationMethod", "id": "3ddfcfc8-9383-446f-83cc-3ab9be4be18f"}
SMS = {
    "@odata.type": G + "phoneAuthenticationMethod",
    "id": "3179e48a-750b-4051-897c-87b9720928f7",
    "phoneType": "mobile",
    "smsSignInState": "ready",
}
PUSH = {"@odata.type": G + "microsoftAuthenticatorAuthenticationMethod", "id": "a1", "createdDateTime": None}
FIDO = {"@odata.type": G + "fido2AuthenticationMethod", "id": "f1"}
TAP = {"@odata.type": G + "temporaryAccessPassAuthenticationMethod", "id": "t1", "isUsable": True}
ODD = {"@odata.type": G + "qrCodePinAuthenticationMethod", "id": "q1"}


def _tenant(
    methods: dict[str, list[dict[str, Any]]],
    registration: dict[str, list[str]],
    *,
    methods_ok: bool = True,
    registration_ok: bool = True,
) -> Tenant:
    ids = sorted(set(methods) | set(registration) | {"nobody"})
    users = {i: User(i, i, f"{i}@x.example", "member", True, False, {}) for i in ids}
    return Tenant(
        tenant_id="t",
        collected_at=datetime(2026, 11, 16, tzinfo=UTC),
        source="test",
        available={"authenticationMethods": methods_ok, "userRegistrationDetails": registration_ok},
        errors={},
        coverage={},
        users=users,
        groups={},
        service_principals={},
        role_definitions={},
        role_assignments=[],
        role_eligibilities=[],
        role_schedule_instances=None,
        role_policies={},
        role_policy_assignments=[],
        ca_policies=[],
        named_locations={},
        strength_policies={},
        auth_methods_policy=None,
        registration={u: {"id": u, "methodsRegistered": names} for u, names in registration.items()},
        methods=methods,
    )


@pytest.mark.parametrize(
    ("objects", "tier", "uncertain"),
    [
        ([PASSWORD], Tier.NONE, False),
        ([PASSWORD, EMAIL], Tier.NONE, False),
        ([PASSWORD, TAP], Tier.NONE, False),
        ([PASSWORD, SMS], Tier.WEAK, False),
        ([PASSWORD, SMS, PUSH], Tier.PHISHABLE, False),
        ([PASSWORD, PUSH, FIDO], Tier.PHISHING_RESISTANT, False),
        ([PASSWORD, SMS, ODD], Tier.WEAK, True),
        ([FIDO, ODD], Tier.PHISHING_RESISTANT, True),
    ],
)
def test_tiers_from_per_user_methods(objects: list[dict[str, Any]], tier: Tier, uncertain: bool) -> None:
    view = methods_view(_tenant({"u": objects}, {}))
    found = view.of("u")
    assert (found.source, found.tier, found.uncertain) == (Source.METHODS, tier, uncertain)


def test_decided_below_says_unknown_only_when_it_matters() -> None:
    view = methods_view(_tenant({"odd": [PASSWORD, ODD], "strong": [FIDO, ODD], "weak": [SMS]}, {}))
    assert view.of("odd").decided_below(Tier.WEAK) is None
    assert view.of("strong").decided_below(Tier.PHISHING_RESISTANT) is False
    assert view.of("weak").decided_below(Tier.PHISHABLE) is True
    assert view.of("nobody").decided_below(Tier.WEAK) is None


def test_per_user_methods_win_over_the_report_and_the_report_fills_gaps() -> None:
    tenant = _tenant({"a": [PASSWORD]}, {"a": ["fido2"], "b": ["mobilePhone", "email"], "c": ["oddName"]})
    view = methods_view(tenant)
    assert view.of("a").tier is Tier.NONE and view.of("a").source is Source.METHODS
    assert view.of("b").tier is Tier.WEAK and view.of("b").source is Source.REGISTRATION
    assert view.of("c").unrecognised == ("oddName",)
    assert not view.of("nobody").evaluated
    assert methods_view(tenant) is view  # shared by every check of the assessment


def test_unreadable_collections_are_ignored_even_if_present() -> None:
    view = methods_view(_tenant({"a": [FIDO]}, {"a": ["mobilePhone"]}, methods_ok=False))
    assert view.of("a").source is Source.REGISTRATION
    assert view.sources() == {"authenticationMethods": False, "userRegistrationDetails": True}


def test_sms_sign_in_and_pass_are_carried() -> None:
    found = methods_view(_tenant({"u": [PASSWORD, SMS, TAP]}, {})).of("u")
    assert found.sms_sign_in_ready and found.has_pass and found.pass_method is TAP


SAMPLES: list[dict[str, Any]] = [
    PASSWORD,
    EMAIL,
    SMS,
    PUSH,
    FIDO,
    TAP,
    ODD,
    {
        "@odata.type": G + "microsoftAuthenticatorAuthenticationMethod",
        "id": "a2",
        "createdDateTime": "2026-01-01T00:00:00Z",
    },
    {"@odata.type": G + "phoneAuthenticationMethod", "id": "b6332ec1-7057-4abe-9331-3d72feddfe41"},
    {
        "@odata.type": G + "phoneAuthenticationMethod",
        "id": "e37fc753-ff3b-4958-9484-eaa9425c82bc",
        "phoneType": None,
    },
    {"@odata.type": G + "phoneAuthenticationMethod", "id": "unknown-slot"},
    {"@odata.type": G + "phoneAuthenticationMethod", "id": "x", "phoneType": "office"},
    {"@odata.type": G + "phoneAuthenticationMethod", "id": "x", "phoneType": "unknownFutureValue"},
    {"@odata.type": "microsoft.graph.fido2AuthenticationMethod", "id": "no-hash"},
    {"id": "no-type"},
    {"@odata.type": 7, "id": "odd-type"},
]


def test_classification_is_stable_across_repeated_calls() -> None:
    first = [classify_method(obj) for obj in SAMPLES]
    assert [classify_method(obj) for obj in SAMPLES] == first  # the type-name cache changes nothing
    assert classify_method(SAMPLES[7]) is MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS
    assert classify_method(PUSH) is MethodKind.MICROSOFT_AUTHENTICATOR_PUSH
