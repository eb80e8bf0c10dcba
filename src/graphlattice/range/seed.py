"""Expand a scenario's compact tenant into Microsoft Graph JSON collections (the snapshot format).

The compact form names people, groups, roles and policies by key and display name; this module turns it
into what Graph would return for such a tenant: users, groups with members and owners, the built-in role
definitions, active assignments with their schedule instances, PIM eligibilities and role-management
policies, Conditional Access policies, named locations, the built-in authentication strengths, the
authentication methods policy, the Microsoft Graph service principal, application registrations with their
service principals, group settings, the organization, the security defaults and authorization policies, and
every user's methods.

Object ids are derived from the scenario id and the object's key (name-based GUIDs), so the same file always
seeds the same tenant and ids stay put when unrelated lines change.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from graphlattice.entra.permissions import MICROSOFT_GRAPH_APP_ID, permission_id
from graphlattice.entra.pim_policy import role_policy_rules
from graphlattice.entra.roles import (
    AUTHENTICATION_ADMINISTRATOR,
    AUTHENTICATION_POLICY_ADMINISTRATOR,
    CONDITIONAL_ACCESS_ADMINISTRATOR,
    GLOBAL_ADMINISTRATOR,
    PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
    PRIVILEGED_ROLE_ADMINISTRATOR,
    ROLE_CATALOG,
    SECURITY_ADMINISTRATOR,
)
from graphlattice.entra.strengths import BUILTIN_STRENGTHS
from graphlattice.range.directory_settings import GROUP_SETTING_TEMPLATES, group_setting_values
from graphlattice.range.scenario import (
    ATTACKER,
    ApplicationSpec,
    CaPolicySpec,
    CredentialSpec,
    MethodSpec,
    Person,
    Scenario,
)
from graphlattice.range.state import DEFENDER, VICTIM, SeedSecrets

__all__ = ["SeedIds", "expand", "own_methods", "seed_secrets"]

Json = dict[str, Any]
NS = "#microsoft.graph."
PASSWORD_ID = "28c10230-6103-485e-b985-444c60001490"
MOBILE_ID = "3179e48a-750b-4051-897c-87b9720928f7"
OFFICE_ID = "e37fc753-ff3b-4958-9484-eaa9425c82bc"
EMAIL_ID = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f"
MICROSOFT_TENANT_ID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
REGISTER_SECURITY_INFO = "urn:user:registersecurityinfo"
REGISTER_DEVICE = "urn:user:registerdevice"

# Offices used when a person names a country but no office.
_OFFICES = {
    "NL": "Amsterdam",
    "DE": "Berlin",
    "GB": "London",
    "BE": "Brussels",
    "FR": "Paris",
    "US": "Seattle",
}
# (aaGuid, model) of security keys by the words in their display name; unknown keys are written unattested.
_KEYS = (
    ("5c", "ee882879-721c-4913-9775-3dfcce97072a", "YubiKey 5 Series with NFC"),
    ("yubikey", "cb69481e-8ff7-4039-93ec-0a2729a154a8", "YubiKey 5 Series"),
)
_AUTHENTICATOR_PASSKEY_AAGUID = "90a3ccdf-635c-4729-a248-9b709135078f"  # Microsoft Authenticator (iOS)
_APP_VERSIONS = ("6.8.17", "6.2409.6112", "6.2410.6521", "6.8.14")

# Roles whose PIM settings the tenant carries (every issuer role, every role a person holds, policy roles).
_POLICY_ROLES = (
    GLOBAL_ADMINISTRATOR,
    PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
    AUTHENTICATION_ADMINISTRATOR,
    PRIVILEGED_ROLE_ADMINISTRATOR,
    AUTHENTICATION_POLICY_ADMINISTRATOR,
    CONDITIONAL_ACCESS_ADMINISTRATOR,
    SECURITY_ADMINISTRATOR,
)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class SeedIds:
    """Name-based ids: the same scenario and key always give the same id."""

    def __init__(self, scenario_id: str, tenant_id: str) -> None:
        self._ns = uuid.uuid5(uuid.UUID(tenant_id), f"graphlattice-range/{scenario_id}")

    def guid(self, *parts: str) -> str:
        return str(uuid.uuid5(self._ns, "/".join(parts)))

    def b64(self, *parts: str, length: int = 43) -> str:
        digest = hashlib.sha256(("/".join(parts) + str(self._ns)).encode()).digest()
        return base64.urlsafe_b64encode(digest + digest).decode("ascii").rstrip("=")[:length]

    def user(self, key: str) -> str:
        return self.guid("user", key)

    def group(self, key: str) -> str:
        return self.guid("group", key)

    def location(self, key: str) -> str:
        return self.guid("location", key)

    def method(self, person: str, index: int, kind: str) -> str:
        if kind in ("passkey", "security-key", "windows-hello"):
            return self.b64("method", person, str(index))
        return self.guid("method", person, str(index))


# ---- users, groups and methods -------------------------------------------------------------------------


def _user(scenario: Scenario, person: Person) -> Json:
    given, _, surname = person.name.partition(" ")
    human = bool(person.department or person.job_title)
    office = person.office or (_OFFICES.get(person.country or "") if person.country else None)
    return {
        "id": scenario.ids.user(person.key),
        "displayName": person.name,
        "givenName": given if human else None,
        "surname": surname if human and surname else None,
        "userPrincipalName": person.upn,
        "mail": person.upn,
        "userType": "Member",
        "accountEnabled": person.enabled,
        "department": person.department,
        "jobTitle": person.job_title,
        "officeLocation": office,
        "usageLocation": person.country,
        "businessPhones": [],
        "mobilePhone": None,
        "preferredLanguage": "en-US",
        "createdDateTime": iso(person.created),
        "creationType": None,
        "externalUserState": None,
        "onPremisesSyncEnabled": None,
    }


def _key_model(device: str) -> tuple[str, str, str]:
    """(aaGuid, model, attestationLevel) of a security key from its display name."""
    lowered = device.casefold()
    for word, aaguid, model in _KEYS:
        if word in lowered and "yubikey" in lowered:
            return aaguid, model, "attested"
    return "00000000-0000-0000-0000-000000000000", device, "notAttested"


def _method(scenario: Scenario, person: Person, index: int, spec: MethodSpec) -> Json:
    created = spec.created or person.created + timedelta(hours=1)
    mid = scenario.ids.method(person.key, index, spec.kind)
    if spec.kind in ("authenticator", "authenticator-passwordless"):
        return {
            "@odata.type": NS + "microsoftAuthenticatorAuthenticationMethod",
            "id": mid,
            "displayName": spec.device,
            "deviceTag": "SoftwareTokenActivated",
            "phoneAppVersion": _APP_VERSIONS[index % len(_APP_VERSIONS)],
            # Graph sets createdDateTime only for passwordless phone sign-in registrations.
            "createdDateTime": iso(created) if spec.kind == "authenticator-passwordless" else None,
        }
    if spec.kind == "security-key":
        aaguid, model, level = _key_model(spec.device or "")
        return {
            "@odata.type": NS + "fido2AuthenticationMethod",
            "id": mid,
            "displayName": spec.device,
            "aaGuid": aaguid,
            "model": model,
            "attestationLevel": level,
            "passkeyType": "deviceBound",
            "attestationCertificates": [],
            "createdDateTime": iso(created),
        }
    if spec.kind == "passkey":
        return {
            "@odata.type": NS + "fido2AuthenticationMethod",
            "id": mid,
            "displayName": spec.device,
            "aaGuid": _AUTHENTICATOR_PASSKEY_AAGUID,
            "model": "Microsoft Authenticator for iOS",
            "attestationLevel": "notAttested",
            "passkeyType": "deviceBound",
            "attestationCertificates": [],
            "createdDateTime": iso(created),
        }
    if spec.kind == "windows-hello":
        return {
            "@odata.type": NS + "windowsHelloForBusinessAuthenticationMethod",
            "id": mid,
            "displayName": spec.device,
            "keyStrength": "normal",
            "createdDateTime": iso(created),
        }
    if spec.kind in ("phone", "office-phone"):
        mobile = spec.kind == "phone"
        return {
            "@odata.type": NS + "phoneAuthenticationMethod",
            "id": MOBILE_ID if mobile else OFFICE_ID,
            "phoneNumber": spec.number,
            "phoneType": "mobile" if mobile else "office",
            "smsSignInState": "notAllowedByPolicy" if mobile else "notSupported",
        }
    if spec.kind == "software-oath":
        return {
            "@odata.type": NS + "softwareOathAuthenticationMethod",
            "id": mid,
            "secretKey": None,
            "createdDateTime": iso(created),
        }
    return {"@odata.type": NS + "emailAuthenticationMethod", "id": EMAIL_ID, "emailAddress": spec.address}


def _methods(scenario: Scenario, person: Person) -> list[Json]:
    out: list[Json] = [
        {
            "@odata.type": NS + "passwordAuthenticationMethod",
            "id": PASSWORD_ID,
            "password": None,
            "createdDateTime": iso(person.created),
        }
    ]
    out.extend(_method(scenario, person, i, spec) for i, spec in enumerate(person.methods))
    return out


def own_methods(scenario: Scenario, key: str) -> dict[str, str]:
    """A person's seeded methods other than the password: id -> "Microsoft Authenticator (Galaxy S23)"."""
    person = scenario.person(key)
    labels = {
        "authenticator": "Microsoft Authenticator",
        "authenticator-passwordless": "Microsoft Authenticator (passwordless)",
        "passkey": "Passkey",
        "security-key": "Security key",
        "windows-hello": "Windows Hello for Business",
        "phone": "Mobile phone",
        "office-phone": "Office phone",
        "software-oath": "Authenticator app (OATH)",
        "email": "Email",
    }
    out: dict[str, str] = {}
    for i, spec in enumerate(person.methods):
        method = _method(scenario, person, i, spec)
        what = spec.device or spec.number or spec.address or ""
        out[str(method["id"]).casefold()] = f"{labels[spec.kind]} ({what})" if what else labels[spec.kind]
    return out


def _groups(scenario: Scenario) -> list[Json]:
    ids = scenario.ids
    out: list[Json] = []
    for group in scenario.tenant.groups:
        out.append(
            {
                "id": ids.group(group.key),
                "displayName": group.name,
                "description": group.description,
                "mailEnabled": False,
                "mailNickname": group.key,
                "securityEnabled": True,
                "groupTypes": [],
                "isAssignableToRole": group.role_assignable,
                "membershipRule": None,
                "createdDateTime": iso(scenario.tenant.start - timedelta(days=400)),
                "members": [
                    {"@odata.type": NS + "user", "id": ids.user(k), "userPrincipalName": scenario.upn(k)}
                    for k in group.members
                ],
                "owners": [
                    {"@odata.type": NS + "user", "id": ids.user(k), "userPrincipalName": scenario.upn(k)}
                    for k in group.owners
                ],
            }
        )
    return out


# ---- roles and PIM --------------------------------------------------------------------------------------


def _role_definitions() -> list[Json]:
    return [
        {
            "id": role.template_id,
            "displayName": role.display_name,
            "description": role.description,
            "isBuiltIn": True,
            "isEnabled": True,
            "resourceScopes": ["/"],
            "templateId": role.template_id,
            "version": "1",
            "rolePermissions": [],
        }
        for role in sorted(ROLE_CATALOG.values(), key=lambda r: r.display_name)
    ]


def _roles(scenario: Scenario) -> tuple[list[Json], list[Json], list[Json]]:
    """Active assignments, their schedule instances, and eligibility schedules."""
    ids = scenario.ids
    assignments: list[Json] = []
    instances: list[Json] = []
    eligibilities: list[Json] = []
    for person in scenario.tenant.people:
        for role in person.roles:
            principal = ids.user(person.key)
            since = iso(person.created + timedelta(days=1))
            if role.assignment == "active":
                assignment_id = ids.b64("assignment", person.key, role.role_id) + "-1"
                assignments.append(
                    {
                        "id": assignment_id,
                        "principalId": principal,
                        "roleDefinitionId": role.role_id,
                        "directoryScopeId": "/",
                    }
                )
                instances.append(
                    {
                        "id": assignment_id,
                        "principalId": principal,
                        "roleDefinitionId": role.role_id,
                        "directoryScopeId": "/",
                        "appScopeId": None,
                        "startDateTime": since,
                        "endDateTime": None,
                        "assignmentType": "Assigned",
                        "memberType": "Direct",
                        "roleAssignmentOriginId": assignment_id,
                        "roleAssignmentScheduleId": ids.guid("schedule", person.key, role.role_id),
                    }
                )
            else:
                schedule = ids.guid("eligibility", person.key, role.role_id)
                eligibilities.append(
                    {
                        "id": schedule,
                        "principalId": principal,
                        "roleDefinitionId": role.role_id,
                        "directoryScopeId": "/",
                        "appScopeId": None,
                        "createdUsing": schedule,
                        "createdDateTime": since,
                        "modifiedDateTime": None,
                        "status": "Provisioned",
                        "memberType": "Direct",
                        "scheduleInfo": {
                            "startDateTime": since,
                            "recurrence": None,
                            "expiration": {"type": "noExpiration", "endDateTime": None, "duration": None},
                        },
                    }
                )
    return assignments, instances, eligibilities


def _role_policies(scenario: Scenario) -> tuple[list[Json], list[Json]]:
    ids = scenario.ids
    settings = scenario.tenant.role_settings
    approvers: Json | None = None
    if settings.approvers is not None:
        group = scenario.group(settings.approvers)
        approvers = {
            "@odata.type": NS + "groupMembers",
            "groupId": ids.group(group.key),
            "description": group.name,
        }
    roles = list(
        dict.fromkeys([*_POLICY_ROLES, *(r.role_id for p in scenario.tenant.people for r in p.roles)])
    )
    modified = iso(scenario.tenant.start - timedelta(days=200))
    defender = scenario.person(scenario.cast.defender)
    policies: list[Json] = []
    assignments: list[Json] = []
    for role in roles:
        policy_id = f"DirectoryRole_{scenario.tenant.id}_{ids.guid('role-policy', role)}"
        policies.append(
            {
                "id": policy_id,
                "displayName": "DirectoryRole",
                "description": "DirectoryRole",
                "isOrganizationDefault": False,
                "scopeId": "/",
                "scopeType": "DirectoryRole",
                "lastModifiedDateTime": modified,
                "lastModifiedBy": {"displayName": defender.name, "id": ids.user(defender.key)},
                "rules": role_policy_rules(
                    approval=role in settings.require_approval, approvers=[approvers] if approvers else []
                ),
            }
        )
        assignments.append(
            {
                "id": f"{policy_id}_{role}",
                "policyId": policy_id,
                "roleDefinitionId": role,
                "scopeId": "/",
                "scopeType": "DirectoryRole",
            }
        )
    return policies, assignments


# ---- policies -------------------------------------------------------------------------------------------


def _named_locations(scenario: Scenario) -> list[Json]:
    out: list[Json] = []
    created = iso(scenario.tenant.start - timedelta(days=700))
    for loc in scenario.tenant.locations:
        if loc.cidr:
            out.append(
                {
                    "@odata.type": NS + "ipNamedLocation",
                    "id": scenario.ids.location(loc.key),
                    "displayName": loc.name,
                    "createdDateTime": created,
                    "modifiedDateTime": created,
                    "isTrusted": loc.trusted,
                    "ipRanges": [{"@odata.type": NS + "iPv4CidrRange", "cidrAddress": c} for c in loc.cidr],
                }
            )
        else:
            out.append(
                {
                    "@odata.type": NS + "countryNamedLocation",
                    "id": scenario.ids.location(loc.key),
                    "displayName": loc.name,
                    "createdDateTime": created,
                    "modifiedDateTime": created,
                    "countriesAndRegions": list(loc.countries),
                    "includeUnknownCountriesAndRegions": False,
                    "countryLookupMethod": "clientIpAddress",
                }
            )
    return out


def _strength_json(strength_id: str) -> Json:
    strength = BUILTIN_STRENGTHS[strength_id]
    return {
        "id": strength.id,
        "createdDateTime": "2021-12-01T00:00:00Z",
        "modifiedDateTime": "2021-12-01T00:00:00Z",
        "displayName": strength.display_name,
        "description": strength.display_name,
        "policyType": strength.policy_type,
        "requirementsSatisfied": "mfa",
        "allowedCombinations": sorted(",".join(sorted(c)) for c in strength.combinations),
        "combinationConfigurations": [],
    }


_STRENGTH_GRANTS = {
    "passwordless-strength": "00000000-0000-0000-0000-000000000003",
    "phishing-resistant": "00000000-0000-0000-0000-000000000004",
}


def _ca_policy(scenario: Scenario, spec: CaPolicySpec) -> Json:
    ids = scenario.ids

    def person_ref(ref: str) -> str:
        return ids.user(ref) if scenario.has_person(ref) else ref

    def location_ref(ref: str) -> str:
        return ref if ref in ("All", "AllTrusted") else ids.location(ref)

    strength = None
    controls: list[str] = []
    for grant in spec.grant:
        if grant in _STRENGTH_GRANTS:
            strength = _strength_json(_STRENGTH_GRANTS[grant])
        else:
            controls.append(grant)
    created = spec.created or scenario.tenant.start - timedelta(days=300)
    return {
        "id": ids.guid("ca", spec.name),
        "templateId": None,
        "displayName": spec.name,
        "description": spec.description,
        "createdDateTime": iso(created),
        "modifiedDateTime": None,
        "state": spec.state,
        "conditions": {
            "clientAppTypes": list(spec.client_app_types),
            "signInRiskLevels": [],
            "userRiskLevels": [],
            "servicePrincipalRiskLevels": [],
            "applications": {
                "includeApplications": list(spec.apps),
                "excludeApplications": [],
                "includeUserActions": [f"urn:user:{a}" for a in spec.user_actions],
                "includeAuthenticationContextClassReferences": [],
                "applicationFilter": None,
            },
            "users": {
                "includeUsers": [person_ref(r) for r in spec.include_users],
                "excludeUsers": [person_ref(r) for r in spec.exclude_users],
                "includeGroups": [ids.group(g) for g in spec.include_groups],
                "excludeGroups": [ids.group(g) for g in spec.exclude_groups],
                "includeRoles": list(spec.include_roles),
                "excludeRoles": list(spec.exclude_roles),
                "includeGuestsOrExternalUsers": None,
                "excludeGuestsOrExternalUsers": None,
            },
            "locations": (
                {
                    "includeLocations": [location_ref(r) for r in spec.include_locations],
                    "excludeLocations": [location_ref(r) for r in spec.exclude_locations],
                }
                if spec.include_locations or spec.exclude_locations
                else None
            ),
            "platforms": None,
            "devices": None,
            "clientApplications": None,
            "authenticationFlows": None,
        },
        "grantControls": {
            "operator": "OR",
            "builtInControls": controls,
            "customAuthenticationFactors": [],
            "termsOfUse": [],
            "authenticationStrength": strength,
        },
        "sessionControls": None,
    }


def _all_users(**extra: object) -> list[Json]:
    return [{"targetType": "group", "id": "all_users", "isRegistrationRequired": False, **extra}]


def _methods_policy(scenario: Scenario) -> Json:
    tap = scenario.tenant.tap
    ids = scenario.ids
    feature = {
        "state": "default",
        "includeTarget": {"targetType": "group", "id": "all_users"},
        "excludeTarget": {"targetType": "group", "id": "00000000-0000-0000-0000-000000000000"},
    }
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#authenticationMethodsPolicy",
        "id": "authenticationMethodsPolicy",
        "displayName": "Authentication Methods Policy",
        "description": "The tenant-wide policy that controls which authentication methods are allowed.",
        "lastModifiedDateTime": iso(scenario.tenant.start - timedelta(days=120)),
        "policyVersion": "1.5",
        "reconfirmationInDays": 0,
        "policyMigrationState": "migrationComplete",
        "registrationEnforcement": {
            "authenticationMethodsRegistrationCampaign": {
                "snoozeDurationInDays": 1,
                "state": "default",
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
                "@odata.type": NS + "fido2AuthenticationMethodConfiguration",
                "id": "Fido2",
                "state": "enabled",
                "isSelfServiceRegistrationAllowed": True,
                "isAttestationEnforced": False,
                "keyRestrictions": {"isEnforced": False, "enforcementType": "block", "aaGuids": []},
                "includeTargets": _all_users(),
                "excludeTargets": [],
            },
            {
                "@odata.type": NS + "microsoftAuthenticatorAuthenticationMethodConfiguration",
                "id": "MicrosoftAuthenticator",
                "state": "enabled",
                "isSoftwareOathEnabled": False,
                "featureSettings": {
                    "displayAppInformationRequiredState": {**feature, "state": "enabled"},
                    "displayLocationInformationRequiredState": feature,
                },
                "includeTargets": _all_users(authenticationMode="any"),
                "excludeTargets": [],
            },
            {
                "@odata.type": NS + "smsAuthenticationMethodConfiguration",
                "id": "Sms",
                "state": "enabled",
                "includeTargets": _all_users(isUsableForSignIn=False),
                "excludeTargets": [],
            },
            {
                "@odata.type": NS + "voiceAuthenticationMethodConfiguration",
                "id": "Voice",
                "state": "enabled",
                "isOfficePhoneAllowed": True,
                "includeTargets": _all_users(),
                "excludeTargets": [],
            },
            {
                "@odata.type": NS + "softwareOathAuthenticationMethodConfiguration",
                "id": "SoftwareOath",
                "state": "enabled",
                "includeTargets": _all_users(),
                "excludeTargets": [],
            },
            {
                "@odata.type": NS + "emailAuthenticationMethodConfiguration",
                "id": "Email",
                "state": "enabled",
                "allowExternalIdToUseEmailOtp": "default",
                "includeTargets": _all_users(),
                "excludeTargets": [],
            },
            {
                "@odata.type": NS + "temporaryAccessPassAuthenticationMethodConfiguration",
                "id": "TemporaryAccessPass",
                "state": tap.state,
                "defaultLifetimeInMinutes": tap.default_lifetime,
                "defaultLength": tap.length,
                "minimumLifetimeInMinutes": tap.minimum_lifetime,
                "maximumLifetimeInMinutes": tap.maximum_lifetime,
                "isUsableOnce": tap.usable_once,
                "includeTargets": [
                    {
                        "targetType": "group",
                        "id": "all_users" if ref == "all_users" else ids.group(ref),
                        "isRegistrationRequired": False,
                    }
                    for ref in tap.include
                ],
                "excludeTargets": [],
            },
            {
                "@odata.type": NS + "x509CertificateAuthenticationMethodConfiguration",
                "id": "X509Certificate",
                "state": "disabled",
                "certificateUserBindings": [],
                "authenticationModeConfiguration": {
                    "x509CertificateAuthenticationDefaultMode": "x509CertificateSingleFactor",
                    "rules": [],
                },
                "includeTargets": _all_users(),
                "excludeTargets": [],
            },
        ],
    }


def _graph_sp_id(scenario: Scenario) -> str:
    return scenario.ids.guid("sp", "microsoft-graph")


def _service_principals(scenario: Scenario) -> list[Json]:
    graph = {
        "id": _graph_sp_id(scenario),
        "appId": MICROSOFT_GRAPH_APP_ID,
        "displayName": "Microsoft Graph",
        "accountEnabled": True,
        "servicePrincipalType": "Application",
        "appOwnerOrganizationId": MICROSOFT_TENANT_ID,
        "signInAudience": "AzureADMultipleOrgs",
        "tags": [],
        "appRoles": [],
        "appRoleAssignments": [],
    }
    return [graph, *(_app_service_principal(scenario, app) for app in scenario.tenant.applications)]


# ---- applications ---------------------------------------------------------------------------------------


def _app_id(scenario: Scenario, app: ApplicationSpec) -> str:
    return scenario.ids.guid("app-id", app.key)


def _owner_refs(scenario: Scenario, keys: tuple[str, ...]) -> list[Json]:
    return [
        {"@odata.type": NS + "user", "id": scenario.ids.user(k), "userPrincipalName": scenario.upn(k)}
        for k in keys
    ]


def _credential(
    scenario: Scenario, app: ApplicationSpec, kind: str, index: int, cred: CredentialSpec
) -> Json:
    out: Json = {
        "customKeyIdentifier": None,
        "displayName": cred.name,
        "endDateTime": iso(cred.expires),
        "keyId": scenario.ids.guid(kind, app.key, str(index)),
        "startDateTime": iso(app.created),
    }
    if kind == "secret":  # passwordCredential: the secret itself is never returned, only its first letters
        out.update(hint=scenario.ids.b64(kind, app.key, str(index), length=3), secretText=None)
    else:  # keyCredential: a certificate's public key is returned only with $select=keyCredentials/key
        out.update(key=None, type="AsymmetricX509Cert", usage="Verify")
    return out


def _application(scenario: Scenario, app: ApplicationSpec) -> Json:
    """An application registration as ``GET /applications`` returns it (v1.0 property set)."""
    return {
        "id": scenario.ids.guid("application", app.key),
        "appId": _app_id(scenario, app),
        "displayName": app.name,
        "description": None,
        "createdDateTime": iso(app.created),
        "deletedDateTime": None,
        "signInAudience": "AzureADMyOrg",
        "publisherDomain": scenario.tenant.domain,
        "identifierUris": [],
        "tags": [],
        "notes": None,
        "groupMembershipClaims": None,
        "isFallbackPublicClient": None,
        "isDeviceOnlyAuthSupported": None,
        "serviceManagementReference": None,
        "tokenEncryptionKeyId": None,
        "disabledByMicrosoftStatus": None,
        "defaultRedirectUri": None,
        "samlMetadataUrl": None,
        "addIns": [],
        "appRoles": [],
        "info": {
            "logoUrl": None,
            "marketingUrl": None,
            "privacyStatementUrl": None,
            "supportUrl": None,
            "termsOfServiceUrl": None,
        },
        "keyCredentials": [
            _credential(scenario, app, "certificate", i, c) for i, c in enumerate(app.certificates)
        ],
        "passwordCredentials": [
            _credential(scenario, app, "secret", i, c) for i, c in enumerate(app.secrets)
        ],
        "requiredResourceAccess": (
            [
                {
                    "resourceAppId": MICROSOFT_GRAPH_APP_ID,
                    "resourceAccess": [{"id": permission_id(p), "type": "Role"} for p in app.permissions],
                }
            ]
            if app.permissions
            else []
        ),
        "api": {
            "acceptMappedClaims": None,
            "knownClientApplications": [],
            "oauth2PermissionScopes": [],
            "preAuthorizedApplications": [],
            "requestedAccessTokenVersion": None,
        },
        "web": {
            "homePageUrl": None,
            "logoutUrl": None,
            "redirectUris": [],
            "implicitGrantSettings": {"enableAccessTokenIssuance": False, "enableIdTokenIssuance": False},
            "redirectUriSettings": [],
        },
        "spa": {"redirectUris": []},
        "publicClient": {"redirectUris": []},
        "optionalClaims": None,
        "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
        "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
        "certification": None,
        "owners": _owner_refs(scenario, app.owners),
    }


def _app_service_principal(scenario: Scenario, app: ApplicationSpec) -> Json:
    """The application's service principal in its home tenant, holding the Graph permissions granted to it."""
    sp_id = scenario.ids.guid("sp", app.key)
    grants = [
        {
            "id": scenario.ids.b64("app-role-assignment", app.key, name),
            "appRoleId": permission_id(name),
            "principalId": sp_id,
            "principalType": "ServicePrincipal",
            "principalDisplayName": app.name,
            "resourceId": _graph_sp_id(scenario),
            "resourceDisplayName": "Microsoft Graph",
            "createdDateTime": iso(app.created),
            "deletedDateTime": None,
        }
        for name in app.permissions
    ]
    return {
        "id": sp_id,
        "appId": _app_id(scenario, app),
        "displayName": app.name,
        "accountEnabled": True,
        "servicePrincipalType": "Application",
        "appOwnerOrganizationId": scenario.tenant.id,
        "signInAudience": "AzureADMyOrg",
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
        "appRoles": [],
        "appRoleAssignments": grants,
        "owners": _owner_refs(scenario, app.owners),
    }


# ---- tenant-wide settings and policies ------------------------------------------------------------------


def _group_settings(scenario: Scenario) -> list[Json]:
    return [
        {
            "id": scenario.ids.guid("group-setting", template),
            "displayName": template,
            "templateId": GROUP_SETTING_TEMPLATES[template].template_id,
            "values": group_setting_values(template, changed),
        }
        for template, changed in scenario.tenant.group_settings.items()
    ]


def _security_defaults(scenario: Scenario) -> Json:
    """Graph's fixed id, name and description of the security defaults policy, and whether it is on."""
    return {
        "id": "00000000-0000-0000-0000-000000000005",
        "displayName": "Security Defaults",
        "description": (
            "Security defaults is a set of basic identity security mechanisms recommended by Microsoft. When "
            "enabled, these recommendations will be automatically enforced in your organization. "
            "Administrators and users will be better protected from common identity related attacks."
        ),
        "isEnabled": scenario.tenant.security_defaults,
    }


def _authorization_policy() -> Json:
    """The tenant's authorization policy with Entra's defaults for a new tenant (Graph's v1.0 shape)."""
    return {
        "id": "authorizationPolicy",
        "displayName": "Authorization Policy",
        "description": "Used to manage authorization related settings across the company.",
        "allowInvitesFrom": "everyone",
        "allowedToSignUpEmailBasedSubscriptions": True,
        "allowedToUseSSPR": True,
        "allowEmailVerifiedUsersToJoinOrganization": False,
        "allowUserConsentForRiskyApps": None,
        "blockMsolPowerShell": False,
        "guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3",  # Guest User: limited access
        "defaultUserRolePermissions": {
            "allowedToCreateApps": True,
            "allowedToCreateSecurityGroups": True,
            "allowedToCreateTenants": True,
            "allowedToReadBitlockerKeysForOwnedDevice": True,
            "allowedToReadOtherUsers": True,
            "permissionGrantPoliciesAssigned": [
                "ManagePermissionGrantsForSelf.microsoft-user-default-legacy"
            ],
        },
    }


def _organization(scenario: Scenario) -> list[Json]:
    tenant = scenario.tenant
    return [
        {
            "id": tenant.id,
            "displayName": tenant.name,
            "createdDateTime": iso(tenant.start - timedelta(days=2000)),
            "deletedDateTime": None,
            "countryLetterCode": next((p.country for p in tenant.people if p.country), None),
            "tenantType": "AAD",
            "onPremisesSyncEnabled": None,
            "onPremisesLastSyncDateTime": None,
            "businessPhones": [],
            "technicalNotificationMails": [],
            "securityComplianceNotificationMails": [],
            "securityComplianceNotificationPhones": [],
            "marketingNotificationEmails": [],
            "privacyProfile": None,
            "assignedPlans": [],
            "provisionedPlans": [],
            "verifiedDomains": [
                {
                    "capabilities": "Email, OfficeCommunicationsOnline",
                    "isDefault": True,
                    "isInitial": True,
                    "name": tenant.domain,
                    "type": "Managed",
                }
            ],
        }
    ]


# ---- the whole seed -------------------------------------------------------------------------------------


def expand(scenario: Scenario) -> dict[str, Any]:
    """Graph JSON collections for ``RangeState.from_collections`` (``authenticationMethods`` by user id)."""
    people = scenario.tenant.people
    assignments, instances, eligibilities = _roles(scenario)
    policies, policy_assignments = _role_policies(scenario)
    return {
        "users": [_user(scenario, p) for p in people],
        "groups": _groups(scenario),
        "roleDefinitions": _role_definitions(),
        "roleAssignments": assignments,
        "roleAssignmentScheduleInstances": instances,
        "roleEligibilitySchedules": eligibilities,
        "roleManagementPolicies": policies,
        "roleManagementPolicyAssignments": policy_assignments,
        "conditionalAccessPolicies": [_ca_policy(scenario, s) for s in scenario.tenant.conditional_access],
        "namedLocations": _named_locations(scenario),
        "authenticationStrengthPolicies": [_strength_json(s) for s in sorted(BUILTIN_STRENGTHS)],
        "authenticationMethodsPolicy": _methods_policy(scenario),
        "servicePrincipals": _service_principals(scenario),
        "applications": [_application(scenario, app) for app in scenario.tenant.applications],
        "groupSettings": _group_settings(scenario),
        "organization": _organization(scenario),
        "identitySecurityDefaultsEnforcementPolicy": _security_defaults(scenario),
        "authorizationPolicy": _authorization_policy(),
        "authenticationMethods": {scenario.ids.user(p.key): _methods(scenario, p) for p in people},
    }


def seed_secrets(scenario: Scenario) -> SeedSecrets:
    """Owner labels of the parts (``victim``, ``defender``, ``attacker``), passwords, what the attacker knows.

    People without a written password get one generated by the engine; the attacker's knowledge is the list
    under ``attacker.knowsPasswordOf``. Every seeded device is held by its owner.
    """
    cast = scenario.cast
    owners = {scenario.upn(cast.victim): VICTIM, scenario.upn(cast.defender): DEFENDER}
    if cast.attacker != ATTACKER:
        owners[scenario.upn(cast.attacker)] = ATTACKER
    passwords = {p.upn: p.password for p in scenario.tenant.people if p.password}
    known = {scenario.upn(key): [ATTACKER] for key in scenario.attacker_knows}
    return SeedSecrets(passwords=passwords, known_by=known, owners=owners)
