"""A user's authentication methods: the polymorphic list, the typed collections, TAP creation, deletion,
password reset (202 + a long-running operation) — reference/graph.md §1."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from graphlattice.range import writes as W
from graphlattice.server import access as A
from graphlattice.server.context import GraphContext, graph, no_content, read_body
from graphlattice.server.errors import bad_request, method_not_allowed, not_found, not_implemented
from graphlattice.server.odata import ListSpec
from graphlattice.server.routers._common import NS, act, body_schema, user_or_404

router = APIRouter()
Json = dict[str, Any]

PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"
TYPED: dict[str, str] = {
    "temporaryAccessPassMethods": "temporaryAccessPassAuthenticationMethod",
    "microsoftAuthenticatorMethods": "microsoftAuthenticatorAuthenticationMethod",
    "fido2Methods": "fido2AuthenticationMethod",
    "phoneMethods": "phoneAuthenticationMethod",
    "softwareOathMethods": "softwareOathAuthenticationMethod",
    "emailMethods": "emailAuthenticationMethod",
    "windowsHelloForBusinessMethods": "windowsHelloForBusinessAuthenticationMethod",
    "passwordMethods": "passwordAuthenticationMethod",
    "platformCredentialMethods": "platformCredentialAuthenticationMethod",
}
"""v1.0 typed collections -> the ``@odata.type`` of their items."""
BETA_ONLY = frozenset({"hardwareOathMethods", "passwordlessMicrosoftAuthenticatorMethods", "qrCodePinMethod"})
DELETABLE = frozenset(TYPED) - {"passwordMethods"}
_CANONICAL = {name.casefold(): name for name in (*TYPED, *BETA_ONLY)}
# Query options on method collections: Graph supports none of them (reference/graph.md §1.1).
METHODS = ListSpec("AuthenticationMethod")
_TAP_PARAMS = {
    "startDateTime": "start",
    "lifetimeInMinutes": "lifetime_minutes",
    "isUsableOnce": "usable_once",
}


def _no_query_options(ctx: GraphContext) -> None:
    for name in ("$filter", "$top", "$skip", "$orderby", "$search", "$count", "$expand", "$skiptoken"):
        if ctx.query.get(name) is not None:
            raise bad_request(f"Query option '{name}' is not supported on authentication methods.")


def _typed(ctx: GraphContext, collection: str) -> str:
    name = _CANONICAL.get(collection.casefold())
    if name is None:
        raise bad_request(f"Resource not found for the segment '{collection}'.")
    if name in BETA_ONLY:
        if ctx.beta:
            raise not_implemented(f"/users/{{id}}/authentication/{name}")
        raise bad_request(f"Resource not found for the segment '{collection}' (it exists in beta only).")
    return name


def _of_type(methods: list[Json], collection: str) -> list[Json]:
    wanted = (NS + TYPED[collection]).casefold()
    return [m for m in methods if str(m.get("@odata.type", "")).casefold() == wanted]


def _find(methods: list[Json], method_id: str) -> Json | None:
    return next((m for m in methods if str(m.get("id", "")).casefold() == method_id.casefold()), None)


def _context(ctx: GraphContext, user: Json, tail: str) -> str:
    return f"users('{user.get('id')}')/authentication/{tail}"


@router.get("/users/{user_id}/authentication/methods")
async def list_methods(request: Request, user_id: str) -> Response:
    ctx = graph(request)
    user = user_or_404(ctx, user_id)
    ctx.authorize(A.method_access(None, write=False), target_user_id=str(user["id"]))
    _no_query_options(ctx)
    return ctx.collection(_context(ctx, user, "methods"), ctx.views.methods_of(str(user["id"])), METHODS)


@router.get("/users/{user_id}/authentication/methods/{method_id}")
async def get_method(request: Request, user_id: str, method_id: str) -> Response:
    ctx = graph(request)
    user = user_or_404(ctx, user_id)
    ctx.authorize(A.method_access(None, write=False), target_user_id=str(user["id"]))
    method = _find(ctx.views.methods_of(str(user["id"])), method_id)
    if method is None:
        raise not_found(method_id)
    return ctx.entity(_context(ctx, user, "methods"), method)


@router.post(
    "/users/{user_id}/authentication/methods/{method_id}/resetPassword",
    openapi_extra=body_schema(W.PASSWORD_RESET),
)
async def reset_password(request: Request, user_id: str, method_id: str) -> Response:
    ctx = graph(request)
    user = user_or_404(ctx, user_id)
    method = _find(ctx.views.methods_of(str(user["id"])), method_id)
    if method is None and method_id.casefold() != PASSWORD_METHOD_ID:
        raise not_found(method_id)
    if method_id.casefold() != PASSWORD_METHOD_ID:
        raise bad_request(
            "resetPassword applies to the password method (28c10230-6103-485e-b985-444c60001490)."
        )
    body = await read_body(request, W.PASSWORD_RESET, required=False)
    new = body.get("newPassword")
    params: Json = {"user": user["id"]}
    if new:
        params["password"] = new
    result = act(
        ctx,
        "reset-password",
        params,
        A.RESET_PASSWORD,
        body=W.PASSWORD_RESET,
        names={"password": "newPassword"},
    )
    op_id = str(uuid.uuid4())
    now = ctx.service.range.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    ctx.service.operations[op_id] = {
        "userId": str(user["id"]).casefold(),
        "operation": {
            "@odata.type": NS + "longRunningOperation",
            "id": op_id,
            "createdDateTime": now,
            "lastActionDateTime": now,
            "resourceLocation": None,
            "status": "succeeded",
            "statusDetail": None,
        },
    }
    location = f"{ctx.root}/users/{user['id']}/authentication/operations/{op_id}"
    payload = {
        "@odata.context": ctx.metadata("microsoft.graph.passwordResetResponse"),
        "newPassword": None if new else result.data.get("newPassword"),
    }
    return ctx.json(payload, status=202, headers={"Location": location})


@router.get("/users/{user_id}/authentication/operations/{operation_id}")
async def get_operation(request: Request, user_id: str, operation_id: str) -> Response:
    ctx = graph(request)
    user = user_or_404(ctx, user_id)
    ctx.authorize(A.method_access(None, write=False), target_user_id=str(user["id"]))
    found = ctx.service.operations.get(operation_id)
    if found is None or found["userId"] != str(user["id"]).casefold():
        raise not_found(operation_id)
    return ctx.entity(_context(ctx, user, "operations"), found["operation"])


@router.get("/users/{user_id}/authentication/{collection}")
async def list_typed(request: Request, user_id: str, collection: str) -> Response:
    ctx = graph(request)
    name = _typed(ctx, collection)
    user = user_or_404(ctx, user_id)
    ctx.authorize(A.method_access(name, write=False), target_user_id=str(user["id"]))
    _no_query_options(ctx)
    items = _of_type(ctx.views.methods_of(str(user["id"])), name)
    return ctx.collection(_context(ctx, user, name), items, METHODS)


@router.get("/users/{user_id}/authentication/{collection}/{method_id}")
async def get_typed(request: Request, user_id: str, collection: str, method_id: str) -> Response:
    ctx = graph(request)
    name = _typed(ctx, collection)
    user = user_or_404(ctx, user_id)
    ctx.authorize(A.method_access(name, write=False), target_user_id=str(user["id"]))
    method = _find(_of_type(ctx.views.methods_of(str(user["id"])), name), method_id)
    if method is None:
        raise not_found(method_id)
    return ctx.entity(_context(ctx, user, name), method)


@router.post("/users/{user_id}/authentication/{collection}", openapi_extra=body_schema(W.TAP_CREATE))
async def create_typed(request: Request, user_id: str, collection: str) -> Response:
    ctx = graph(request)
    name = _typed(ctx, collection)
    user = user_or_404(ctx, user_id)
    if name != "temporaryAccessPassMethods":
        raise not_implemented(f"POST /users/{{id}}/authentication/{name}")
    body = await read_body(request, W.TAP_CREATE, required=False)
    kind = body.get("@odata.type")
    if kind is not None and str(kind).casefold() != (NS + TYPED[name]).casefold():
        raise bad_request(f"'@odata.type' must be {NS + TYPED[name]}.")
    params: Json = {"user": user["id"]}
    for prop, param in _TAP_PARAMS.items():
        if body.get(prop) is not None:
            params[param] = body[prop]
    result = act(
        ctx,
        "issue-tap",
        params,
        A.method_access(name, write=True),
        body=W.TAP_CREATE,
        names={param: prop for prop, param in _TAP_PARAMS.items()},
    )
    method = dict(result.data["method"])
    location = f"{ctx.root}/users/{user['id']}/authentication/{name}/{method['id']}"
    payload = {"@odata.context": ctx.metadata(_context(ctx, user, name) + "/$entity"), **method}
    return ctx.json(payload, status=201, headers={"Location": location})


@router.delete("/users/{user_id}/authentication/{collection}/{method_id}")
async def delete_typed(request: Request, user_id: str, collection: str, method_id: str) -> Response:
    ctx = graph(request)
    name = _typed(ctx, collection)
    if name not in DELETABLE:
        raise method_not_allowed()
    user = user_or_404(ctx, user_id)
    method = _find(_of_type(ctx.views.methods_of(str(user["id"])), name), method_id)
    if method is None:
        # an application without the permission learns nothing about the user's methods
        if ctx.principal.kind == "app":
            ctx.authorize(A.method_access(name, write=True))
        raise not_found(method_id)
    access = A.method_access(name, write=True)
    if name == "temporaryAccessPassMethods":
        act(ctx, "delete-tap", {"user": user["id"]}, access)
    else:
        act(ctx, "delete-method", {"user": user["id"], "method": method["id"]}, access)
    return no_content()


__all__ = ["router"]
