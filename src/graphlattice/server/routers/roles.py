"""Directory roles and PIM: definitions, assignments, eligibility schedules, assignment schedule instances,
and the schedule requests that assign, make eligible, remove and activate (reference/graph.md §4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from graphlattice.range import writes as W
from graphlattice.server import access as A
from graphlattice.server.context import GraphContext, graph, no_content, read_body
from graphlattice.server.errors import bad_request, not_found, not_implemented
from graphlattice.server.odata import ListSpec, parse_expand
from graphlattice.server.routers._common import act, body_schema, directory_shape

router = APIRouter()
Json = dict[str, Any]
BASE = "/roleManagement/directory"

EQ = frozenset({"eq"})
EQ_IN = frozenset({"eq", "in"})
DEFINITIONS = ListSpec(
    "UnifiedRoleDefinition",
    filters={
        "id": EQ_IN,
        "templateId": EQ_IN,
        "displayName": frozenset({"eq", "startswith"}),
        "isBuiltIn": EQ,
        "isEnabled": EQ,
    },
    max_top=999,
    orderby=frozenset({"displayName"}),
)
_ASSIGNMENT_FILTERS = {
    "id": EQ,
    "principalId": EQ_IN,
    "roleDefinitionId": EQ_IN,
    "directoryScopeId": EQ,
    "appScopeId": EQ,
}
ASSIGNMENTS = ListSpec("UnifiedRoleAssignment", filters=_ASSIGNMENT_FILTERS, max_top=999)
ELIGIBILITY = ListSpec(
    "UnifiedRoleEligibilitySchedule",
    filters={**_ASSIGNMENT_FILTERS, "memberType": EQ, "status": EQ},
    max_top=999,
)
INSTANCES = ListSpec(
    "UnifiedRoleAssignmentScheduleInstance",
    filters={**_ASSIGNMENT_FILTERS, "memberType": EQ, "assignmentType": EQ},
    max_top=999,
)


def _one(items: list[Json], key: str) -> Json:
    found = next((i for i in items if str(i.get("id", "")).casefold() == key.casefold()), None)
    if found is None:
        raise not_found(key)
    return found


def _expander(ctx: GraphContext, allowed: set[str]) -> Any:
    """A shape that embeds ``principal`` / ``roleDefinition`` when ``$expand`` asks for them."""
    wanted = parse_expand(ctx.query.get("$expand"))
    for item in wanted:
        if item.name not in allowed:
            raise bad_request(
                f"Parsing OData Select and Expand failed: Could not find a property named '{item.name}'."
            )
    if not wanted:
        return None
    definitions = {str(d.get("id", "")).casefold(): d for d in ctx.views.items("roleDefinitions")}

    def shape(item: Json) -> Json:
        out = dict(item)
        for exp in wanted:
            if exp.name == "principal":
                found = ctx.views.directory_object(str(item.get("principalId", "")))
                out["principal"] = directory_shape(ctx, found[0], found[1]) if found else None
            elif exp.name == "roleDefinition":
                out["roleDefinition"] = definitions.get(str(item.get("roleDefinitionId", "")).casefold())
        return out

    return shape


@router.get(f"{BASE}/roleDefinitions")
async def list_definitions(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ROLES)
    return ctx.collection(
        "roleManagement/directory/roleDefinitions", ctx.views.items("roleDefinitions"), DEFINITIONS
    )


@router.get(f"{BASE}/roleDefinitions/{{definition_id}}")
async def get_definition(request: Request, definition_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ROLES)
    return ctx.entity(
        "roleManagement/directory/roleDefinitions", _one(ctx.views.items("roleDefinitions"), definition_id)
    )


@router.get(f"{BASE}/roleAssignments")
async def list_assignments(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ROLES)
    return ctx.collection(
        "roleManagement/directory/roleAssignments",
        ctx.views.items("roleAssignments"),
        ASSIGNMENTS,
        shape=_expander(ctx, {"principal", "roleDefinition"}),
    )


@router.get(f"{BASE}/roleAssignments/{{assignment_id}}")
async def get_assignment(request: Request, assignment_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ROLES)
    item = _one(ctx.views.items("roleAssignments"), assignment_id)
    return ctx.entity(
        "roleManagement/directory/roleAssignments",
        item,
        shape=_expander(ctx, {"principal", "roleDefinition"}),
    )


def _principal_and_role(ctx: GraphContext, body: Json) -> tuple[str, str]:
    principal, role = body.get("principalId"), body.get("roleDefinitionId")
    if not isinstance(principal, str) or not isinstance(role, str):
        raise bad_request("principalId and roleDefinitionId are required strings.")
    if ctx.views.directory_object(principal) is None:
        raise bad_request(f"principalId '{principal}' is not an object of this tenant.")
    return principal, role


@router.post(f"{BASE}/roleAssignments", openapi_extra=body_schema(W.ROLE_ASSIGNMENT))
async def create_assignment(request: Request) -> Response:
    ctx = graph(request)
    body = await read_body(request, W.ROLE_ASSIGNMENT)
    principal, role = _principal_and_role(ctx, body)
    scope = body.get("directoryScopeId") or "/"
    result = act(ctx, "assign-role", {"principal": principal, "role": role, "scope": scope}, A.WRITE_ROLES)
    created = _one(ctx.service.views().items("roleAssignments"), str(result.data["id"]))
    payload = {"@odata.context": ctx.metadata("roleManagement/directory/roleAssignments/$entity"), **created}
    return ctx.json(payload, status=201)


@router.delete(f"{BASE}/roleAssignments/{{assignment_id}}")
async def delete_assignment(request: Request, assignment_id: str) -> Response:
    ctx = graph(request)
    item = _one(ctx.views.items("roleAssignments"), assignment_id)
    params = {"principal": item.get("principalId"), "role": item.get("roleDefinitionId")}
    act(ctx, "remove-role", params, A.WRITE_ROLES)
    return no_content()


@router.get(f"{BASE}/roleEligibilitySchedules")
async def list_eligibility(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ELIGIBILITY)
    return ctx.collection(
        "roleManagement/directory/roleEligibilitySchedules",
        ctx.views.items("roleEligibilitySchedules"),
        ELIGIBILITY,
        shape=_expander(ctx, {"principal", "roleDefinition"}),
    )


@router.get(f"{BASE}/roleEligibilitySchedules/{{schedule_id}}")
async def get_eligibility(request: Request, schedule_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ELIGIBILITY)
    return ctx.entity(
        "roleManagement/directory/roleEligibilitySchedules",
        _one(ctx.views.items("roleEligibilitySchedules"), schedule_id),
    )


@router.get(f"{BASE}/roleAssignmentScheduleInstances")
async def list_instances(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ASSIGNMENT_SCHEDULES)
    return ctx.collection(
        "roleManagement/directory/roleAssignmentScheduleInstances",
        ctx.views.items("roleAssignmentScheduleInstances"),
        INSTANCES,
        shape=_expander(ctx, {"principal", "roleDefinition"}),
    )


@router.get(f"{BASE}/roleAssignmentScheduleInstances/{{instance_id}}")
async def get_instance(request: Request, instance_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ASSIGNMENT_SCHEDULES)
    return ctx.entity(
        "roleManagement/directory/roleAssignmentScheduleInstances",
        _one(ctx.views.items("roleAssignmentScheduleInstances"), instance_id),
    )


# ---- schedule requests ----------------------------------------------------------------------------------


_NAMES = {"duration": "scheduleInfo.expiration.duration", "justification": "justification"}


def _duration(body: Json) -> str | None:
    info = body.get("scheduleInfo")
    if info is None:
        return None
    if not isinstance(info, dict):
        raise bad_request("scheduleInfo must be an object.")
    expiration = info.get("expiration") or {}
    if not isinstance(expiration, dict):
        raise bad_request("scheduleInfo.expiration must be an object.")
    kind = str(expiration.get("type") or "noExpiration")
    if kind == "afterDuration":
        duration = expiration.get("duration")
        if not isinstance(duration, str):
            raise bad_request("scheduleInfo.expiration.duration must be an ISO 8601 duration, e.g. PT8H.")
        return duration
    if kind in ("noExpiration", "notSpecified"):
        return None
    raise not_implemented(f"scheduleInfo.expiration.type '{kind}'")


def _request_response(
    ctx: GraphContext, kind: str, body: Json, request_id: str | None, status: str
) -> Response:
    now = ctx.service.range.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = {
        "@odata.context": ctx.metadata(f"roleManagement/directory/{kind}/$entity"),
        "id": request_id or "",
        "status": status,
        "createdDateTime": now,
        "completedDateTime": now if status == "Provisioned" else None,
        "action": body.get("action"),
        "principalId": body.get("principalId"),
        "roleDefinitionId": body.get("roleDefinitionId"),
        "directoryScopeId": body.get("directoryScopeId", "/"),
        "appScopeId": None,
        "isValidationOnly": False,
        "justification": body.get("justification"),
        "scheduleInfo": body.get("scheduleInfo"),
        "ticketInfo": body.get("ticketInfo") or {"ticketNumber": None, "ticketSystem": None},
    }
    return ctx.json(payload, status=201)


@router.post(f"{BASE}/roleEligibilityScheduleRequests", openapi_extra=body_schema(W.ROLE_SCHEDULE_REQUEST))
async def eligibility_request(request: Request) -> Response:
    ctx = graph(request)
    body = await read_body(request, W.ROLE_SCHEDULE_REQUEST)
    principal, role = _principal_and_role(ctx, body)
    action = body.get("action")
    params: Json = {"principal": principal, "role": role}
    if action == "adminAssign":
        duration = _duration(body)
        if duration:
            params["duration"] = duration
        if isinstance(body.get("justification"), str):
            params["justification"] = body["justification"]
        result = act(
            ctx, "add-eligibility", params, A.WRITE_ROLES, body=W.ROLE_SCHEDULE_REQUEST, names=_NAMES
        )
    elif action == "adminRemove":
        result = act(ctx, "remove-eligibility", params, A.WRITE_ROLES)
    else:
        raise not_implemented(f"roleEligibilityScheduleRequests with action '{action}'")
    return _request_response(
        ctx, "roleEligibilityScheduleRequests", body, result.data.get("id"), "Provisioned"
    )


@router.post(f"{BASE}/roleAssignmentScheduleRequests", openapi_extra=body_schema(W.ROLE_SCHEDULE_REQUEST))
async def assignment_request(request: Request) -> Response:
    ctx = graph(request)
    body = await read_body(request, W.ROLE_SCHEDULE_REQUEST)
    principal, role = _principal_and_role(ctx, body)
    action = body.get("action")
    if action == "selfActivate":
        if ctx.principal.kind == "user" and principal.casefold() != ctx.principal.object_id:
            raise bad_request("selfActivate: principalId must be the signed-in user.")
        params: Json = {"user": principal, "role": role}
        duration = _duration(body)
        if duration:
            params["duration"] = duration
        if isinstance(body.get("justification"), str):
            params["justification"] = body["justification"]
        result = act(ctx, "activate-role", params, A.WRITE_ROLES, body=W.ROLE_SCHEDULE_REQUEST, names=_NAMES)
        status = str(result.data.get("status") or "Provisioned")
        return _request_response(
            ctx, "roleAssignmentScheduleRequests", body, result.data.get("request"), status
        )
    if action == "adminAssign":
        scope = body.get("directoryScopeId") or "/"
        result = act(
            ctx, "assign-role", {"principal": principal, "role": role, "scope": scope}, A.WRITE_ROLES
        )
    elif action == "adminRemove":
        result = act(ctx, "remove-role", {"principal": principal, "role": role}, A.WRITE_ROLES)
    else:
        raise not_implemented(f"roleAssignmentScheduleRequests with action '{action}'")
    return _request_response(
        ctx, "roleAssignmentScheduleRequests", body, result.data.get("id"), "Provisioned"
    )


__all__ = ["router"]
