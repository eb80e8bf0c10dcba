"""The columns of Microsoft Sentinel's (Log Analytics') ``AuditLogs`` and ``SigninLogs`` tables.

Source: the Azure Monitor Logs table reference,
learn.microsoft.com/azure/azure-monitor/reference/tables/auditlogs and .../signinlogs (MicrosoftDocs
repository azure-reference-other, ``azure-monitor-ref/tables/includes/auditlogs-include.md`` and
``signinlogs-include.md``, revision of 2024-02-18). Names and types as published there. The exporter checks
its field mapping against these tables when it loads, and the tests check every column a generated KQL query
names against them.

``dynamic`` columns hold JSON; note that ``AuthenticationDetails`` is a *string* column in ``SigninLogs`` (it
must go through ``todynamic()``), while ``LocationDetails``, ``DeviceDetail`` and ``Status`` are dynamic.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["AUDIT_LOGS", "SIGNIN_LOGS", "TABLES", "TICKETS_WATCHLIST", "TICKETS_WATCHLIST_COLUMNS"]

AUDIT_LOGS: Mapping[str, str] = MappingProxyType(
    {
        "AADOperationType": "string",
        "AADTenantId": "string",
        "ActivityDateTime": "datetime",
        "ActivityDisplayName": "string",
        "AdditionalDetails": "dynamic",
        "_BilledSize": "real",
        "Category": "string",
        "CorrelationId": "string",
        "DurationMs": "long",
        "Id": "string",
        "Identity": "string",
        "InitiatedBy": "dynamic",
        "_IsBillable": "string",
        "Level": "string",
        "Location": "string",
        "LoggedByService": "string",
        "OperationName": "string",
        "OperationVersion": "string",
        "Resource": "string",
        "ResourceGroup": "string",
        "ResourceId": "string",
        "ResourceProvider": "string",
        "Result": "string",
        "ResultDescription": "string",
        "ResultReason": "string",
        "ResultSignature": "string",
        "ResultType": "string",
        "SourceSystem": "string",
        "TargetResources": "dynamic",
        "TimeGenerated": "datetime",
        "Type": "string",
    }
)

SIGNIN_LOGS: Mapping[str, str] = MappingProxyType(
    {
        "AADTenantId": "string",
        "AlternateSignInName": "string",
        "AppDisplayName": "string",
        "AppId": "string",
        "AppliedConditionalAccessPolicies": "string",
        "AppliedEventListeners": "dynamic",
        "AuthenticationContextClassReferences": "string",
        "AuthenticationDetails": "string",
        "AuthenticationMethodsUsed": "string",
        "AuthenticationProcessingDetails": "string",
        "AuthenticationProtocol": "string",
        "AuthenticationRequirement": "string",
        "AuthenticationRequirementPolicies": "string",
        "AutonomousSystemNumber": "string",
        "_BilledSize": "real",
        "Category": "string",
        "ClientAppUsed": "string",
        "ConditionalAccessPolicies": "dynamic",
        "ConditionalAccessStatus": "string",
        "CorrelationId": "string",
        "CreatedDateTime": "datetime",
        "CrossTenantAccessType": "string",
        "DeviceDetail": "dynamic",
        "DurationMs": "long",
        "FlaggedForReview": "bool",
        "HomeTenantId": "string",
        "Id": "string",
        "Identity": "string",
        "IPAddress": "string",
        "IPAddressFromResourceProvider": "string",
        "_IsBillable": "string",
        "IsInteractive": "bool",
        "IsRisky": "bool",
        "Level": "string",
        "Location": "string",
        "LocationDetails": "dynamic",
        "MfaDetail": "dynamic",
        "NetworkLocationDetails": "string",
        "OperationName": "string",
        "OperationVersion": "string",
        "OriginalRequestId": "string",
        "ProcessingTimeInMilliseconds": "string",
        "Resource": "string",
        "ResourceDisplayName": "string",
        "ResourceGroup": "string",
        "ResourceId": "string",
        "ResourceIdentity": "string",
        "ResourceProvider": "string",
        "ResourceServicePrincipalId": "string",
        "ResourceTenantId": "string",
        "ResultDescription": "string",
        "ResultSignature": "string",
        "ResultType": "string",
        "RiskDetail": "string",
        "RiskEventTypes": "string",
        "RiskEventTypes_V2": "string",
        "RiskLevel": "string",
        "RiskLevelAggregated": "string",
        "RiskLevelDuringSignIn": "string",
        "RiskState": "string",
        "ServicePrincipalId": "string",
        "ServicePrincipalName": "string",
        "SessionLifetimePolicies": "string",
        "SignInIdentifier": "string",
        "SignInIdentifierType": "string",
        "SourceSystem": "string",
        "Status": "dynamic",
        "TimeGenerated": "datetime",
        "TokenIssuerName": "string",
        "TokenIssuerType": "string",
        "Type": "string",
        "UniqueTokenIdentifier": "string",
        "UserAgent": "string",
        "UserDisplayName": "string",
        "UserId": "string",
        "UserPrincipalName": "string",
        "UserType": "string",
    }
)

TABLES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"AuditLogs": AUDIT_LOGS, "SigninLogs": SIGNIN_LOGS}
)

TICKETS_WATCHLIST = "GraphLatticeTickets"
"""Alias of the Sentinel watchlist ``tap-issued-without-ticket`` reads (see docs/detection-export.md)."""

TICKETS_WATCHLIST_COLUMNS: Mapping[str, str] = MappingProxyType(
    {"ticket": "string", "user": "string", "time": "string", "SearchKey": "string"}
)
"""Its columns: the header of the ``detect --tickets`` CSV, plus the search key Sentinel adds."""
