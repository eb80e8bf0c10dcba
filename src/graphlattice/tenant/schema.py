"""The JSON types of the Graph properties GraphLattice reads, checked once when a snapshot is loaded.

A snapshot is input like any other: a file edited by hand, written by another exporter or tampered with can
hold ``"ipRanges": true`` or ``"lifetimeInMinutes": 1e19``. Rather than every check defending itself against
every shape, the loader checks each item of each collection against this table and refuses the snapshot
with one line naming the file and the JSON path (``conditionalAccessPolicies.json: value[2].grantControls.
builtInControls: expected a list of text, found true``). A property that passes here has the type the
model and the checks expect, so they may rely on it.

The rules follow Microsoft Graph's own types: ``null`` is always accepted (Graph's "not set"), integers are
Graph's Int32 (so a lifetime cannot overflow date arithmetic), date-times are ISO 8601 text that exists
(``2027-02-30T00:00:00Z`` does not), and properties this table does not name are not looked at (Graph adds
properties over time; they are kept, never refused). Enumerations stay text: unknown values are the
loader's warnings, not errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from graphlattice.tenant.model import parse_time

__all__ = ["COLLECTION_SCHEMAS", "ITEM_SCHEMAS", "MANIFEST_SCHEMA", "Check", "Problem", "describe"]

PathPart = str | int
Problem = tuple[list[PathPart], str]
"""Where (reversed: innermost first, filled in on the way out) and what is wrong."""
Check = Callable[[Any], Problem | None]

_INT32 = (-(1 << 31), (1 << 31) - 1)


def _found(value: object) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    if isinstance(value, int):
        return "a number too large" if abs(value) > _INT32[1] else "a number"
    if isinstance(value, float):
        return "a number with a fraction" if value == value else "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _text(value: Any) -> Problem | None:
    if value is None or type(value) is str:
        return None
    return [], f"expected text, found {_found(value)}"


def _boolean(value: Any) -> Problem | None:
    if value is None or value is True or value is False:
        return None
    return [], f"expected true or false, found {_found(value)}"


def _integer(value: Any) -> Problem | None:
    if value is None or (type(value) is int and _INT32[0] <= value <= _INT32[1]):
        return None
    return [], f"expected a whole number (32-bit), found {_found(value)}"


def _time(value: Any) -> Problem | None:
    if value is None:
        return None
    if type(value) is not str:
        return [], f"expected a date-time (ISO 8601 text), found {_found(value)}"
    try:
        datetime.fromisoformat(value)  # the common case, in C; Graph's 7-digit fractions need parse_time
        return None
    except ValueError:
        pass
    if parse_time(value) is None and value.strip():
        return [], f"expected a date-time that exists (ISO 8601), found {_found(value)}"
    return None


def _anything(value: Any) -> Problem | None:
    return None


TEXT: Check = _text
BOOL: Check = _boolean
INT: Check = _integer
TIME: Check = _time
ANY: Check = _anything


def obj(**fields: Check) -> Check:
    """An object whose named properties have these types (others are not looked at)."""
    return obj_of(fields)


def obj_of(fields: Mapping[str, Check]) -> Check:
    """:func:`obj` for property names that are not identifiers (``@odata.type``)."""
    pairs = tuple(fields.items())

    def check(value: Any) -> Problem | None:
        if value is None:
            return None
        if type(value) is not dict:
            return [], f"expected an object, found {_found(value)}"
        for key, sub in pairs:
            item = value.get(key)
            if item is not None:
                problem = sub(item)
                if problem is not None:
                    problem[0].append(key)
                    return problem
        return None

    return check


def array(element: Check, what: str = "") -> Check:
    """A list whose every element has the type ``element``."""
    expected = f"expected a list{what}"
    texts = element is _text

    def check(value: Any) -> Problem | None:
        if value is None:
            return None
        if type(value) is not list:
            return [], f"{expected}, found {_found(value)}"
        if texts and all(type(item) is str for item in value):
            return None
        for index, item in enumerate(value):
            problem = element(item)
            if problem is not None:
                problem[0].append(index)
                return problem
        return None

    return check


def mapping(element: Check) -> Check:
    """An object used as a dictionary: any keys, every value of the type ``element``."""

    def check(value: Any) -> Problem | None:
        if value is None:
            return None
        if type(value) is not dict:
            return [], f"expected an object, found {_found(value)}"
        for key, item in value.items():
            problem = element(item)
            if problem is not None:
                problem[0].append(key)
                return problem
        return None

    return check


TEXTS = array(TEXT, " of text")


def describe(prefix: str, problem: Problem) -> str:
    """``value[3].conditions.users.includeUsers[0]: expected text, found a number``."""
    parts, message = problem
    path = prefix
    for part in reversed(parts):
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.isidentifier():
            path += f".{part}" if path else part
        else:
            path += f"[{part!r}]"
    return f"{path}: {message}" if path else message


# ---- the collections ---------------------------------------------------------------------------------

_ODATA = "@odata.type"
_TARGET = obj(id=TEXT, targetType=TEXT)
_REF = obj_of({"id": TEXT, _ODATA: TEXT, "displayName": TEXT, "userPrincipalName": TEXT})

_USER = obj(
    id=TEXT,
    displayName=TEXT,
    userPrincipalName=TEXT,
    mail=TEXT,
    userType=TEXT,
    accountEnabled=BOOL,
    onPremisesSyncEnabled=BOOL,
    createdDateTime=TIME,
    creationType=TEXT,
    externalUserState=TEXT,
    signInActivity=obj(
        lastSignInDateTime=TIME,
        lastNonInteractiveSignInDateTime=TIME,
        lastSuccessfulSignInDateTime=TIME,
    ),
)

_GROUP = obj(
    id=TEXT,
    displayName=TEXT,
    isAssignableToRole=BOOL,
    securityEnabled=BOOL,
    mailEnabled=BOOL,
    groupTypes=TEXTS,
    membershipRule=TEXT,
    visibility=TEXT,
    onPremisesSyncEnabled=BOOL,
    members=array(_REF, " of objects"),
    owners=array(_REF, " of objects"),
)

_SERVICE_PRINCIPAL = obj(
    id=TEXT,
    appId=TEXT,
    displayName=TEXT,
    accountEnabled=BOOL,
    servicePrincipalType=TEXT,
    appOwnerOrganizationId=TEXT,
    tags=TEXTS,
    appRoles=array(obj(id=TEXT, value=TEXT, allowedMemberTypes=TEXTS, isEnabled=BOOL), " of objects"),
    appRoleAssignments=array(
        obj(appRoleId=TEXT, resourceId=TEXT, principalId=TEXT, principalType=TEXT, createdDateTime=TIME),
        " of objects",
    ),
)

_ROLE_DEFINITION = obj(
    id=TEXT,
    displayName=TEXT,
    templateId=TEXT,
    isBuiltIn=BOOL,
    isEnabled=BOOL,
    resourceScopes=TEXTS,
    rolePermissions=array(obj(allowedResourceActions=TEXTS, condition=TEXT), " of objects"),
)

_ROLE_ASSIGNMENT = obj(
    id=TEXT, principalId=TEXT, roleDefinitionId=TEXT, directoryScopeId=TEXT, appScopeId=TEXT
)

_ROLE_ELIGIBILITY = obj(
    id=TEXT,
    principalId=TEXT,
    roleDefinitionId=TEXT,
    directoryScopeId=TEXT,
    appScopeId=TEXT,
    memberType=TEXT,
    status=TEXT,
    createdDateTime=TIME,
    scheduleInfo=obj(startDateTime=TIME, expiration=obj(type=TEXT, endDateTime=TIME, duration=TEXT)),
)

_ROLE_INSTANCE = obj(
    id=TEXT,
    principalId=TEXT,
    roleDefinitionId=TEXT,
    directoryScopeId=TEXT,
    appScopeId=TEXT,
    assignmentType=TEXT,
    memberType=TEXT,
    startDateTime=TIME,
    endDateTime=TIME,
    roleAssignmentOriginId=TEXT,
    roleAssignmentScheduleId=TEXT,
)

_APPROVERS = array(obj_of({_ODATA: TEXT, "id": TEXT, "groupId": TEXT, "userId": TEXT}), " of objects")
_ROLE_POLICY = obj(
    id=TEXT,
    displayName=TEXT,
    scopeId=TEXT,
    scopeType=TEXT,
    isOrganizationDefault=BOOL,
    rules=array(
        obj_of(
            {
                "id": TEXT,
                _ODATA: TEXT,
                "isEnabled": BOOL,
                "enabledRules": TEXTS,
                "isExpirationRequired": BOOL,
                "maximumDuration": TEXT,
                "claimValue": TEXT,
                "notificationRecipients": TEXTS,
                "target": obj(caller=TEXT, operations=TEXTS, level=TEXT),
                "setting": obj(
                    isApprovalRequired=BOOL,
                    isApprovalRequiredForExtension=BOOL,
                    isRequestorJustificationRequired=BOOL,
                    approvalMode=TEXT,
                    approvalStages=array(
                        obj(
                            approvalStageTimeOutInDays=INT,
                            escalationTimeInMinutes=INT,
                            isEscalationEnabled=BOOL,
                            primaryApprovers=_APPROVERS,
                            escalationApprovers=_APPROVERS,
                        ),
                        " of objects",
                    ),
                ),
            }
        ),
        " of objects",
    ),
)

_ROLE_POLICY_ASSIGNMENT = obj(id=TEXT, policyId=TEXT, roleDefinitionId=TEXT, scopeId=TEXT, scopeType=TEXT)


def with_id(check: Check) -> Check:
    """An object that, when present, must carry a non-empty text ``id`` (it is referred to by it)."""

    def checked(value: Any) -> Problem | None:
        problem = check(value)
        if problem is not None or value is None:
            return problem
        ident = value.get("id")
        if type(ident) is not str or not ident.strip():
            return ["id"], f"expected a non-empty id, found {_found(ident) if ident is not None else 'none'}"
        return None

    return checked


_STRENGTH = obj(
    id=TEXT,
    displayName=TEXT,
    policyType=TEXT,
    requirementsSatisfied=TEXT,
    allowedCombinations=TEXTS,
    combinationConfigurations=array(obj(appliesToCombinations=TEXTS, allowedAAGUIDs=TEXTS), " of objects"),
)

_GUESTS = obj(
    guestOrExternalUserTypes=TEXT,
    externalTenants=obj_of({_ODATA: TEXT, "membershipKind": TEXT, "members": TEXTS}),
)
_FILTER = obj(mode=TEXT, rule=TEXT)
_CA_POLICY = obj_of(
    {
        "id": TEXT,
        "displayName": TEXT,
        "state": TEXT,
        "templateId": TEXT,
        "createdDateTime": TIME,
        "modifiedDateTime": TIME,
        "conditions": obj(
            users=obj(
                includeUsers=TEXTS,
                excludeUsers=TEXTS,
                includeGroups=TEXTS,
                excludeGroups=TEXTS,
                includeRoles=TEXTS,
                excludeRoles=TEXTS,
                includeGuestsOrExternalUsers=_GUESTS,
                excludeGuestsOrExternalUsers=_GUESTS,
            ),
            applications=obj(
                includeApplications=TEXTS,
                excludeApplications=TEXTS,
                includeUserActions=TEXTS,
                includeAuthenticationContextClassReferences=TEXTS,
                applicationFilter=_FILTER,
            ),
            clientApplications=obj(
                includeServicePrincipals=TEXTS, excludeServicePrincipals=TEXTS, servicePrincipalFilter=_FILTER
            ),
            clientAppTypes=TEXTS,
            signInRiskLevels=TEXTS,
            userRiskLevels=TEXTS,
            servicePrincipalRiskLevels=TEXTS,
            insiderRiskLevels=TEXT,
            locations=obj(includeLocations=TEXTS, excludeLocations=TEXTS),
            platforms=obj(includePlatforms=TEXTS, excludePlatforms=TEXTS),
            devices=obj(
                includeDevices=TEXTS, excludeDevices=TEXTS, deviceFilter=_FILTER, includeDeviceStates=TEXTS
            ),
            authenticationFlows=obj(transferMethods=TEXT),
        ),
        "grantControls": obj(
            operator=TEXT,
            builtInControls=TEXTS,
            customAuthenticationFactors=TEXTS,
            termsOfUse=TEXTS,
            authenticationStrength=with_id(_STRENGTH),
        ),
        "sessionControls": obj(
            signInFrequency=obj(isEnabled=BOOL, value=INT, type=TEXT, frequencyInterval=TEXT),
            persistentBrowser=obj(isEnabled=BOOL, mode=TEXT),
        ),
    }
)

_NAMED_LOCATION = obj_of(
    {
        _ODATA: TEXT,
        "id": TEXT,
        "displayName": TEXT,
        "isTrusted": BOOL,
        "ipRanges": array(obj_of({_ODATA: TEXT, "cidrAddress": TEXT}), " of objects"),
        "countriesAndRegions": TEXTS,
        "includeUnknownCountriesAndRegions": BOOL,
        "countryLookupMethod": TEXT,
        "createdDateTime": TIME,
        "modifiedDateTime": TIME,
    }
)

_METHOD_TARGET = obj(
    id=TEXT,
    targetType=TEXT,
    isRegistrationRequired=BOOL,
    authenticationMode=TEXT,
    isUsableForSignIn=BOOL,
)
_METHODS_POLICY = obj(
    id=TEXT,
    policyVersion=TEXT,
    policyMigrationState=TEXT,
    reconfirmationInDays=INT,
    registrationEnforcement=obj(
        authenticationMethodsRegistrationCampaign=obj(
            state=TEXT,
            snoozeDurationInDays=INT,
            enforceRegistrationAfterAllowedSnoozes=BOOL,
            includeTargets=array(
                obj(id=TEXT, targetType=TEXT, targetedAuthenticationMethod=TEXT), " of objects"
            ),
            excludeTargets=array(_TARGET, " of objects"),
        )
    ),
    authenticationMethodConfigurations=array(
        obj_of(
            {
                _ODATA: TEXT,
                "id": TEXT,
                "state": TEXT,
                "includeTargets": array(_METHOD_TARGET, " of objects"),
                "excludeTargets": array(_TARGET, " of objects"),
                "isSelfServiceRegistrationAllowed": BOOL,
                "isAttestationEnforced": BOOL,
                "keyRestrictions": obj(isEnforced=BOOL, enforcementType=TEXT, aaGuids=TEXTS),
                "isSoftwareOathEnabled": BOOL,
                "isOfficePhoneAllowed": BOOL,
                "isUsableOnce": BOOL,
                "defaultLifetimeInMinutes": INT,
                "minimumLifetimeInMinutes": INT,
                "maximumLifetimeInMinutes": INT,
                "defaultLength": INT,
            }
        ),
        " of objects",
    ),
)

_REGISTRATION = obj(
    id=TEXT,
    userPrincipalName=TEXT,
    userDisplayName=TEXT,
    userType=TEXT,
    isAdmin=BOOL,
    isMfaRegistered=BOOL,
    isMfaCapable=BOOL,
    isPasswordlessCapable=BOOL,
    isSsprRegistered=BOOL,
    isSsprEnabled=BOOL,
    isSsprCapable=BOOL,
    isSystemPreferredAuthenticationMethodEnabled=BOOL,
    methodsRegistered=TEXTS,
    systemPreferredAuthenticationMethods=TEXTS,
    userPreferredMethodForSecondaryAuthentication=TEXT,
    defaultMfaMethod=TEXT,
    lastUpdatedDateTime=TIME,
)

_METHOD = obj_of(
    {
        _ODATA: TEXT,
        "id": TEXT,
        "displayName": TEXT,
        "createdDateTime": TIME,
        "lastUsedDateTime": TIME,
        "deviceTag": TEXT,
        "phoneAppVersion": TEXT,
        "aaGuid": TEXT,
        "model": TEXT,
        "passkeyType": TEXT,
        "attestationLevel": TEXT,
        "phoneNumber": TEXT,
        "phoneType": TEXT,
        "smsSignInState": TEXT,
        "emailAddress": TEXT,
        "startDateTime": TIME,
        "lifetimeInMinutes": INT,
        "isUsableOnce": BOOL,
        "isUsable": BOOL,
        "methodUsabilityReason": TEXT,
        "keyStrength": TEXT,
    }
)
_METHODS_LINE = obj(userId=TEXT, value=array(_METHOD, " of objects"))

_IDENTITY = obj(id=TEXT, displayName=TEXT, userPrincipalName=TEXT, ipAddress=TEXT, appId=TEXT)
_AUDIT = obj(
    id=TEXT,
    activityDisplayName=TEXT,
    activityDateTime=TIME,
    category=TEXT,
    result=TEXT,
    resultReason=TEXT,
    operationType=TEXT,
    loggedByService=TEXT,
    correlationId=TEXT,
    initiatedBy=obj(user=_IDENTITY, app=obj(appId=TEXT, displayName=TEXT, servicePrincipalId=TEXT)),
    targetResources=array(
        obj(
            id=TEXT,
            displayName=TEXT,
            type=TEXT,
            userPrincipalName=TEXT,
            modifiedProperties=array(obj(displayName=TEXT, oldValue=TEXT, newValue=TEXT), " of objects"),
        ),
        " of objects",
    ),
    additionalDetails=array(obj(key=TEXT, value=TEXT), " of objects"),
)
_SIGN_IN = obj(
    id=TEXT,
    createdDateTime=TIME,
    userId=TEXT,
    userPrincipalName=TEXT,
    userDisplayName=TEXT,
    appId=TEXT,
    appDisplayName=TEXT,
    ipAddress=TEXT,
    isInteractive=BOOL,
    conditionalAccessStatus=TEXT,
    authenticationRequirement=TEXT,
    status=obj(errorCode=INT, failureReason=TEXT, additionalDetails=TEXT),
    location=obj(city=TEXT, state=TEXT, countryOrRegion=TEXT),
    appliedConditionalAccessPolicies=array(
        obj(
            id=TEXT,
            displayName=TEXT,
            result=TEXT,
            enforcedGrantControls=TEXTS,
            enforcedSessionControls=TEXTS,
        ),
        " of objects",
    ),
    authenticationDetails=array(
        obj(
            authenticationMethod=TEXT,
            authenticationMethodDetail=TEXT,
            succeeded=BOOL,
            authenticationStepDateTime=TIME,
            authenticationStepRequirement=TEXT,
        ),
        " of objects",
    ),
)

ITEM_SCHEMAS: dict[str, Check] = {
    "users": _USER,
    "groups": _GROUP,
    "servicePrincipals": _SERVICE_PRINCIPAL,
    "roleDefinitions": _ROLE_DEFINITION,
    "roleAssignments": _ROLE_ASSIGNMENT,
    "roleEligibilitySchedules": _ROLE_ELIGIBILITY,
    "roleAssignmentScheduleInstances": _ROLE_INSTANCE,
    "roleManagementPolicies": _ROLE_POLICY,
    "roleManagementPolicyAssignments": _ROLE_POLICY_ASSIGNMENT,
    "conditionalAccessPolicies": _CA_POLICY,
    "namedLocations": _NAMED_LOCATION,
    "authenticationStrengthPolicies": _STRENGTH,
    "userRegistrationDetails": _REGISTRATION,
    "authenticationMethods": _METHODS_LINE,
    "directoryAudits": _AUDIT,
    "signIns": _SIGN_IN,
}
"""Per collection, the type of one item (one line of ``authenticationMethods.jsonl``)."""

COLLECTION_SCHEMAS: dict[str, Check] = {"authenticationMethodsPolicy": _METHODS_POLICY}
"""Singleton collections: the type of the whole document."""

MANIFEST_SCHEMA: Check = obj(
    tenantId=TEXT,
    collectedAt=TIME,
    source=TEXT,
    collections=mapping(obj(status=TEXT, error=TEXT, requiredPermission=TEXT)),
    coverage=mapping(ANY),
)
