"""A small tenant for the engine tests, built as Graph JSON (what a scenario's personas expand to)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graphlattice.entra import roles as R
from graphlattice.range.engine import Range
from graphlattice.range.state import RangeState, SeedSecrets

START = datetime(2026, 11, 14, 1, 0, 0, tzinfo=UTC)
DOMAIN = "fabrikam.example"
GATE = "ca-gate"
MFA_ALL = "ca-mfa-all"
NS = "#microsoft.graph."
PASSWORD = {"@odata.type": NS + "passwordAuthenticationMethod", "id": "28c10230-6103-485e-b985-444c60001490"}

# key -> (display name, roles active, roles eligible)
PEOPLE: dict[str, tuple[str, list[str], list[str]]] = {
    "admin": ("Ada Admin", [R.GLOBAL_ADMINISTRATOR], []),
    "aa": ("Otto Operator", [R.AUTHENTICATION_ADMINISTRATOR], []),
    "paa": ("Petra Privileged", [R.PRIVILEGED_AUTHENTICATION_ADMINISTRATOR], []),
    "policy": ("Paul Policy", [R.AUTHENTICATION_POLICY_ADMINISTRATOR], []),
    "reader": ("Rita Reader", [R.REPORTS_READER], []),
    "pra": ("Priya Roles", [R.PRIVILEGED_ROLE_ADMINISTRATOR], []),
    "eligible_ga": ("Eli Eligible", [], [R.GLOBAL_ADMINISTRATOR]),
    "victim": ("Vera Victim", [], []),
    "newbie": ("Nina New", [], []),
    "enrolled": ("Enzo Enrolled", [], []),
}


def upn(key: str) -> str:
    return f"{key}@{DOMAIN}"


def uid(key: str) -> str:
    return f"u-{key}"


def _ca(policy_id: str, name: str, state: str, *, user_action: bool, grant: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": policy_id,
        "displayName": name,
        "state": state,
        "createdDateTime": "2026-01-10T12:00:00Z",
        "modifiedDateTime": None,
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {
                "includeApplications": [] if user_action else ["All"],
                "excludeApplications": [],
                "includeUserActions": ["urn:user:registersecurityinfo"] if user_action else [],
                "includeAuthenticationContextClassReferences": [],
            },
            "users": {
                "includeUsers": ["All"],
                "excludeUsers": [],
                "includeGroups": [],
                "excludeGroups": [],
                "includeRoles": [],
                "excludeRoles": [],
            },
            "locations": None,
        },
        "grantControls": grant,
        "sessionControls": None,
    }


def mfa_grant() -> dict[str, Any]:
    return {"operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": [], "termsOfUse": []}


def strength_grant(strength_id: str) -> dict[str, Any]:
    return {
        "operator": "OR",
        "builtInControls": [],
        "customAuthenticationFactors": [],
        "termsOfUse": [],
        "authenticationStrength": {"id": strength_id},
    }


def collections(
    *,
    gate: str | None = "enabled",
    gate_grant: dict[str, Any] | None = None,
    mfa_all: str | None = None,
    tap: dict[str, Any] | None = None,
    fido2: dict[str, Any] | None = None,
) -> dict[str, Any]:
    users = [
        {
            "id": uid(k),
            "displayName": name,
            "userPrincipalName": upn(k),
            "userType": "Member",
            "accountEnabled": True,
        }
        for k, (name, _, _) in PEOPLE.items()
    ]
    assignments = [
        {"id": f"ra-{k}-{n}", "principalId": uid(k), "roleDefinitionId": role, "directoryScopeId": "/"}
        for k, (_, active, _) in PEOPLE.items()
        for n, role in enumerate(active)
    ]
    eligibilities = [
        {
            "id": f"es-{k}-{n}",
            "principalId": uid(k),
            "roleDefinitionId": role,
            "directoryScopeId": "/",
            "memberType": "Direct",
            "status": "Provisioned",
            "scheduleInfo": {"startDateTime": "2026-01-01T00:00:00Z", "expiration": {"type": "noExpiration"}},
        }
        for k, (_, _, eligible) in PEOPLE.items()
        for n, role in enumerate(eligible)
    ]
    tap_config = {
        "@odata.type": NS + "temporaryAccessPassAuthenticationMethodConfiguration",
        "id": "TemporaryAccessPass",
        "state": "enabled",
        "defaultLifetimeInMinutes": 60,
        "defaultLength": 8,
        "minimumLifetimeInMinutes": 60,
        "maximumLifetimeInMinutes": 480,
        "isUsableOnce": False,
        "includeTargets": [{"targetType": "group", "id": "g-tap", "isRegistrationRequired": False}],
        "excludeTargets": [],
        **(tap or {}),
    }
    everyone = [{"targetType": "group", "id": "all_users", "isRegistrationRequired": False}]
    configs = [
        tap_config,
        {
            "@odata.type": NS + "fido2AuthenticationMethodConfiguration",
            "id": "Fido2",
            "state": "enabled",
            "includeTargets": everyone,
            "excludeTargets": [],
            **(fido2 or {}),
        },
        {
            "@odata.type": NS + "microsoftAuthenticatorAuthenticationMethodConfiguration",
            "id": "MicrosoftAuthenticator",
            "state": "enabled",
            "includeTargets": [dict(everyone[0], authenticationMode="any")],
            "excludeTargets": [],
        },
        {
            "@odata.type": NS + "smsAuthenticationMethodConfiguration",
            "id": "Sms",
            "state": "enabled",
            "includeTargets": [dict(everyone[0], isUsableForSignIn=False)],
            "excludeTargets": [],
        },
        {
            "@odata.type": NS + "softwareOathAuthenticationMethodConfiguration",
            "id": "SoftwareOath",
            "state": "enabled",
            "includeTargets": everyone,
            "excludeTargets": [],
        },
    ]
    ca = []
    if gate is not None:
        ca.append(
            _ca(
                GATE,
                "Require MFA to register security info",
                gate,
                user_action=True,
                grant=gate_grant or mfa_grant(),
            )
        )
    if mfa_all is not None:
        ca.append(_ca(MFA_ALL, "Require MFA for all users", mfa_all, user_action=False, grant=mfa_grant()))
    methods: dict[str, list[dict[str, Any]]] = {uid(k): [dict(PASSWORD)] for k in PEOPLE}
    for key in ("admin", "aa", "paa", "policy", "reader", "pra", "eligible_ga"):
        methods[uid(key)].append(
            {
                "@odata.type": NS + "microsoftAuthenticatorAuthenticationMethod",
                "id": f"ma-{key}",
                "displayName": "Pixel 8",
                "deviceTag": "SoftwareTokenActivated",
                "phoneAppVersion": "6.8.1",
                "createdDateTime": None,
            }
        )
    methods[uid("victim")] += [
        {
            "@odata.type": NS + "microsoftAuthenticatorAuthenticationMethod",
            "id": "ma-victim",
            "displayName": "Galaxy S23",
            "deviceTag": "SoftwareTokenActivated",
            "phoneAppVersion": "6.8.1",
            "createdDateTime": None,
        },
        {
            "@odata.type": NS + "phoneAuthenticationMethod",
            "id": "3179e48a-750b-4051-897c-87b9720928f7",
            "phoneNumber": "+49 15123456789",
            "phoneType": "mobile",
            "smsSignInState": "notAllowedByPolicy",
        },
    ]
    return {
        "users": users,
        "groups": [
            {
                "id": "g-tap",
                "displayName": "TAP enrolment",
                "isAssignableToRole": False,
                "securityEnabled": True,
                "groupTypes": [],
                "members": [{"@odata.type": NS + "user", "id": uid("enrolled")}],
                "owners": [],
            },
        ],
        "roleDefinitions": [
            {
                "id": r,
                "templateId": r,
                "displayName": R.role_display_name(r),
                "isBuiltIn": True,
                "isEnabled": True,
            }
            for r in sorted({r for _, a, e in PEOPLE.values() for r in a + e})
        ],
        "roleAssignments": assignments,
        "roleAssignmentScheduleInstances": [
            dict(a, assignmentType="Assigned", memberType="Direct", roleAssignmentOriginId=a["id"])
            for a in assignments
        ],
        "roleEligibilitySchedules": eligibilities,
        "roleManagementPolicies": [],
        "roleManagementPolicyAssignments": [],
        "conditionalAccessPolicies": ca,
        "namedLocations": [],
        "authenticationStrengthPolicies": [],
        "authenticationMethodsPolicy": {
            "id": "authenticationMethodsPolicy",
            "policyMigrationState": "migrationComplete",
            "authenticationMethodConfigurations": configs,
        },
        "servicePrincipals": [],
        "authenticationMethods": methods,
    }


def secrets() -> SeedSecrets:
    return SeedSecrets(
        passwords={upn(k): f"pw-{k}" for k in PEOPLE},
        owners={upn("victim"): "victim", upn("aa"): "attacker", upn("admin"): "defender"},
        known_by={upn("newbie"): ["attacker"]},
    )


def state(seed: int = 7, **kwargs: Any) -> RangeState:
    return RangeState.from_collections(
        collections(**kwargs), now=START, seed=seed, secrets=secrets(), tenant_id="tenant-fabrikam"
    )


def new_range(tmp_path: Path, seed: int = 7, **kwargs: Any) -> Range:
    return Range.seeded(tmp_path / "range", state(seed, **kwargs))


def sign_in(rng: Range, key: str, method: str, holder: str | None = None, **extra: Any) -> dict[str, Any]:
    params = {"user": upn(key), "method": method, "ip": "198.51.100.9", "country": "NL", **extra}
    if holder is not None:
        params["holder"] = holder
    return rng.act("sign-in", params).data
