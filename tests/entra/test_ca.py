"""Conditional Access evaluation with hand-built policies: each condition included, excluded and not
matching, every grant combination, report-only results, and the security-info registration gate.

Sources: Graph v1.0 conditionalAccessPolicy / appliedConditionalAccessPolicy resources;
MicrosoftDocs/entra-docs docs/identity/conditional-access/concept-conditional-access-report-only.md
(result meanings).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from graphlattice.entra import roles as R
from graphlattice.entra.ca import (
    NOT_EVALUATED,
    AccessDecision,
    PolicyResult,
    access_decision,
    evaluate,
    requires_mfa,
)
from graphlattice.entra.signin import SignInContext
from graphlattice.entra.strengths import PHISHING_RESISTANT_MFA_STRENGTH_ID, Strength

USER = "30a6c29d-de7c-4830-815f-9b3bb366e975"
OTHER_USER = "0c2b9f4e-7d3a-4e21-9a55-000000000099"
GROUP = "6f1c2d3e-1111-4aaa-8bbb-000000000001"
APP = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
OTHER_APP = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
TRUSTED = "a1a1a1a1-0000-4000-8000-000000000001"
UNTRUSTED = "a1a1a1a1-0000-4000-8000-000000000002"
V6 = "a1a1a1a1-0000-4000-8000-000000000003"
COUNTRIES = "a1a1a1a1-0000-4000-8000-000000000004"
GPS = "a1a1a1a1-0000-4000-8000-000000000005"
HOME_TENANT = "9e8d7c6b-0000-4000-8000-00000000aaaa"
REGISTER = "urn:user:registersecurityinfo"

NAMED_LOCATIONS: dict[str, dict[str, Any]] = {
    TRUSTED: {
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "id": TRUSTED,
        "isTrusted": True,
        "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"}],
    },
    UNTRUSTED: {
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "id": UNTRUSTED,
        "isTrusted": False,
        "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24"}],
    },
    V6: {
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "id": V6,
        "isTrusted": True,
        "ipRanges": [{"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2001:db8::/32"}],
    },
    COUNTRIES: {
        "@odata.type": "#microsoft.graph.countryNamedLocation",
        "id": COUNTRIES,
        "countriesAndRegions": ["NL", "BE"],
        "includeUnknownCountriesAndRegions": True,
        "countryLookupMethod": "clientIpAddress",
    },
    GPS: {
        "@odata.type": "#microsoft.graph.countryNamedLocation",
        "id": GPS,
        "countriesAndRegions": ["US"],
        "includeUnknownCountriesAndRegions": False,
        "countryLookupMethod": "authenticatorAppGps",
    },
}


def policy(
    *,
    state: str = "enabled",
    users: dict[str, Any] | None = None,
    applications: dict[str, Any] | None = None,
    grant: dict[str, Any] | None = None,
    **conditions: Any,
) -> dict[str, Any]:
    """A conditionalAccessPolicy in Graph's shape: all users, all apps, require MFA unless told otherwise."""
    body: dict[str, Any] = {
        "id": "5c2f0a7e-1d3b-4c8e-9f6a-2b7d4e1c0a93",
        "displayName": "Test policy",
        "state": state,
        "conditions": {
            "clientAppTypes": ["all"],
            "signInRiskLevels": [],
            "userRiskLevels": [],
            "users": {
                "includeUsers": ["All"],
                "excludeUsers": [],
                "includeGroups": [],
                "excludeGroups": [],
                "includeRoles": [],
                "excludeRoles": [],
                **(users or {}),
            },
            "applications": {
                "includeApplications": ["All"],
                "excludeApplications": [],
                "includeUserActions": [],
                **(applications or {}),
            },
            "locations": None,
            "platforms": None,
            "devices": None,
        },
        "grantControls": {
            "operator": "OR",
            "builtInControls": ["mfa"],
            "customAuthenticationFactors": [],
            "termsOfUse": [],
            "authenticationStrength": None,
        },
        "sessionControls": None,
    }
    if grant is not None:
        body["grantControls"] = grant
    body["conditions"].update(conditions)
    return body


def ctx(**fields: Any) -> SignInContext:
    base: dict[str, Any] = {"user_id": USER, "application": APP, "used_modes": frozenset({"password"})}
    base.update(fields)
    return SignInContext(**base)


def one(p: dict[str, Any], c: SignInContext, **kwargs: Any) -> PolicyResult:
    [result] = evaluate([p], c, named_locations=NAMED_LOCATIONS, **kwargs)
    return result


MFA_DONE = frozenset({"password", "microsoftAuthenticatorPush"})


# --- users -----------------------------------------------------------------------------------------

USER_CASES = [
    ("include All", {}, ctx(), True),
    ("include all (lowercase)", {"includeUsers": ["all"]}, ctx(), True),
    ("include None", {"includeUsers": ["None"]}, ctx(), False),
    ("include this user", {"includeUsers": [USER.upper()]}, ctx(), True),
    ("include another user", {"includeUsers": [OTHER_USER]}, ctx(), False),
    (
        "include group, member",
        {"includeUsers": [], "includeGroups": [GROUP]},
        ctx(group_ids=frozenset({GROUP})),
        True,
    ),
    ("include group, not member", {"includeUsers": [], "includeGroups": [GROUP]}, ctx(), False),
    (
        "include role, active",
        {"includeUsers": [], "includeRoles": [R.GLOBAL_ADMINISTRATOR]},
        ctx(role_ids=frozenset({R.GLOBAL_ADMINISTRATOR})),
        True,
    ),
    ("include role, not held", {"includeUsers": [], "includeRoles": [R.GLOBAL_ADMINISTRATOR]}, ctx(), False),
    ("exclude this user", {"excludeUsers": [USER]}, ctx(), False),
    ("exclude another user", {"excludeUsers": [OTHER_USER]}, ctx(), True),
    (
        "exclude group wins over include All",
        {"excludeGroups": [GROUP]},
        ctx(group_ids=frozenset({GROUP})),
        False,
    ),
    (
        "exclude role wins over include user",
        {"includeUsers": [USER], "excludeRoles": [R.GLOBAL_ADMINISTRATOR]},
        ctx(role_ids=frozenset({R.GLOBAL_ADMINISTRATOR})),
        False,
    ),
    ("exclude role, not held", {"excludeRoles": [R.GLOBAL_ADMINISTRATOR]}, ctx(), True),
    (
        "legacy GuestsOrExternalUsers include, guest",
        {"includeUsers": ["GuestsOrExternalUsers"]},
        ctx(is_guest=True),
        True,
    ),
    (
        "legacy GuestsOrExternalUsers include, member",
        {"includeUsers": ["GuestsOrExternalUsers"]},
        ctx(),
        False,
    ),
    (
        "legacy GuestsOrExternalUsers exclude, guest",
        {"excludeUsers": ["GuestsOrExternalUsers"]},
        ctx(is_guest=True),
        False,
    ),
]


@pytest.mark.parametrize(("label", "users", "context", "applies"), USER_CASES, ids=[c[0] for c in USER_CASES])
def test_users_condition(label: str, users: dict[str, Any], context: SignInContext, applies: bool) -> None:
    result = one(policy(users=users), context)
    assert result.applies is applies
    assert result.result == ("failure" if applies else "notApplied")


def _guests(types: str, tenants: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"guestOrExternalUserTypes": types, "externalTenants": tenants}


ENUMERATED = {
    "@odata.type": "#microsoft.graph.conditionalAccessEnumeratedExternalTenants",
    "membershipKind": "enumerated",
    "members": [HOME_TENANT],
}
GUEST = frozenset({"b2bCollaborationGuest"})


@pytest.mark.parametrize(
    ("selector", "context", "expected"),
    [
        (
            _guests("b2bCollaborationGuest,b2bCollaborationMember"),
            ctx(is_guest=True, guest_types=GUEST),
            "failure",
        ),
        (_guests("internalGuest"), ctx(is_guest=True, guest_types=GUEST), "notApplied"),
        (_guests("b2bCollaborationGuest"), ctx(), "notApplied"),
        (_guests("b2bCollaborationGuest"), ctx(is_guest=True), "unknown"),  # guest type not known
        (
            _guests("b2bCollaborationGuest", {"membershipKind": "all"}),
            ctx(is_guest=True, guest_types=GUEST),
            "failure",
        ),
        (
            _guests("b2bCollaborationGuest", ENUMERATED),
            ctx(is_guest=True, guest_types=GUEST, home_tenant_id=HOME_TENANT.upper()),
            "failure",
        ),
        (
            _guests("b2bCollaborationGuest", ENUMERATED),
            ctx(is_guest=True, guest_types=GUEST, home_tenant_id=OTHER_USER),
            "notApplied",
        ),
        (_guests("b2bCollaborationGuest", ENUMERATED), ctx(is_guest=True, guest_types=GUEST), "unknown"),
    ],
)
def test_include_guests_or_external_users(
    selector: dict[str, Any], context: SignInContext, expected: str
) -> None:
    users = {"includeUsers": [], "includeGuestsOrExternalUsers": selector}
    assert one(policy(users=users), context).result == expected


def test_exclude_guests_or_external_users() -> None:
    users = {"excludeGuestsOrExternalUsers": _guests("b2bCollaborationGuest")}
    assert one(policy(users=users), ctx(is_guest=True, guest_types=GUEST)).result == "notApplied"
    assert one(policy(users=users), ctx()).result == "failure"
    assert one(policy(users=users), ctx(is_guest=True)).result == "unknown"


# --- applications and user actions -----------------------------------------------------------------

APP_CASES = [
    ("All", {}, ctx(), "failure"),
    ("all lowercase", {"includeApplications": ["all"]}, ctx(), "failure"),
    ("None", {"includeApplications": ["None"]}, ctx(), "notApplied"),
    ("this app", {"includeApplications": [APP.upper()]}, ctx(), "failure"),
    ("another app", {"includeApplications": [OTHER_APP]}, ctx(), "notApplied"),
    ("excluded app", {"excludeApplications": [APP]}, ctx(), "notApplied"),
    ("another app excluded", {"excludeApplications": [OTHER_APP]}, ctx(), "failure"),
    (
        "Office365, in suite",
        {"includeApplications": ["Office365"]},
        ctx(application_suites=frozenset({"Office365"})),
        "failure",
    ),
    (
        "Office365, not in suite",
        {"includeApplications": ["Office365"]},
        ctx(application_suites=frozenset()),
        "notApplied",
    ),
    ("Office365, suites unknown", {"includeApplications": ["Office365"]}, ctx(), "unknown"),
    (
        "admin portals excluded",
        {"excludeApplications": ["MicrosoftAdminPortals"]},
        ctx(application_suites=frozenset({"MicrosoftAdminPortals"})),
        "notApplied",
    ),
    (
        "specific app, application unknown",
        {"includeApplications": [OTHER_APP]},
        ctx(application=None),
        "unknown",
    ),
    ("All, application unknown", {}, ctx(application=None), "failure"),
    (
        "user-action policy, app sign-in",
        {"includeApplications": [], "includeUserActions": [REGISTER]},
        ctx(),
        "notApplied",
    ),
    ("app policy, user action", {}, ctx(application=None, user_action=REGISTER), "notApplied"),
    (
        "user-action policy, same action",
        {"includeApplications": [], "includeUserActions": [REGISTER.upper()]},
        ctx(application=None, user_action=REGISTER),
        "failure",
    ),
    (
        "user-action policy, other action",
        {"includeApplications": [], "includeUserActions": ["urn:user:registerdevice"]},
        ctx(application=None, user_action=REGISTER),
        "notApplied",
    ),
    (
        "authentication context only",
        {"includeApplications": [], "includeAuthenticationContextClassReferences": ["c1"]},
        ctx(),
        "notApplied",
    ),
    (
        "application filter",
        {"applicationFilter": {"mode": "include", "rule": 'CustomSecurityAttribute.x -eq "y"'}},
        ctx(),
        "unknown",
    ),
]


@pytest.mark.parametrize(("label", "apps", "context", "expected"), APP_CASES, ids=[c[0] for c in APP_CASES])
def test_applications_condition(
    label: str, apps: dict[str, Any], context: SignInContext, expected: str
) -> None:
    assert one(policy(applications=apps), context).result == expected


# --- locations -------------------------------------------------------------------------------------


def _locations(include: list[str], exclude: list[str] | None = None) -> dict[str, Any]:
    return {"locations": {"includeLocations": include, "excludeLocations": exclude or []}}


LOCATION_CASES = [
    ("All", _locations(["All"]), ctx(ip="192.0.2.1"), "failure"),
    (
        "All except trusted, from trusted IP",
        _locations(["All"], ["AllTrusted"]),
        ctx(ip="203.0.113.7"),
        "notApplied",
    ),
    (
        "All except trusted, from other IP",
        _locations(["All"], ["AllTrusted"]),
        ctx(ip="198.51.100.7"),
        "failure",
    ),
    (
        "All except trusted, IPv6 trusted",
        _locations(["all"], ["alltrusted"]),
        ctx(ip="2001:db8::5"),
        "notApplied",
    ),
    (
        "All except trusted, IPv6 elsewhere",
        _locations(["All"], ["AllTrusted"]),
        ctx(ip="2001:db9::5"),
        "failure",
    ),
    ("All except trusted, IP unknown", _locations(["All"], ["AllTrusted"]), ctx(), "unknown"),
    ("include named IP range, inside", _locations([UNTRUSTED]), ctx(ip="198.51.100.200"), "failure"),
    ("include named IP range, outside", _locations([UNTRUSTED]), ctx(ip="192.0.2.1"), "notApplied"),
    (
        "include AllTrusted, untrusted range only",
        _locations(["AllTrusted"]),
        ctx(ip="198.51.100.7"),
        "notApplied",
    ),
    ("exclude named range, inside", _locations(["All"], [UNTRUSTED]), ctx(ip="198.51.100.7"), "notApplied"),
    ("include countries, listed", _locations([COUNTRIES]), ctx(country="nl"), "failure"),
    ("include countries, not listed", _locations([COUNTRIES]), ctx(country="US"), "notApplied"),
    ("include countries, unknown country counted", _locations([COUNTRIES]), ctx(), "failure"),
    ("exclude countries, listed", _locations(["All"], [COUNTRIES]), ctx(country="BE"), "notApplied"),
    ("GPS country lookup", _locations([GPS]), ctx(country="US"), "unknown"),
    (
        "location id not supplied",
        _locations(["ffffffff-0000-4000-8000-000000000000"]),
        ctx(ip="192.0.2.1"),
        "unknown",
    ),
]


@pytest.mark.parametrize(
    ("label", "conditions", "context", "expected"), LOCATION_CASES, ids=[c[0] for c in LOCATION_CASES]
)
def test_locations_condition(
    label: str, conditions: dict[str, Any], context: SignInContext, expected: str
) -> None:
    assert one(policy(**conditions), context).result == expected


def test_unknown_country_not_included_when_flag_off() -> None:
    locations = copy.deepcopy(NAMED_LOCATIONS)
    locations[COUNTRIES]["includeUnknownCountriesAndRegions"] = False
    [result] = evaluate([policy(**_locations([COUNTRIES]))], ctx(), named_locations=locations)
    assert result.result == "notApplied"


# --- client apps, platforms, risk ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("types", "client", "expected"),
    [
        (["all"], "exchangeActiveSync", "failure"),
        ([], "other", "failure"),
        (["browser"], "browser", "failure"),
        (["Browser"], "browser", "failure"),
        (["browser"], "mobileAppsAndDesktopClients", "notApplied"),
        (["exchangeActiveSync", "other"], "other", "failure"),
        (["easSupported"], "exchangeActiveSync", "failure"),
        (["exchangeActiveSync"], "browser", "notApplied"),
    ],
)
def test_client_app_types(types: list[str], client: str, expected: str) -> None:
    assert one(policy(clientAppTypes=types), ctx(client_app_type=client)).result == expected


@pytest.mark.parametrize(
    ("platforms", "platform", "expected"),
    [
        ({"includePlatforms": ["all"], "excludePlatforms": ["iOS"]}, "iOS", "notApplied"),
        ({"includePlatforms": ["all"], "excludePlatforms": ["iOS"]}, "android", "failure"),
        ({"includePlatforms": ["all"], "excludePlatforms": ["iOS"]}, None, "failure"),
        ({"includePlatforms": ["android"], "excludePlatforms": []}, "Android", "failure"),
        ({"includePlatforms": ["android"], "excludePlatforms": []}, "windows", "notApplied"),
        ({"includePlatforms": ["android"], "excludePlatforms": []}, None, "notApplied"),
    ],
)
def test_platforms(platforms: dict[str, Any], platform: str | None, expected: str) -> None:
    assert one(policy(platforms=platforms), ctx(platform=platform)).result == expected


@pytest.mark.parametrize(
    ("field", "levels", "context", "expected"),
    [
        ("signInRiskLevels", ["high", "medium"], ctx(sign_in_risk="high"), "failure"),
        ("signInRiskLevels", ["high", "medium"], ctx(), "notApplied"),
        ("signInRiskLevels", ["High"], ctx(sign_in_risk="high"), "failure"),
        ("userRiskLevels", ["high"], ctx(user_risk="high"), "failure"),
        ("userRiskLevels", ["high"], ctx(user_risk="low"), "notApplied"),
        ("userRiskLevels", [], ctx(user_risk="low"), "failure"),
    ],
)
def test_risk_levels(field: str, levels: list[str], context: SignInContext, expected: str) -> None:
    conditions: dict[str, Any] = {field: levels}
    assert one(policy(**conditions), context).result == expected


# --- device filter ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "rule", "context", "expected"),
    [
        ("include", "device.isCompliant -eq True", ctx(device_compliant=True), "failure"),
        ("include", "device.isCompliant -eq True", ctx(device_compliant=False), "notApplied"),
        ("include", "device.isCompliant -eq True", ctx(), "unknown"),
        ("exclude", "device.isCompliant -eq True", ctx(device_compliant=True), "notApplied"),
        ("exclude", "device.isCompliant -eq True", ctx(device_compliant=False), "failure"),
        ("exclude", 'device.trustType -eq "ServerAD"', ctx(device_hybrid_joined=True), "notApplied"),
        (
            "include",
            'device.isCompliant -ne True -or device.trustType -eq "ServerAD"',
            ctx(device_compliant=True, device_hybrid_joined=False),
            "notApplied",
        ),
        ("include", 'device.model -startsWith "Surface"', ctx(device_compliant=True), "unknown"),
    ],
)
def test_device_filter(mode: str, rule: str, context: SignInContext, expected: str) -> None:
    devices = {"deviceFilter": {"mode": mode, "rule": rule}}
    result = one(policy(devices=devices), context)
    assert result.result == expected
    if expected == "unknown":
        assert result.why_not and "device filter" in result.why_not


# --- grant controls --------------------------------------------------------------------------------


def _grant(operator: str, *controls: str, strength: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "operator": operator,
        "builtInControls": list(controls),
        "customAuthenticationFactors": [],
        "termsOfUse": [],
        "authenticationStrength": strength,
    }


CUSTOM_ID = "b2c3d4e5-0000-4000-8000-000000000001"
CUSTOM = Strength(CUSTOM_ID, "Keys only", "custom", frozenset({frozenset({"fido2"})}))

GRANT_CASES = [
    ("block", _grant("OR", "block"), ctx(used_modes=MFA_DONE), "failure", False),
    ("mfa, password only", _grant("OR", "mfa"), ctx(), "failure", False),
    (
        "mfa, password + sms",
        _grant("OR", "Mfa"),
        ctx(used_modes=frozenset({"password", "sms"})),
        "success",
        True,
    ),
    (
        "mfa, TAP",
        _grant("OR", "mfa"),
        ctx(used_modes=frozenset({"temporaryAccessPassOneTime"})),
        "success",
        True,
    ),
    (
        "compliant device, compliant",
        _grant("OR", "compliantDevice"),
        ctx(device_compliant=True),
        "success",
        True,
    ),
    (
        "compliant device, not compliant",
        _grant("OR", "compliantDevice"),
        ctx(device_compliant=False),
        "failure",
        False,
    ),
    ("compliant device, unknown", _grant("OR", "compliantDevice"), ctx(), "unknown", None),
    ("hybrid joined", _grant("OR", "domainJoinedDevice"), ctx(device_hybrid_joined=True), "success", True),
    (
        "AND mfa + compliant, only mfa",
        _grant("AND", "mfa", "compliantDevice"),
        ctx(used_modes=MFA_DONE, device_compliant=False),
        "failure",
        False,
    ),
    (
        "AND mfa + compliant, both",
        _grant("AND", "mfa", "compliantDevice"),
        ctx(used_modes=MFA_DONE, device_compliant=True),
        "success",
        True,
    ),
    (
        "and (lowercase) mfa + compliant unknown",
        _grant("and", "mfa", "compliantDevice"),
        ctx(used_modes=MFA_DONE),
        "unknown",
        None,
    ),
    (
        "OR mfa | compliant, compliant only",
        _grant("OR", "mfa", "compliantDevice"),
        ctx(device_compliant=True),
        "success",
        True,
    ),
    (
        "OR mfa | compliant, neither",
        _grant("OR", "mfa", "compliantDevice"),
        ctx(device_compliant=False),
        "failure",
        False,
    ),
    (
        "OR mfa | compliant, mfa done, device unknown",
        _grant("OR", "mfa", "compliantDevice"),
        ctx(used_modes=MFA_DONE),
        "success",
        True,
    ),
    ("approved app is not modelled", _grant("OR", "approvedApplication"), ctx(), "unknown", None),
    ("password change", _grant("AND", "mfa", "passwordChange"), ctx(used_modes=MFA_DONE), "failure", False),
    (
        "phishing-resistant strength, TAP",
        _grant("OR", strength={"id": PHISHING_RESISTANT_MFA_STRENGTH_ID}),
        ctx(used_modes=frozenset({"temporaryAccessPassMultiUse"})),
        "failure",
        False,
    ),
    (
        "phishing-resistant strength, FIDO2",
        _grant("OR", strength={"id": PHISHING_RESISTANT_MFA_STRENGTH_ID}),
        ctx(used_modes=frozenset({"fido2"})),
        "success",
        True,
    ),
    (
        "custom strength from mapping",
        _grant("OR", strength={"id": CUSTOM_ID.upper()}),
        ctx(used_modes=frozenset({"fido2"})),
        "success",
        True,
    ),
    (
        "unknown strength id",
        _grant("OR", strength={"id": "d0d0d0d0-0000-4000-8000-000000000000"}),
        ctx(used_modes=frozenset({"fido2"})),
        "unknown",
        None,
    ),
    (
        "embedded strength object",
        _grant(
            "OR",
            strength={"id": "e0e0e0e0-0000-4000-8000-000000000000", "allowedCombinations": ["password,sms"]},
        ),
        ctx(used_modes=frozenset({"password", "sms"})),
        "success",
        True,
    ),
    ("terms of use not modelled", {**_grant("OR"), "termsOfUse": ["tou-1"]}, ctx(), "unknown", None),
]


@pytest.mark.parametrize(
    ("label", "grant", "context", "expected", "satisfied"), GRANT_CASES, ids=[c[0] for c in GRANT_CASES]
)
def test_grant_controls(
    label: str, grant: dict[str, Any], context: SignInContext, expected: str, satisfied: bool | None
) -> None:
    result = one(policy(grant=grant), context, strengths={CUSTOM_ID: CUSTOM})
    assert result.result == expected
    assert result.satisfied is satisfied
    assert result.applies


def test_session_controls_only_policy_succeeds() -> None:
    p = policy(grant=None)
    p["grantControls"] = None
    p["sessionControls"] = {"signInFrequency": {"isEnabled": True, "value": 4, "type": "hours"}}
    result = one(p, ctx())
    assert (result.result, result.grant, result.satisfied) == ("success", None, True)


# --- states and report-only ------------------------------------------------------------------------

REPORT_ONLY = "enabledForReportingButNotEnforced"


@pytest.mark.parametrize(
    ("state", "grant", "context", "users", "expected"),
    [
        ("disabled", _grant("OR", "block"), ctx(), {}, "notEnabled"),
        (REPORT_ONLY, _grant("OR", "mfa"), ctx(used_modes=MFA_DONE), {}, "reportOnlySuccess"),
        (REPORT_ONLY, _grant("OR", "block"), ctx(used_modes=MFA_DONE), {}, "reportOnlyFailure"),
        (REPORT_ONLY, _grant("OR", "compliantDevice"), ctx(device_compliant=False), {}, "reportOnlyFailure"),
        (REPORT_ONLY, _grant("OR", "mfa"), ctx(), {}, "reportOnlyInterrupted"),
        (
            REPORT_ONLY,
            _grant("AND", "mfa", "compliantDevice"),
            ctx(device_compliant=False),
            {},
            "reportOnlyFailure",
        ),
        (
            REPORT_ONLY,
            _grant("OR", "mfa", "compliantDevice"),
            ctx(device_compliant=False),
            {},
            "reportOnlyInterrupted",
        ),
        (REPORT_ONLY, _grant("OR", "mfa"), ctx(), {"excludeUsers": [USER]}, "reportOnlyNotApplied"),
        ("enabled", _grant("OR", "mfa"), ctx(), {"excludeUsers": [USER]}, "notApplied"),
    ],
)
def test_states(
    state: str, grant: dict[str, Any], context: SignInContext, users: dict[str, Any], expected: str
) -> None:
    result = one(policy(state=state, grant=grant, users=users), context)
    assert result.result == expected
    assert result.state == state


def test_disabled_policy_reason() -> None:
    result = one(policy(state="disabled"), ctx())
    assert (result.applies, result.why_not, result.satisfied) == (False, "the policy is disabled", None)


def test_not_applied_reason_is_given() -> None:
    result = one(policy(users={"excludeUsers": [USER]}), ctx())
    assert result.why_not == "the user is excluded"


# --- the security-info registration gate -----------------------------------------------------------


def _registration_gate(grant: dict[str, Any]) -> dict[str, Any]:
    return policy(
        applications={"includeApplications": [], "includeUserActions": [REGISTER]},
        users={"excludeRoles": [R.GLOBAL_ADMINISTRATOR]},
        grant=grant,
        locations={"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]},
    )


REGISTERING = {"application": None, "user_action": REGISTER, "ip": "198.51.100.77"}


@pytest.mark.parametrize(
    ("grant", "modes", "expected"),
    [
        (_grant("OR", "mfa"), {"temporaryAccessPassOneTime"}, "success"),
        (_grant("OR", "mfa"), {"temporaryAccessPassMultiUse"}, "success"),
        (_grant("OR", "mfa"), {"password"}, "failure"),
        (
            _grant("OR", strength={"id": PHISHING_RESISTANT_MFA_STRENGTH_ID}),
            {"temporaryAccessPassOneTime"},
            "failure",
        ),
        (_grant("OR", strength={"id": PHISHING_RESISTANT_MFA_STRENGTH_ID}), {"fido2"}, "success"),
    ],
)
def test_registration_gate(grant: dict[str, Any], modes: set[str], expected: str) -> None:
    result = one(_registration_gate(grant), ctx(used_modes=frozenset(modes), **REGISTERING))
    assert result.result == expected


def test_registration_gate_does_not_cover_excluded_admins_or_trusted_networks() -> None:
    gate = _registration_gate(_grant("OR", "mfa"))
    admin = ctx(role_ids=frozenset({R.GLOBAL_ADMINISTRATOR}), **REGISTERING)
    assert one(gate, admin).result == "notApplied"
    office = ctx(**{**REGISTERING, "ip": "203.0.113.9"})
    assert one(gate, office).result == "notApplied"


# --- combined decision -----------------------------------------------------------------------------


def test_access_decision_counts_only_enabled_policies() -> None:
    policies = [
        {
            **policy(grant=_grant("OR", "block")),
            "id": "p1",
            "displayName": "Block legacy",
            "state": REPORT_ONLY,
        },
        {**policy(grant=_grant("OR", "mfa")), "id": "p2", "displayName": "Require MFA"},
        {**policy(grant=_grant("OR", "compliantDevice")), "id": "p3", "displayName": "Compliant device"},
        {**policy(grant=_grant("OR", "block")), "id": "p4", "displayName": "Off", "state": "disabled"},
    ]
    results = evaluate(policies, ctx())
    assert [r.result for r in results] == ["reportOnlyFailure", "failure", "unknown", "notEnabled"]
    assert access_decision(results) == AccessDecision(
        blocked=True,
        unmet=["Require MFA: requires mfa"],
        undetermined=["Compliant device: a grant control cannot be evaluated"],
    )
    done = evaluate(policies[:2] + policies[3:], ctx(used_modes=MFA_DONE))
    assert access_decision(done) == AccessDecision(blocked=False, unmet=[], undetermined=[])


def test_unmet_controls_are_listed() -> None:
    result = one(policy(grant=_grant("AND", "mfa", "compliantDevice")), ctx(device_compliant=False))
    assert result.unmet_controls == ("mfa", "compliantDevice")
    decision = access_decision([result])
    assert decision.unmet == ["Test policy: requires mfa, compliantDevice"]


# --- user actions in report-only mode (concept-conditional-access-report-only, 2025-03-12: "can be evaluated
# in report-only mode except for items included in the 'User Actions' scope") ---------------------------


@pytest.mark.parametrize(
    ("modes", "what_if_result"),
    [
        ({"password"}, "reportOnlyInterrupted"),  # MFA would be asked for: user action, not a failure
        ({"temporaryAccessPassOneTime"}, "reportOnlySuccess"),
    ],
)
def test_report_only_registration_gate_is_not_evaluated_but_can_be_simulated(
    modes: set[str], what_if_result: str
) -> None:
    gate = {**_registration_gate(_grant("OR", "mfa")), "state": REPORT_ONLY}
    sign_in = ctx(used_modes=frozenset(modes), **REGISTERING)
    logged = one(gate, sign_in)
    assert logged.result == NOT_EVALUATED
    assert not logged.applies and logged.satisfied is None
    assert logged.why_not == "report-only mode does not evaluate policies scoped to user actions"
    assert one(gate, sign_in, what_if=True).result == what_if_result
    # An ordinary sign-in is not a user action either way; the policy still produces no result.
    assert one(gate, ctx()).result == NOT_EVALUATED


def test_enabled_user_action_policies_are_evaluated_as_always() -> None:
    gate = _registration_gate(_grant("OR", "mfa"))
    assert one(gate, ctx(**REGISTERING)).result == "failure"


# --- "Register or join devices" ignores client apps, device filters and device state -----------------

REGISTER_DEVICE = "urn:user:registerdevice"


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"clientAppTypes": ["exchangeActiveSync"]}, "failure"),
        (
            {"devices": {"deviceFilter": {"mode": "include", "rule": "device.isCompliant -eq True"}}},
            "failure",
        ),
        ({"platforms": {"includePlatforms": ["iOS"], "excludePlatforms": []}}, "notApplied"),
    ],
)
def test_register_device_action_ignores_conditions_that_do_not_apply(
    conditions: dict[str, Any], expected: str
) -> None:
    joining = policy(
        applications={"includeApplications": [], "includeUserActions": [REGISTER_DEVICE]}, **conditions
    )
    sign_in = ctx(
        application=None,
        user_action=REGISTER_DEVICE,
        client_app_type="browser",
        platform="windows",
        device_compliant=False,
    )
    assert one(joining, sign_in).result == expected
    # The same conditions still count for the registration of security info.
    info = policy(applications={"includeApplications": [], "includeUserActions": [REGISTER]}, **conditions)
    info_ctx = ctx(application=None, user_action=REGISTER, platform="windows", device_compliant=False)
    assert one(info, info_ctx).result == "notApplied"


# --- what a sign-in required (authenticationRequirement) ------------------------------------------------


def test_requires_mfa_counts_enforced_applied_mfa_and_strength_policies_met_or_not() -> None:
    mfa = policy(grant=_grant("OR", "mfa"))
    strength = policy(grant=_grant("OR", strength={"id": PHISHING_RESISTANT_MFA_STRENGTH_ID}))
    block = policy(grant=_grant("OR", "block"))
    assert requires_mfa(evaluate([mfa], ctx()))  # unmet: still required
    assert requires_mfa(evaluate([mfa], ctx(used_modes=MFA_DONE)))
    assert requires_mfa(evaluate([strength], ctx(used_modes=frozenset({"fido2"}))))
    assert not requires_mfa(evaluate([block], ctx()))
    assert not requires_mfa(evaluate([{**mfa, "state": REPORT_ONLY}], ctx()))
    assert not requires_mfa(evaluate([policy(users={"excludeUsers": [USER]})], ctx()))
