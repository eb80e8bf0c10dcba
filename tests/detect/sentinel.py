"""Turn Graph directoryAudit / signIn records into Log Analytics AuditLogs / SigninLogs rows, as Sentinel
exports them (PascalCase columns; the portal's CSV export writes times as "11/14/2026, 2:06:56.000 AM" under
"[UTC]" headers and dynamic columns as JSON text)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import orjson

TENANT = "6513270e-269e-4d37-b2a7-4de452e6b438"


def audit_row(r: dict[str, Any]) -> dict[str, Any]:
    user = (r.get("initiatedBy") or {}).get("user") or {}
    app = (r.get("initiatedBy") or {}).get("app") or {}
    return {
        "TenantId": TENANT,
        "SourceSystem": "Azure AD",
        "TimeGenerated": r["activityDateTime"],
        "ResourceId": f"/tenants/{TENANT}/providers/Microsoft.aadiam",
        "OperationName": r["activityDisplayName"],
        "OperationVersion": "1.0",
        "Category": r.get("category"),
        "ResultType": "",
        "ResultSignature": "None",
        "ResultDescription": "",
        "DurationMs": 0,
        "CorrelationId": r.get("correlationId"),
        "Resource": "Microsoft.aadiam",
        "ResourceGroup": "Microsoft.aadiam",
        "ResourceProvider": "Microsoft.aadiam",
        "Identity": user.get("displayName") or app.get("displayName") or "",
        "Level": 4,
        "Location": "",
        "AdditionalDetails": r.get("additionalDetails") or [],
        "Id": r["id"],
        "InitiatedBy": r.get("initiatedBy"),
        "LoggedByService": r.get("loggedByService"),
        "Result": r.get("result"),
        "ResultReason": r.get("resultReason"),
        "TargetResources": r.get("targetResources") or [],
        "AADTenantId": TENANT,
        "ActivityDisplayName": r["activityDisplayName"],
        "ActivityDateTime": r["activityDateTime"],
        "AADOperationType": r.get("operationType"),
        "Type": "AuditLogs",
    }


def signin_row(r: dict[str, Any]) -> dict[str, Any]:
    status = r.get("status") or {}
    location = r.get("location") or {}
    return {
        "TenantId": TENANT,
        "SourceSystem": "Azure AD",
        "TimeGenerated": r["createdDateTime"],
        "ResourceId": f"/tenants/{TENANT}/providers/Microsoft.aadiam",
        "OperationName": "Sign-in activity",
        "OperationVersion": "1.0",
        "Category": "SignInLogs",
        "ResultType": str(status.get("errorCode", "")),
        "ResultSignature": "None",
        "ResultDescription": status.get("failureReason"),
        "DurationMs": 0,
        "CorrelationId": r.get("correlationId"),
        "Identity": r.get("userDisplayName"),
        "Level": 4,
        "Location": location.get("countryOrRegion"),
        "AppDisplayName": r.get("appDisplayName"),
        "AppId": r.get("appId"),
        "AuthenticationDetails": r.get("authenticationDetails"),
        "AuthenticationRequirement": r.get("authenticationRequirement"),
        "ClientAppUsed": r.get("clientAppUsed"),
        "ConditionalAccessPolicies": r.get("appliedConditionalAccessPolicies"),
        "ConditionalAccessStatus": r.get("conditionalAccessStatus"),
        "CreatedDateTime": r["createdDateTime"],
        "DeviceDetail": r.get("deviceDetail"),
        "IsInteractive": r.get("isInteractive"),
        "Id": r["id"],
        "IPAddress": r.get("ipAddress"),
        "LocationDetails": location,
        "RiskDetail": r.get("riskDetail"),
        "RiskLevelAggregated": r.get("riskLevelAggregated"),
        "RiskLevelDuringSignIn": r.get("riskLevelDuringSignIn"),
        "RiskState": r.get("riskState"),
        "ResourceDisplayName": r.get("resourceDisplayName"),
        "ResourceIdentity": r.get("resourceId"),
        "Status": status,
        "UserAgent": r.get("userAgent"),
        "UserDisplayName": r.get("userDisplayName"),
        "UserId": r.get("userId"),
        "UserPrincipalName": r.get("userPrincipalName"),
        "UserType": (r.get("userType") or "").capitalize() or None,
        "Type": "SigninLogs",
    }


_TIME_COLUMNS = ("TimeGenerated", "CreatedDateTime", "ActivityDateTime")


def _portal_time(iso: str) -> str:
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    clock = when.strftime("%I:%M:%S").lstrip("0")
    return (
        f"{when.month}/{when.day}/{when.year}, {clock}.{when.microsecond // 1000:03d} {when.strftime('%p')}"
    )


def to_portal_csv(rows: list[dict[str, Any]]) -> str:
    """The Log Analytics portal's "Export to CSV (all columns)" rendering."""
    columns = list(rows[0])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f"{c} [UTC]" if c in _TIME_COLUMNS else c for c in columns])
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c)
            if value is None:
                cells.append("")
            elif c in _TIME_COLUMNS:
                cells.append(_portal_time(value))
            elif isinstance(value, bool):
                cells.append("True" if value else "False")
            elif isinstance(value, (dict, list)):
                cells.append(orjson.dumps(value).decode())
            else:
                cells.append(str(value))
        writer.writerow(cells)
    return out.getvalue()


def to_json_array(rows: list[dict[str, Any]]) -> bytes:
    """``az monitor log-analytics query`` output: a JSON array, dynamic columns as JSON text."""

    def cell(v: Any) -> Any:
        return orjson.dumps(v).decode() if isinstance(v, (dict, list)) else v

    return orjson.dumps([{k: cell(v) for k, v in row.items()} for row in rows])


def to_jsonl_objects(rows: list[dict[str, Any]]) -> bytes:
    """A data export to a storage account: one row per line, dynamic columns as objects."""
    return b"".join(orjson.dumps(row) + b"\n" for row in rows)
