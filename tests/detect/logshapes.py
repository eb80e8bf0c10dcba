"""Log records in the shapes real exporters write, built from Graph ``directoryAudit`` / ``signIn`` records.

- :func:`diagnostic`: an Azure diagnostic-settings record (what an Event Hub or a storage account receives
  from Entra's diagnostic settings): ``time``, ``category``, ``operationName`` ... at the top, the Graph
  record under ``properties``.
- :func:`sdk_object`: a Graph PowerShell SDK object as ``ConvertTo-Json`` writes it (PascalCase property
  names, ``IPAddress`` for ``ipAddress``, an ``AdditionalProperties`` bag on every object).
- :func:`powershell_json`: ``ConvertTo-Json`` text as Windows PowerShell's ``Out-File -Encoding UTF8`` leaves
  it: a byte order mark, CRLF line ends, indented.

Every value here is made up for the tests.
"""

from __future__ import annotations

import copy
import json
import zlib
from datetime import datetime
from typing import Any

TENANT = "0c4f9d3e-8a1b-4c2d-9e7f-3a5b6c7d8e9f"
BOM = b"\xef\xbb\xbf"

ADMIN = {
    "id": "4f1e2d3c-5b6a-4798-8a9b-0c1d2e3f4a5b",
    "displayName": "Rosa Helpdesk",
    "userPrincipalName": "rosa.helpdesk@fabrikam.example",
}
VICTIM = {
    "id": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
    "displayName": "Tomas Victim",
    "userPrincipalName": "tomas.victim@fabrikam.example",
}
MY_SIGNINS = ("19db86c3-b2b9-44cc-b339-36da233a3be2", "My Signins")


def audit(
    record_id: str,
    when: str,
    activity: str,
    *,
    reason: str = "",
    service: str = "Core Directory",
    category: str = "UserManagement",
    result: str = "success",
    initiator: dict[str, Any] | None = None,
    ip: str | None = "203.0.113.40",
    target: dict[str, Any] | None = None,
    properties: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A v1.0 ``directoryAudit`` record; the initiator and the target default to the admin and the victim."""
    by = dict(initiator if initiator is not None else ADMIN)
    if ip is not None:
        by["ipAddress"] = ip
    on = dict(target if target is not None else VICTIM)
    return {
        "id": record_id,
        "category": category,
        "correlationId": f"c0ffee00-0000-4000-8000-{zlib.crc32(record_id.encode()):012d}",
        "result": result,
        "resultReason": reason,
        "activityDisplayName": activity,
        "activityDateTime": when,
        "loggedByService": service,
        "operationType": "Update",
        "initiatedBy": {"user": by, "app": None},
        "targetResources": [
            {
                **on,
                "type": "User",
                "groupType": None,
                "modifiedProperties": properties or [],
            }
        ],
        "additionalDetails": [],
    }


def tap_issued(record_id: str, when: str, ends: str) -> dict[str, Any]:
    return audit(
        record_id,
        when,
        "Admin registered security info",
        reason="Admin registered temporary access pass method for user",
        service="Authentication Methods",
        properties=[
            {"displayName": "TemporaryAccessPass.Id", "oldValue": '""', "newValue": '"5d2c1b0a-tap"'},
            {"displayName": "TemporaryAccessPass.StartDateTime", "oldValue": '""', "newValue": f'"{when}"'},
            {"displayName": "TemporaryAccessPass.EndDateTime", "oldValue": '""', "newValue": f'"{ends}"'},
            {"displayName": "TemporaryAccessPass.AccessPassUsage", "oldValue": '""', "newValue": '"OneTime"'},
        ],
    )


def user_registered(record_id: str, when: str, reason: str, ip: str) -> dict[str, Any]:
    """The user registered a method for themselves (initiator and target are the victim)."""
    return audit(
        record_id,
        when,
        "User registered security info",
        reason=reason,
        service="Authentication Methods",
        initiator=VICTIM,
        ip=ip,
    )


def signin(
    record_id: str,
    when: str,
    *,
    user: dict[str, Any] | None = None,
    app: tuple[str, str] = MY_SIGNINS,
    ip: str = "198.51.100.23",
    country: str = "NL",
    error: int = 0,
    reason: str | None = None,
    methods: list[str] | None = None,
    requirement: str | None = "multiFactorAuthentication",
    event_type: str | None = "interactiveUser",
) -> dict[str, Any]:
    """A ``signIn`` record, beta shape unless ``methods``/``requirement``/``event_type`` are None (v1.0)."""
    who = user if user is not None else VICTIM
    record: dict[str, Any] = {
        "id": record_id,
        "createdDateTime": when,
        "userDisplayName": who["displayName"],
        "userPrincipalName": who["userPrincipalName"],
        "userId": who["id"],
        "appId": app[0],
        "appDisplayName": app[1],
        "ipAddress": ip,
        "clientAppUsed": "Browser",
        "correlationId": f"5e55a000-0000-4000-8000-{zlib.crc32(record_id.encode()):012d}",
        "conditionalAccessStatus": "success" if error == 0 else "failure",
        "isInteractive": event_type in (None, "interactiveUser"),
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "resourceDisplayName": "Microsoft Graph",
        "resourceId": "00000003-0000-0000-c000-000000000000",
        "status": {"errorCode": error, "failureReason": reason or "Other.", "additionalDetails": None},
        "deviceDetail": {"deviceId": "", "operatingSystem": "Windows10", "browser": "Edge 131.0.0"},
        "location": {"city": "Utrecht", "state": "Utrecht", "countryOrRegion": country},
    }
    if requirement is not None:
        record["authenticationRequirement"] = requirement
    if methods is not None:
        record["authenticationDetails"] = [
            {"authenticationMethod": m, "succeeded": True, "authenticationStepDateTime": when}
            for m in methods
        ]
    if event_type is not None:
        record["signInEventTypes"] = [event_type]
    return record


def workload_signin(record_id: str, when: str, name: str, *, managed: bool) -> dict[str, Any]:
    """A service principal's (or managed identity's) sign-in, as diagnostic settings stream it: no user, no
    authenticationDetails, no authenticationRequirement."""
    return {
        "id": record_id,
        "createdDateTime": when,
        "userId": None,
        "appId": "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a98",
        "ipAddress": "" if managed else "192.0.2.77",
        "status": {"errorCode": 0},
        "location": {"city": "", "state": "", "countryOrRegion": ""},
        "correlationId": record_id,
        "conditionalAccessStatus": "notApplied",
        "isInteractive": False,
        "resourceDisplayName": "Windows Azure Service Management API",
        "resourceId": "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        "servicePrincipalName": name,
        "servicePrincipalId": "9e8d7c6b-5a49-4837-a261-50f4e3d2c1b0",
        "tokenIssuerType": "AzureAD",
    }


_SIGNIN_CATEGORIES = {
    "interactiveUser": "SignInLogs",
    "nonInteractiveUser": "NonInteractiveUserSignInLogs",
}


def envelope(
    category: str, when: str, operation: str, properties: dict[str, Any], **top: Any
) -> dict[str, Any]:
    """One diagnostic-settings record: the fields every category carries at the top, then ``properties``."""
    return {
        "time": when,
        "resourceId": f"/tenants/{TENANT}/providers/Microsoft.aadiam",
        "operationName": operation,
        "operationVersion": "1.0",
        "category": category,
        "tenantId": TENANT,
        "resultSignature": "None",
        "durationMs": 0,
        "Level": 4,
        **top,
        "properties": properties,
    }


def diagnostic(record: dict[str, Any], category: str | None = None) -> dict[str, Any]:
    """``record`` as one diagnostic-settings record of ``category`` (default: from the record's kind)."""
    if category is None:
        if "activityDateTime" in record:
            category = "AuditLogs"
        else:
            category = _SIGNIN_CATEGORIES[(record.get("signInEventTypes") or ["interactiveUser"])[0]]
    return envelope(
        category,
        record.get("activityDateTime") or record.get("createdDateTime") or "",
        record.get("activityDisplayName") or "Sign-in activity",
        record,
        resultType=str((record.get("status") or {}).get("errorCode", "")),
        callerIpAddress=record.get("ipAddress") or "",
        correlationId=record.get("correlationId"),
        identity=record.get("userDisplayName") or "",
        location="NL",
    )


def _user(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "userId": user["id"],
        "userDisplayName": user["displayName"],
        "userPrincipalName": user["userPrincipalName"],
    }


def risky_user(user: dict[str, Any], when: str) -> dict[str, Any]:
    properties = {
        "id": user["id"],
        **_user(user),
        "riskLastUpdatedDateTime": when,
        "riskState": "atRisk",
        "riskDetail": "none",
        "riskLevel": "medium",
        "isDeleted": False,
        "isProcessing": False,
    }
    return envelope("RiskyUsers", when, "Risky user", properties, correlationId=user["id"])


def user_risk_event(user: dict[str, Any], when: str, ip: str) -> dict[str, Any]:
    """A UserRiskEvents record: its properties carry activityDateTime, like an audit record would."""
    properties = {
        "id": "f3e2d1c0b9a8",
        "riskEventType": "unfamiliarFeatures",
        "riskState": "atRisk",
        "riskLevel": "medium",
        "source": "IdentityProtection",
        "activity": "signin",
        "ipAddress": ip,
        "location": {"city": "Lagos", "state": "Lagos", "countryOrRegion": "NG"},
        "activityDateTime": when,
        "detectedDateTime": when,
        **_user(user),
    }
    return envelope("UserRiskEvents", when, "User Risk Detection", properties, callerIpAddress=ip)


def graph_activity(user: dict[str, Any], when: str) -> dict[str, Any]:
    """A MicrosoftGraphActivityLogs record (its ``properties.location`` is a string, not an object)."""
    properties = {
        "timeGenerated": when,
        "location": "West Europe",
        "requestId": "a1b2c3d4-0000-4000-8000-000000000001",
        "requestMethod": "GET",
        "responseStatusCode": 200,
        "userId": user["id"],
        "requestUri": "https://graph.microsoft.com/v1.0/me/authentication/methods",
        "ipAddress": "198.51.100.23",
    }
    return envelope(
        "MicrosoftGraphActivityLogs", when, "Microsoft Graph Activity", properties, location="West Europe"
    )


# -- Graph PowerShell SDK objects ----------------------------------------------------------------------------

_SDK_NAMES = {"ipAddress": "IPAddress"}


def sdk_object(value: Any, *, dates: str = "iso") -> Any:
    """``value`` with SDK property names; ``dates="ps51"`` writes ``*DateTime`` values the way Windows
    PowerShell 5.1's ConvertTo-Json writes a DateTime (``/Date(ms)/``)."""
    if isinstance(value, list):
        return [sdk_object(v, dates=dates) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, sub in value.items():
        name = _SDK_NAMES.get(key, key[:1].upper() + key[1:])
        if dates == "ps51" and key.endswith("DateTime") and isinstance(sub, str):
            sub = _ps51_date(sub)
        out[name] = sdk_object(sub, dates=dates)
    out["AdditionalProperties"] = {}
    return out


def _ps51_date(text: str) -> str:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return f"/Date({int(moment.timestamp() * 1000)})/"


def powershell_json(value: Any, *, bom: bool = True) -> bytes:
    """ConvertTo-Json text as Out-File -Encoding UTF8 writes it in Windows PowerShell."""
    text = json.dumps(value, indent=4, ensure_ascii=False).replace("\n", "\r\n") + "\r\n"
    return (BOM if bom else b"") + text.encode("utf-8")


def jsonl(records: list[Any]) -> bytes:
    return b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records)


def clone(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(record)
    out.update(changes)
    return out


def tap_story() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(audits, sign-ins) of a pass misused: the victim's usual sign-in from home days before; an admin
    issues a Temporary Access Pass; it is used from an address and country new for the victim; an
    Authenticator is registered from there. tap-bootstrapped-persistence fires on these."""
    signins = [
        signin("si-home", "2026-02-26T08:02:00Z", methods=["Password", "Authenticator App"]),
        signin(
            "si-tap",
            "2026-03-02T09:20:11Z",
            ip="192.0.2.66",
            country="NG",
            methods=["Temporary Access Pass"],
        ),
    ]
    audits = [
        tap_issued("aud-tap", "2026-03-02T09:14:05Z", "2026-03-02T10:14:05Z"),
        user_registered(
            "aud-reg", "2026-03-02T09:26:00Z", "User registered Microsoft Authenticator method", "192.0.2.66"
        ),
    ]
    return audits, signins
