"""What every write to a range may carry, in Graph's own types and limits: one schema per resource.

The Graph endpoint checks a request body against the schema of its resource before it turns the body into
an action (``CA_POLICY`` for ``POST /identity/conditionalAccess/policies``, ``TAP_CREATE`` for a new
Temporary Access Pass, ...); the actions check their parameters against the same specs (see
:class:`~graphlattice.range.actions.Param`), so ``range act``, a scenario timeline and a Graph client all
meet one set of limits. Sources:

* ``conditionalAccessPolicy`` and the types below it: Microsoft Graph v1.0 CSDL and the resource pages
  (reference/graph.md §3.2), beta-only properties accepted as given; ``signInFrequency.value`` 1–365
  (days) per the resource page ("signInFrequencySessionControl").
* ``temporaryAccessPassAuthenticationMethodConfiguration`` and ``temporaryAccessPassAuthenticationMethod``:
  the limits in ``entra/data/tap_policy.yaml`` (lifetimes 10–43200 minutes, length 8–48).
* Passwords: ``entra/data/password_policy.yaml`` (8–256 characters, allowed characters, complexity).
* PIM schedule requests (``unifiedRoleAssignmentScheduleRequest``, ``unifiedRoleEligibilityScheduleRequest``
  and their ``requestSchedule``): Graph v1.0 resource pages; justification up to 500 characters, as the PIM
  portal allows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from graphlattice.entra._data import load_table, require_mapping
from graphlattice.entra.passwords import MAX_LENGTH as PASSWORD_MAX
from graphlattice.entra.passwords import password_problem
from graphlattice.range.schema import (
    Spec,
    any_object,
    boolean,
    duration,
    instant,
    integer,
    list_of,
    nullable,
    number,
    obj,
    text,
)

__all__ = [
    "ACTIVATION",
    "CA_POLICY",
    "CA_POLICY_CREATE",
    "CA_POLICY_PATCH",
    "CLOCK_MINUTES",
    "COUNTRY",
    "ELIGIBILITY",
    "IP_ADDRESS",
    "JUSTIFICATION",
    "KEY",
    "PASSWORD",
    "PASSWORD_ATTEMPT",
    "PASSWORD_RESET",
    "ROLE_ASSIGNMENT",
    "ROLE_POLICY_RULE",
    "ROLE_SCHEDULE_REQUEST",
    "TAP_CONFIGURATION",
    "TAP_CREATE",
    "TAP_LENGTH",
    "TAP_LIFETIME",
    "TEXT",
    "USER_PATCH",
]

_TAP_LIMITS = require_mapping(load_table("tap_policy")["limits"], "tap_policy.limits")


def _limits(name: str) -> tuple[int, int]:
    row = require_mapping(_TAP_LIMITS[name], f"tap_policy.limits.{name}")
    return int(row["min"]), int(row["max"])


# ---- plain values -----------------------------------------------------------------------------------------

TEXT = text(256)
"""A display name, a label, an id: Graph's strings are short; 256 characters is the common limit."""
KEY = text(256, min_length=1)
"""What names a user, group, role, policy or method (id, UPN or display name)."""
DEVICE_NAME = text(256, controls=True)
"""A phone's or key's own name, as the device reports it at registration: whoever registers picks it, so it
may hold anything, control characters included (every terminal line escapes them)."""
DISPLAY_NAME = text(256, min_length=1, controls=True)
"""A display name an administrator types: free text, shown escaped wherever a terminal shows it."""
JUSTIFICATION = text(500)
COUNTRY = text(2, min_length=2, rule=lambda v: None if v.isascii() and v.isalpha() else "must be two letters")


def _ip_problem(value: str) -> str | None:
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return "must be an IPv4 or IPv6 address"
    return None


IP_ADDRESS = text(45, rule=_ip_problem)
PASSWORD = text(PASSWORD_MAX, rule=password_problem)
"""A password the policy must accept (a reset, a change)."""
PASSWORD_ATTEMPT = text(PASSWORD_MAX)
"""A password typed at sign-in: any string the sign-in page takes; a wrong one merely fails."""
TAP_LIFETIME = integer(*_limits("lifetimeInMinutes"))
TAP_LENGTH = integer(*_limits("defaultLength"))
CLOCK_MINUTES = number(0, 60 * 24 * 366 * 100)
"""How far ``advance-clock`` moves at once (a century at most; the clock's window bounds it further)."""
ELIGIBILITY = duration(timedelta(minutes=5), timedelta(days=3650))
"""How long a PIM eligibility lasts; the role's policy (a year by default) is checked by the action."""
ACTIVATION = duration(timedelta(minutes=30), timedelta(hours=24))
"""A PIM activation's or a role setting's duration: 30 minutes to 24 hours, as PIM's role settings allow."""

# ---- Temporary Access Pass -------------------------------------------------------------------------------

_NS = "microsoft.graph."

TAP_CREATE = obj(
    _NS + "temporaryAccessPassAuthenticationMethod",
    {
        "startDateTime": nullable(instant()),
        "lifetimeInMinutes": nullable(TAP_LIFETIME),
        "isUsableOnce": nullable(boolean()),
    },
)
_TARGET_TYPES = ("user", "group", "unknownFutureValue")
TAP_CONFIGURATION = obj(
    _NS + "temporaryAccessPassAuthenticationMethodConfiguration",
    {
        "id": TEXT,
        "state": text(choices=("enabled", "disabled")),
        "isUsableOnce": boolean(),
        "defaultLifetimeInMinutes": TAP_LIFETIME,
        "minimumLifetimeInMinutes": TAP_LIFETIME,
        "maximumLifetimeInMinutes": TAP_LIFETIME,
        "defaultLength": TAP_LENGTH,
        "includeTargets": list_of(
            obj(
                _NS + "authenticationMethodTarget",
                {
                    "id": KEY,
                    "targetType": text(choices=_TARGET_TYPES),
                    "isRegistrationRequired": boolean(),
                },
                required=("id",),
            ),
            max_length=200,
        ),
        "excludeTargets": list_of(
            obj(
                _NS + "excludeTarget",
                {"id": KEY, "targetType": text(choices=_TARGET_TYPES)},
                required=("id",),
            ),
            max_length=200,
        ),
    },
)

# ---- passwords and users --------------------------------------------------------------------------------

PASSWORD_RESET = obj("resetPassword parameters", {"newPassword": nullable(PASSWORD)})
USER_PATCH = obj(_NS + "user", {"accountEnabled": boolean()})

# ---- Conditional Access ---------------------------------------------------------------------------------

_IDS = list_of(text(256))
_RISK = list_of(text(choices=("low", "medium", "high", "hidden", "none", "unknownFutureValue")), 6)
_FILTER = nullable(
    obj(
        _NS + "conditionalAccessFilter",
        {"mode": text(choices=("include", "exclude")), "rule": text(3072)},
    )
)
_GUESTS = nullable(
    obj(
        _NS + "conditionalAccessGuestsOrExternalUsers",
        {
            "guestOrExternalUserTypes": text(256),
            "externalTenants": nullable(
                obj(
                    _NS + "conditionalAccessExternalTenants",
                    {
                        "membershipKind": text(choices=("all", "enumerated", "unknownFutureValue")),
                        "members": _IDS,
                    },
                )
            ),
        },
    )
)
_USERS = obj(
    _NS + "conditionalAccessUsers",
    {
        **{f"{side}{what}": _IDS for side in ("include", "exclude") for what in ("Users", "Groups", "Roles")},
        "includeGuestsOrExternalUsers": _GUESTS,
        "excludeGuestsOrExternalUsers": _GUESTS,
    },
)
_APPLICATIONS = obj(
    _NS + "conditionalAccessApplications",
    {
        "includeApplications": _IDS,
        "excludeApplications": _IDS,
        "includeUserActions": _IDS,
        "includeAuthenticationContextClassReferences": _IDS,
        "applicationFilter": _FILTER,
        "globalSecureAccess": nullable(any_object(_NS + "conditionalAccessGlobalSecureAccess")),
        "networkAccess": nullable(any_object(_NS + "conditionalAccessNetworkAccess")),
    },
)
_PLATFORMS = ("android", "iOS", "windows", "windowsPhone", "macOS", "linux", "all", "unknownFutureValue")
_CLIENT_APPS = (
    "all",
    "browser",
    "mobileAppsAndDesktopClients",
    "exchangeActiveSync",
    "easSupported",
    "other",
)
_CONDITIONS = obj(
    _NS + "conditionalAccessConditionSet",
    {
        "applications": nullable(_APPLICATIONS),
        "users": nullable(_USERS),
        "clientApplications": nullable(
            obj(
                _NS + "conditionalAccessClientApplications",
                {
                    "includeServicePrincipals": _IDS,
                    "excludeServicePrincipals": _IDS,
                    "servicePrincipalFilter": _FILTER,
                },
            )
        ),
        "clientAppTypes": list_of(text(choices=(*_CLIENT_APPS, "unknownFutureValue")), 10),
        "devices": nullable(
            obj(
                _NS + "conditionalAccessDevices",
                {
                    "includeDevices": _IDS,
                    "excludeDevices": _IDS,
                    "includeDeviceStates": _IDS,
                    "excludeDeviceStates": _IDS,
                    "deviceFilter": _FILTER,
                },
            )
        ),
        "locations": nullable(
            obj(_NS + "conditionalAccessLocations", {"includeLocations": _IDS, "excludeLocations": _IDS})
        ),
        "platforms": nullable(
            obj(
                _NS + "conditionalAccessPlatforms",
                {
                    "includePlatforms": list_of(text(choices=_PLATFORMS), 10),
                    "excludePlatforms": list_of(text(choices=_PLATFORMS), 10),
                },
            )
        ),
        "signInRiskLevels": _RISK,
        "userRiskLevels": _RISK,
        "servicePrincipalRiskLevels": _RISK,
        "insiderRiskLevels": nullable(text(256)),
        "authenticationFlows": nullable(
            obj(_NS + "conditionalAccessAuthenticationFlows", {"transferMethods": text(256)})
        ),
    },
)
_BUILT_IN_CONTROLS = (
    "block",
    "mfa",
    "compliantDevice",
    "domainJoinedDevice",
    "approvedApplication",
    "compliantApplication",
    "passwordChange",
    "unknownFutureValue",
    "riskRemediation",
)
_GRANT = obj(
    _NS + "conditionalAccessGrantControls",
    {
        "operator": text(choices=("AND", "OR"), fold=True),
        "builtInControls": list_of(text(choices=_BUILT_IN_CONTROLS), 10),
        "customAuthenticationFactors": _IDS,
        "termsOfUse": _IDS,
        "authenticationStrength": nullable(
            obj(
                _NS + "authenticationStrengthPolicy",
                {"id": KEY},
                required=("id",),
                open=True,  # a policy read back from Graph carries its whole strength object
            )
        ),
    },
)


def _enabled(graph_type: str, **extra: Spec) -> Spec:
    return nullable(obj(_NS + graph_type, {"isEnabled": nullable(boolean()), **extra}))


_SESSION = obj(
    _NS + "conditionalAccessSessionControls",
    {
        "applicationEnforcedRestrictions": _enabled("applicationEnforcedRestrictionsSessionControl"),
        "cloudAppSecurity": _enabled(
            "cloudAppSecuritySessionControl",
            cloudAppSecurityType=nullable(
                text(choices=("mcasConfigured", "monitorOnly", "blockDownloads", "unknownFutureValue"))
            ),
        ),
        "persistentBrowser": _enabled(
            "persistentBrowserSessionControl",
            mode=nullable(text(choices=("always", "never", "unknownFutureValue"))),
        ),
        "signInFrequency": _enabled(
            "signInFrequencySessionControl",
            value=nullable(integer(1, 365)),
            type=nullable(text(choices=("days", "hours", "unknownFutureValue"))),
            authenticationType=nullable(
                text(
                    choices=(
                        "primaryAndSecondaryAuthentication",
                        "secondaryAuthentication",
                        "unknownFutureValue",
                    )
                )
            ),
            frequencyInterval=nullable(text(choices=("timeBased", "everyTime", "unknownFutureValue"))),
        ),
        "secureSignInSession": _enabled("secureSignInSessionControl"),
        "disableResilienceDefaults": nullable(boolean()),
        "continuousAccessEvaluation": nullable(any_object(_NS + "continuousAccessEvaluationSessionControl")),
        "networkAccessSecurity": nullable(any_object(_NS + "networkAccessSecuritySessionControl")),
        "globalSecureAccessFilteringProfile": nullable(
            any_object(_NS + "globalSecureAccessFilteringProfileSessionControl")
        ),
    },
)
CA_STATES = ("enabled", "disabled", "enabledForReportingButNotEnforced")
_CA_FIELDS: dict[str, Spec] = {
    "displayName": text(256, min_length=1),
    "description": nullable(text(1024)),
    "state": text(choices=CA_STATES),
    "templateId": nullable(TEXT),
    "conditions": _CONDITIONS,
    "grantControls": nullable(_GRANT),
    "sessionControls": nullable(_SESSION),
}
CA_POLICY = obj(
    _NS + "conditionalAccessPolicy",
    {
        **_CA_FIELDS,
        # read-only: accepted (a policy read back and posted again carries them) and ignored
        "id": nullable(TEXT),
        "createdDateTime": nullable(TEXT),
        "modifiedDateTime": nullable(TEXT),
        "deletedDateTime": nullable(TEXT),
    },
    required=("displayName", "conditions"),
)
CA_POLICY_CREATE = replace(CA_POLICY, required=frozenset({"displayName", "conditions", "state"}))
"""What ``POST /identity/conditionalAccess/policies`` takes: a policy that also says its state."""
CA_POLICY_PATCH = obj(_NS + "conditionalAccessPolicy", _CA_FIELDS)
"""A PATCH: the writable properties only (read-only ones are refused)."""

# ---- roles and PIM ----------------------------------------------------------------------------------------

_APPROVERS = list_of(
    obj(
        _NS + "subjectSet",
        {"userId": nullable(KEY), "groupId": nullable(KEY), "description": nullable(TEXT)},
        open=True,  # singleUser, groupMembers, requestorManager ... each with its own properties
    ),
    max_length=50,
)
ROLE_POLICY_RULE = obj(
    _NS + "unifiedRoleManagementPolicyRule",
    {
        "id": nullable(TEXT),
        "enabledRules": nullable(
            list_of(text(choices=("MultiFactorAuthentication", "Justification", "Ticketing")))
        ),
        "isExpirationRequired": nullable(boolean()),
        "maximumDuration": nullable(ACTIVATION),
        "setting": nullable(
            obj(
                _NS + "approvalSettings",
                {
                    "isApprovalRequired": nullable(boolean()),
                    "isApprovalRequiredForExtension": nullable(boolean()),
                    "isRequestorJustificationRequired": nullable(boolean()),
                    "approvalMode": nullable(TEXT),
                    "approvalStages": nullable(
                        list_of(
                            obj(
                                _NS + "unifiedApprovalStage",
                                {
                                    "approvalStageTimeOutInDays": nullable(integer(1, 365)),
                                    "isApproverJustificationRequired": nullable(boolean()),
                                    "escalationTimeInMinutes": nullable(integer(0, 60 * 24 * 365)),
                                    "isEscalationEnabled": nullable(boolean()),
                                    "primaryApprovers": nullable(_APPROVERS),
                                    "escalationApprovers": nullable(_APPROVERS),
                                },
                            ),
                            max_length=5,
                        )
                    ),
                },
            )
        ),
        "target": nullable(any_object(_NS + "unifiedRoleManagementPolicyRuleTarget")),
    },
    open=True,  # the rule's other kinds (notification, authentication context) carry their own properties
)
"""A PATCH of one PIM policy rule (``/policies/roleManagementPolicies/{id}/rules/{ruleId}``)."""

ROLE_ASSIGNMENT = obj(
    _NS + "unifiedRoleAssignment",
    {
        "principalId": KEY,
        "roleDefinitionId": KEY,
        "directoryScopeId": nullable(text(256, min_length=1)),
        "appScopeId": nullable(TEXT),
    },
    required=("principalId", "roleDefinitionId"),
)

_SCHEDULE = obj(
    _NS + "requestSchedule",
    {
        "startDateTime": nullable(instant()),
        "expiration": nullable(
            obj(
                _NS + "expirationPattern",
                {
                    "type": nullable(
                        text(
                            choices=("notSpecified", "noExpiration", "afterDateTime", "afterDuration"),
                        )
                    ),
                    "endDateTime": nullable(instant()),
                    "duration": nullable(duration(timedelta(0), timedelta(days=3650))),
                },
            )
        ),
        "recurrence": nullable(any_object(_NS + "patternedRecurrence")),
    },
)
ROLE_SCHEDULE_REQUEST = obj(
    _NS + "unifiedRoleScheduleRequest",
    {
        "action": text(
            choices=(
                "adminAssign",
                "adminUpdate",
                "adminRemove",
                "selfActivate",
                "selfDeactivate",
                "adminExtend",
                "adminRenew",
                "selfExtend",
                "selfRenew",
                "unknownFutureValue",
            )
        ),
        "principalId": KEY,
        "roleDefinitionId": KEY,
        "directoryScopeId": nullable(text(256, min_length=1)),
        "appScopeId": nullable(TEXT),
        "justification": nullable(JUSTIFICATION),
        "isValidationOnly": nullable(boolean()),
        "targetScheduleId": nullable(TEXT),
        "scheduleInfo": nullable(_SCHEDULE),
        "ticketInfo": nullable(
            obj(_NS + "ticketInfo", {"ticketNumber": nullable(TEXT), "ticketSystem": nullable(TEXT)})
        ),
    },
    required=("action", "principalId", "roleDefinitionId"),
)
