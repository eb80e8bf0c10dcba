"""The application factory: FastAPI routes behind a small ASGI gateway that does what every Graph request
needs before it reaches a route.

The gateway (:class:`GraphGateway`), per request: stamps ``request-id`` / ``client-request-id``; takes the
version off the path (``/v1.0`` or ``/beta``; anything else is a 400); answers ``/$batch`` by feeding each
inner request back through itself; authenticates the bearer token (401); maps ``/me`` to the signed-in user;
spends the throttling budget when enabled (429); parses the query options (400); and hands the routes a
:class:`~graphlattice.server.context.GraphContext`. Whatever goes wrong comes back as Graph's error body —
an unknown route is a 400 (or 501 below a root Graph serves and we do not), a bug is a 500 with the request
id in the server's log, never a traceback to the client.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from graphlattice.server.auth import Principal, read_token
from graphlattice.server.batch import run_batch
from graphlattice.server.context import GRAPH_JSON, SCOPE_KEY, GraphContext, RowCache
from graphlattice.server.errors import (
    BAD_REQUEST,
    NOT_IMPLEMENTED,
    UNAUTHORIZED,
    GraphError,
    bad_request,
    error_body,
)
from graphlattice.server.odata import TokenSigner, parse_query
from graphlattice.server.routers import (
    directory,
    directory_roles,
    logs,
    methods,
    policies,
    roles,
    tenancy,
)
from graphlattice.server.service import RangeService
from graphlattice.server.throttle import Budgets, Throttle

__all__ = ["GraphGateway", "create_app", "routes"]

log = logging.getLogger("graphlattice.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

VERSIONS = ("v1.0", "beta")
IDS_KEY = "graphlattice.ids"
# Top-level Graph segments: below these, a path we do not route is a Graph feature the Range lacks (501).
GRAPH_ROOTS = frozenset(
    s.casefold()
    for s in (
        "users",
        "groups",
        "me",
        "servicePrincipals",
        "applications",
        "devices",
        "directoryRoles",
        "directoryRoleTemplates",
        "directoryObjects",
        "domains",
        "organization",
        "identity",
        "identityProtection",
        "identityGovernance",
        "policies",
        "roleManagement",
        "auditLogs",
        "reports",
        "security",
        "administrativeUnits",
        "contacts",
        "invitations",
        "subscribedSkus",
        "oauth2PermissionGrants",
        "groupLifecyclePolicies",
        "deviceManagement",
        "riskyUsers",
        "informationProtection",
        "directory",
        "$metadata",
        "schemaExtensions",
        "places",
        "sites",
        "drives",
        "teams",
        "chats",
        "solutions",
        "communications",
        "education",
        "admin",
        "search",
        "tenantRelationships",
        "legacy",
    )
)


class GraphGateway:
    """ASGI middleware in front of the FastAPI routes (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, service: RangeService, throttle: Throttle | None, segments: dict[str, str]
    ) -> None:
        self.app = app
        self.service = service
        self.throttle = throttle
        self.signer = TokenSigner(service.secret + b"skiptoken")
        self.rows = RowCache()
        self.segments = segments  # literal path segments of the routes, by lower case (Graph ignores case)

    # ---- entry ------------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        request_id = str(uuid.uuid4())
        client_request_id = headers.get("client-request-id") or request_id
        extra: dict[str, str] = {}
        started = False
        scope[IDS_KEY] = (request_id, client_request_id)

        async def send_with_ids(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                out = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in (b"request-id", b"date")
                ]
                out.append((b"date", self._date()))  # the Range's clock, so clients time-stamp in Range time
                out.append((b"request-id", request_id.encode()))
                out.append((b"client-request-id", client_request_id.encode("latin-1", "replace")))
                out.extend((k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in extra.items())
                message = dict(message, headers=out)
            await send(message)

        try:
            await self._serve(scope, receive, send_with_ids, headers, extra)
        except GraphError as exc:
            if started:
                raise
            extra.update(exc.headers)
            await self._error(send_with_ids, exc.status, exc.code, exc.message, request_id, client_request_id)
        except Exception:
            log.exception(
                "request %s %s failed (request-id %s)", scope.get("method"), scope.get("path"), request_id
            )
            if not started:
                await self._error(
                    send_with_ids,
                    500,
                    "generalException",
                    "The Range endpoint failed on this request; the server log names its request-id.",
                    request_id,
                    client_request_id,
                )

    def _date(self) -> bytes:
        """An HTTP ``Date`` header from the Range's simulated clock."""
        return format_datetime(self.service.range.now.astimezone(UTC), usegmt=True).encode("ascii")

    @staticmethod
    async def _error(
        send: Send, status: int, code: str, message: str, request_id: str, client_id: str
    ) -> None:
        body = error_body(code, message, request_id, client_id)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", GRAPH_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    # ---- one request ------------------------------------------------------------------------------------

    def _split(self, path: str) -> tuple[str, str]:
        parts = path.split("/", 2)
        version = parts[1] if len(parts) > 1 else ""
        if version not in VERSIONS:
            lowered = {v.casefold(): v for v in VERSIONS}
            if version.casefold() not in lowered:
                raise bad_request(f"Invalid version: '{version}'. Use /v1.0 or /beta.")
            version = lowered[version.casefold()]
        # Graph ignores empty segments: SDK clients built on a base URL with a trailing slash send
        # /v1.0//users (Prowler's sovereign-cloud clients do), and Graph answers it as /v1.0/users.
        rest = "/" + "/".join(seg for seg in (parts[2] if len(parts) > 2 else "").split("/") if seg)
        rest = "/".join(self.segments.get(seg.casefold(), seg) for seg in rest.split("/"))
        return version, rest

    def _authenticate(self, headers: Headers) -> Principal:
        raw = headers.get("authorization") or ""
        scheme, _, token = raw.strip().partition(" ")
        if not raw.strip():
            raise GraphError(
                401, UNAUTHORIZED, "Access token is empty.", headers={"WWW-Authenticate": "Bearer"}
            )
        if scheme.casefold() != "bearer" or not token.strip():
            raise GraphError(
                401,
                UNAUTHORIZED,
                "Access token validation failure: use 'Authorization: Bearer <token>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        claims = read_token(self.service.secret, token.strip())
        if claims is None:
            raise GraphError(
                401,
                UNAUTHORIZED,
                "Access token validation failure. The token was not issued by this Range "
                "(get one with 'graphlattice range token --as UPN').",
                headers={"WWW-Authenticate": "Bearer"},
            )
        views = self.service.views()
        if claims.tenant_id.casefold() != views.tenant_id.casefold():
            raise GraphError(
                401, UNAUTHORIZED, "Access token validation failure. The token is for another tenant."
            )
        principal = self.service.principal(claims.kind, claims.object_id)
        if principal is None:
            raise GraphError(
                401, UNAUTHORIZED, "Access token validation failure. Its principal no longer exists."
            )
        found = (
            views.user(principal.object_id)
            if principal.kind == "user"
            else views.service_principal(principal.object_id)
        )
        if found is not None and found.get("accountEnabled") is False:
            what = "user account" if principal.kind == "user" else "service principal"
            raise GraphError(401, UNAUTHORIZED, f"The {what} is disabled.")
        return principal

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers, extra: dict[str, str]
    ) -> None:
        version, rest = self._split(scope["path"])
        method = scope["method"].upper()
        if rest == "/$batch":
            await self._batch(scope, receive, send, version, headers, method)
            return
        principal = self._authenticate(headers)
        if rest == "/me" or rest.startswith("/me/"):
            if principal.kind != "user":
                raise bad_request("/me request is only valid with delegated authentication flow.")
            rest = f"/users/{principal.object_id}{rest[3:]}"
        query_string = scope.get("query_string", b"").decode("latin-1")
        query = parse_query(query_string)
        views = self.service.views()
        if self.throttle is not None:
            extra.update(
                self.throttle.check(
                    app_id=principal.app_id,
                    tenant_id=views.tenant_id,
                    users=len(views.users),
                    method=method,
                    path=rest,
                    options=dict(query.options),
                )
            )
        host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("127.0.0.1", 80)))
        ctx = GraphContext(
            service=self.service,
            views=views,
            version=version,
            principal=principal,
            base=f"{scope.get('scheme', 'http')}://{host}",
            path=rest,
            query=query,
            headers=headers,
            signer=self.signer,
            rows=self.rows,
        )
        inner = dict(scope)
        inner["path"] = rest
        inner["raw_path"] = rest.encode("utf-8")
        inner["root_path"] = ""
        inner[SCOPE_KEY] = ctx
        await self.app(inner, receive, send)

    async def _batch(
        self, scope: Scope, receive: Receive, send: Send, version: str, headers: Headers, method: str
    ) -> None:
        if method != "POST":
            raise GraphError(405, BAD_REQUEST, "Specified HTTP method is not allowed for the request target.")
        self._authenticate(headers)
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if len(raw) > 4_000_000:
                raise bad_request("The batch request body is too large.")
            if not message.get("more_body"):
                break
        auth = headers.get("authorization") or ""

        async def dispatch(
            inner_method: str, url: str, inner_headers: list[tuple[str, str]], body: bytes
        ) -> tuple[int, dict[str, str], bytes]:
            path, _, query = url.partition("?")
            sent: dict[str, Any] = {"status": 500, "headers": [], "body": b""}
            raw_headers = [
                (k.casefold().encode("latin-1", "replace"), v.encode("latin-1", "replace"))
                for k, v in inner_headers
                if k.casefold() != "authorization"
            ]
            raw_headers.append((b"authorization", auth.encode("latin-1", "replace")))
            if not any(k == b"host" for k, _ in raw_headers) and headers.get("host"):
                raw_headers.append((b"host", headers["host"].encode("latin-1", "replace")))
            if not any(k == b"content-length" for k, _ in raw_headers):
                raw_headers.append((b"content-length", str(len(body)).encode()))
            inner_scope = dict(scope)
            inner_scope.update(
                method=inner_method,
                path=f"/{version}{path}",
                raw_path=f"/{version}{path}".encode("utf-8", "replace"),
                query_string=query.encode("latin-1", "replace"),
                headers=raw_headers,
            )
            delivered = False

            async def inner_receive() -> Message:
                nonlocal delivered
                if delivered:
                    return {"type": "http.disconnect"}
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}

            async def inner_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    sent["status"] = message["status"]
                    sent["headers"] = message.get("headers", [])
                elif message["type"] == "http.response.body":
                    sent["body"] += message.get("body", b"")

            await self.handle(inner_scope, inner_receive, inner_send)
            out_headers = {
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in sent["headers"]
                if k.lower() not in (b"content-length", b"date", b"server")
            }
            return int(sent["status"]), out_headers, bytes(sent["body"])

        request_id = str(uuid.uuid4())
        client_id = headers.get("client-request-id") or request_id

        def failed_dependency() -> bytes:
            return error_body(
                "FailedDependency", "A request this one depends on failed.", request_id, client_id
            )

        body = await run_batch(raw, dispatch, failed_dependency)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", GRAPH_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _graph_error_response(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    request_id, client_id = request.scope.get(IDS_KEY) or (str(uuid.uuid4()),) * 2
    body = error_body(code, message, request_id, client_id)
    return Response(body, status_code=status, media_type=GRAPH_JSON, headers=headers)


def routes() -> FastAPI:
    """The Graph routes the gateway serves (paths below the version; see :mod:`.openapi` for their
    OpenAPI description)."""
    api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
    for module in _ROUTERS:
        api.include_router(module.router)
    return api


_ROUTERS = (methods, directory, directory_roles, tenancy, roles, policies, logs)


def create_app(
    state_dir: Path | None = None,
    *,
    throttle: bool | Budgets = False,
    service: RangeService | None = None,
) -> GraphGateway:
    """The ASGI application serving the range in ``state_dir`` (or ``service``) under /v1.0 and /beta.

    ``throttle``: False (no throttling), True (Microsoft's budgets) or a :class:`Budgets` (tests)."""
    svc = service if service is not None else RangeService(state_dir)
    api = routes()
    segments: dict[str, str] = {}
    for module in _ROUTERS:
        for route in module.router.routes:
            if isinstance(route, Route):
                for seg in route.path.split("/"):
                    if seg and "{" not in seg:
                        segments.setdefault(seg.casefold(), seg)

    @api.exception_handler(GraphError)
    async def graph_error(request: Request, exc: GraphError) -> Response:
        return _graph_error_response(request, exc.status, exc.code, exc.message, exc.headers)

    @api.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> Response:
        # A bug in a route: Graph's error body (never Starlette's plain text); the gateway logs it.
        return _graph_error_response(
            request,
            500,
            "generalException",
            "The Range endpoint failed on this request; the server log names its request-id.",
        )

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return _graph_error_response(request, 400, BAD_REQUEST, "The request is not valid.")

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.scope.get("path", "")
        if exc.status_code == 405:
            return _graph_error_response(
                request, 405, BAD_REQUEST, "Specified HTTP method is not allowed for the request target."
            )
        segments = [s for s in path.split("/") if s]
        if exc.status_code == 404 and segments and segments[0].casefold() in GRAPH_ROOTS:
            return _graph_error_response(
                request,
                501,
                NOT_IMPLEMENTED,
                f"{request.method} {path} is not served by the GraphLattice Range "
                "(see docs/graph-parity.md).",
            )
        shown = segments[0] if segments else ""
        return _graph_error_response(
            request, 400, BAD_REQUEST, f"Resource not found for the segment '{shown}'."
        )

    budgets = throttle if isinstance(throttle, Budgets) else Budgets() if throttle else None
    return GraphGateway(api, svc, Throttle(budgets) if budgets is not None else None, segments)
