"""Users, groups (with members and owners), service principals (with their app role assignments)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from graphlattice.range import writes as W
from graphlattice.server import access as A
from graphlattice.server.context import check_body, graph, no_content, read_json
from graphlattice.server.errors import bad_request, not_found, not_implemented
from graphlattice.server.odata import ListSpec
from graphlattice.server.routers._common import (
    GROUP_NAV,
    NS,
    SIGN_IN_TIMES,
    SP_NAV,
    act,
    body_schema,
    directory_shape,
    user_or_404,
    user_shape,
    with_sign_in_activity,
    without,
)

router = APIRouter()
Json = dict[str, Any]

EQ = frozenset({"eq"})
EQ_IN = frozenset({"eq", "in"})
TEXT = frozenset({"eq", "startswith", "in"})
USERS = ListSpec(
    "User",
    filters={
        "id": EQ_IN,
        "userPrincipalName": TEXT,
        "displayName": TEXT,
        "mail": TEXT,
        "givenName": TEXT,
        "surname": TEXT,
        "userType": EQ,
        "accountEnabled": EQ,
        "onPremisesSyncEnabled": EQ,
        "createdDateTime": frozenset({"eq", "ge", "gt", "le", "lt"}),
        **{f"signInActivity/{p}": frozenset({"eq", "ge", "gt", "le", "lt"}) for p in SIGN_IN_TIMES},
    },
    default_top=100,
    max_top=999,
    orderby=frozenset({"displayName", "userPrincipalName"}),
    consistency=True,
)
GROUPS = ListSpec(
    "Group",
    filters={
        "id": EQ_IN,
        "displayName": TEXT,
        "mailNickname": TEXT,
        "securityEnabled": EQ,
        "mailEnabled": EQ,
        "isAssignableToRole": EQ,
        "groupTypes/any": EQ,
    },
    default_top=100,
    max_top=999,
    orderby=frozenset({"displayName"}),
    consistency=True,
)
MEMBERS = ListSpec("DirectoryObject", default_top=100, max_top=999, consistency=True)
SERVICE_PRINCIPALS = ListSpec(
    "ServicePrincipal",
    filters={
        "id": EQ_IN,
        "appId": EQ_IN,
        "displayName": TEXT,
        "servicePrincipalType": EQ,
        "accountEnabled": EQ,
        "tags/any": EQ,
    },
    default_top=100,
    max_top=999,
    orderby=frozenset({"displayName"}),
    consistency=True,
)
APP_ROLE_ASSIGNMENTS = ListSpec(
    "AppRoleAssignment",
    filters={"resourceId": EQ, "appRoleId": EQ, "principalId": EQ},
    default_top=100,
    max_top=999,
)


# ---- users ----------------------------------------------------------------------------------------------


def _sign_in_activity(ctx: Any) -> bool:
    """Whether the request reads ``signInActivity`` ($select or $filter); then it needs its permission."""
    wanted = "signInActivity" in (ctx.query.select or ()) or "signinactivity/" in (
        ctx.query.get("$filter") or ""
    ).casefold().replace(" ", "")
    if wanted:
        ctx.authorize(A.READ_SIGN_IN_ACTIVITY)
    return wanted


@router.get("/users")
async def list_users(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_USERS)
    activity = _sign_in_activity(ctx)
    return ctx.collection(
        "users",
        ctx.views.users,
        USERS,
        shape=user_shape(ctx),
        post=with_sign_in_activity if activity else None,
        top_limit=500 if activity else None,  # Graph's page limit with signInActivity selected
    )


@router.get("/users/{user_id}")
async def get_user(request: Request, user_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_USERS)
    activity = _sign_in_activity(ctx)
    post = with_sign_in_activity if activity else None
    return ctx.entity("users", user_or_404(ctx, user_id), shape=user_shape(ctx), post=post)


@router.patch("/users/{user_id}", openapi_extra=body_schema(W.USER_PATCH))
async def update_user(request: Request, user_id: str) -> Response:
    ctx = graph(request)
    user = user_or_404(ctx, user_id)
    body = await read_json(request)
    other = sorted(k for k in body if k != "accountEnabled" and "@" not in k)
    if other:
        raise not_implemented(f"Updating user properties other than accountEnabled ({', '.join(other)})")
    enabled = check_body(W.USER_PATCH, body).get("accountEnabled")
    if not isinstance(enabled, bool):
        raise bad_request("accountEnabled must be true or false.")
    act(ctx, "enable-user" if enabled else "disable-user", {"user": user["id"]}, A.WRITE_USER)
    return no_content()


@router.post("/users/{user_id}/revokeSignInSessions")
async def revoke_sessions(request: Request, user_id: str) -> Response:
    ctx = graph(request)
    user = user_or_404(ctx, user_id)
    act(ctx, "revoke-sessions", {"user": user["id"]}, A.REVOKE_SESSIONS)
    return ctx.json({"@odata.context": ctx.metadata("Edm.Boolean"), "value": True})


# ---- groups ---------------------------------------------------------------------------------------------


def _group_or_404(ctx: Any, group_id: str) -> Json:
    group: Json | None = ctx.views.group(group_id)
    if group is None:
        raise not_found(group_id)
    return group


@router.get("/groups")
async def list_groups(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_GROUPS)
    return ctx.collection("groups", ctx.views.items("groups"), GROUPS, shape=lambda g: without(g, GROUP_NAV))


@router.get("/groups/{group_id}")
async def get_group(request: Request, group_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_GROUPS)
    return ctx.entity("groups", _group_or_404(ctx, group_id), shape=lambda g: without(g, GROUP_NAV))


def related(ctx: Any, owner: Json, relation: str) -> list[Json]:
    """The directory objects an object's ``relation`` array names (members, owners), as Graph lists them."""
    key = ("related", ctx.version, str(owner.get("id")).casefold(), relation)

    def build() -> list[Json]:
        out: list[Json] = []
        for ref in owner.get(relation) or ():
            if not isinstance(ref, dict):
                continue
            found = ctx.views.directory_object(str(ref.get("id", "")))
            out.append(directory_shape(ctx, found[0], found[1]) if found else dict(ref))
        return out

    result: list[Json] = ctx.views.memo(key, build)
    return result


@router.get("/groups/{group_id}/members")
async def group_members(request: Request, group_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_GROUPS)
    group = _group_or_404(ctx, group_id)
    return ctx.collection("directoryObjects", related(ctx, group, "members"), MEMBERS)


@router.get("/groups/{group_id}/owners")
async def group_owners(request: Request, group_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_GROUPS)
    group = _group_or_404(ctx, group_id)
    return ctx.collection("directoryObjects", related(ctx, group, "owners"), MEMBERS)


@router.post("/groups/{group_id}/members/$ref")
async def add_member(request: Request, group_id: str) -> Response:
    ctx = graph(request)
    group = _group_or_404(ctx, group_id)
    body = await read_json(request)
    ref = body.get("@odata.id")
    if not isinstance(ref, str) or not ref.rstrip("/"):
        raise bad_request("The body needs '@odata.id': '.../directoryObjects/{id}'.")
    member_id = ref.rstrip("/").rsplit("/", 1)[-1]
    if ctx.views.directory_object(member_id) is None:
        raise not_found(member_id)
    act(ctx, "add-group-member", {"group": group["id"], "member": member_id}, A.WRITE_GROUP_MEMBERS)
    return no_content()


@router.delete("/groups/{group_id}/members/{member_id}/$ref")
async def remove_member(request: Request, group_id: str, member_id: str) -> Response:
    ctx = graph(request)
    group = _group_or_404(ctx, group_id)
    members = {str(m.get("id", "")).casefold() for m in group.get("members") or () if isinstance(m, dict)}
    if member_id.casefold() not in members:
        raise not_found(member_id)
    act(ctx, "remove-group-member", {"group": group["id"], "member": member_id}, A.WRITE_GROUP_MEMBERS)
    return no_content()


# ---- service principals ---------------------------------------------------------------------------------


def _sp_shape(sp: Json) -> Json:
    return without(sp, SP_NAV)


@router.get("/servicePrincipals")
async def list_service_principals(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_SERVICE_PRINCIPALS)
    return ctx.collection(
        "servicePrincipals", ctx.views.items("servicePrincipals"), SERVICE_PRINCIPALS, shape=_sp_shape
    )


@router.get("/servicePrincipals(appId='{app_id}')")
async def get_service_principal_by_app_id(request: Request, app_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_SERVICE_PRINCIPALS)
    sp = ctx.views.service_principal_by_app_id(app_id)
    if sp is None:
        raise not_found(app_id)
    return ctx.entity("servicePrincipals", sp, shape=_sp_shape)


@router.get("/servicePrincipals/{sp_id}")
async def get_service_principal(request: Request, sp_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_SERVICE_PRINCIPALS)
    sp = ctx.views.service_principal(sp_id)
    if sp is None:
        raise not_found(sp_id)
    return ctx.entity("servicePrincipals", sp, shape=_sp_shape)


@router.get("/servicePrincipals/{sp_id}/appRoleAssignments")
async def app_role_assignments(request: Request, sp_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_APP_ROLE_ASSIGNMENTS)
    sp = ctx.views.service_principal(sp_id)
    if sp is None:
        raise not_found(sp_id)
    grants = [g for g in sp.get("appRoleAssignments") or () if isinstance(g, dict)]
    return ctx.collection(
        f"servicePrincipals('{sp.get('id')}')/appRoleAssignments", grants, APP_ROLE_ASSIGNMENTS
    )


@router.get("/servicePrincipals/{sp_id}/appRoleAssignedTo")
async def app_role_assigned_to(request: Request, sp_id: str) -> Response:
    """The grants of this service principal's app roles (to other principals), e.g. every application
    permission on Microsoft Graph that the tenant's apps hold."""
    ctx = graph(request)
    ctx.authorize(A.READ_APP_ROLE_ASSIGNMENTS)
    sp = ctx.views.service_principal(sp_id)
    if sp is None:
        raise not_found(sp_id)
    wanted = str(sp.get("id", "")).casefold()

    def build() -> list[Json]:
        return [
            g
            for other in ctx.views.items("servicePrincipals")
            for g in other.get("appRoleAssignments") or ()
            if isinstance(g, dict) and str(g.get("resourceId", "")).casefold() == wanted
        ]

    grants: list[Json] = ctx.views.memo(("appRoleAssignedTo", wanted), build)
    return ctx.collection(
        f"servicePrincipals('{sp.get('id')}')/appRoleAssignedTo", grants, APP_ROLE_ASSIGNMENTS
    )


@router.get("/servicePrincipals/{sp_id}/owners")
async def service_principal_owners(request: Request, sp_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_SERVICE_PRINCIPALS)
    sp = ctx.views.service_principal(sp_id)
    if sp is None:
        raise not_found(sp_id)
    return ctx.collection("directoryObjects", related(ctx, sp, "owners"), MEMBERS)


__all__ = ["EQ", "EQ_IN", "MEMBERS", "NS", "TEXT", "related", "router"]
