"""Graph's legacy role API: ``/directoryRoles`` (activated roles and their members) and
``/directoryRoleTemplates`` (every built-in role).

Many readers still use it (Prowler's Entra services, older scripts) rather than ``/roleManagement/directory``.
A role is addressed by its own object id or by its template id (``/directoryRoles/{templateId}`` and
``/directoryRoles(roleTemplateId='...')`` both work in Graph). Members are the principals with an active
assignment at tenant scope: a PIM activation makes its holder a member until it ends, an eligibility does not.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from graphlattice.range.views import directory_role_members, directory_roles
from graphlattice.server import access as A
from graphlattice.server.context import GraphContext, graph
from graphlattice.server.errors import not_found
from graphlattice.server.odata import ListSpec
from graphlattice.server.routers._common import directory_shape
from graphlattice.server.routers.directory import EQ, MEMBERS

router = APIRouter()
Json = dict[str, Any]

ROLES = ListSpec(
    "DirectoryRole", filters={"id": EQ, "displayName": EQ, "roleTemplateId": EQ}, default_top=None
)
TEMPLATES = ListSpec("DirectoryRoleTemplate", filters={"id": EQ, "displayName": EQ}, default_top=None)


def _roles(ctx: GraphContext) -> list[Json]:
    views = ctx.views
    found: list[Json] = views.memo(
        ("directoryRoles",), lambda: directory_roles(views.collections, views.tenant_id)
    )
    return found


def _role_or_404(ctx: GraphContext, key: str) -> Json:
    """A role by its object id or its template id."""
    wanted = key.strip().strip("'").casefold()
    for role in _roles(ctx):
        if wanted in (str(role["id"]).casefold(), str(role["roleTemplateId"]).casefold()):
            return role
    raise not_found(key)


def _members(ctx: GraphContext, role: Json) -> list[Json]:
    def build() -> list[Json]:
        out: list[Json] = []
        for principal in directory_role_members(ctx.views.collections, str(role["roleTemplateId"])):
            found = ctx.views.directory_object(principal)
            if found is not None:
                out.append(directory_shape(ctx, found[0], found[1]))
        return out

    members: list[Json] = ctx.views.memo(("directoryRoleMembers", ctx.version, role["id"]), build)
    return members


@router.get("/directoryRoles")
async def list_directory_roles(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_DIRECTORY_ROLES)
    return ctx.collection("directoryRoles", _roles(ctx), ROLES)


@router.get("/directoryRoles(roleTemplateId='{template_id}')")
async def get_directory_role_by_template(request: Request, template_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_DIRECTORY_ROLES)
    return ctx.entity("directoryRoles", _role_or_404(ctx, template_id))


@router.get("/directoryRoles(roleTemplateId='{template_id}')/members")
async def directory_role_members_by_template(request: Request, template_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_DIRECTORY_ROLES)
    role = _role_or_404(ctx, template_id)
    return ctx.collection(f"directoryRoles('{role['id']}')/members", _members(ctx, role), MEMBERS)


@router.get("/directoryRoles/{role_id}")
async def get_directory_role(request: Request, role_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_DIRECTORY_ROLES)
    return ctx.entity("directoryRoles", _role_or_404(ctx, role_id))


@router.get("/directoryRoles/{role_id}/members")
async def list_directory_role_members(request: Request, role_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_DIRECTORY_ROLES)
    role = _role_or_404(ctx, role_id)
    return ctx.collection(f"directoryRoles('{role['id']}')/members", _members(ctx, role), MEMBERS)


def _templates(ctx: GraphContext) -> list[Json]:
    def build() -> list[Json]:
        return [
            {
                "id": d.get("templateId") or d.get("id"),
                "deletedDateTime": None,
                "description": d.get("description"),
                "displayName": d.get("displayName"),
            }
            for d in ctx.views.items("roleDefinitions")
            if d.get("isBuiltIn", True)
        ]

    found: list[Json] = ctx.views.memo(("directoryRoleTemplates",), build)
    return found


@router.get("/directoryRoleTemplates")
async def list_directory_role_templates(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_DIRECTORY_ROLES)
    return ctx.collection("directoryRoleTemplates", _templates(ctx), TEMPLATES)


@router.get("/directoryRoleTemplates/{template_id}")
async def get_directory_role_template(request: Request, template_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_DIRECTORY_ROLES)
    wanted = template_id.casefold()
    for template in _templates(ctx):
        if str(template["id"]).casefold() == wanted:
            return ctx.entity("directoryRoleTemplates", template)
    raise not_found(template_id)


__all__ = ["router"]
