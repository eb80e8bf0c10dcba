"""Audit and sign-in logs (newest first) and the authentication methods registration report (§6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from graphlattice.server import access as A
from graphlattice.server.context import GraphContext, graph
from graphlattice.server.errors import not_found
from graphlattice.server.odata import ListSpec

router = APIRouter()
Json = dict[str, Any]

EQ = frozenset({"eq"})
TEXT = frozenset({"eq", "startswith"})
TIME = frozenset({"eq", "ge", "gt", "le", "lt"})

AUDITS = ListSpec(
    "DirectoryAudit",
    filters={
        "activityDateTime": TIME,
        "activityDisplayName": TEXT,
        "category": EQ,
        "correlationId": EQ,
        "id": EQ,
        "loggedByService": EQ,
        "operationType": EQ,
        "result": EQ,
        "initiatedBy/user/id": EQ,
        "initiatedBy/user/displayName": TEXT,
        "initiatedBy/user/userPrincipalName": TEXT,
        "initiatedBy/app/appId": EQ,
        "initiatedBy/app/displayName": TEXT,
        "targetResources/any/id": EQ,
        "targetResources/any/displayName": TEXT,
        "targetResources/any/userPrincipalName": TEXT,
    },
    default_top=100,
    max_top=1000,
    orderby=frozenset({"activityDateTime"}),
    newest_first=True,
)
AUDIT_V1 = frozenset(
    {
        "id",
        "category",
        "correlationId",
        "result",
        "resultReason",
        "activityDisplayName",
        "activityDateTime",
        "loggedByService",
        "operationType",
        "initiatedBy",
        "targetResources",
        "additionalDetails",
    }
)

_SIGN_IN_FILTERS: dict[str, frozenset[str]] = {
    "createdDateTime": TIME,
    "id": EQ,
    "correlationId": EQ,
    "userId": EQ,
    "userPrincipalName": TEXT,
    "userDisplayName": TEXT,
    "appId": EQ,
    "appDisplayName": TEXT,
    "ipAddress": TEXT,
    "clientAppUsed": EQ,
    "conditionalAccessStatus": EQ,
    "isInteractive": EQ,
    "resourceId": EQ,
    "resourceDisplayName": TEXT,
    "status/errorCode": frozenset({"eq", "ne"}),
    "location/countryOrRegion": EQ,
    "location/city": TEXT,
    "riskLevelDuringSignIn": EQ,
    "riskState": EQ,
}
SIGN_INS = ListSpec(
    "SignIn",
    filters=_SIGN_IN_FILTERS,
    default_top=1000,
    max_top=1000,
    orderby=frozenset({"createdDateTime"}),
    newest_first=True,
)
SIGN_INS_BETA = ListSpec(
    "SignIn",
    filters={
        **_SIGN_IN_FILTERS,
        "signInEventTypes/any": EQ,
        "authenticationRequirement": EQ,
        "userType": EQ,
        "authenticationDetails/any/authenticationMethod": EQ,
        "sessionId": EQ,
    },
    default_top=1000,
    max_top=1000,
    orderby=frozenset({"createdDateTime"}),
    newest_first=True,
)
SIGN_IN_V1 = frozenset(
    {
        "id",
        "createdDateTime",
        "userDisplayName",
        "userPrincipalName",
        "userId",
        "appId",
        "appDisplayName",
        "ipAddress",
        "clientAppUsed",
        "correlationId",
        "conditionalAccessStatus",
        "isInteractive",
        "riskDetail",
        "riskEventTypes",
        "riskEventTypes_v2",
        "riskLevelAggregated",
        "riskLevelDuringSignIn",
        "riskState",
        "resourceDisplayName",
        "resourceId",
        "resourceTenantId",
        "homeTenantId",
        "servicePrincipalId",
        "servicePrincipalName",
        "userAgent",
        "authenticationAppDeviceDetails",
        "status",
        "deviceDetail",
        "location",
        "appliedConditionalAccessPolicies",
    }
)
"""The v1.0 signIn properties (CSDL, reference/graph.md §6.2); everything else is beta-only."""

REGISTRATION = ListSpec(
    "UserRegistrationDetails",
    filters={
        "id": EQ,
        "userPrincipalName": TEXT,
        "userDisplayName": TEXT,
        "userType": EQ,
        "isAdmin": EQ,
        "isMfaRegistered": EQ,
        "isMfaCapable": EQ,
        "isPasswordlessCapable": EQ,
        "isSsprRegistered": EQ,
        "isSsprEnabled": EQ,
        "isSsprCapable": EQ,
        "isSystemPreferredAuthenticationMethodEnabled": EQ,
        "methodsRegistered/any": EQ,
        "systemPreferredAuthenticationMethods/any": EQ,
        "userPreferredMethodForSecondaryAuthentication": EQ,
        "lastUpdatedDateTime": TIME,
    },
    default_top=100,
    max_top=999,
    orderby=frozenset({"userPrincipalName", "userDisplayName", "lastUpdatedDateTime", "isAdmin"}),
)
REGISTRATION_BETA_ONLY = frozenset({"defaultMfaMethod"})


# ---- directory audits -----------------------------------------------------------------------------------


def _audit_shape(ctx: GraphContext) -> Any:
    if ctx.beta:
        return None
    return lambda r: {k: v for k, v in r.items() if k in AUDIT_V1}


@router.get("/auditLogs/directoryAudits")
async def list_audits(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_AUDITS)
    return ctx.collection("auditLogs/directoryAudits", ctx.views.audits, AUDITS, shape=_audit_shape(ctx))


@router.get("/auditLogs/directoryAudits/{record_id}")
async def get_audit(request: Request, record_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_AUDITS)
    record = next((r for r in ctx.views.audits if r.get("id") == record_id), None)
    if record is None:
        raise not_found(record_id)
    shape = _audit_shape(ctx)
    return ctx.entity("auditLogs/directoryAudits", record, shape=shape)


# ---- sign-ins -------------------------------------------------------------------------------------------


def _sign_in_shape(ctx: GraphContext) -> Any:
    show_ca = ctx.may(A.READ_CA_IN_SIGN_INS)
    names = None if ctx.beta else SIGN_IN_V1

    def shape(record: Json) -> Json:
        out = {k: v for k, v in record.items() if names is None or k in names}
        if not show_ca:
            out.pop("appliedConditionalAccessPolicies", None)
        return out

    return shape


def _interactive(ctx: GraphContext) -> list[Json]:
    def build() -> list[Json]:
        return [r for r in ctx.views.sign_ins if r.get("isInteractive") is not False]

    found: list[Json] = ctx.views.memo(("interactiveSignIns",), build)
    return found


@router.get("/auditLogs/signIns")
async def list_sign_ins(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_SIGN_INS)
    raw_filter = ctx.query.get("$filter") or ""
    # Interactive sign-ins only, unless beta's filter on signInEventTypes asks for other kinds.
    every = ctx.beta and "signineventtypes" in raw_filter.casefold()
    items = ctx.views.sign_ins if every else _interactive(ctx)
    spec = SIGN_INS_BETA if ctx.beta else SIGN_INS
    return ctx.collection(
        "auditLogs/signIns",
        items,
        spec,
        shape=_sign_in_shape(ctx),
        cache_key=f"/auditLogs/signIns#{'all' if every else 'interactive'}",
    )


@router.get("/auditLogs/signIns/{record_id}")
async def get_sign_in(request: Request, record_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_SIGN_INS)
    record = next((r for r in ctx.views.sign_ins if r.get("id") == record_id), None)
    if record is None:
        raise not_found(record_id)
    return ctx.entity("auditLogs/signIns", record, shape=_sign_in_shape(ctx))


# ---- registration details -------------------------------------------------------------------------------


def _registration_shape(ctx: GraphContext) -> Any:
    if ctx.beta:
        return None
    return lambda r: {k: v for k, v in r.items() if k not in REGISTRATION_BETA_ONLY}


@router.get("/reports/authenticationMethods/userRegistrationDetails")
async def list_registration(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_REGISTRATION_DETAILS)
    return ctx.collection(
        "reports/authenticationMethods/userRegistrationDetails",
        ctx.views.registration_details,
        REGISTRATION,
        shape=_registration_shape(ctx),
    )


@router.get("/reports/authenticationMethods/userRegistrationDetails/{user_id}")
async def get_registration(request: Request, user_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_REGISTRATION_DETAILS)
    row = next(
        (r for r in ctx.views.registration_details if str(r.get("id", "")).casefold() == user_id.casefold()),
        None,
    )
    if row is None:
        raise not_found(user_id)
    return ctx.entity(
        "reports/authenticationMethods/userRegistrationDetails", row, shape=_registration_shape(ctx)
    )


__all__ = ["router"]
