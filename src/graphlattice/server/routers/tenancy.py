"""What posture tools read about the tenant itself: application registrations (with owners), the organization,
tenant-wide group settings, and the security defaults and authorization policies.

These are read-only in the Range (no action changes them), served from the seed's Graph JSON. Every member
user may read them (Entra's default user permissions); an application needs each API's permission.
``/policies/authorizationPolicy`` is a single object in v1.0 and a collection in beta, as in Graph.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from graphlattice.server import access as A
from graphlattice.server.context import GraphContext, graph
from graphlattice.server.errors import bad_request, not_found
from graphlattice.server.odata import ListSpec
from graphlattice.server.routers._common import without
from graphlattice.server.routers.directory import EQ, EQ_IN, MEMBERS, TEXT, related

router = APIRouter()
Json = dict[str, Any]

APPLICATIONS = ListSpec(
    "Application",
    filters={
        "id": EQ_IN,
        "appId": EQ_IN,
        "displayName": TEXT,
        "signInAudience": EQ,
        "publisherDomain": EQ,
        "createdDateTime": frozenset({"eq", "ge", "gt", "le", "lt"}),
        "tags/any": EQ,
        "identifierUris/any": EQ,
    },
    default_top=100,
    max_top=999,
    orderby=frozenset({"displayName"}),
    consistency=True,
)
GROUP_SETTINGS = ListSpec("GroupSetting", default_top=None)  # Graph: $filter is not supported here
ORGANIZATION = ListSpec("Organization", default_top=None)
AUTHORIZATION_POLICIES = ListSpec("AuthorizationPolicy", default_top=None)
APP_NAV = frozenset({"owners"})


def _app_shape(app: Json) -> Json:
    return without(app, APP_NAV)


# ---- applications ---------------------------------------------------------------------------------------


def _application(ctx: GraphContext, key: str, *, by_app_id: bool = False) -> Json:
    wanted = key.strip().strip("'").casefold()
    field = "appId" if by_app_id else "id"
    for app in ctx.views.items("applications"):
        if str(app.get(field, "")).casefold() == wanted:
            return app
    raise not_found(key)


@router.get("/applications")
async def list_applications(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_APPLICATIONS)
    return ctx.collection("applications", ctx.views.items("applications"), APPLICATIONS, shape=_app_shape)


@router.get("/applications(appId='{app_id}')")
async def get_application_by_app_id(request: Request, app_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_APPLICATIONS)
    return ctx.entity("applications", _application(ctx, app_id, by_app_id=True), shape=_app_shape)


@router.get("/applications/{app_object_id}")
async def get_application(request: Request, app_object_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_APPLICATIONS)
    return ctx.entity("applications", _application(ctx, app_object_id), shape=_app_shape)


@router.get("/applications/{app_object_id}/owners")
async def application_owners(request: Request, app_object_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_APPLICATIONS)
    app = _application(ctx, app_object_id)
    return ctx.collection("directoryObjects", related(ctx, app, "owners"), MEMBERS)


# ---- the organization and its settings ------------------------------------------------------------------


def _organization(ctx: GraphContext) -> list[Json]:
    found = ctx.views.items("organization")
    if found:
        return found
    return [{"id": ctx.views.tenant_id, "displayName": None, "verifiedDomains": []}]  # a seed without one


@router.get("/organization")
async def list_organization(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ORGANIZATION)
    return ctx.collection("organization", _organization(ctx), ORGANIZATION)


@router.get("/organization/{org_id}")
async def get_organization(request: Request, org_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ORGANIZATION)
    for org in _organization(ctx):
        if str(org.get("id", "")).casefold() == org_id.casefold():
            return ctx.entity("organization", org)
    raise not_found(org_id)


@router.get("/groupSettings")
async def list_group_settings(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_GROUP_SETTINGS)
    return ctx.collection("groupSettings", ctx.views.items("groupSettings"), GROUP_SETTINGS)


@router.get("/settings")
async def list_directory_settings(request: Request) -> Response:
    """Beta's ``directorySetting`` collection (what ``Get-MgBetaDirectorySetting`` reads): the same objects as
    ``/groupSettings``; v1.0 has no ``/settings``."""
    ctx = graph(request)
    if not ctx.beta:
        raise bad_request("Resource not found for the segment 'settings'.")
    ctx.authorize(A.READ_GROUP_SETTINGS)
    return ctx.collection("settings", ctx.views.items("groupSettings"), GROUP_SETTINGS)


@router.get("/groupSettings/{setting_id}")
async def get_group_setting(request: Request, setting_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_GROUP_SETTINGS)
    for setting in ctx.views.items("groupSettings"):
        if str(setting.get("id", "")).casefold() == setting_id.casefold():
            return ctx.entity("groupSettings", setting)
    raise not_found(setting_id)


# ---- tenant-wide policies -------------------------------------------------------------------------------


def _policy(ctx: GraphContext, name: str) -> Json:
    found = ctx.views.collections.get(name)
    if not isinstance(found, dict) or not found:
        raise not_found(name)
    return found


@router.get("/policies/identitySecurityDefaultsEnforcementPolicy")
async def get_security_defaults(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_SECURITY_DEFAULTS)
    name = "identitySecurityDefaultsEnforcementPolicy"
    return ctx.entity(f"policies/{name}", _policy(ctx, name))


@router.get("/policies/authorizationPolicy")
async def get_authorization_policy(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_AUTHORIZATION_POLICY)
    policy = _policy(ctx, "authorizationPolicy")
    if ctx.beta:
        return ctx.collection("policies/authorizationPolicy", [policy], AUTHORIZATION_POLICIES)
    return ctx.entity("policies/authorizationPolicy", policy)


__all__ = ["router"]
