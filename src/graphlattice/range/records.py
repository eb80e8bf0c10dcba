"""The audit (``directoryAudit``) and sign-in (``signIn``, beta shape) records the Range writes.

Activity names, services, categories, ``resultReason`` strings and ``modifiedProperties`` follow what Entra
writes (reference: Microsoft Entra audit activity reference, Microsoft's security operations guide for
authentication methods, Sentinel and Sigma content that matches on them). Where Microsoft's wording varies
between tenants (the method named in ``resultReason``), the Range uses one spelling consistently:

* TAP issuance: ``Admin registered security info`` / ``Admin registered temporary access pass method for
  user`` with ``TemporaryAccessPass.Id``, ``.StartDateTime``, ``.EndDateTime``, ``.AccessPassUsage``;
* each method a user registers: one ``User registered security info`` naming the method (a passkey: ``User
  registered Fido2 Authentication Method``, after ``Get passkey creation options``, as in Microsoft's
  Get-MgAuditLogDirectoryAudit example); passkeys and passwordless phone sign-in add a Device Registration
  Service record;
* revoking sessions: Core Directory ``Update StsRefreshTokenValidFrom Timestamp`` with
  ``StsRefreshTokensValidFrom``;
* password resets: Self-service Password Management ``Reset password (by admin)`` /
  ``Reset password (self-service)`` / ``Change password (self-service)`` plus Core Directory
  ``Reset user password`` / ``Change user password``.

A sign-in record says what Entra says: ``status.failureReason`` is Entra's text for the error code
(:mod:`graphlattice.entra.signin_errors`) and the Range's own explanation goes to
``status.additionalDetails``; ``authenticationRequirement`` is what the sign-in was required to satisfy
(:func:`graphlattice.entra.ca.requires_mfa`), not what was used; a report-only policy that Entra does not
evaluate (user actions) is left out of ``appliedConditionalAccessPolicies``.

Generic shapes (ids, ``initiatedBy``, targets) reuse the demo tenant's helpers so both write the same JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson

from graphlattice.demo._audits import MS_PIM, WELL_KNOWN, prop, quoted
from graphlattice.demo._signins import AZURE_PORTAL, MY_SIGNINS, OFFICE, TEAMS, App, step
from graphlattice.entra.ca import NOT_EVALUATED, PolicyResult
from graphlattice.entra.roles import role_display_name
from graphlattice.entra.signin_errors import failure_reason
from graphlattice.range.clock import iso
from graphlattice.range.state import RangeState

__all__ = [
    "APPS",
    "MS_PIM",
    "Json",
    "app_by_name",
    "audit",
    "by_app",
    "by_user",
    "ca_applied",
    "device_target",
    "policy_target",
    "prop",
    "quoted",
    "role_props",
    "role_target",
    "sign_in",
    "step",
    "ts",
    "user_target",
]

Json = dict[str, Any]

APPS: dict[str, App] = {
    "my-signins": MY_SIGNINS,
    "office": OFFICE,
    "azure-portal": AZURE_PORTAL,
    "teams": TEAMS,
}

_ID_PREFIX = {
    "Core Directory": "Directory",
    "Authentication Methods": "Authentication Methods",
    "Self-service Password Management": "SSPR",
    "PIM": "PIM",
    "Conditional Access": "Conditional Access",
    "Device Registration Service": "DRS",
}
_GRANT_NAMES = {
    "mfa": "Mfa",
    "block": "Block",
    "compliantdevice": "RequireCompliantDevice",
    "domainjoineddevice": "RequireDomainJoinedDevice",
    "approvedapplication": "RequireApprovedApp",
    "compliantapplication": "RequireCompliantApp",
    "passwordchange": "PasswordChange",
    "riskremediation": "RiskRemediation",
}
_ENFORCED_RESULTS = frozenset(
    {"success", "failure", "reportOnlySuccess", "reportOnlyFailure", "reportOnlyInterrupted"}
)


def app_by_name(name: str) -> App:
    """One of :data:`APPS` by short name, display name or app id; anything else becomes a generic app."""
    key = name.strip().casefold()
    if key in APPS:
        return APPS[key]
    for app in APPS.values():
        if key in (app[0].casefold(), app[1].casefold()):
            return app
    return (name, name, "Microsoft Graph", "00000003-0000-0000-c000-000000000000", "Browser")


# -- principals and targets ---------------------------------------------------------------------------------


def by_user(user: Json, ip: str | None) -> Json:
    return {
        "user": {
            "id": user["id"],
            "displayName": user.get("displayName"),
            "userPrincipalName": user.get("userPrincipalName"),
            "ipAddress": ip,
        },
        "app": None,
    }


def by_app(app_id: str, name: str) -> Json:
    return {
        "user": None,
        "app": {
            "appId": app_id,
            "displayName": name,
            "servicePrincipalId": None,
            "servicePrincipalName": None,
        },
    }


def user_target(user: Json, props: list[Json] | None = None) -> Json:
    return {
        "id": user["id"],
        "displayName": user.get("displayName"),
        "type": "User",
        "userPrincipalName": user.get("userPrincipalName"),
        "groupType": None,
        "modifiedProperties": props or [],
    }


def _target(tid: str, name: str | None, kind: str, props: list[Json] | None = None) -> Json:
    return {
        "id": tid,
        "displayName": name,
        "type": kind,
        "userPrincipalName": None,
        "groupType": None,
        "modifiedProperties": props or [],
    }


def role_props(role_id: str) -> list[Json]:
    name = role_display_name(role_id)
    props = [
        prop("Role.ObjectID", None, quoted(role_id)),
        prop("Role.DisplayName", None, quoted(name)),
        prop("Role.TemplateId", None, quoted(role_id)),
    ]
    if role_id in WELL_KNOWN:
        props.append(prop("Role.WellKnownObjectName", None, quoted(WELL_KNOWN[role_id])))
    return props


def role_target(role_id: str) -> Json:
    return _target(role_id, role_display_name(role_id), "Role")


def policy_target(policy_id: str, name: str | None, old: Any, new: Any, property_name: str) -> Json:
    def encode(value: Any) -> str | None:
        return None if value is None else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()

    return _target(policy_id, name, "Policy", [prop(property_name, encode(old), encode(new))])


def device_target(device_id: str, name: str | None) -> Json:
    return _target(device_id, name, "Device")


# -- directoryAudit -----------------------------------------------------------------------------------------


def audit(
    state: RangeState,
    *,
    service: str,
    category: str,
    activity: str,
    operation: str,
    initiated_by: Json,
    targets: Sequence[Json],
    result_reason: str = "",
    result: str = "success",
    details: Iterable[tuple[str, str]] = (),
    correlation: str | None = None,
    at: datetime | None = None,
) -> Json:
    """Append one ``directoryAudit`` record to the range's log and return it."""
    correlation = correlation or state.ids.uuid()
    serial = state.ids.number(10_000_000, 999_999_999)
    record: Json = {
        "id": f"{_ID_PREFIX.get(service, service)}_{correlation}_{state.ids.tag()}_{serial}",
        "category": category,
        "correlationId": correlation,
        "result": result,
        "resultReason": result_reason,
        "activityDisplayName": activity,
        "activityDateTime": iso(at or state.now),
        "loggedByService": service,
        "operationType": operation,
        "initiatedBy": initiated_by,
        "targetResources": list(targets),
        "additionalDetails": [{"key": k, "value": v} for k, v in details],
    }
    state.audits.append(record)
    return record


# -- signIn -------------------------------------------------------------------------------------------------


def ca_applied(results: Iterable[PolicyResult]) -> list[Json]:
    """``appliedConditionalAccessPolicies`` entries for the policies Entra evaluated."""
    out: list[Json] = []
    for r in results:
        if r.result == NOT_EVALUATED:
            continue
        controls: list[str] = []
        if r.result in _ENFORCED_RESULTS and r.grant is not None:
            controls = [_GRANT_NAMES.get(c.casefold(), c) for c in r.grant.built_in_controls]
            if r.grant.authentication_strength_id:
                controls.append("RequireAuthenticationStrength")
        out.append(
            {
                "id": r.policy_id,
                "displayName": r.display_name,
                "enforcedGrantControls": controls,
                "enforcedSessionControls": [],
                "result": r.result,
            }
        )
    return out


def _location(country: str | None, city: str | None) -> Json:
    return {"city": city, "state": None, "countryOrRegion": country, "geoCoordinates": None}


def sign_in(
    state: RangeState,
    *,
    user: Json,
    app: App,
    ip: str,
    country: str | None,
    steps: list[Json],
    ca: Sequence[PolicyResult] = (),
    error: int = 0,
    detail: str | None = None,
    mfa_required: bool = False,
    interactive: bool = True,
    city: str | None = None,
    browser: str = "Chrome 131.0.0",
    session_id: str | None = None,
) -> Json:
    """Append one beta ``signIn`` record and return it.

    ``error``: the sign-in error code (0 for success), whose Entra text becomes ``failureReason``; ``detail``:
    the Range's explanation, in ``additionalDetails``; ``mfa_required``: whether the sign-in had to satisfy
    multifactor authentication (``authenticationRequirement``).
    """
    applied = ca_applied(ca)
    enforced = [r["result"] for r in applied if r["result"] in ("success", "failure")]
    status = "failure" if "failure" in enforced else "success" if enforced else "notApplied"
    record: Json = {
        "id": state.ids.uuid(),
        "createdDateTime": iso(state.now),
        "userDisplayName": user.get("displayName"),
        "userPrincipalName": user.get("userPrincipalName"),
        "userId": user["id"],
        "appId": app[1],
        "appDisplayName": app[0],
        "ipAddress": ip,
        "clientAppUsed": app[4],
        "correlationId": state.ids.uuid(),
        "conditionalAccessStatus": status,
        "isInteractive": interactive,
        "riskDetail": "none",
        "riskEventTypes": [],
        "riskEventTypes_v2": [],
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "resourceDisplayName": app[2],
        "resourceId": app[3],
        "resourceTenantId": state.tenant_id,
        "homeTenantId": state.tenant_id,
        "tokenIssuerType": "AzureAD",
        "status": {
            "errorCode": error,
            "failureReason": failure_reason(error, resource=app[3]) if error else "Other.",
            "additionalDetails": (detail or None) if error else None,
        },
        "deviceDetail": {
            "deviceId": "",
            "displayName": None,
            "operatingSystem": "Windows10",
            "browser": browser if app[4] == "Browser" else None,
            "isCompliant": False,
            "isManaged": False,
            "trustType": None,
        },
        "location": _location(country, city),
        "appliedConditionalAccessPolicies": applied,
        "authenticationRequirement": (
            "multiFactorAuthentication" if mfa_required else "singleFactorAuthentication"
        ),
        "signInEventTypes": ["interactiveUser" if interactive else "nonInteractiveUser"],
        "userType": "guest" if str(user.get("userType") or "").casefold() == "guest" else "member",
        "authenticationDetails": steps,
        "sessionId": session_id,
    }
    state.sign_ins.append(record)
    return record


def ts(moment: datetime) -> int:
    """Epoch seconds, for the demo's ``step`` helper."""
    return int(moment.timestamp())
