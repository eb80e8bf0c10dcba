"""Conditional Access, named locations, authentication strengths and the authentication methods policy."""

from __future__ import annotations

from dataclasses import dataclass

from graphlattice.demo._common import Gen, Json, days_ago, hm, iso
from graphlattice.entra import roles as R
from graphlattice.entra.strengths import (
    MFA_STRENGTH_ID,
    PASSWORDLESS_MFA_STRENGTH_ID,
    PHISHING_RESISTANT_MFA_STRENGTH_ID,
    builtin_strength_objects,
)

HQ_CIDR = "203.0.113.0/24"
MFA_STRENGTH = MFA_STRENGTH_ID
PASSWORDLESS_STRENGTH = PASSWORDLESS_MFA_STRENGTH_ID
PHISHING_RESISTANT_STRENGTH = PHISHING_RESISTANT_MFA_STRENGTH_ID
REGISTER_SECURITY_INFO = "urn:user:registersecurityinfo"
YUBIKEY_5_NFC = "cb69481e-8ff7-4039-93ec-0a2729a154a8"

# (key, displayName) of every Conditional Access policy; the rest of the generator refers to them by key.
CA_KEYS: tuple[tuple[str, str], ...] = (
    ("mfa_all", "Require MFA for all users"),
    ("registration", "Require MFA to register security info"),
    ("admins", "Require phishing-resistant MFA for admin portals"),
    ("legacy", "Block legacy authentication"),
    ("countries", "Block sign-ins from high-risk countries"),
    ("compliant", "Require compliant device for Office 365"),
    ("guest_frequency", "Guests: sign-in frequency 8 hours"),
)

# Creation / modification times (modified None = never edited since creation).
REGISTRATION_CREATED = days_ago(100, at=hm(10, 12, 41))
REGISTRATION_MODIFIED = days_ago(100, at=hm(14, 37, 5))
GUEST_POLICY_CREATED = days_ago(9, at=hm(13, 46, 20))
_CA_TIMES: dict[str, tuple[int, int | None]] = {
    "mfa_all": (days_ago(420, at=hm(9, 30)), days_ago(61, at=hm(15, 2))),
    "registration": (REGISTRATION_CREATED, REGISTRATION_MODIFIED),
    "admins": (days_ago(300, at=hm(11, 0)), days_ago(200, at=hm(16, 45))),
    "legacy": (days_ago(500, at=hm(10, 20)), None),
    "countries": (days_ago(250, at=hm(8, 55)), days_ago(180, at=hm(12, 30))),
    "compliant": (days_ago(75, at=hm(14, 10)), None),
    "guest_frequency": (GUEST_POLICY_CREATED, None),
}
ADMIN_PORTAL_ROLES = (
    R.GLOBAL_ADMINISTRATOR,
    R.PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
    R.AUTHENTICATION_ADMINISTRATOR,
    R.PRIVILEGED_ROLE_ADMINISTRATOR,
    R.SECURITY_ADMINISTRATOR,
    R.CONDITIONAL_ACCESS_ADMINISTRATOR,
    R.AUTHENTICATION_POLICY_ADMINISTRATOR,
    R.USER_ADMINISTRATOR,
)
ADMIN_POLICY_EXCLUDED_ROLE = R.AUTHENTICATION_ADMINISTRATOR


@dataclass(frozen=True)
class PolicyIds:
    ca: dict[str, str]
    hq_location: str
    country_location: str
    custom_strength: str

    def name(self, key: str) -> str:
        return dict(CA_KEYS)[key]


def plan_policies(gen: Gen) -> PolicyIds:
    return PolicyIds({key: gen.uuid() for key, _ in CA_KEYS}, gen.uuid(), gen.uuid(), gen.uuid())


# -- authentication strengths -----------------------------------------------------------------------------

_BUILT_IN_CREATED = "2021-12-01T00:00:00Z"


def _strength(
    sid: str,
    name: str,
    description: str,
    combos: list[str],
    policy_type: str = "builtIn",
    created: str = _BUILT_IN_CREATED,
    configurations: list[Json] | None = None,
) -> Json:
    return {
        "id": sid,
        "createdDateTime": created,
        "modifiedDateTime": created,
        "displayName": name,
        "description": description,
        "policyType": policy_type,
        "requirementsSatisfied": "mfa",
        "allowedCombinations": combos,
        "combinationConfigurations": configurations or [],
    }


_BUILT_IN_DESCRIPTIONS = {
    MFA_STRENGTH: "Any combination of methods that counts as multifactor authentication.",
    PASSWORDLESS_STRENGTH: "Multifactor methods that never ask for a password.",
    PHISHING_RESISTANT_STRENGTH: "Methods bound to the sign-in origin, which a phishing proxy cannot relay.",
}


def strength_policies(ids: PolicyIds) -> list[Json]:
    custom_created = iso(days_ago(330, at=hm(10, 0)))
    built_in = [
        _strength(
            obj["id"],
            obj["displayName"],
            _BUILT_IN_DESCRIPTIONS.get(obj["id"], ""),
            obj["allowedCombinations"],
        )
        for obj in builtin_strength_objects()
    ]
    return [
        *built_in,
        _strength(
            ids.custom_strength,
            "Company security keys",
            "Only the company's approved FIDO2 keys.",
            ["fido2"],
            "custom",
            custom_created,
            [
                {
                    "@odata.type": "#microsoft.graph.fido2CombinationConfiguration",
                    "id": "e3d3f3b2-0b6b-4c5e-9f38-5d1f0a9c1e01",
                    "appliesToCombinations": ["fido2"],
                    "allowedAAGUIDs": [YUBIKEY_5_NFC],
                }
            ],
        ),
    ]


# -- named locations --------------------------------------------------------------------------------------


def named_locations(ids: PolicyIds) -> list[Json]:
    return [
        {
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "id": ids.hq_location,
            "displayName": "HQ",
            "createdDateTime": iso(days_ago(900, at=hm(9, 0))),
            "modifiedDateTime": iso(days_ago(900, at=hm(9, 0))),
            "isTrusted": True,
            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": HQ_CIDR}],
        },
        {
            "@odata.type": "#microsoft.graph.countryNamedLocation",
            "id": ids.country_location,
            "displayName": "High-risk countries",
            "createdDateTime": iso(days_ago(250, at=hm(8, 40))),
            "modifiedDateTime": iso(days_ago(250, at=hm(8, 40))),
            "countriesAndRegions": ["KP", "IR", "SY", "CU"],
            "includeUnknownCountriesAndRegions": False,
            "countryLookupMethod": "clientIpAddress",
        },
    ]


# -- Conditional Access -----------------------------------------------------------------------------------


def _users(
    include_users: list[str],
    *,
    exclude_users: list[str] | None = None,
    exclude_groups: list[str] | None = None,
    include_roles: list[str] | None = None,
    exclude_roles: list[str] | None = None,
) -> Json:
    return {
        "includeUsers": include_users,
        "excludeUsers": exclude_users or [],
        "includeGroups": [],
        "excludeGroups": exclude_groups or [],
        "includeRoles": include_roles or [],
        "excludeRoles": exclude_roles or [],
        "includeGuestsOrExternalUsers": None,
        "excludeGuestsOrExternalUsers": None,
    }


def _apps(include: list[str], user_actions: list[str] | None = None) -> Json:
    return {
        "includeApplications": include,
        "excludeApplications": [],
        "includeUserActions": user_actions or [],
        "includeAuthenticationContextClassReferences": [],
        "applicationFilter": None,
    }


def _conditions(
    users: Json, apps: Json, *, client_app_types: list[str] | None = None, locations: Json | None = None
) -> Json:
    return {
        "clientAppTypes": client_app_types or ["all"],
        "signInRiskLevels": [],
        "userRiskLevels": [],
        "servicePrincipalRiskLevels": [],
        "applications": apps,
        "users": users,
        "locations": locations,
        "platforms": None,
        "devices": None,
        "clientApplications": None,
        "authenticationFlows": None,
    }


def _grant(controls: list[str], strength: Json | None = None) -> Json:
    return {
        "operator": "OR",
        "builtInControls": controls,
        "customAuthenticationFactors": [],
        "termsOfUse": [],
        "authenticationStrength": strength,
    }


def _policy(
    ids: PolicyIds,
    key: str,
    state: str,
    description: str,
    conditions: Json,
    grant: Json | None,
    session: Json | None = None,
) -> Json:
    created, modified = _CA_TIMES[key]
    policy: Json = {
        "id": ids.ca[key],
        "templateId": None,
        "displayName": ids.name(key),
        "description": description,
        "createdDateTime": iso(created),
        "modifiedDateTime": iso(modified) if modified else None,
        "state": state,
        "conditions": conditions,
        "grantControls": grant,
        "sessionControls": session,
    }
    return policy


def conditional_access(ids: PolicyIds, breakglass_group: str, kiosk_group: str) -> list[Json]:
    strengths = {s["id"]: s for s in strength_policies(ids)}
    phishing = dict(strengths[PHISHING_RESISTANT_STRENGTH])
    phishing.pop("combinationConfigurations")
    admins_policy = _policy(
        ids,
        "admins",
        "enabled",
        "Admins must use a phishing-resistant method in admin portals.",
        _conditions(
            _users(
                [],
                exclude_groups=[breakglass_group],
                include_roles=list(ADMIN_PORTAL_ROLES),
                exclude_roles=[ADMIN_POLICY_EXCLUDED_ROLE],
            ),
            _apps(["MicrosoftAdminPortals"]),
        ),
        _grant([], phishing),
    )
    admins_policy["authenticationStrength@odata.context"] = (
        "https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies('"
        f"{ids.ca['admins']}')/grantControls/authenticationStrength/$entity"
    )
    return [
        _policy(
            ids,
            "mfa_all",
            "enabled",
            "Baseline MFA for every member and guest.",
            _conditions(_users(["All"], exclude_groups=[breakglass_group, kiosk_group]), _apps(["All"])),
            _grant(["mfa"]),
        ),
        _policy(
            ids,
            "registration",
            "enabledForReportingButNotEnforced",
            "Registration gate: MFA before adding security info. Trusted network excluded during rollout.",
            _conditions(
                _users(["All"], exclude_groups=[breakglass_group]),
                _apps([], [REGISTER_SECURITY_INFO]),
                locations={"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]},
            ),
            _grant(["mfa"]),
        ),
        admins_policy,
        _policy(
            ids,
            "legacy",
            "enabled",
            "Legacy protocols cannot do MFA.",
            _conditions(
                _users(["All"], exclude_groups=[breakglass_group]),
                _apps(["All"]),
                client_app_types=["exchangeActiveSync", "other"],
            ),
            _grant(["block"]),
        ),
        _policy(
            ids,
            "countries",
            "disabled",
            "Switched off after travel complaints; kept for reference.",
            _conditions(
                _users(["All"], exclude_groups=[breakglass_group]),
                _apps(["All"]),
                locations={"includeLocations": [ids.country_location], "excludeLocations": []},
            ),
            _grant(["block"]),
        ),
        _policy(
            ids,
            "compliant",
            "enabledForReportingButNotEnforced",
            "Pilot of device compliance for Office 365.",
            _conditions(
                _users(["All"], exclude_groups=[breakglass_group, kiosk_group]), _apps(["Office365"])
            ),
            _grant(["compliantDevice"]),
        ),
        _policy(
            ids,
            "guest_frequency",
            "enabledForReportingButNotEnforced",
            "Shorter sessions for guests.",
            _conditions(_users(["GuestsOrExternalUsers"]), _apps(["All"])),
            None,
            {
                "applicationEnforcedRestrictions": None,
                "cloudAppSecurity": None,
                "persistentBrowser": None,
                "disableResilienceDefaults": None,
                "signInFrequency": {
                    "isEnabled": True,
                    "value": 8,
                    "type": "hours",
                    "authenticationType": "primaryAndSecondaryAuthentication",
                    "frequencyInterval": "timeBased",
                },
            },
        ),
    ]


# -- authentication methods policy ------------------------------------------------------------------------

TAP_DEFAULT_LIFETIME = 480
TAP_MAX_LIFETIME = 43_200


def _all_users(**extra: object) -> list[Json]:
    return [{"targetType": "group", "id": "all_users", "isRegistrationRequired": False, **extra}]


def authentication_methods_policy() -> Json:
    ns = "#microsoft.graph."
    feature_off = {
        "state": "default",
        "includeTarget": {"targetType": "group", "id": "all_users"},
        "excludeTarget": {"targetType": "group", "id": "00000000-0000-0000-0000-000000000000"},
    }
    feature_on = {**feature_off, "state": "enabled"}
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#authenticationMethodsPolicy",
        "id": "authenticationMethodsPolicy",
        "displayName": "Authentication Methods Policy",
        "description": "The tenant-wide policy that controls which authentication methods are allowed.",
        "lastModifiedDateTime": iso(days_ago(140, at=hm(15, 20))),
        "policyVersion": "1.5",
        "reconfirmationInDays": 0,
        "policyMigrationState": "migrationComplete",
        "registrationEnforcement": {
            "authenticationMethodsRegistrationCampaign": {
                "snoozeDurationInDays": 1,
                "state": "enabled",
                "excludeTargets": [],
                "includeTargets": [
                    {
                        "id": "all_users",
                        "targetType": "group",
                        "targetedAuthenticationMethod": "microsoftAuthenticator",
                    }
                ],
            }
        },
        "authenticationMethodConfigurations": [
            {
                "@odata.type": ns + "fido2AuthenticationMethodConfiguration",
                "id": "Fido2",
                "state": "enabled",
                "isSelfServiceRegistrationAllowed": True,
                "isAttestationEnforced": False,
                "keyRestrictions": {"isEnforced": False, "enforcementType": "block", "aaGuids": []},
                "includeTargets": _all_users(allowedPasskeyProfiles=[]),
                "excludeTargets": [],
            },
            {
                "@odata.type": ns + "microsoftAuthenticatorAuthenticationMethodConfiguration",
                "id": "MicrosoftAuthenticator",
                "state": "enabled",
                "isSoftwareOathEnabled": False,
                "featureSettings": {
                    "displayAppInformationRequiredState": feature_on,
                    "displayLocationInformationRequiredState": feature_off,
                },
                "includeTargets": _all_users(authenticationMode="any"),
                "excludeTargets": [],
            },
            {
                "@odata.type": ns + "smsAuthenticationMethodConfiguration",
                "id": "Sms",
                "state": "enabled",
                "includeTargets": _all_users(isUsableForSignIn=False),
                "excludeTargets": [],
            },
            {
                "@odata.type": ns + "voiceAuthenticationMethodConfiguration",
                "id": "Voice",
                "state": "enabled",
                "isOfficePhoneAllowed": True,
                "includeTargets": _all_users(),
                "excludeTargets": [],
            },
            {
                "@odata.type": ns + "emailAuthenticationMethodConfiguration",
                "id": "Email",
                "state": "enabled",
                "allowExternalIdToUseEmailOtp": "default",
                "includeTargets": _all_users(),
                "excludeTargets": [],
            },
            {
                "@odata.type": ns + "softwareOathAuthenticationMethodConfiguration",
                "id": "SoftwareOath",
                "state": "enabled",
                "includeTargets": _all_users(),
                "excludeTargets": [],
            },
            {
                "@odata.type": ns + "temporaryAccessPassAuthenticationMethodConfiguration",
                "id": "TemporaryAccessPass",
                "state": "enabled",
                "defaultLifetimeInMinutes": TAP_DEFAULT_LIFETIME,
                "defaultLength": 8,
                "minimumLifetimeInMinutes": 60,
                "maximumLifetimeInMinutes": TAP_MAX_LIFETIME,
                "isUsableOnce": False,
                "includeTargets": _all_users(),
                "excludeTargets": [],
            },
            {
                "@odata.type": ns + "x509CertificateAuthenticationMethodConfiguration",
                "id": "X509Certificate",
                "state": "disabled",
                "certificateUserBindings": [
                    {
                        "x509CertificateField": "PrincipalName",
                        "userProperty": "onPremisesUserPrincipalName",
                        "priority": 1,
                    }
                ],
                "authenticationModeConfiguration": {
                    "x509CertificateAuthenticationDefaultMode": "x509CertificateSingleFactor",
                    "rules": [],
                },
                "includeTargets": _all_users(),
                "excludeTargets": [],
            },
        ],
    }
